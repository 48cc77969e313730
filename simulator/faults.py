"""The ways the simulated Plivo can misbehave, so the desk can be tried against each of them.

One mutable `Faults` object is shared by the HTTP app (latency, errors, stuck requests, a
rotated token) and the callback courier (duplicates, reordering). Flags on the command line set
the starting values; `POST /_sim/faults` changes them while the simulator runs.
"""

from dataclasses import asdict, dataclass, fields


@dataclass
class Faults:
    latency: float = 0.0  # seconds added before every API answer (PHLO and Voice API alike)
    error_rate: float = 0.0  # share of API requests answered 500 (and not carried out)
    stuck: bool = False  # API requests are never answered: the client has to time out
    token_rotated: bool = False  # every API request gets 401, as after a token rotation
    duplicate_rate: float = 0.0  # share of callbacks delivered twice
    reorder: bool = False  # callbacks of one call are delivered in random order

    def as_dict(self) -> dict:
        return asdict(self)

    def update(self, changes: object) -> None:
        """Apply a partial change (JSON from the control endpoint); all or nothing.

        Raises ValueError naming the first bad key, so a typo in a test is not silently ignored.
        """
        if not isinstance(changes, dict):
            raise ValueError("Send a JSON object of fault settings.")
        known = {f.name: f.type for f in fields(self)}
        checked = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"Unknown fault {name!r}; known: {', '.join(known)}.")
            checked[name] = _checked(name, value, known[name])
        for name, value in checked.items():
            setattr(self, name, value)

    def reset(self) -> None:
        self.update(Faults().as_dict())


def _checked(name: str, value: object, kind: object) -> object:
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false.")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number.")
    value = float(value)
    if name.endswith("_rate") and not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1.")
    if value < 0:
        raise ValueError(f"{name} must not be negative.")
    return value
