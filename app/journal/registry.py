"""The projector registry a journal is opened with: which entry kind derives which state, and its payload model.

The journal knows no area. The composition layer (app/composition/projections.py) assembles the registry
from the areas and passes it to `Journal.create`/`Journal.open` and to `verify_journal`, so the writer and the
verifier replay exactly the same projectors.

Each kind names its projector (and, where one exists, the pydantic model its payload must satisfy) as
"module:attribute". They are imported on the first entry of that kind, so opening a journal to write a note
does not import every area.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.journal.entries import Entry

Lookup = Callable[[str, str], Any]
Projector = Callable[["Entry", Lookup], Iterable[tuple[str, str, Any]]]


def resolve(ref: str) -> Any:
    """Import "package.module:attribute" and return the attribute."""
    module, sep, attr = ref.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"{ref!r}: expected module:attribute")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True, slots=True)
class KindSpec:
    """One entry kind: its projector and, where one exists, its payload model (both "module:attribute")."""

    projector: str | None = None
    payload: str | None = None


class Registry:
    """Entry kind -> projector (and payload model), resolved on first use. Thread-safe."""

    def __init__(self, kinds: Mapping[str, KindSpec]) -> None:
        self._kinds = dict(kinds)
        self._projectors: dict[str, Projector] = {}
        self._payloads: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def kinds(self) -> frozenset[str]:
        """Every registered kind."""
        return frozenset(self._kinds)

    @property
    def projected(self) -> frozenset[str]:
        """The kinds that change derived state; entries of any other kind skip the projection step."""
        return frozenset(k for k, spec in self._kinds.items() if spec.projector)

    @property
    def validated(self) -> frozenset[str]:
        """The kinds whose payload has a model to satisfy."""
        return frozenset(k for k, spec in self._kinds.items() if spec.payload)

    def projector(self, kind: str) -> Projector | None:
        spec = self._kinds.get(kind)
        if spec is None or spec.projector is None:
            return None
        found = self._projectors.get(kind)
        if found is None:
            with self._lock:
                found = self._projectors.setdefault(kind, resolve(spec.projector))
        return found

    def payload_model(self, kind: str) -> Any:
        """The pydantic model an entry's data must validate against, or None where the kind has none."""
        spec = self._kinds.get(kind)
        if spec is None or spec.payload is None:
            return None
        found = self._payloads.get(kind)
        if found is None:
            with self._lock:
                found = self._payloads.setdefault(kind, resolve(spec.payload))
        return found

    def project(self, entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
        """The (namespace, key, value) changes `entry` makes; a value of None deletes the key."""
        projector = self.projector(entry.kind)
        return projector(entry, get) if projector is not None else ()

    def check_payload(self, entry: Entry) -> None:
        """Raise ValueError when the entry's data does not satisfy its kind's payload model."""
        model = self.payload_model(entry.kind)
        if model is not None:
            model.model_validate(entry.data)

    def load_all(self) -> None:
        """Import every projector and payload model now (a test proves each reference resolves)."""
        for kind in self._kinds:
            self.projector(kind)
            self.payload_model(kind)
