"""Tell every dashboard when a login is switched off: that person's open sockets close at once."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import receiver

from agents.models import Agent
from agents.services import agent_live_message
from calls.live import publish_on_commit


@receiver(post_save, sender=get_user_model())
def user_saved(sender, instance, **kwargs):
    if instance.is_active:
        return  # logins touch the user row too (last_login); only a switch-off concerns sockets
    agent = Agent.objects.select_related("user").filter(user=instance).first()
    if agent is not None:
        agent.user = instance  # the instance just saved, with its new is_active
        publish_on_commit([agent_live_message(agent)])
