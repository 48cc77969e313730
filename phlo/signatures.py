"""X-Plivo-Signature-V3, computed and checked with the official SDK's helpers
(plivo/utils/signature_v3.py; https://www.plivo.com/docs/voice/concepts/signature-validation/)."""

import hmac
from urllib.parse import urlsplit

from plivo.utils.signature_v3 import construct_get_url, construct_post_url, get_signature_v3

MAX_SIGNATURE_LENGTH = 4096
MAX_NONCE_LENGTH = 256


def sign(*, auth_token: str, url: str, method: str, params: dict | None, nonce: str) -> str:
    """The signature Plivo computes over the URL it called, the sorted parameters and the nonce
    (for GET the parameters are in the URL itself, so `params` is None)."""
    params = dict(params or {})
    base = construct_get_url(url, params) if method.upper() == "GET" else construct_post_url(url, params)
    return get_signature_v3(auth_token.encode(), base.decode("utf-8"), nonce.encode()).decode()


def signature_valid(*, auth_token: str, url: str, method: str, params: dict, signature: str, nonce: str) -> bool:
    """Whether one of the comma-separated signatures (Plivo sends one per token during a rotation)
    matches. Parameters the SDK cannot canonicalise never match."""
    if not signature or not nonce or len(signature) > MAX_SIGNATURE_LENGTH or len(nonce) > MAX_NONCE_LENGTH:
        return False
    if urlsplit(url).scheme not in ("http", "https"):
        return False
    try:
        expected = sign(
            auth_token=auth_token, url=url, method=method, params=None if method.upper() == "GET" else params,
            nonce=nonce,
        )
    except (TypeError, ValueError, UnicodeError, RecursionError):
        return False
    return any(hmac.compare_digest(expected.encode(), candidate.strip().encode()) for candidate in signature.split(","))
