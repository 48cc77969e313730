"""Drop a copy of a thing's state that is not newer than one already handled (retries,
reordering, a snapshot that overtook a queued change). Used by each process's hub and by
each socket."""

from collections import OrderedDict


class Versions:
    def __init__(self, kept: int | None = None) -> None:
        self._known: OrderedDict[str, int] = OrderedDict()
        self._kept = kept

    def reset(self, known: dict[str, int] | None = None) -> None:
        self._known = OrderedDict(known or {})

    def is_newer(self, key: str, version: int | None, *, final: bool = False) -> bool:
        """Whether `version` of `key` is news; remembers it if so (or forgets the key when `final`)."""
        if version is None:
            return True
        known = self._known.get(key)
        if known is not None and version <= known:
            return False
        if final and self._kept is None:
            self._known.pop(key, None)  # nothing older can follow what this socket saw last
            return True
        self._known[key] = version
        self._known.move_to_end(key)
        if self._kept is not None:
            while len(self._known) > self._kept:
                self._known.popitem(last=False)
        return True
