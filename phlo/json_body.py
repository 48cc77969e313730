"""A JSON callback body parsed safely: its nesting is measured before anything recursive reads it.

Python's json parser, and the signature helpers after it, recurse once per level of nesting: a
1.8 KB body of brackets exhausts the interpreter's stack (RecursionError) in either. Plivo's
parameters are flat, so a body nested deeper than `MAX_DEPTH` is refused before either sees it.
"""

import json
import re

from phlo.events import NotACallback

MAX_DEPTH = 8
_SPECIAL = re.compile(r'[\\"\[\]{}]')  # the only characters that change string or nesting state


def nesting_deeper_than(text: str, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than `limit` (one pass, no recursion)."""
    depth, in_string, escaped_at = 0, False, -1
    for match in _SPECIAL.finditer(text):
        position, char = match.start(), match.group()
        if position == escaped_at:
            continue
        if in_string:
            if char == "\\":
                escaped_at = position + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def json_params(text: str) -> dict:
    """The parameters of a JSON body: an object, nested at most `MAX_DEPTH` deep."""
    if nesting_deeper_than(text, MAX_DEPTH):
        raise NotACallback(f"The JSON body is nested deeper than {MAX_DEPTH} levels.")
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        raise NotACallback("The JSON body cannot be parsed.") from None
    if not isinstance(parsed, dict):
        raise NotACallback("The JSON body must be an object of parameters.")
    return parsed
