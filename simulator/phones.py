"""How the simulated phones answer. By default every dialled phone rings a moment and answers;
the controls (`POST /_sim/phones`, docs/simulator.md) make one address answer late, never, or
reject the call, so a missed offer can be rehearsed against the desk."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

from phlo.addresses import address_key, is_valid_address


class Answer(StrEnum):
    NORMAL = "normal"  # after the usual ring (Timing.ring_seconds)
    LATE = "late"  # after `after` seconds
    NEVER = "never"  # rings until Plivo gives up (Timing.no_answer_seconds, or `after`), then the leg fails
    REJECT = "reject"  # declines at once (after `after` seconds if given)


@dataclass(frozen=True)
class Phone:
    address: str
    answer: Answer = Answer.NORMAL
    after: float | None = None

    def as_dict(self) -> dict:
        return {**asdict(self), "answer": self.answer.value}


class Phones:
    def __init__(self) -> None:
        self._by_key: dict[str, Phone] = {}

    def get(self, address: str) -> Phone:
        return self._by_key.get(address_key(address)) or Phone(address)

    def as_dict(self) -> dict:
        return {"phones": [phone.as_dict() for phone in self._by_key.values()]}

    def reset(self) -> None:
        self._by_key.clear()

    def update(self, changes: object) -> Phone:
        """`{"address", "answer", "after"}` from the control endpoint; raises ValueError with the
        first thing wrong, so a typo in a test is not silently ignored."""
        if not isinstance(changes, dict):
            raise ValueError("Send a JSON object: {\"address\", \"answer\", \"after\"}.")
        unknown = set(changes) - {"address", "answer", "after"}
        if unknown:
            raise ValueError(f"Unknown field {sorted(unknown)[0]!r}; known: address, answer, after.")
        address = changes.get("address")
        if not is_valid_address(address):
            raise ValueError("address must be a phone number or a SIP endpoint.")
        try:
            answer = Answer(changes.get("answer", Answer.NORMAL))
        except ValueError:
            raise ValueError(f"answer must be one of: {', '.join(Answer)}.") from None
        after = changes.get("after")
        if after is not None and (isinstance(after, bool) or not isinstance(after, int | float) or after < 0):
            raise ValueError("after must be a number of seconds, not negative.")
        phone = Phone(address, answer, None if after is None else float(after))
        if answer == Answer.NORMAL and after is None:
            self._by_key.pop(address_key(address), None)
        else:
            self._by_key[address_key(address)] = phone
        return phone
