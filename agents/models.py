from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from agents.validators import validate_address
from phlo.addresses import MAX_ADDRESS_LENGTH, address_key


class AgentStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    AWAY = "away", "Away"
    OFFLINE = "offline", "Offline"
    OFFERED = "offered", "Offered a call"
    BUSY = "busy", "Busy"
    WRAP_UP = "wrap_up", "Wrap-up"


# The statuses a person may choose; offered, busy and wrap-up are the system's, and follow their calls.
SELECTABLE_STATUSES = (AgentStatus.AVAILABLE, AgentStatus.AWAY, AgentStatus.OFFLINE)
SYSTEM_STATUSES = (AgentStatus.OFFERED, AgentStatus.BUSY, AgentStatus.WRAP_UP)


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
    # Since when the agent is in `status`: for an available agent, how long they have been idle.
    status_since = models.DateTimeField(default=timezone.now)
    status_reason = models.CharField(
        max_length=64, blank=True, help_text='Why the system set the status ("missed call").'
    )
    chosen_status = models.CharField(
        max_length=16, choices=[(s.value, s.label) for s in SELECTABLE_STATUSES], default=AgentStatus.OFFLINE,
        help_text="What the agent chose; they return to it when a call and its wrap-up are over.",
    )
    wrap_up_until = models.DateTimeField(null=True, blank=True)
    # DISPOSITION_REQUIRED: set when wrap-up starts, cleared when the call's disposition is saved;
    # while set, the agent cannot become available.
    disposition_pending = models.BooleanField(default=False)
    is_supervisor = models.BooleanField(default=False, help_text="Supervisors see and act on every call.")
    # The agent's skills as every view shows them ([{"queue": name, "level": n}]), kept by
    # agents/skills.py from the Skill rows, which routing reads: read on every status change.
    skills_shown = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["status", "wrap_up_until"]),
            models.Index(fields=["status", "status_since"], name="agent_longest_idle"),
        ]

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
    return sees_every_call(
        is_superuser=user.is_superuser,
        supervisor_flag=agent is not None and agent.is_supervisor,
        integrator_key=agent is None and not user.is_superuser and holds_live_api_key(user),
    )


def sees_every_call(*, is_superuser: bool, supervisor_flag: bool, integrator_key: bool = False) -> bool:
    """The one rule for who sees and acts on every call: an agent flagged supervisor, a superuser
    (an operator, with or without a desk of their own), or the service user of an integrator's
    API key that is not revoked (which has no desk: agents/api_keys.py; a read-only key is kept
    from acting by its authentication, not by this rule)."""
    return bool(is_superuser or supervisor_flag or integrator_key)


def holds_live_api_key(user) -> bool:
    """Whether `user` is the service user of a key not revoked. A user authenticated by its key
    has the key cached on it already (agents/api_keys.py), so this reads nothing more."""
    if user.pk is None:
        return False
    try:
        return user.api_key.revoked_at is None
    except ApiKey.DoesNotExist:
        return False


class Skill(models.Model):
    """An agent takes a queue's calls, at a level (10 best; docs/routing.md, "Skills"). An agent with
    no skill at all takes every queue's calls."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="skills")
    queue = models.ForeignKey("calls.Queue", on_delete=models.CASCADE, related_name="skills")
    level = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(10)], help_text="1 to 10; 10 is best.",
    )

    class Meta:
        ordering = ["-level", "queue__name"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "queue"], name="one_skill_per_queue"),
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=10), name="skill_level_1_to_10"),
        ]
        indexes = [models.Index(fields=["queue", "-level"], name="skill_by_queue")]

    def __str__(self) -> str:
        return f"{self.queue} ({self.level})"


class RateCounter(models.Model):
    """One fixed-window count that every process shares (agents/rate_limits.py): failed sign-ins
    per username and per address, status changes per agent. Without Redis, this table is where
    the count lives; with it (REDIS_URL), Redis is."""

    name = models.CharField(max_length=80, primary_key=True, help_text="The limit and a hash of who it counts.")
    hits = models.IntegerField(default=0)
    window_ends = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.hits} until {self.window_ends:%H:%M:%S}"


class ApiKey(models.Model):
    """An integrator's key (agents/api_keys.py): named, revocable, read-only or acting. Only the
    key's SHA-256 is stored; the key itself is shown once, when it is made. Each key has a service
    user of its own (no password, no desk), which the supervisor rule recognises while the key is
    live, so every rule that asks who someone is answers for a key too."""

    name = models.CharField(max_length=64, unique=True, help_text="Who uses it (a CRM, a wallboard…).")
    prefix = models.CharField(
        max_length=16, unique=True, editable=False, help_text="The key's public part, to tell keys apart."
    )
    hashed_key = models.CharField(max_length=64, editable=False)
    read_only = models.BooleanField(default=False, help_text="Reads only: every POST, PATCH, PUT, DELETE gets 403.")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_key", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return self.name


class SocketTicket(models.Model):
    """A one-time pass to open a dashboard socket (agents/socket_tickets.py): a long-lived token
    never has to appear in a URL, where proxies log it. Kept in the database, so any process can
    take it; only its SHA-256 is stored; taken by a conditional delete, so once."""

    digest = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"socket ticket until {self.expires_at:%H:%M:%S}"
