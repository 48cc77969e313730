from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from agents.validators import validate_address
from phlo.addresses import MAX_ADDRESS_LENGTH, address_key


class AgentStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    AWAY = "away", "Away"
    OFFLINE = "offline", "Offline"
    BUSY = "busy", "Busy"
    WRAP_UP = "wrap_up", "Wrap-up"


# The statuses a person may pick; busy and wrap-up follow their calls.
SELECTABLE_STATUSES = (AgentStatus.AVAILABLE, AgentStatus.AWAY, AgentStatus.OFFLINE)


class Agent(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    name = models.CharField(max_length=150, blank=True)
    address = models.CharField(
        max_length=MAX_ADDRESS_LENGTH,
        validators=[validate_address],
        help_text="Phone number (E.164 digits, optional +) or SIP URI the agent answers on.",
    )
    # The comparison form of `address`, so "+1415…" and "1415…" find the same agent.
    address_key = models.CharField(max_length=MAX_ADDRESS_LENGTH, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=AgentStatus.choices, default=AgentStatus.OFFLINE)
    status_changed_at = models.DateTimeField(default=timezone.now)
    wrap_up_until = models.DateTimeField(null=True, blank=True)
    is_supervisor = models.BooleanField(default=False, help_text="Supervisors see and act on every call.")

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["status", "wrap_up_until"])]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs):
        self.address_key = address_key(self.address)
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return self.name or self.user.get_username()

    @property
    def supervises(self) -> bool:
        return supervises(self.user, self)


def supervises(user, agent: Agent | None) -> bool:
    """The one rule for who sees and acts on every call: an agent flagged supervisor, or a
    superuser (an operator, with or without a desk of their own)."""
    return bool(user.is_superuser or (agent is not None and agent.is_supervisor))
