"""Each signed callback's nonce is remembered with the request it signed (docs/callbacks.md,
"Replays").

Plivo's V3 signature covers the URL and the parameters' keys and values run together, so moving
a boundary (`ParticipantRole=Customer&SequenceNumber=40` resent as
`ParticipantRole=CustomerSequenceNumber40`) keeps the signature valid while the desk reads
other parameters (and another dedupe key). The nonce is what ties a signature to one request:
seen again with the identical request, it is a retry (the intake answers it as a duplicate);
with anything else, a replay, refused. Nonces are kept for `KEPT`, well beyond Plivo's retries,
in the database every process shares.

The request is remembered as an HMAC keyed by the site's secret (Django's `salted_hmac`), never as
a plain hash: a plain hash of a request whose other parameters are stored would give away, to
anyone who reads the table, what the desk stores masked (the keys a caller pressed: six digits are
a million guesses, a second and a half).
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.crypto import salted_hmac

from calls.models import CallbackNonce, PhloApp

KEPT = timedelta(hours=48)
PURGE_EVERY_SECONDS = 600.0
_KEY_SALT = "calls.intake.nonces.SignedRequest"


@dataclass(frozen=True)
class SignedRequest:
    method: str
    url: str
    params: dict

    def canonical(self) -> bytes:
        """The request exactly: method, URL and every parameter with its boundaries (JSON keeps them)."""
        text = json.dumps([self.method.upper(), self.url, self.params], sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False)
        return text.encode("utf-8", "surrogatepass")

    def fingerprint(self, secret: str | None = None) -> str:
        """What is stored for the request: keyed by SECRET_KEY (or `secret`)."""
        return salted_hmac(_KEY_SALT, self.canonical(), secret=secret, algorithm="sha256").hexdigest()

    def was(self, stored: str) -> bool:
        """Whether a stored fingerprint is this request's: under SECRET_KEY, under a key being rotated
        out (SECRET_KEY_FALLBACKS), or, for a nonce stored before fingerprints were keyed (such rows are
        gone `KEPT` after the upgrade), as the plain SHA-256 the desk kept then. None of these can be
        made to match another request, so a retry is never refused, and a replay never let through."""
        candidates = [self.fingerprint(), *(self.fingerprint(key) for key in settings.SECRET_KEY_FALLBACKS)]
        candidates.append(hashlib.sha256(self.canonical()).hexdigest())
        return any(hmac.compare_digest(stored, candidate) for candidate in candidates)


def nonce_accepted(app: PhloApp, nonce: str, request: SignedRequest) -> bool:
    """Remember the nonce with this request; False when it was seen before with another request.

    One statement in the common case (a new nonce): an insert that skips a known one, whose row
    count says which it was; no transaction or savepoint of its own around it.
    """
    table = connection.ops.quote_name(CallbackNonce._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (phlo_app_id, nonce, fingerprint, seen_at) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (phlo_app_id, nonce) DO NOTHING",
            [app.pk, nonce, request.fingerprint(), connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        if cursor.rowcount == 1:
            return True
    seen = CallbackNonce.objects.filter(phlo_app=app, nonce=nonce).values_list("fingerprint", flat=True).first()
    return seen is not None and request.was(seen)


def purge_old_nonces() -> list[dict]:
    """A periodic job (calls/apps.py): forget nonces older than `KEPT`. No live messages."""
    CallbackNonce.objects.filter(seen_at__lt=timezone.now() - KEPT).delete()
    return []
