"""Creating and updating the login and agent record behind a username (the `create_agent`
command, the demo)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from agents.models import Agent
from agents.validators import validate_address
from phlo.addresses import address_key


def agent_create_or_update(
    *, username: str, password: str | None, address: str, name: str = "", is_supervisor: bool = False
) -> tuple[Agent, bool]:
    """Create or update the user and agent behind a username. Validates the address first."""
    validate_address(address)
    User = get_user_model()
    with transaction.atomic():
        clash = Agent.objects.filter(address_key=address_key(address)).exclude(user__username=username).first()
        if clash:
            raise ValidationError(f"Address {address} already belongs to agent {clash.user.username}.")
        user, created = User.objects.get_or_create(username=username)
        if password:
            user.set_password(password)
        user.save()
        defaults = {"address": address, "is_supervisor": is_supervisor}
        if name:
            defaults["name"] = name
        agent, _ = Agent.objects.update_or_create(user=user, defaults=defaults)
    return agent, created
