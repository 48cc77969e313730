"""What a member address may look like: E.164 digits (optional +) or a SIP URI.

PHLO addresses members by these strings and we put them into URL paths, so anything
else (spaces, slashes, dots-and-slashes, control characters) is refused at the door.
"""

import re

MAX_ADDRESS_LENGTH = 128
E164 = re.compile(r"\+?[1-9][0-9]{6,14}")
SIP_USER = r"[A-Za-z0-9_.!~*'()&=+$,;?-]{1,64}"
HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
SIP_URI = re.compile(rf"sip:{SIP_USER}@{HOST_LABEL}(?:\.{HOST_LABEL})*(?::[0-9]{{1,5}})?")
# The same rule as a JSON Schema (ECMA-262) pattern, for the OpenAPI schema and the browser.
ADDRESS_PATTERN = rf"^(?:{E164.pattern}|{SIP_URI.pattern})$"
ADDRESS_HELP = "E.164 digits with an optional leading + (e.g. +14155550100) or a SIP URI (sip:user@host)"


def is_valid_address(value: object) -> bool:
    if not isinstance(value, str) or len(value) > MAX_ADDRESS_LENGTH:
        return False
    return bool(E164.fullmatch(value) or SIP_URI.fullmatch(value))


def address_key(value: str) -> str:
    """The form two addresses are compared in: a phone number with or without its + is one number."""
    return value[1:] if value.startswith("+") else value.lower() if value.startswith("sip:") else value


def same_address(a: str, b: str) -> bool:
    return address_key(a) == address_key(b)


def digits_reversed(value: str) -> str:
    """A phone number's digits, last first ("+12025550111" → "11105552021"); "" for a SIP URI. The
    history finds a number by its last digits as a prefix of this (calls/history/search.py)."""
    key = address_key(value)
    return key[::-1] if key.isdigit() else ""
