"""Tell every dashboard when what a person may see changes: a login switched off (their open
sockets close at once), or supervisor rights given or taken (their sockets resync to what they
may see now). Without this an open wall would go on showing every call to a demoted supervisor."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from agents.models import Agent
from agents.services import agent_live_message
from calls.live import publish_on_commit, user_message

User = get_user_model()


def _saves(update_fields, field: str) -> bool:
    return update_fields is None or field in update_fields


@receiver(pre_save, sender=User)
def user_saving(sender, instance, update_fields=None, **kwargs):
    # Logins touch the user row too (last_login): only a change of rights concerns sockets.
    instance._rights_changed = bool(instance.pk) and _saves(update_fields, "is_superuser") and (
        User.objects.filter(pk=instance.pk).exclude(is_superuser=instance.is_superuser).exists()
    )


@receiver(post_save, sender=User)
def user_saved(sender, instance, **kwargs):
    if instance.is_active and not getattr(instance, "_rights_changed", False):
        return
    agent = Agent.objects.select_related("user").filter(user=instance).first()
    if agent is not None:
        agent.user = instance  # the instance just saved, with its new is_active and is_superuser
        publish_on_commit([agent_live_message(agent)])
    else:  # an operator without a desk of their own may be watching the wall
        publish_on_commit([user_message(instance.pk, active=instance.is_active, is_supervisor=instance.is_superuser)])


@receiver(pre_save, sender=Agent)
def agent_saving(sender, instance, update_fields=None, **kwargs):
    instance._rights_changed = bool(instance.pk) and _saves(update_fields, "is_supervisor") and (
        Agent.objects.filter(pk=instance.pk).exclude(is_supervisor=instance.is_supervisor).exists()
    )


@receiver(post_save, sender=Agent)
def agent_saved(sender, instance, **kwargs):
    if getattr(instance, "_rights_changed", False):
        publish_on_commit([agent_live_message(instance)])
