from django.conf import settings
from django.db import models
from django.utils import timezone

from calls.vocabulary import CallStatus, MemberRole, MemberState, TransferRole
from phlo.addresses import MAX_ADDRESS_LENGTH
from phlo.http import Credentials


class PhloApp(models.Model):
    """A PHLO with a multiparty-call node, and the credentials that run it and sign its callbacks."""

    name = models.CharField(max_length=100)
    phlo_id = models.CharField("PHLO ID", max_length=64, unique=True)
    node_id = models.CharField("multiparty call node ID", max_length=64)
    auth_id = models.CharField("auth ID", max_length=64)
    auth_token = models.CharField("auth token", max_length=128, help_text="Kept secret: never shown back.")
    is_default = models.BooleanField("default", default=False, help_text="Runs new outbound calls.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "PHLO app"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True), name="one_default_phlo")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.phlo_id})"

    def __repr__(self) -> str:  # never let the token slip into a log line through a repr
        return f"<PhloApp {self.phlo_id}>"

    @property
    def callback_path(self) -> str:
        return f"/callbacks/plivo/{self.phlo_id}/"

    @property
    def credentials(self) -> Credentials:
        return Credentials(auth_id=self.auth_id, auth_token=self.auth_token)


class Call(models.Model):
    """One multiparty call (MPC) as we know it; `version` grows with every change we publish."""

    phlo_app = models.ForeignKey(PhloApp, on_delete=models.PROTECT, related_name="calls")
    mpc_uuid = models.CharField("MPC UUID", max_length=64, unique=True, null=True, blank=True)
    mpc_name = models.CharField("MPC name", max_length=128, blank=True)
    run_id = models.CharField("PHLO run ID", max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=CallStatus.choices, default=CallStatus.RINGING)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    # The newest call-level event applied, so an older one never rolls the state back.
    last_sequence = models.BigIntegerField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["status", "-started_at"])]

    def __str__(self) -> str:
        return f"Call {self.pk} ({self.get_status_display()})"


class Member(models.Model):
    """A participant of a call; a caller who leaves and rejoins is a new member (new MemberID)."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="members")
    member_id = models.CharField("Plivo MemberID", max_length=64, blank=True)
    call_uuid = models.CharField("call UUID", max_length=64, blank=True, db_index=True)
    address = models.CharField(max_length=MAX_ADDRESS_LENGTH)
    role = models.CharField(max_length=16, choices=MemberRole.choices, default=MemberRole.CUSTOMER)
    state = models.CharField(max_length=16, choices=MemberState.choices, default=MemberState.DIALING)
    transfer_role = models.CharField(max_length=16, choices=TransferRole.choices, default="", blank=True)
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="memberships"
    )
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    # The newest event applied to this member (SequenceNumber, else EventTimestamp).
    last_sequence = models.BigIntegerField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["call", "member_id"], condition=~models.Q(member_id=""), name="unique_member_per_call"
            )
        ]

    def __str__(self) -> str:
        return f"{self.address} ({self.role}, {self.state})"


class CallEvent(models.Model):
    """A Plivo callback exactly as received; stored before it is applied, kept forever."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        STALE = "stale", "Older than the state (kept, not applied)"
        NO_CHANGE = "no_change", "Changed nothing"
        UNMATCHED = "unmatched", "Matched no call or member"

    phlo_app = models.ForeignKey(PhloApp, on_delete=models.CASCADE, related_name="events")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    member = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    event_name = models.CharField(max_length=64)
    params = models.JSONField()
    sequence = models.BigIntegerField(null=True, blank=True)
    event_timestamp = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=64, unique=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return f"{self.event_name} at {self.received_at:%H:%M:%S}"


class Action(models.Model):
    """Every action an agent or supervisor asked for, successful or not, with what PHLO said."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    call = models.ForeignKey(Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="actions")
    member = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="actions")
    action = models.CharField(max_length=32)
    request_body = models.JSONField(default=dict)
    ok = models.BooleanField(default=False)
    http_status = models.PositiveSmallIntegerField(help_text="What we answered the requester.")
    upstream_status = models.PositiveSmallIntegerField(null=True, blank=True)
    api_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.FloatField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor} ({'ok' if self.ok else 'failed'})"
