"""The sync engine: conda sources in, an indexed, shared wheelhouse out.

One run, under the wheelhouse lock:

1. recover: remove what killed runs left (staging folders, partial downloads);
2. list every SOURCE (:mod:`~condawheel.wheelhouse.listing`);
3. select (``--select``, ``--newest``) and identify: a local file's sha256 comes from the
   state's digest cache when its stamp is unchanged, else from hashing it; repodata and
   conda-meta records give the others';
4. plan (:mod:`~condawheel.wheelhouse.planning`, pure);
5. prune (``--prune``): the index first forgets the wheels, then they are removed;
6. convert in worker processes into a staging folder, and move each wheel into place
   here (hard link: atomic, never over different bytes; a rename only over a wheel
   of the same artifact that is damaged, or over an unreadable file no record names);
   record it in the state; then, only if a ``.conda`` failed, the ``.tar.bz2`` twin that
   was skipped for it (planned again by ``plan_fallbacks``);
7. bring the index up to date (skipped when no wheel changed since the last run);
8. record what each source offers, for the next ``--prune``.

Every file a reader can see appears complete or not at all; the state lags behind the
wheels at worst (a wheel that landed just before a crash is adopted by the next run).
A dry run lists, identifies and plans, and writes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from condawheel import __version__
from condawheel.condameta import dependencies_key
from condawheel.env.environment import configured_stamp
from condawheel.env.tagconfig import DEFAULT_SYSTEM_CONFIG
from condawheel.errors import (
    CondawheelError,
    InstallError,
    InvalidPackage,
    InvalidWheel,
    SourceError,
    WheelExistsError,
    WheelhouseError,
)
from condawheel.ingest import default_threads
from condawheel.io.digests import hash_file
from condawheel.io.files import TEMP_PREFIX
from condawheel.io.wheelfile import open_wheel, wheel_damage
from condawheel.options import PlanOptions
from condawheel.sidecar import SIDECAR_NAME, load_sidecar, used_dependencies
from condawheel.twins import stand_in_reason
from condawheel.wheelhouse.downloads import RetryPolicy, clean_partial_downloads, default_cache_dir
from condawheel.wheelhouse.index import (
    CACHE_PATH,
    SIMPLE_DIR,
    FileStamp,
    IndexedWheel,
    IndexUpdate,
    SkippedWheel,
    describe_known_wheel,
    index_wheelhouse,
    read_cache,
    write_cache,
)
from condawheel.wheelhouse.listing import classify_source, list_source
from condawheel.wheelhouse.lock import WheelhouseLock
from condawheel.wheelhouse.outcomes import (
    ArtifactFinished,
    ConflictParty,
    Outcome,
    Phase,
    Pruned,
    Status,
    SyncEvent,
    SyncReport,
    Waiting,
    WorkPlanned,
)
from condawheel.wheelhouse.planning import (
    Action,
    Adopt,
    Convert,
    Fail,
    Identified,
    Keep,
    PruneWheel,
    Skip,
    StateView,
    SyncPlan,
    offers_of,
    options_fingerprint,
    plan_fallbacks,
    plan_prune,
    plan_sync,
    refreshed_offers,
    run_stamp,
    scope_of,
)
from condawheel.wheelhouse.selection import Selection, select_artifacts
from condawheel.wheelhouse.state import (
    STATE_NAME,
    ConversionRecord,
    FileDigest,
    SidecarKey,
    WheelhouseState,
)
from condawheel.wheelhouse.workers import (
    ConversionJob,
    JobResult,
    in_sync_worker,
    load_names,
    run_jobs,
)
from condawheel.writer import publish, replace_damaged

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from condawheel.options import PlatformStamp
    from condawheel.wheelhouse.artifacts import (
        Artifact,
        ListingProblem,
    )
    from condawheel.wheelhouse.state import Offer
    from condawheel.writer import WriteResult

__all__ = ["STAGING_PREFIX", "SyncOptions", "recover_wheelhouse", "sync"]

STAGING_PREFIX: Final = f"{TEMP_PREFIX}stage-"
# Landed wheels are recorded in batches: a crash between a wheel and its row is repaired by
# adoption, so one transaction (and fsync) per wheel would buy nothing.
_BATCH_ROWS: Final = 64
_BATCH_SECONDS: Final = 1.0
ADOPTED: Final = "adopted the wheel already in the wheelhouse (its conda.json names this artifact)"
INDEX_SIGNATURE: Final = "index_signature"
INDEX_SKIPPED: Final = "index_skipped"
IDENTICAL: Final = "an identical wheel was already in the wheelhouse"
REPAIRED: Final = "replaced a damaged wheel (it no longer held what this artifact made)"
REPLACED_GARBAGE: Final = (
    "replaced an unreadable file at the wheel's name that no record names (left by a crash?)"
)


@dataclass(frozen=True)
class SyncOptions:
    """Everything a sync run can be told."""

    subdirs: tuple[str, ...] = ()
    """Channel subdirs to list; empty: every one found."""
    selection: Selection = field(default_factory=Selection)
    jobs: int = field(default_factory=default_threads)
    dry_run: bool = False
    prune: bool = False
    wait: bool = True
    plan_options: PlanOptions = field(default_factory=PlanOptions)
    mapping_files: tuple[Path, ...] = ()
    cache_dir: Path | None = None
    """Where downloads are kept; None: :func:`downloads.default_cache_dir`."""
    pkgs_dirs: tuple[Path, ...] = ()
    """Package caches to search for environments' artifacts, before the default ones."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    system_config: Path | None = DEFAULT_SYSTEM_CONFIG
    """The system-wide ``binary-compatibility.cfg``, read for environment sources (None: not)."""


# =========================================================================== identify


def _hash_file(path: str) -> tuple[str, str]:
    digests = hash_file(Path(path), md5=True)
    return digests.sha256, digests.md5 or ""


def _claimed_key(artifact: Artifact) -> str | None:
    if artifact.sha256:
        return artifact.sha256
    return f"md5:{artifact.md5}" if artifact.md5 else None


def _mismatch(artifact: Artifact, size: int, sha256: str, md5: str) -> str | None:
    problems = []
    if artifact.size is not None and size != artifact.size:
        problems.append(f"size {size} is not the {artifact.size} that repodata.json promises")
    if artifact.sha256 and sha256 != artifact.sha256:
        problems.append(f"sha256 {sha256} does not match repodata.json's {artifact.sha256}")
    if artifact.md5 and md5 != artifact.md5:
        problems.append(f"md5 {md5} does not match repodata.json's {artifact.md5}")
    return "; ".join(problems) or None


@dataclass(frozen=True)
class _Identification:
    items: list[Identified]
    new_digests: list[FileDigest]


def _identify(
    artifacts: Sequence[Artifact],
    digests: Mapping[str, FileDigest],
    *,
    jobs: int,
) -> _Identification:
    """Give every artifact its key; hash only local files whose stamp changed."""
    stamps: dict[int, tuple[int, int, int]] = {}
    known: dict[int, tuple[str, str]] = {}
    problems: dict[int, str] = {}
    to_hash: list[int] = []
    for number, artifact in enumerate(artifacts):
        if artifact.kind != "file":
            continue
        try:
            info = os.stat(artifact.location)  # noqa: PTH116 - the stamp, one syscall
        except OSError as error:
            problems[number] = f"cannot be read: {error.strerror or error}"
            continue
        stamps[number] = (info.st_size, info.st_mtime_ns, info.st_ino)
        cached = digests.get(artifact.location)
        if cached is not None and cached.still_valid(*stamps[number]):
            known[number] = (cached.sha256, cached.md5)
        else:
            to_hash.append(number)
    new_digests: list[FileDigest] = []
    if to_hash:
        hashed_ns = time.time_ns()
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {n: pool.submit(_hash_file, artifacts[n].location) for n in to_hash}
        for number, future in futures.items():
            try:
                known[number] = future.result()
            except OSError as error:
                problems[number] = f"cannot be read: {error.strerror or error}"
                continue
            size, mtime_ns, inode = stamps[number]
            sha256, md5 = known[number]
            location = artifacts[number].location
            new_digests.append(FileDigest(location, size, mtime_ns, inode, sha256, md5, hashed_ns))
    items = []
    for number, artifact in enumerate(artifacts):
        if number in problems:
            items.append(Identified(artifact, None, artifact.size, problems[number]))
        elif artifact.kind == "file":
            sha256, md5 = known[number]
            size = stamps[number][0]
            items.append(Identified(artifact, sha256, size, _mismatch(artifact, size, sha256, md5)))
        else:
            key = _claimed_key(artifact)
            why = None if key else "its record gives no sha256 or md5: it cannot be verified"
            items.append(Identified(artifact, key, artifact.size, why))
    return _Identification(items, new_digests)


# =========================================================================== wheelhouse


def recover_wheelhouse(wheelhouse: Path) -> list[str]:
    """Remove what killed runs left in ``wheelhouse``; return the names removed.

    The converter's temporary wheels and the engine's staging folders start with
    ``.condawheel-tmp-``; the index removes its own leftovers when it runs. The caller
    holds the wheelhouse lock, so nothing listed here is being written.
    """
    removed = []
    with os.scandir(wheelhouse) as entries:
        leftovers = [entry for entry in entries if entry.name.startswith(TEMP_PREFIX)]
    for entry in leftovers:
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        except OSError as error:
            raise WheelhouseError(
                str(path), f"cannot remove a leftover of a killed run: {error.strerror}"
            ) from None
        removed.append(entry.name)
    return removed


def _wheels_present(wheelhouse: Path) -> dict[str, os.stat_result]:
    found = {}
    with os.scandir(wheelhouse) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.name.endswith(".whl"):
                continue
            with contextlib.suppress(OSError):
                info = entry.stat()
                if stat.S_ISREG(info.st_mode):
                    found[entry.name] = info
    return found


def _sidecar_source(path: Path) -> tuple[str | None, str | None, str | None]:
    """Return ``(filename, sha256, depends key)`` of the source a wheel's ``conda.json`` names.

    The depends key digests the depends and constrains the wheel was made with.
    """
    try:
        with open_wheel(path) as archive:
            names = [
                name
                for name in archive.names
                if name.count("/") == 1
                and name.split("/")[0].endswith(".dist-info")
                and name.endswith("/" + SIDECAR_NAME)
            ]
            if len(names) != 1:
                return None, None, None
            data = archive.read(names[0])
        sidecar = load_sidecar(path.name, data)
    except (InvalidWheel, InvalidPackage):
        # Not readable as a condawheel wheel: no sidecar names a source (a bug raises).
        return None, None, None
    used = used_dependencies(sidecar.document)
    depends = None if used is None else dependencies_key(*used)
    return sidecar.source.filename, sidecar.source.sha256, depends


@dataclass(frozen=True)
class _WheelCheck:
    """What :func:`_check_wheels` found."""

    damaged: dict[str, tuple[str, ...]]
    """Artifact key -> recorded wheels that are no readable wheel any more."""
    changed: frozenset[str]
    """Recorded wheels that are not the recorded bytes (the damaged ones among them)."""
    restamp: tuple[tuple[str, int, int], ...]
    """``(wheel, size, mtime_ns)`` of intact wheels whose recorded mtime is stale."""


def _file_sha256(path: Path) -> str | None:
    try:
        return hash_file(path).sha256
    except OSError:
        return None


def _wheel_verdict(path: Path, record: ConversionRecord, info: os.stat_result) -> str:
    """Return ``intact``, ``changed`` or ``damaged`` (see :func:`_check_wheels`)."""
    same_size = info.st_size == record.wheel_size
    if same_size and record.wheel_mtime_ns == info.st_mtime_ns:
        return "intact"
    if same_size and record.wheel_sha256 is not None and _file_sha256(path) == record.wheel_sha256:
        return "intact"  # touched, not changed
    if wheel_damage(path) is not None:
        return "damaged"
    if same_size and record.wheel_sha256 is None:
        return "intact"  # an adopted wheel: no digest to compare, and readable
    return "changed"


def _check_wheels(
    wheelhouse: Path, records: Iterable[ConversionRecord], present: Mapping[str, os.stat_result]
) -> _WheelCheck:
    """Check the recorded wheels that are present against their records, by stamp.

    Wheels are published without fsync, so after a power loss one may be empty, cut short
    or zero-filled under its final name; a person or a tool may also have rewritten one.
    Covered:

    * a wheel whose size and mtime are the recorded ones is trusted and not opened (a
      no-op sync reads no wheel); damage that keeps both (data blocks lost under intact
      metadata) is not seen here: ``condawheel index --rehash`` reports such a wheel as
      damaged (not indexed), and removing it makes the next sync rebuild it;
    * a record from before mtimes were recorded (schema 1) has no stamp to trust: its
      wheel is verified once like any other, and its mtime is recorded from then on;
    * any other wheel is verified: same size and the recorded sha256 is intact (its
      stamp is recorded again); else a file that is no readable wheel (a zip with a
      ``.dist-info/WHEEL``, CRCs checked) is *damaged* and the artifact's next wheel
      replaces it; a readable wheel of other bytes is *changed*: converted again, it is
      a conflict, and is never replaced. An adopted wheel (no recorded sha256) of the
      recorded size that is readable counts as intact.
    """
    damaged: dict[str, tuple[str, ...]] = {}
    changed: set[str] = set()
    restamp: list[tuple[str, int, int]] = []
    verdicts: dict[tuple[str, int, int | None, str | None], str] = {}
    for record in records:
        info = present.get(record.wheel)
        if info is None:
            continue
        if (info.st_size, info.st_mtime_ns) == (record.wheel_size, record.wheel_mtime_ns):
            continue  # the common case, decided without building a path (a no-op sync)
        key = (record.wheel, record.wheel_size, record.wheel_mtime_ns, record.wheel_sha256)
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = verdicts[key] = _wheel_verdict(wheelhouse / record.wheel, record, info)
        if verdict == "intact":
            if record.wheel_mtime_ns != info.st_mtime_ns:
                restamp.append((record.wheel, info.st_size, info.st_mtime_ns))
            continue
        changed.add(record.wheel)
        if verdict == "damaged":
            wheels = damaged.get(record.artifact_key, ())
            if record.wheel not in wheels:
                damaged[record.artifact_key] = (*wheels, record.wheel)
    return _WheelCheck(damaged, frozenset(changed), tuple(dict.fromkeys(restamp)))


def _adoption_keys(
    wheelhouse: Path,
    untracked: Mapping[str, os.stat_result],
    cached: Mapping[str, SidecarKey],
) -> list[SidecarKey]:
    keys = []
    for wheel, info in sorted(untracked.items()):
        known = cached.get(wheel)
        if known is not None and (known.size, known.mtime_ns) == (info.st_size, info.st_mtime_ns):
            keys.append(known)
            continue
        _, sha256, depends = _sidecar_source(wheelhouse / wheel)
        keys.append(SidecarKey(wheel, info.st_size, info.st_mtime_ns, sha256, depends))
    return keys


def _wheels_signature(present: Mapping[str, os.stat_result]) -> str:
    """Digest every wheel's stamp (and this condawheel's version, which writes the index)."""
    digest = hashlib.sha256(__version__.encode())
    for name, info in sorted(present.items()):
        digest.update(f"\0{name}\0{info.st_size}\0{info.st_mtime_ns}".encode())
    return digest.hexdigest()


def _index_if_changed(
    wheelhouse: Path,
    state: WheelhouseState,
    known: Mapping[FileStamp, IndexedWheel],
    present: Mapping[str, os.stat_result] | None = None,
) -> IndexUpdate:
    """Bring the index up to date, unless no wheel changed since this engine last did.

    Rendering the pages of 10,000 projects to compare them with the disk costs most of
    a no-op sync, so the wheels' stamps after each index run are remembered; a wheel
    added, removed or replaced (by anyone) changes them. ``known`` describes the wheels
    this run landed, so that the index does not read them back. ``present``: the wheels
    found at the start of a run that wrote none (None: look again). ``condawheel index``
    rewrites the index unconditionally, for pages edited or removed by hand.
    """
    simple = wheelhouse / SIMPLE_DIR
    pages_exist = all((simple / page).is_file() for page in ("index.html", "index.json"))
    if present is None:
        present = _wheels_present(wheelhouse)
    if pages_exist and state.meta(INDEX_SIGNATURE) == _wheels_signature(present):
        # Still not indexed: every run says so (and fails), not only the one that found it.
        left_out = json.loads(state.meta(INDEX_SKIPPED) or "[]")
        return IndexUpdate(skipped=tuple(SkippedWheel(name, why) for name, why in left_out))
    if known:
        cache_path = wheelhouse / CACHE_PATH
        write_cache(cache_path, {**read_cache(cache_path), **known})
    update = index_wheelhouse(wheelhouse)
    # The signature is taken after the index run, so nothing it did is mistaken for news.
    with state.transaction():
        state.set_meta(
            {
                INDEX_SIGNATURE: _wheels_signature(_wheels_present(wheelhouse)),
                INDEX_SKIPPED: json.dumps([[s.filename, s.reason] for s in update.skipped]),
            }
        )
    return update


# =========================================================================== the run


def _outcome(
    item: Identified, status: Status, *, reason: str | None = None, wheel: str | None = None
) -> Outcome:
    artifact = item.artifact
    return Outcome(
        source=artifact.source,
        location=artifact.location,
        filename=artifact.filename,
        subdir=artifact.subdir,
        status=status,
        reason=reason,
        wheel=wheel,
        sha256=item.key,
        size=item.size,
    )


def _problem_outcome(problem: ListingProblem) -> Outcome:
    return Outcome(
        source=problem.source,
        location=problem.location,
        filename=problem.filename,
        subdir=problem.subdir,
        status=problem.status,
        reason=problem.reason,
    )


class _Batch:
    """Conversion records waiting for one transaction (see ``_BATCH_ROWS``)."""

    def __init__(self, state: WheelhouseState) -> None:
        self.state = state
        self.pending: list[ConversionRecord] = []
        self.since = time.monotonic()

    def add(self, record: ConversionRecord) -> None:
        self.pending.append(record)
        if len(self.pending) >= _BATCH_ROWS or time.monotonic() - self.since > _BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            with self.state.transaction():
                for record in self.pending:
                    self.state.record_conversion(record)
        self.pending.clear()
        self.since = time.monotonic()


@dataclass
class _Run:
    """The bookkeeping of one run (the engine's, never the planner's)."""

    wheelhouse: Path
    options: SyncOptions
    options_key: str
    options_json: str
    emit: Callable[[SyncEvent], None]
    state: WheelhouseState | None = None
    records: Sequence[ConversionRecord] = ()
    """The state's records when the run started."""
    recorded_wheels: frozenset[str] = frozenset()
    """The wheels ``records`` name."""
    landed: dict[str, Outcome] = field(default_factory=dict)
    """Wheel file name -> the outcome that landed it in this run (for conflicts)."""
    indexed: dict[FileStamp, IndexedWheel] = field(default_factory=dict)
    """Index entries of the wheels landed in this run (see _index_if_changed)."""
    unusable: Mapping[str, CondawheelError] = field(default_factory=dict)
    """Sources that fail before listing (an environment whose build tag cannot be told)."""

    def conversion(
        self,
        item: Identified,
        key: str,
        wheel: str,
        stamp: tuple[int, int | None],
        sha256: str | None,
        depends_key: str | None,
    ) -> ConversionRecord:
        """Return the record of a wheel; ``stamp``: its size and mtime (None: unknown)."""
        artifact = item.artifact
        return ConversionRecord(
            artifact_key=key,
            options_key=self.options_key,
            wheel=wheel,
            wheel_size=stamp[0],
            wheel_sha256=sha256,
            artifact_filename=artifact.filename,
            artifact_source=artifact.source,
            artifact_scope=scope_of(artifact),
            artifact_location=artifact.location,
            condawheel_version=__version__,
            options_json=self.options_json,
            converted_at=time.time(),
            wheel_mtime_ns=stamp[1],
            depends_key=depends_key,
        )


@dataclass(frozen=True)
class _Gathered:
    """The sources listed, selected and identified."""

    outcomes: list[Outcome]
    """Listing problems and artifacts left out by the selection."""
    selected: list[Identified]
    offers: dict[str, tuple[tuple[str, ...], list[Offer]]]
    """Source -> (scopes listed completely, the offers found there)."""
    new_digests: list[FileDigest]


def _gather(sources: Sequence[str], run: _Run, digests: Mapping[str, FileDigest]) -> _Gathered:
    options = run.options
    run.emit(Phase("listing"))
    outcomes: list[Outcome] = []
    artifacts: list[Artifact] = []
    complete: dict[str, tuple[str, ...]] = {}
    for text in sources:
        if text in run.unusable:
            error = run.unusable[text]
            outcomes.append(Outcome(text, error.subject, "", "", "failed", reason=error.reason))
            continue
        try:
            listing = list_source(
                classify_source(text),
                subdirs=options.subdirs,
                pkgs_dirs=options.pkgs_dirs,
                retry=options.retry,
            )
        except SourceError as error:
            outcomes.append(Outcome(text, error.subject, "", "", "failed", reason=error.reason))
            continue
        outcomes.extend(_problem_outcome(problem) for problem in listing.problems)
        artifacts.extend(listing.artifacts)
        complete[listing.source] = listing.complete_scopes
    selection = select_artifacts(artifacts, options.selection)
    # Like a mistyped source: a cron job must not report success for a filter of nothing.
    outcomes.extend(
        Outcome(
            "--select",
            term,
            "",
            "",
            "failed",
            reason="this --select term matches no package the sources list",
        )
        for term in selection.unmatched
    )
    chosen = {id(artifact) for artifact in selection.selected}
    # --prune must know every listed artifact's key to tell "gone" from "not selected".
    wanted = artifacts if options.prune else list(selection.selected)
    run.emit(Phase("identifying"))
    identification = _identify(wanted, digests, jobs=options.jobs)
    by_artifact = {id(item.artifact): item for item in identification.items}
    for artifact, reason in selection.skipped:
        item = by_artifact.get(id(artifact)) or Identified(artifact, None, artifact.size)
        outcomes.append(_outcome(item, "skipped", reason=reason))
    offers = {
        source: (
            scopes,
            offers_of(
                (item for item in identification.items if item.artifact.source == source),
                scopes,
            ),
        )
        for source, scopes in complete.items()
    }
    selected = [item for item in identification.items if id(item.artifact) in chosen]
    return _Gathered(outcomes, selected, offers, identification.new_digests)


def _conflict_party(run: _Run, wheel: str) -> ConflictParty:
    landed = run.landed.get(wheel)
    if landed is not None:
        return ConflictParty(wheel, landed.source, landed.location, landed.filename, landed.sha256)
    for record in run.records:
        if record.wheel == wheel:
            return ConflictParty(
                wheel,
                record.artifact_source,
                record.artifact_location,
                record.artifact_filename,
                None if record.artifact_key.startswith("md5:") else record.artifact_key,
            )
    filename, sha256, _ = _sidecar_source(run.wheelhouse / wheel)
    if filename is None:
        if wheel_damage(run.wheelhouse / wheel) is not None:
            note = "a file of that name that is no readable wheel (damaged? remove it)"
            return ConflictParty(wheel, note=note)
        return ConflictParty(
            wheel, note="an ordinary wheel of the same name (not made by condawheel)"
        )
    return ConflictParty(wheel, filename=filename, sha256=sha256, note="named by its conda.json")


def _land(run: _Run, action: Convert, result: JobResult) -> tuple[Outcome, ConversionRecord | None]:
    item = action.item
    if result.error is not None or result.staged is None:
        return _outcome(item, "failed", reason=result.error or "no wheel was made"), None
    staged = result.staged
    wheel = staged.name
    try:
        if (
            not action.key.startswith("md5:")
            and result.source_sha256 is not None
            and result.source_sha256 != action.key
        ):
            reason = (
                f"it changed while being synced (sha256 {result.source_sha256} when "
                f"converted, {action.key} when listed); not landed, the next sync redoes it"
            )
            return _outcome(item, "failed", reason=reason), None
        note: str | None = None
        try:
            written: WriteResult = publish(staged, run.wheelhouse / wheel)
        except WheelExistsError:
            # Checked again, though the lock keeps other syncs out: a readable wheel put
            # there since planning is someone's, and is never replaced. An unreadable file
            # that no record names is what a crash leaves between a wheel and its record.
            replaceable = wheel in action.replaces or wheel not in run.recorded_wheels
            if not replaceable or wheel_damage(run.wheelhouse / wheel) is None:
                return _conflict(run, action, wheel)
            try:
                written = replace_damaged(staged, run.wheelhouse / wheel)
            except OSError as error:
                return _cannot_move(item, wheel, error), None
            note = REPAIRED if wheel in action.replaces else REPLACED_GARBAGE
        except OSError as error:
            return _cannot_move(item, wheel, error), None
        try:
            mtime_ns: int | None = written.path.stat().st_mtime_ns
        except OSError:
            mtime_ns = None  # checked by size and sha256 next time
    finally:
        shutil.rmtree(staged.parent, ignore_errors=True)
    if result.metadata is not None:
        stamp, entry = describe_known_wheel(
            run.wheelhouse, wheel, sha256=written.sha256, metadata=result.metadata
        )
        run.indexed[stamp] = entry
    status: Status = "converted" if written.status == "written" else "unchanged"
    if status == "unchanged":
        note = IDENTICAL
    warnings = result.warnings
    if note == REPLACED_GARBAGE:
        warnings = (*warnings, f"{wheel}: {REPLACED_GARBAGE}")
    outcome = replace(_outcome(item, status, reason=note, wheel=wheel), warnings=warnings)
    run.landed[wheel] = outcome
    landed = (written.size, mtime_ns)
    record = run.conversion(item, action.key, wheel, landed, written.sha256, result.depends_key)
    return outcome, record


def _cannot_move(item: Identified, wheel: str, error: OSError) -> Outcome:
    reason = f"cannot move {wheel} into the wheelhouse: {error.strerror or error}"
    return _outcome(item, "failed", reason=reason)


def _conflict(run: _Run, action: Convert, wheel: str) -> tuple[Outcome, None]:
    item = action.item
    other = _conflict_party(run, wheel)
    reason = (
        f"it makes {wheel}, but a different wheel of that name is already in the "
        f"wheelhouse, made from {other.describe()}; not overwritten"
    )
    if other.sha256 == action.key:
        reason += (
            " (the same artifact, converted with other options, mappings or record "
            "dependencies: remove the wheel to rebuild it)"
        )
    elif other.location == item.artifact.location:
        reason += " (the artifact changed in place: --prune replaces its wheel)"
    outcome = _outcome(item, "conflict", reason=reason, wheel=wheel)
    return replace(outcome, conflict_with=other), None


def _convert_all(
    run: _Run,
    converts: Sequence[tuple[int, Convert]],
    batch: _Batch | None,
    stand_ins: Mapping[int, Identified] | None = None,
) -> dict[int, Outcome]:
    """Convert and land; ``stand_ins``: position -> the failed ``.conda`` it stands in for."""
    options = run.options
    staging = run.wheelhouse / f"{STAGING_PREFIX}{secrets.token_hex(8)}"
    staging.mkdir()
    cache_dir = options.cache_dir or default_cache_dir()
    workers = max(1, options.jobs)
    jobs = [
        ConversionJob(
            number=position,
            artifact=action.item.artifact,
            key=action.key,
            staging=staging,
            cache_dir=cache_dir,
            options=options.plan_options,
            retry=options.retry,
            # --jobs counts cores: with several artifacts each conversion runs in one
            # thread and the jobs are the parallelism; a lone artifact gets the default
            # compression threads.
            threads=0 if len(converts) > 1 else None,
        )
        # With several workers, largest first (LPT scheduling): a big package started
        # last would leave the others idle at the end. One worker keeps the sources'
        # order, so that the first source wins a wheel-name conflict.
        for position, action in (
            sorted(converts, key=lambda pair: (-(pair[1].item.size or 0), pair[0]))
            if workers > 1
            else converts
        )
    ]
    actions = dict(converts)
    outcomes: dict[int, Outcome] = {}
    try:
        for result in run_jobs(
            jobs,
            workers=workers,
            mapping_files=options.mapping_files,
            names=lambda: load_names(options.mapping_files),
        ):
            action = actions[result.number]
            outcome, record = _land(run, action, result)
            if stand_ins and result.number in stand_ins:
                outcome = _in_place_of(outcome, stand_ins[result.number])
            if record is not None and batch is not None:
                batch.add(record)
            outcomes[result.number] = outcome
            run.emit(ArtifactFinished(outcome, action.item.size or 0))
    finally:
        if batch is not None:
            batch.flush()
        shutil.rmtree(staging, ignore_errors=True)
    return outcomes


def _kept(item: Identified, wheel: str, note: str | None, *, reason: str | None = None) -> Outcome:
    outcome = _outcome(item, "unchanged", reason=reason or note, wheel=wheel)
    # A wheel kept although the source's record now says other dependencies: a warning.
    return outcome if note is None else replace(outcome, warnings=(note,))


def _execute(
    run: _Run, plan: SyncPlan, view: StateView, present: Mapping[str, os.stat_result]
) -> tuple[list[Outcome], tuple[Action, ...]]:
    """Carry out ``plan``; return the outcomes and the actions decided for fallbacks.

    A ``.tar.bz2`` skipped for its ``.conda`` twin is decided again, in a second round,
    only if that ``.conda`` failed (a dry run knows only the failures of planning).
    """
    batch = None if run.options.dry_run or run.state is None else _Batch(run.state)
    outcomes: dict[int, Outcome] = {}
    converts = _execute_round(run, enumerate(plan.actions), outcomes, batch, present)
    size = sum(action.item.size or 0 for _, action in converts)
    run.emit(WorkPlanned(len(converts), size))
    if converts:
        run.emit(Phase("converting"))
        outcomes.update(_convert_all(run, converts, batch))
    failed = [position for position, outcome in outcomes.items() if outcome.status == "failed"]
    fallbacks = (
        plan_fallbacks(plan, failed, view, options=run.options.plan_options) if failed else ()
    )
    if fallbacks:
        stand_ins = {position: _twin(plan.actions[position]) for position, _ in fallbacks}
        for position in stand_ins:
            del outcomes[position]  # "skipped" no more: decided again
        more = _execute_round(run, fallbacks, outcomes, batch, present)
        for position in stand_ins.keys() & outcomes.keys():
            outcomes[position] = _in_place_of(outcomes[position], stand_ins[position])
        if more:
            # The progress counts what the run converts in all: the first round and this.
            more_size = sum(action.item.size or 0 for _, action in more)
            run.emit(WorkPlanned(len(converts) + len(more), size + more_size))
            if not converts:
                run.emit(Phase("converting"))
            outcomes.update(_convert_all(run, more, batch, stand_ins))
    if batch is not None:
        batch.flush()
    ordered = [outcomes[position] for position in range(len(plan.actions))]
    return ordered, tuple(action for _, action in fallbacks)


def _twin(action: Action) -> Identified:
    """Return the ``.conda`` a ``.tar.bz2`` was skipped for (plan_fallbacks chose it)."""
    if not isinstance(action, Skip) or action.twin is None:
        raise AssertionError(f"not a skipped .tar.bz2 twin: {action!r}")
    return action.twin


def _in_place_of(outcome: Outcome, twin: Identified) -> Outcome:
    """Say that a ``.tar.bz2``'s outcome stands in for its failed ``.conda`` ``twin``."""
    conda = twin.artifact
    reason = outcome.reason
    if outcome.status in {"converted", "unchanged", "would-convert"}:
        said = stand_in_reason(conda.filename)
        reason = said if reason is None else f"{said}; {reason}"
    return replace(outcome, reason=reason, in_place_of=conda.location)


def _execute_round(
    run: _Run,
    chosen: Iterable[tuple[int, Action]],
    outcomes: dict[int, Outcome],
    batch: _Batch | None,
    present: Mapping[str, os.stat_result],
) -> list[tuple[int, Convert]]:
    """Record the outcome of each chosen action that needs no conversion; return the rest."""
    dry_run = run.options.dry_run
    converts: list[tuple[int, Convert]] = []
    for position, action in chosen:
        if isinstance(action, Keep):
            outcomes[position] = _kept(action.item, action.wheel, action.note)
        elif isinstance(action, Skip):
            outcomes[position] = _outcome(action.item, "skipped", reason=action.reason)
        elif isinstance(action, Fail):
            outcomes[position] = _outcome(action.item, "failed", reason=action.reason)
        elif isinstance(action, Adopt):
            outcomes[position] = _kept(action.item, action.wheel, action.note, reason=ADOPTED)
            if batch is not None:
                info = present[action.wheel]
                stamp = (info.st_size, info.st_mtime_ns)
                batch.add(
                    run.conversion(
                        action.item, action.key, action.wheel, stamp, None, action.depends_key
                    )
                )
        elif dry_run:
            outcomes[position] = _outcome(action.item, "would-convert", reason=action.reason)
        else:
            converts.append((position, action))
    return converts


def _plan(
    run: _Run, gathered: _Gathered, present: Mapping[str, os.stat_result]
) -> tuple[SyncPlan, StateView]:
    check = _check_wheels(run.wheelhouse, run.records, present)
    if check.restamp and run.state is not None and not run.options.dry_run:
        with run.state.transaction():
            run.state.record_wheel_stamps(check.restamp)
    view = StateView(
        conversions={
            record.artifact_key: record
            for record in run.records
            if record.options_key == run.options_key
        },
        wheels={name: info.st_size for name, info in present.items()},
        damaged=check.damaged,
        changed=check.changed,
    )
    plan = plan_sync(gathered.selected, view, options=run.options.plan_options)
    if not plan.needs_adoption_view or run.state is None:
        return plan, view
    # Something must be converted: first look whether a killed run already made it.
    tracked = {record.wheel for record in run.records}
    untracked = {name: info for name, info in present.items() if name not in tracked}
    keys = _adoption_keys(run.wheelhouse, untracked, run.state.sidecar_keys())
    if not run.options.dry_run:
        with run.state.transaction():
            run.state.forget_sidecar_keys(set(run.state.sidecar_keys()) - set(untracked))
            run.state.record_sidecar_keys(keys)
    adoptable: dict[str, tuple[str, ...]] = {}
    for key in keys:
        if key.artifact_key is not None:
            adoptable[key.artifact_key] = (*adoptable.get(key.artifact_key, ()), key.wheel)
    depends = {key.wheel: key.depends_key for key in keys if key.depends_key is not None}
    view = replace(view, adoptable=adoptable, adoptable_depends=depends)
    return plan_sync(gathered.selected, view, options=run.options.plan_options), view


def _remove_wheel(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        raise WheelhouseError(str(path), f"cannot prune: {error.strerror}") from None


def _pruned(items: Iterable[PruneWheel], *, done: bool) -> tuple[Pruned, ...]:
    return tuple(
        Pruned(
            wheel=item.wheel,
            source=item.record.artifact_source,
            location=item.record.artifact_location,
            filename=item.record.artifact_filename,
            sha256=item.record.artifact_key,
            done=done,
        )
        for item in items
    )


def _plan_prune(run: _Run, gathered: _Gathered, plan: SyncPlan) -> tuple[PruneWheel, ...]:
    if not run.options.prune or run.state is None:
        return ()
    before = run.state.offers()
    staying = {action.wheel for action in plan.actions if isinstance(action, Keep | Adopt)}
    return plan_prune(
        before,
        refreshed_offers(before, gathered.offers),
        run.records,
        refreshed=[(s, scope) for s, (scopes, _) in gathered.offers.items() for scope in scopes],
        keep_wheels=staying,
    )


def _prune(run: _Run, state: WheelhouseState, prune: Sequence[PruneWheel]) -> None:
    """Remove wheels whose source is gone: from the index, then the files, then the state.

    In that order a crash leaves nothing the index still lists, and a state row whose
    wheel is missing is pruned again by the next run. Pruning comes before converting, so
    that an artifact replaced by other bytes under the same name can land its new wheel.
    """
    run.emit(Phase("pruning"))
    index_wheelhouse(run.wheelhouse, exclude={item.wheel for item in prune})
    for item in prune:
        _remove_wheel(run.wheelhouse / item.wheel)
    with state.transaction():
        for item in prune:
            state.forget_wheel(item.wheel)
    gone = {item.wheel for item in prune}
    run.records = [record for record in run.records if record.wheel not in gone]
    run.recorded_wheels = run.recorded_wheels - gone


def _run_with_state(
    sources: Sequence[str], run: _Run
) -> tuple[list[Outcome], tuple[Pruned, ...], IndexUpdate | None]:
    state, options = run.state, run.options
    gathered = _gather(sources, run, state.file_digests() if state is not None else {})
    if state is not None and not options.dry_run and gathered.new_digests:
        with state.transaction():
            state.record_file_digests(gathered.new_digests)
    run.records = state.conversions() if state is not None else []
    run.recorded_wheels = frozenset(record.wheel for record in run.records)
    present = _wheels_present(run.wheelhouse) if run.wheelhouse.is_dir() else {}
    plan, view = _plan(run, gathered, present)
    prune = _plan_prune(run, gathered, plan)
    if state is None or options.dry_run:
        executed, _ = _execute(run, plan, view, present)
        return gathered.outcomes + executed, _pruned(prune, done=False), None
    if prune:
        _prune(run, state, prune)
    executed, fallbacks = _execute(run, plan, view, present)
    outcomes = gathered.outcomes + executed
    run.emit(Phase("indexing"))
    # A run that moved no wheel in or out saw the wheelhouse as it still is (it holds the lock).
    actions = (*plan.actions, *fallbacks)
    wrote = bool(prune) or any(isinstance(action, Convert) for action in actions)
    index = _index_if_changed(run.wheelhouse, state, run.indexed, None if wrote else present)
    with state.transaction():
        for source, (scopes, offers) in gathered.offers.items():
            if options.prune:
                state.replace_offers(source, scopes, offers)
            else:
                state.add_offers(offers)
    return outcomes, _pruned(prune, done=True), index


def _with_environment_stamp(
    sources: Sequence[str], options: SyncOptions
) -> tuple[SyncOptions, dict[str, CondawheelError]]:
    """Stamp the build tag that the environment sources configure (an explicit stamp wins).

    Return the options and the environment sources whose stamp cannot be told (they
    fail, the others are synced).
    """
    plan_options = options.plan_options
    if plan_options.platform_stamp is not None:
        return options, {}
    environments: dict[str, PlatformStamp | None] = {}
    others: list[str] = []
    unusable: dict[str, CondawheelError] = {}
    for text in sources:
        try:
            source = classify_source(text)
        except SourceError:
            continue  # reported when the sources are listed
        if source.kind != "environment":
            others.append(text)
        elif source.location not in environments and text not in unusable:
            try:
                environments[source.location] = configured_stamp(
                    Path(source.location),
                    system_config=options.system_config,
                    platform_prefix=plan_options.platform_prefix,
                )
            except InstallError as error:
                unusable[text] = error
    stamp = run_stamp(environments, others)
    if stamp is None:
        return options, unusable
    return replace(options, plan_options=replace(plan_options, platform_stamp=stamp)), unusable


def sync(
    sources: Sequence[str],
    wheelhouse: Path,
    options: SyncOptions | None = None,
    *,
    on_event: Callable[[SyncEvent], None] | None = None,
) -> SyncReport:
    """Sync ``sources`` into ``wheelhouse`` (see the module docstring).

    A source or an artifact that fails is reported in the result, and the others are
    still synced; :attr:`SyncReport.ok` says whether all went well. A dry run writes
    nothing (it reads the state if there is one).

    :raises WheelhouseError: if the wheelhouse cannot be created, locked (``wait=False``
        and another run holds it), or its state or index cannot be written.
    :raises InvalidMapping: if one of ``mapping_files`` is invalid.
    :raises ConfigError: if an environment source's ``binary-compatibility.cfg`` is
        malformed; :class:`WheelhouseError` too if environment sources need different
        build tags, or one needs a build tag and other sources are synced with it (see
        :func:`~condawheel.wheelhouse.planning.run_stamp`).
    """
    if in_sync_worker():
        raise WheelhouseError(
            "sync()",
            "called again while a worker process of a sync starts: guard the script that "
            'calls it with `if __name__ == "__main__":` (worker processes import it)',
        )
    options = options or SyncOptions()
    started = time.monotonic()
    emit = on_event or _ignore
    try:
        digests = [hashlib.sha256(path.read_bytes()).hexdigest() for path in options.mapping_files]
    except OSError as error:
        raise WheelhouseError(str(error.filename), f"cannot read: {error.strerror}") from None
    if options.mapping_files:
        load_names(options.mapping_files)  # an invalid mapping is an error before any work
    options, unusable = _with_environment_stamp(sources, options)
    options_key, options_json = options_fingerprint(options.plan_options, digests)
    run = _Run(wheelhouse, options, options_key, options_json, emit, unusable=unusable)
    set_aside = None
    if options.dry_run and not (wheelhouse / STATE_NAME).is_file():
        outcomes, pruned, index = _run_with_state(sources, run)
    else:
        try:
            wheelhouse.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise WheelhouseError(str(wheelhouse), f"cannot create: {error.strerror}") from None
        with WheelhouseLock(wheelhouse, wait=options.wait, on_wait=lambda pid: emit(Waiting(pid))):
            if not options.dry_run:
                recover_wheelhouse(wheelhouse)
                clean_partial_downloads(options.cache_dir or default_cache_dir())
            with WheelhouseState.open(wheelhouse) as state:
                run.state = state
                set_aside = state.set_aside
                outcomes, pruned, index = _run_with_state(sources, run)
    return SyncReport(
        wheelhouse,
        dry_run=options.dry_run,
        outcomes=tuple(outcomes),
        pruned=pruned,
        index=index,
        seconds=time.monotonic() - started,
        state_set_aside=set_aside,
    )


def _ignore(_event: SyncEvent) -> None:
    """Drop an event (no listener)."""
