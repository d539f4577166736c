"""What a sync did: per-artifact outcomes, the report, and the progress events.

The report (``--report FILE``, ``--json``) lists every source artifact with its status:

* ``converted``: a new wheel landed in the wheelhouse;
* ``unchanged``: its wheel was already there (also when adopted, or identical);

  ``wheel`` names the wheel, ``wheels`` every wheel of the artifact: a package holding
  several Python distributions makes one per distribution and a library wheel, which
  land together (docs/sync.md);
* ``skipped``: left out on purpose, with the reason (``--select``, a ``.conda`` twin...);
  a ``.tar.bz2`` whose ``.conda`` twin failed is synced instead, and its entry's
  ``in_place_of`` names that ``.conda``;
* ``failed``: it could not be synced, with the reason (the rest of the run went on);
* ``conflict``: its wheel would replace a different wheel of the same name; both sources
  are named, and nothing was overwritten;
* ``would-convert``: ``--dry-run`` only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Final, Literal, TextIO, TypeAlias

import msgspec

from condawheel import __version__

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from condawheel.wheelhouse.artifacts import ListingProblem
    from condawheel.wheelhouse.index import IndexUpdate

_escape = encode_basestring_ascii
"""A JSON string as ``json.dumps`` writes it (ASCII only), by json's C function."""

__all__ = [
    "ArtifactFinished",
    "ConflictParty",
    "Outcome",
    "Phase",
    "Pruned",
    "ReportWriter",
    "Status",
    "SyncEvent",
    "SyncReport",
    "Waiting",
    "WorkPlanned",
    "problem_outcome",
]

Status: TypeAlias = Literal[
    "converted", "unchanged", "skipped", "failed", "conflict", "would-convert"
]


@dataclass(frozen=True)
class ConflictParty:
    """The other side of a conflict: what made the wheel that is already there."""

    wheel: str
    source: str | None = None
    location: str | None = None
    filename: str | None = None
    sha256: str | None = None
    note: str | None = None

    def describe(self) -> str:
        """Return a one-line description for messages."""
        if self.location or self.filename:
            where = self.location or self.filename
            digest = f" (sha256 {self.sha256[:12]}...)" if self.sha256 else ""
            return f"{where}{digest}"
        return self.note or "a wheel condawheel did not make"


class Outcome(msgspec.Struct, frozen=True, gc=False):
    """What became of one source artifact (or of a whole source that failed).

    A struct, as :class:`~condawheel.wheelhouse.artifacts.Artifact`: a dry run of a whole
    channel passes on one per record.
    """

    source: str
    location: str
    filename: str
    subdir: str
    status: Status
    reason: str | None = None
    wheel: str | None = None
    sha256: str | None = None
    """The artifact's identity: its sha256, or ``md5:<hex>`` when nothing better is known."""
    size: int | None = None
    conflict_with: ConflictParty | None = None
    warnings: tuple[str, ...] = ()
    wheels: tuple[str, ...] = ()
    """Every wheel of the artifact in the wheelhouse, ``wheel`` first (converted, unchanged)."""
    in_place_of: str | None = None
    """The location of the failed ``.conda`` this ``.tar.bz2`` was synced for."""

    def to_json(self) -> dict[str, object]:
        """Return the report entry."""
        entry: dict[str, object] = {
            "source": self.source,
            "location": self.location,
            "filename": self.filename,
            "subdir": self.subdir,
            "status": self.status,
            "sha256": self.sha256,
            "size": self.size,
            "wheel": self.wheel,
            "wheels": list(self.wheels),
        }
        if self.reason is not None:
            entry["reason"] = self.reason
        if self.conflict_with is not None:
            other = self.conflict_with
            entry["conflict_with"] = {
                "wheel": other.wheel,
                "source": other.source,
                "location": other.location,
                "filename": other.filename,
                "sha256": other.sha256,
                "note": other.note,
            }
        if self.warnings:
            entry["warnings"] = list(self.warnings)
        if self.in_place_of is not None:
            entry["in_place_of"] = self.in_place_of
        return entry


def problem_outcome(problem: ListingProblem) -> Outcome:
    """Return the outcome of a listed file that cannot be synced (its record or the file)."""
    return Outcome(
        source=problem.source,
        location=problem.location,
        filename=problem.filename,
        subdir=problem.subdir,
        status=problem.status,
        reason=problem.reason,
    )


@dataclass(frozen=True)
class Pruned:
    """A wheel removed (or, in a dry run, to be removed) because its source is gone."""

    wheel: str
    source: str
    location: str
    filename: str
    sha256: str
    done: bool

    def to_json(self) -> dict[str, object]:
        """Return the report entry."""
        return {
            "wheel": self.wheel,
            "source": self.source,
            "location": self.location,
            "filename": self.filename,
            "sha256": self.sha256,
            "status": "pruned" if self.done else "would-prune",
        }


@dataclass(frozen=True)
class SyncReport:
    """Everything a sync run did, for the summary, ``--report`` and ``--json``."""

    wheelhouse: Path
    dry_run: bool
    outcomes: tuple[Outcome, ...]
    pruned: tuple[Pruned, ...] = ()
    index: IndexUpdate | None = None
    seconds: float = 0.0
    state_set_aside: Path | None = None
    passed_on: Mapping[str, int] = field(default_factory=dict)
    """How many outcomes of each status (and ``warnings``: their warnings) went to the
    caller's ``on_outcome`` as they were final, instead of into ``outcomes``."""

    def count(self, status: Status) -> int:
        """Return how many artifacts ended with ``status``."""
        kept = sum(1 for outcome in self.outcomes if outcome.status == status)
        return kept + self.passed_on.get(status, 0)

    @property
    def warnings(self) -> int:
        """Return how many warnings the conversions gave (each artifact's are in the report)."""
        kept = sum(len(outcome.warnings) for outcome in self.outcomes)
        return kept + self.passed_on.get("warnings", 0)

    @property
    def ok(self) -> bool:
        """Whether nothing failed or conflicted, and the index lists every wheel."""
        if self.index is not None and self.index.skipped:
            return False
        return not self.count("failed") and not self.count("conflict")

    def summary(self) -> str:
        """Return the one-line summary."""
        parts = [
            f"{self.count('would-convert')} to convert"
            if self.dry_run
            else f"{self.count('converted')} converted",
            f"{self.count('unchanged')} unchanged",
            f"{self.count('skipped')} skipped",
            f"{self.count('failed')} failed",
            f"{self.count('conflict')} conflicts",
        ]
        if self.pruned:
            verb = "to prune" if self.dry_run else "pruned"
            parts.append(f"{len(self.pruned)} {verb}")
        if self.index is not None and self.index.skipped:
            parts.append(f"{len(self.index.skipped)} not indexed")
        if self.warnings:
            parts.append(f"{self.warnings} warning{'s' if self.warnings != 1 else ''}")
        return f"{', '.join(parts)} in {self.seconds:.1f}s"

    def to_json(self) -> dict[str, object]:
        """Return the ``--report`` document (``artifacts``: the outcomes kept)."""
        statuses: tuple[Status, ...] = (
            "converted",
            "unchanged",
            "skipped",
            "failed",
            "conflict",
            "would-convert",
        )
        document: dict[str, object] = {
            "condawheel_version": __version__,
            "wheelhouse": str(self.wheelhouse),
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 3),
            "counts": {status: self.count(status) for status in statuses},
            "artifacts": [outcome.to_json() for outcome in self.outcomes],
            "pruned": [item.to_json() for item in self.pruned],
        }
        if self.index is not None:
            document["index"] = {
                "written": list(self.index.written),
                "removed": list(self.index.removed),
                "skipped": [
                    {"filename": s.filename, "reason": s.reason} for s in self.index.skipped
                ],
            }
        if self.state_set_aside is not None:
            document["state_set_aside"] = str(self.state_set_aside)
        return document


def _indented(value: object, level: int) -> str:
    """Return ``value`` as ``json.dumps(value, indent=2, sort_keys=True)`` at depth ``level``.

    ``json`` formats with an indent in Python functions that refer to one another: each
    call leaves a reference cycle for the garbage collector, which a listing pauses. Here
    strings go through its C escaping, and nothing is left behind; a million entries
    take a few seconds.
    """
    if isinstance(value, str):
        return _escape(value)
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    inner = "  " * (level + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        members = []
        for key in sorted(value):
            # The scalars of an entry here, without a call each: a million entries.
            item = value[key]
            if type(item) is str:
                text = _escape(item)
            elif item is None:
                text = "null"
            elif type(item) is int:
                text = str(item)
            else:
                text = _indented(item, level + 1)
            members.append(f"{inner}{_escape(key)}: {text}")
        return "{\n" + ",\n".join(members) + "\n" + "  " * level + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        items = ",\n".join(f"{inner}{_indented(item, level + 1)}" for item in value)
        return "[\n" + items + "\n" + "  " * level + "]"
    return json.dumps(value)  # a float, or what json refuses


_PLAIN_ENTRY: Final = "".join(
    (
        "{",
        *(f'\n      "{key}": %s,' for key in ("filename", "location")),
        "%s",  # "reason", when there is one
        *(f'\n      "{key}": %s,' for key in ("sha256", "size", "source", "status", "subdir")),
        '\n      "wheel": %s,\n      "wheels": %s\n    }',
    )
)
"""An entry of :func:`_plain_entry`: the keys sorted, as ``json.dumps`` sorts them."""


def _plain_entry(outcome: Outcome) -> str | None:
    """Return the entry of an outcome without a conflict, warnings or stand-in, else None.

    The text of :func:`_indented` for ``outcome.to_json()`` at depth 2, filled into one
    template: that is every entry of a dry run of a whole channel, a million of them.
    """
    if outcome.conflict_with is not None or outcome.warnings or outcome.in_place_of is not None:
        return None
    wheels = outcome.wheels
    reason, sha256, size, wheel = outcome.reason, outcome.sha256, outcome.size, outcome.wheel
    return _PLAIN_ENTRY % (
        _escape(outcome.filename),
        _escape(outcome.location),
        "" if reason is None else f'\n      "reason": {_escape(reason)},',
        "null" if sha256 is None else _escape(sha256),
        "null" if size is None else str(size),
        _escape(outcome.source),
        _escape(outcome.status),
        _escape(outcome.subdir),
        "null" if wheel is None else _escape(wheel),
        "[\n" + ",\n".join(f"        {_escape(name)}" for name in wheels) + "\n      ]"
        if wheels
        else "[]",
    )


_ENTRIES_PER_WRITE: Final = 512


class ReportWriter:
    """Write the ``--report`` document as a sync runs: each artifact as it is final.

    The text is what ``json.dumps(report.to_json(), indent=2, sort_keys=True)`` gives
    for the same outcomes, in the order they came: ``artifacts`` sorts first among the
    keys, so it can be written before the run's totals are known. A million artifacts
    then cost no memory. A failed write is kept and raised by :meth:`finish`, so that
    the sync is not stopped half-way by its report.
    """

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.written = 0
        self.error: OSError | None = None
        self.pending: list[str] = []
        """Entries not written yet: they go out a few hundred at a time, in one write."""
        self._write('{\n  "artifacts": [')

    def _write(self, text: str) -> None:
        if self.error is None:
            try:
                self.out.write(text)
            except OSError as error:
                self.error = error

    def add(self, outcome: Outcome) -> None:
        """Write one artifact's entry (with the next few hundred)."""
        pending = self.pending
        pending.append(_plain_entry(outcome) or _indented(outcome.to_json(), 2))
        if len(pending) >= _ENTRIES_PER_WRITE:
            self._flush_entries()

    def _flush_entries(self) -> None:
        if self.pending:
            self._write(("," if self.written else "") + "\n    " + ",\n    ".join(self.pending))
            self.written += len(self.pending)
            self.pending.clear()

    def finish(self, report: SyncReport) -> None:
        """Write the outcomes ``report`` kept, then the rest of the document.

        :raises OSError: if any write failed.
        """
        document = report.to_json()
        for outcome in report.outcomes:
            self.add(outcome)
        self._flush_entries()
        del document["artifacts"]
        rest = json.dumps(document, indent=2, sort_keys=True)
        self._write(("\n  ]" if self.written else "]") + ",\n" + rest[2:] + "\n")
        if self.error is None:
            try:
                self.out.flush()
            except OSError as error:
                self.error = error
        if self.error is not None:
            raise self.error


@dataclass(frozen=True)
class Phase:
    """The run entered a phase: listing, hashing, converting, indexing, pruning."""

    name: str


@dataclass(frozen=True)
class Waiting:
    """Another process holds the wheelhouse lock; this run waits for it."""

    holder: int | None


@dataclass(frozen=True)
class WorkPlanned:
    """How many artifacts the run converts, and their total size."""

    artifacts: int
    size: int


@dataclass(frozen=True)
class ArtifactFinished:
    """One conversion the run decided on finished (converted, failed or conflicting)."""

    outcome: Outcome
    size: int
    traceback: str | None = None
    """The formatted traceback of an internal error of condawheel that failed it (where the
    outcome says "internal error"); ``CONDAWHEEL_DEBUG=1`` makes the CLI print it."""


SyncEvent: TypeAlias = Phase | Waiting | WorkPlanned | ArtifactFinished
