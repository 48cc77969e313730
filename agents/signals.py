"""Tell every dashboard when what a person may see changes: a login switched off (their open
sockets close at once), or supervisor rights given or taken (their sockets resync to what they
may see now). Without this an open wall would go on showing every call to a demoted supervisor.
A new password revokes what the old one opened (agents/credentials.py)."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from agents.credentials import revoke_api_access
from agents.models import Agent, Skill, supervises
from agents.skills import refresh_shown
from agents.status import agent_update_message
from live import messages
from live.publish import publish_on_commit

User = get_user_model()


def _changes(instance, update_fields, field: str) -> bool:
    """Whether this save changes `field` of a stored row (read before the save, in pre_save)."""
    if not instance.pk or (update_fields is not None and field not in update_fields):
        return False
    stored = type(instance).objects.filter(pk=instance.pk)
    return stored.exclude(**{field: getattr(instance, field)}).exists()


def _publish_rights(user, agent: Agent | None) -> None:
    changed = [messages.viewer_changed(user_id=user.pk, active=user.is_active, is_supervisor=supervises(user, agent))]
    if agent is not None:
        changed.append(agent_update_message(agent))
    publish_on_commit(changed)


@receiver(pre_save, sender=User)
def user_saving(sender, instance, update_fields=None, **kwargs):
    # Logins touch the user row too (last_login): only a change of rights concerns sockets.
    instance._rights_changed = _changes(instance, update_fields, "is_superuser")
    instance._password_changed = _password_changed(instance, update_fields)


def _password_changed(user, update_fields) -> bool:
    """A new password was set (set_password leaves it in `_password` until the save), or the
    password was made unusable. Not a login re-hashing the same password with a newer hasher
    (check_password clears `_password` before that save)."""
    if getattr(user, "_password", None) is None and user.has_usable_password():
        return False
    return _changes(user, update_fields, "password")


@receiver(post_save, sender=User)
def user_saved(sender, instance, **kwargs):
    if getattr(instance, "_password_changed", False):
        revoke_api_access([instance.pk])
    if instance.is_active and not getattr(instance, "_rights_changed", False):
        return
    agent = Agent.objects.select_related("user").filter(user=instance).first()
    if agent is not None:
        agent.user = instance  # the instance just saved, with its new is_active and is_superuser
    _publish_rights(instance, agent)


@receiver([post_save, post_delete], sender=Skill)
def skill_changed(sender, instance, **kwargs):
    """However a skill changes (the admin, `create_agent --skill`), every view shows it."""
    refresh_shown([instance.agent_id])


@receiver(pre_save, sender=Agent)
def agent_saving(sender, instance, update_fields=None, **kwargs):
    instance._rights_changed = _changes(instance, update_fields, "is_supervisor")


@receiver(post_save, sender=Agent)
def agent_saved(sender, instance, **kwargs):
    if getattr(instance, "_rights_changed", False):
        _publish_rights(instance.user, instance)
