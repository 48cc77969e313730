"""X-Plivo-Signature-V3, checked with the Plivo SDK's own helpers (CONTRACT §5)."""

import hmac
from urllib.parse import urlsplit

from django.conf import settings
from plivo.utils.signature_v3 import construct_get_url, construct_post_url, get_signature_v3

SIGNATURE_HEADER = "HTTP_X_PLIVO_SIGNATURE_V3"
NONCE_HEADER = "HTTP_X_PLIVO_SIGNATURE_V3_NONCE"


def public_url(request) -> str:
    """The URL Plivo called: behind a proxy, PUBLIC_BASE_URL's scheme and host with our path."""
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + request.get_full_path()
    return request.build_absolute_uri()


def sign(*, auth_token: str, url: str, method: str, params: dict | None, nonce: str) -> str:
    """The signature Plivo computes: used by the simulator to sign and by tests; verify uses it too."""
    params = dict(params or {})
    base = construct_get_url(url, params) if method.upper() == "GET" else construct_post_url(url, params)
    return get_signature_v3(auth_token.encode(), base.decode("utf-8"), nonce.encode()).decode()


def signature_valid(request, *, auth_token: str, params: dict) -> bool:
    signature = request.META.get(SIGNATURE_HEADER, "")
    nonce = request.META.get(NONCE_HEADER, "")
    if not signature or not nonce or len(signature) > 4096 or len(nonce) > 256:
        return False
    url = public_url(request)
    if urlsplit(url).scheme not in ("http", "https"):
        return False
    # For GET the parameters are in the URL itself; for POST they are the body's.
    expected = sign(
        auth_token=auth_token, url=url, method=request.method, params=None if request.method == "GET" else params,
        nonce=nonce,
    )
    return any(_equal(expected, candidate.strip()) for candidate in signature.split(","))


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
