from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from calls.core.vocabulary import (
    CallDirection,
    CallOutcome,
    CallStatus,
    JoinedVia,
    MemberRole,
    MemberState,
    RecordingState,
    TransferRole,
)
from phlo.addresses import E164, address_key
from phlo.events import MAX_ADDRESS_LENGTH, MAX_ID_LENGTH, MAX_NAME_LENGTH
from phlo.http import Credentials


class PhloApp(models.Model):
    """A PHLO with a multiparty-call node, and the credentials that run it and sign its callbacks."""

    name = models.CharField(max_length=100)
    phlo_id = models.CharField("PHLO ID", max_length=64, unique=True)
    node_id = models.CharField("multiparty call node ID", max_length=64)
    auth_id = models.CharField("auth ID", max_length=64)
    auth_token = models.CharField("auth token", max_length=128, help_text="Kept secret: never shown back.")
    is_default = models.BooleanField("default", default=False, help_text="Runs new outbound calls.")
    routing = models.BooleanField(
        "routing", default=True,
        help_text="The desk offers waiting customers to available agents (docs/routing.md). Off for a PHLO "
                  "that dials agents itself.",
    )
    record_calls = models.BooleanField(
        "record every call", default=False, help_text="Start recording when an agent joins a call."
    )
    caller_id = models.CharField(
        "caller ID", max_length=32, blank=True,
        help_text="The PHLO's own number: the `from` of the legs the desk dials (supervisors). "
                  "Empty: their own address.",
    )
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


class Queue(models.Model):
    """A line of business (docs/routing.md, "Queues"): the numbers customers dial to reach it, its
    priority among queues, its own service level, and where its calls overflow. Agents take a
    queue's calls with its skill (agents.Skill), or with no skill at all."""

    name = models.CharField(max_length=64, unique=True)
    numbers = models.JSONField(
        default=list, blank=True, help_text="The numbers customers dial to reach this queue (E.164).",
    )
    phlo_app = models.ForeignKey(
        PhloApp, on_delete=models.SET_NULL, null=True, blank=True, related_name="queues",
        help_text="Calls of this PHLO app come here when their number names no queue.",
    )
    priority = models.IntegerField(
        default=0, help_text="Higher first: an agent free for two queues takes this one's calls first."
    )
    service_level_seconds = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Answered within this many seconds counts toward the service level (empty: SERVICE_LEVEL_SECONDS).",
    )
    overflow_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="After the overflow time, this queue's agents may take the call too.",
    )
    overflow_after_seconds = models.PositiveIntegerField(null=True, blank=True)
    is_default = models.BooleanField("default", default=False, help_text="Calls no other queue claims come here.")

    class Meta:
        ordering = ["-priority", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_queue"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        """The rules of a queue, for the admin and `configure_queue` alike."""
        errors = {}
        if not isinstance(self.numbers, list) or not all(isinstance(n, str) for n in self.numbers):
            errors["numbers"] = "A list of phone numbers."
        else:
            wrong = [n for n in self.numbers if not E164.fullmatch(n)]
            if wrong:
                errors["numbers"] = f"Not E.164 numbers: {', '.join(wrong)} (digits, an optional +: +14155550100)."
            mine = {address_key(n) for n in self.numbers}
            taken = [q.name for q in Queue.objects.exclude(pk=self.pk) if mine & {address_key(n) for n in q.numbers}]
            if taken:
                errors["numbers"] = f"Another queue already has one of these numbers: {', '.join(taken)}."
        if (self.overflow_to_id is None) != (self.overflow_after_seconds is None):
            errors["overflow_after_seconds"] = "Overflow needs both a queue to overflow to and after how many seconds."
        elif self.overflow_to_id is not None and self.overflow_to_id == self.pk:
            errors["overflow_to"] = "A queue cannot overflow to itself."
        if errors:
            raise ValidationError(errors)


class Call(models.Model):
    """One multiparty call (MPC) as we know it; `version` grows with every change we publish."""

    phlo_app = models.ForeignKey(PhloApp, on_delete=models.PROTECT, related_name="calls")
    mpc_uuid = models.CharField("MPC UUID", max_length=MAX_ID_LENGTH, unique=True, null=True, blank=True)
    mpc_name = models.CharField("MPC name", max_length=MAX_NAME_LENGTH, blank=True)
    run_id = models.CharField("PHLO run ID", max_length=MAX_ID_LENGTH, blank=True)
    direction = models.CharField(max_length=16, choices=CallDirection.choices, blank=True)
    status = models.CharField(max_length=16, choices=CallStatus.choices, default=CallStatus.RINGING)
    started_at = models.DateTimeField(default=timezone.now)
    # The number the customer dialled, and the queue it took them to (docs/routing.md, "Queues").
    called_number = models.CharField(max_length=MAX_ADDRESS_LENGTH, blank=True)
    queue = models.ForeignKey(Queue, on_delete=models.SET_NULL, null=True, blank=True, related_name="calls")
    # Routing (docs/routing.md): since when the customer waits, who is offered the call now and
    # since when, who missed it last (not offered it again in a row), when an agent answered.
    # calls/core/offers.py decides how an offer starts and ends; calls/core/store.py writes it.
    waiting_since = models.DateTimeField(null=True, blank=True)
    offered_to = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="offered_calls"
    )
    offered_at = models.DateTimeField(null=True, blank=True)
    last_offered_to = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    missed_offers = models.PositiveSmallIntegerField(default=0)
    # The agents who declined the call: not offered it again while someone else may take it.
    declined_by = models.JSONField(default=list, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=CallOutcome.choices, blank=True)
    was_transferred = models.BooleanField(default=False)
    termination_cause = models.CharField(max_length=MAX_NAME_LENGTH, blank=True)
    termination_cause_code = models.CharField(max_length=16, blank=True)
    recording = models.CharField(
        max_length=16, blank=True, choices=[(RecordingState.RECORDING, "Recording"), (RecordingState.PAUSED, "Paused")]
    )
    # Each recording of the call as Plivo's recording callbacks describe it (calls/core/state_machine.py:
    # RecordingSnap): a few per call at most, always shown with it, so kept on its row.
    recordings = models.JSONField(default=list, blank=True)
    # After the call (docs/history.md): what it was about.
    disposition = models.ForeignKey(
        "calls.Disposition", on_delete=models.PROTECT, null=True, blank=True, related_name="calls"
    )
    notes = models.TextField(blank=True)
    # Each person's own wrap-up of the call (calls/history/wrapup.py): a few per call at most, always shown
    # with it, so kept on its row like its recordings. `disposition` and `notes` above are what
    # they add up to (the latest disposition saved; every non-empty note), which the history
    # filters and exports.
    wrap_ups = models.JSONField(default=list, blank=True)
    # The customer's last calls, read once when they join (calls/history/customer.py): shown on the
    # desk while the call rings and during it. Null until read.
    customer_history = models.JSONField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    # The newest call-level event applied, so an older one never rolls the state back.
    last_sequence = models.BigIntegerField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, help_text="When the desk first heard of it (our clock).")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-started_at"]),
            models.Index(fields=["status", "-ended_at", "-id"], name="call_history"),
            models.Index(fields=["status", "waiting_since"], name="call_queue"),
            models.Index(fields=["outcome", "-ended_at"], name="call_outcome"),
            # The reports (docs/reports.md): the calls that started waiting in a span.
            models.Index(fields=["waiting_since"], name="call_waited", condition=models.Q(waiting_since__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"Call {self.pk} ({self.get_status_display()})"


class Member(models.Model):
    """A participant of a call; a caller who leaves and rejoins is a new member (new MemberID)."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="members")
    member_id = models.CharField("Plivo MemberID", max_length=MAX_ID_LENGTH, blank=True)
    call_uuid = models.CharField("call UUID", max_length=MAX_ID_LENGTH, blank=True, db_index=True)
    address = models.CharField(max_length=MAX_ADDRESS_LENGTH)
    # The comparison form of `address` (phlo/addresses.py), indexed: the history finds a number by it.
    address_key = models.CharField(max_length=MAX_ADDRESS_LENGTH, blank=True, db_index=True)
    # A phone number's digits reversed (empty for a SIP URI), indexed: "ends with" as a prefix search,
    # so the history finds a number by its last digits (`0111`) through an index too.
    address_digits_reversed = models.CharField(max_length=MAX_ADDRESS_LENGTH, blank=True, db_index=True)
    role = models.CharField(max_length=16, choices=MemberRole.choices, default=MemberRole.CUSTOMER)
    state = models.CharField(max_length=16, choices=MemberState.choices, default=MemberState.DIALING)
    state_since = models.DateTimeField(null=True, blank=True)
    # Who put the member in this state through the desk (None: Plivo's callbacks or unknown), so a
    # desk can say "Held by your supervisor".
    state_changed_by = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    transfer_role = models.CharField(max_length=16, choices=TransferRole.choices, default="", blank=True)
    joined_via = models.CharField(max_length=16, choices=JoinedVia.choices, default="", blank=True)
    invited_by = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The agent who dialled this member in (an add, a transfer, a supervisor's own leg).",
    )
    muted = models.BooleanField(default=False)
    coach_mode = models.BooleanField(default=False, help_text="Heard by the agents only, never by the customer.")
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
        DUPLICATE = "duplicate", "A repeat of one already stored"
        UNRECOGNISED = "unrecognised", "A kind of callback the desk does not know"

    phlo_app = models.ForeignKey(PhloApp, on_delete=models.CASCADE, related_name="events")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    member = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    family = models.CharField(max_length=32, blank=True, help_text="Which family of Plivo callback it is.")
    event_name = models.CharField(max_length=MAX_NAME_LENGTH)
    params = models.JSONField()
    sequence = models.BigIntegerField(null=True, blank=True)
    event_timestamp = models.DateTimeField(null=True, blank=True)
    # Unique: a repeated delivery cannot be applied twice. A repeat is kept too, without a key.
    dedupe_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.CharField(max_length=255, blank=True, help_text="Why it changed nothing, in words.")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_at", "id"]
        indexes = [
            models.Index(fields=["outcome", "received_at"], name="callback_outcome"),
            models.Index(fields=["phlo_app", "received_at"], name="callback_app"),
        ]

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
    # What Plivo reported of it later (an add-participant request's AddParticipantAPIRequestOutcome).
    upstream_outcome = models.CharField(max_length=64, blank=True)
    duration_ms = models.FloatField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor} ({'ok' if self.ok else 'failed'})"


class Disposition(models.Model):
    """A wrap-up code operators keep in the admin: what a call was about."""

    name = models.CharField(max_length=64, unique=True)
    active = models.BooleanField(default=True, help_text="Offered to agents in wrap-up.")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class CallbackNonce(models.Model):
    """The `X-Plivo-Signature-V3-Nonce` of each signed callback, with the request it signed: the same
    nonce is accepted again only for the identical request (a retry), never for other parameters."""

    phlo_app = models.ForeignKey(PhloApp, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=256)
    fingerprint = models.CharField(max_length=64)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["phlo_app", "nonce"], name="unique_nonce_per_app")]

    def __str__(self) -> str:
        return f"nonce seen at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class AgentCall(models.Model):
    """Each finished call each agent was on, in the history's order (docs/history.md, "Indexes").

    A read model kept by calls/history/read_model.py: an agent's history (their own, or a supervisor's search
    for an agent) reads a page of this index instead of going through every call for theirs.
    Who may see a call is still its members' to say (calls/core/visibility.py)."""

    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="+", db_index=False)
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="+")
    ended_at = models.DateTimeField(help_text="The call's end: the history's order.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agent", "call"], name="one_row_per_agent_and_call")]
        indexes = [models.Index(fields=["agent", "-ended_at", "-call"], name="agent_history")]

    def __str__(self) -> str:
        return f"agent {self.agent_id} on call {self.call_id}"


class QuarterFigures(models.Model):
    """The queue's figures (calls/core/measures.py: the sums) of the calls that started waiting in one
    quarter of an hour (UTC), per queue: what the reports add up (docs/reports.md, "How it is fast").

    Kept by calls/history/reports.py: a quarter is counted once it is over by an hour (its row in
    `SealedQuarter` says so, with or without calls) and counted again when one of its calls changes
    later, or its queue's service level has changed since. Every local hour, half hour, quarter
    and day in every time zone in use is made of whole UTC quarters."""

    quarter = models.DateTimeField(help_text="The quarter's start (UTC).")
    # The id of the calls' queue (None: no queue). Not a foreign key: a queue deleted later leaves
    # its calls' counts where they were, still in every total, until the quarter is counted again.
    queue = models.ForeignKey(
        Queue, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name="+"
    )
    service_level_seconds = models.FloatField(help_text="The threshold `answered_in_time` was counted with.")
    offered = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    abandoned = models.PositiveIntegerField(default=0)
    answered_in_time = models.PositiveIntegerField(default=0)
    wait_total = models.DurationField(null=True, blank=True)
    waits = models.PositiveIntegerField(default=0)
    handle_total = models.DurationField(null=True, blank=True)
    handles = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["quarter", "queue"], name="report_quarters")]

    def __str__(self) -> str:
        return f"{self.offered} offered in the quarter from {self.quarter:%Y-%m-%d %H:%M} (queue {self.queue_id})"


class SealedQuarter(models.Model):
    """A quarter of an hour whose `QuarterFigures` rows are counted (none if no call waited in it)."""

    quarter = models.DateTimeField(primary_key=True)

    def __str__(self) -> str:
        return f"quarter from {self.quarter:%Y-%m-%d %H:%M} counted"
