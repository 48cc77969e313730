"""Each signed callback's nonce is remembered with the request it signed (docs/callbacks.md,
"Replays").

Plivo's V3 signature covers the URL and the parameters' keys and values run together, so moving
a boundary (`ParticipantRole=Customer&SequenceNumber=40` resent as
`ParticipantRole=CustomerSequenceNumber40`) keeps the signature valid while the desk reads
other parameters (and another dedupe key). The nonce is what ties a signature to one request:
seen again with the identical request, it is a retry (the intake answers it as a duplicate);
with anything else, a replay, refused. Nonces are kept for `KEPT`, well beyond Plivo's retries,
in the database every process shares.
"""

import hashlib
import json
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from calls.models import CallbackNonce, PhloApp

KEPT = timedelta(hours=48)
PURGE_EVERY_SECONDS = 600.0


def request_fingerprint(*, method: str, url: str, params: dict) -> str:
    """The request exactly: method, URL and every parameter with its boundaries (JSON keeps them)."""
    canonical = json.dumps([method.upper(), url, params], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def nonce_accepted(app: PhloApp, nonce: str, fingerprint: str) -> bool:
    """Remember the nonce with this request; False when it was seen before with another request.

    One statement in the common case (a new nonce): an insert that skips a known one, whose row
    count says which it was; no transaction or savepoint of its own around it.
    """
    table = connection.ops.quote_name(CallbackNonce._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (phlo_app_id, nonce, fingerprint, seen_at) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (phlo_app_id, nonce) DO NOTHING",
            [app.pk, nonce, fingerprint, connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        if cursor.rowcount == 1:
            return True
    seen = CallbackNonce.objects.filter(phlo_app=app, nonce=nonce).values_list("fingerprint", flat=True).first()
    return seen == fingerprint


def purge_old_nonces() -> list[dict]:
    """A periodic job (calls/apps.py): forget nonces older than `KEPT`. No live messages."""
    CallbackNonce.objects.filter(seen_at__lt=timezone.now() - KEPT).delete()
    return []
