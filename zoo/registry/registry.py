"""The registry: every dataset, model and recipe, keyed `domain/name`."""
from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable, Iterator

from ..errors import PluginError, ZooError
from .entries import Entry


PREFERENCE = ("recipe", "dataset", "model")  # which kind a bare name means when several share it


class Registry:
    """Holds entries by kind and `domain/name` key; refuses duplicates; finds entries by wildcard.

    A recipe may share its name with the dataset it trains on (vision/image-folder is both).
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Entry] = {}

    def add(self, entry: Entry) -> None:
        if not isinstance(entry, Entry):
            raise PluginError(
                f"{entry!r} is not a zoo entry (DatasetSpec, ModelSpec or RecipeSpec)"
            )
        existing = self._entries.get((entry.kind, entry.name))
        if existing is not None:
            first, second = existing.provider or "an unnamed plugin", entry.provider or "an unnamed plugin"
            by = f"twice by {first}" if first == second else f"twice: by {first} and by {second}"
            raise PluginError(f"{entry.kind} {entry.name!r} is registered {by}; "
                              "rename one of them (keys are unique per kind)")
        self._entries[(entry.kind, entry.name)] = entry

    def extend(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self.add(entry)

    def extend_all_or_nothing(self, entries: Iterable[Entry]) -> None:
        """Add every entry, or none if any clashes (so a failed plugin leaves no half of itself)."""
        entries = list(entries)
        for entry in entries:
            existing = self._entries.get((entry.kind, entry.name))
            if existing is not None:
                self.add(entry)  # raises, naming both providers
        self.extend(entries)

    def __contains__(self, name: str) -> bool:
        return any(n == name for _, n in self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(sorted(self._entries.values(), key=lambda e: (e.domain, e.kind, e.name)))

    def __len__(self) -> int:
        return len(self._entries)

    def all_named(self, name: str) -> list[Entry]:
        """Every entry called `name`, recipe first."""
        return [self._entries[(k, name)] for k in PREFERENCE if (k, name) in self._entries]

    def get(self, name: str, kind: str | None = None) -> Entry:
        found = [e for e in self.all_named(name) if not kind or e.kind == kind]
        entry = found[0] if found else None
        if entry is None:
            candidates = sorted({e.name for e in self if not kind or e.kind == kind})
            close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.4)
            close += [c for c in candidates if name in c and c not in close][:3]
            what = kind or "entry"
            hint = f"; did you mean {', '.join(close)}?" if close else "; see `zoo list`"
            raise ZooError(f"no {what} named {name!r}{hint}")
        return entry

    def find(self, pattern: str | None = None, *, domain: str | None = None,
             kind: str | None = None) -> list[Entry]:
        """Entries matching a wildcard pattern (`'medical/*'`), a domain and a kind."""
        if pattern and not any(ch in pattern for ch in "*?["):
            pattern = f"*{pattern}*"
        return [
            e for e in self
            if (not pattern or fnmatch.fnmatchcase(e.name, pattern))
            and (not domain or e.domain == domain)
            and (not kind or e.kind == kind)
        ]
