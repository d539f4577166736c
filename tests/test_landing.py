"""Landing converted wheels, conflicts with what is there, and adopting untracked wheels.

In process, on wheels that real conversions staged (``workers.run_job``), in a real
wheelhouse with a real state database: what ``sync`` does once a worker is done.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import replace
from typing import TYPE_CHECKING

import msgspec
import pytest

from builders import CondaSpec, build_conda, python_package, two_distributions
from condawheel.io.http import RetryPolicy
from condawheel.options import PlanOptions
from condawheel.wheelhouse.artifacts import Artifact
from condawheel.wheelhouse.context import SyncOptions, SyncRun
from condawheel.wheelhouse.decisions import Adopt, Convert, Identified, options_fingerprint
from condawheel.wheelhouse.landing import (
    ADOPTED,
    IDENTICAL,
    REPAIRED,
    REPLACED_GARBAGE,
    SidecarSource,
    adopt,
    adoption_keys,
    land,
    sidecar_source,
)
from condawheel.wheelhouse.state import SidecarKey, WheelhouseState
from condawheel.wheelhouse.workers import ConversionJob, JobResult, load_names, run_job
from env_support import WheelSpec, make_wheel

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

NAMES = load_names(())
SPEC = python_package()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _identified(package: Path, spec: CondaSpec = SPEC) -> Identified:
    artifact = Artifact(
        source=str(package.parent),
        kind="file",
        location=str(package),
        filename=package.name,
        subdir="linux-64",
        name=spec.name,
        version=spec.version,
        build=spec.build,
    )
    return Identified(artifact, _sha256(package), package.stat().st_size)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[SyncRun]:
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    options = SyncOptions(jobs=1, system_config=None)
    key, text = options_fingerprint(options.plan_options, [])
    with WheelhouseState.open(wheelhouse) as state:
        yield SyncRun(wheelhouse, options, key, text, lambda _event: None, state=state)


def _staged(
    run: SyncRun,
    package: Path,
    number: int = 0,
    options: PlanOptions | None = None,
    spec: CondaSpec = SPEC,
) -> tuple[Convert, JobResult]:
    """Convert ``package`` as a sync worker does, into a staging folder of the wheelhouse."""
    staging = run.wheelhouse / ".condawheel-tmp-stage-test"
    staging.mkdir(exist_ok=True)
    item = _identified(package, spec)
    assert item.key is not None
    job = ConversionJob(
        number=number,
        artifact=item.artifact,
        key=item.key,
        staging=staging,
        cache_dir=run.wheelhouse.parent / "cache",
        options=options or PlanOptions(),
        retry=RetryPolicy(attempts=1, backoff=0, timeout=10),
    )
    result = run_job(job, NAMES)
    assert result.staged, result.error
    return Convert(item, item.key, "new"), result


def _wheel(result: JobResult) -> Path:
    """The one wheel a job staged."""
    (staged,) = result.staged
    return staged.path


@pytest.fixture
def package(tmp_path: Path) -> Path:
    (tmp_path / "channel").mkdir()
    return build_conda(SPEC, tmp_path / "channel")


def test_a_new_wheel_lands_is_recorded_and_indexed(run: SyncRun, package: Path) -> None:
    action, result = _staged(run, package)
    staged = _wheel(result)
    staged_bytes = staged.read_bytes()

    outcome, (record,) = land(run, action, result)

    wheel = run.wheelhouse / staged.name
    assert (outcome.status, outcome.reason, outcome.wheel) == ("converted", None, wheel.name)
    assert outcome.wheels == (wheel.name,)
    assert wheel.read_bytes() == staged_bytes
    assert not staged.parent.exists()  # the job's staging folder is cleaned up
    assert (record.artifact_key, record.wheel, record.wheel_size) == (
        action.key,
        wheel.name,
        len(staged_bytes),
    )
    assert record.wheel_sha256 == _sha256(wheel)
    assert record.wheel_mtime_ns == wheel.stat().st_mtime_ns
    assert record.depends_key == result.depends_key
    assert run.landed[wheel.name] == outcome
    [stamp] = run.indexed
    assert (stamp.filename, stamp.size) == (wheel.name, len(staged_bytes))
    assert (run.wheelhouse / f"{wheel.name}.metadata").read_bytes() == result.staged[0].metadata


def test_the_same_wheel_again_is_unchanged(run: SyncRun, package: Path) -> None:
    land(run, *_staged(run, package))
    outcome, records = land(run, *_staged(run, package, number=1))
    assert (outcome.status, outcome.reason) == ("unchanged", IDENTICAL)
    assert len(records) == 1


def test_a_failed_job_and_a_source_that_changed_meanwhile_land_nothing(
    run: SyncRun, package: Path
) -> None:
    action, result = _staged(run, package)
    failed = JobResult(0, error="not a conda package")
    assert land(run, action, failed)[0].reason == "not a conda package"
    assert land(run, action, JobResult(0))[0].reason == "no wheel was made"

    changed = replace(result, source_sha256="f" * 64)
    outcome, records = land(run, action, changed)
    assert (outcome.status, records) == ("failed", ())
    assert outcome.reason == (
        f"it changed while being synced (sha256 {'f' * 64} when converted, {action.key} "
        "when listed); not landed, the next sync redoes it"
    )
    assert list(run.wheelhouse.glob("*.whl")) == []


def _other_bytes_same_name(run: SyncRun, package: Path) -> tuple[Convert, JobResult]:
    # Another SOURCE_DATE_EPOCH: the same wheel name, other bytes.
    return _staged(run, package, number=1, options=PlanOptions(source_date_epoch=1_000_000_000))


def test_a_different_wheel_landed_in_this_run_is_a_conflict(run: SyncRun, package: Path) -> None:
    first, _ = land(run, *_staged(run, package))
    assert first.wheel is not None
    before = (run.wheelhouse / first.wheel).read_bytes()

    outcome, records = land(run, *_other_bytes_same_name(run, package))

    assert (outcome.status, records) == ("conflict", ())
    assert outcome.conflict_with is not None
    assert (outcome.conflict_with.location, outcome.conflict_with.sha256) == (
        str(package),
        first.sha256,
    )
    assert outcome.reason == (
        f"it makes {first.wheel}, but a different wheel of that name is already in the "
        f"wheelhouse, made from {package} (sha256 {_sha256(package)[:12]}...); not "
        "overwritten (the same artifact, converted with other options, mappings or record "
        "dependencies: remove the wheel to rebuild it)"
    )
    assert (run.wheelhouse / first.wheel).read_bytes() == before


def test_a_conflict_names_the_record_of_an_earlier_run(run: SyncRun, package: Path) -> None:
    _, (record,) = land(run, *_staged(run, package))
    # The next run: nothing landed yet, the state remembers the wheel.
    run.landed.clear()
    run.records = [replace(record, artifact_key="e" * 64)]
    run.recorded_wheels = frozenset({record.wheel})

    outcome, _ = land(run, *_other_bytes_same_name(run, package))

    assert outcome.conflict_with is not None
    assert outcome.conflict_with.sha256 == "e" * 64
    assert outcome.reason is not None
    assert outcome.reason.endswith(
        "; not overwritten (the artifact changed in place: --prune replaces its wheel)"
    )


def test_a_conflict_with_an_untracked_wheel_says_what_it_is(run: SyncRun, package: Path) -> None:
    action, result = _other_bytes_same_name(run, package)
    name = _wheel(result).name
    target = run.wheelhouse / name

    # A wheel of condawheel's that no record names: its conda.json tells its source.
    original, _ = _staged(run, package)
    shutil.copyfile(run.wheelhouse / ".condawheel-tmp-stage-test" / "0" / name, target)
    outcome, _ = land(run, action, result)
    assert outcome.conflict_with is not None
    assert (outcome.conflict_with.filename, outcome.conflict_with.note) == (
        package.name,
        "named by its conda.json",
    )
    assert outcome.conflict_with.sha256 == original.key

    # An ordinary wheel of that name (no conda.json).
    ordinary = make_wheel(run.wheelhouse.parent / "pypi", WheelSpec(name="demo"))
    shutil.copyfile(ordinary, target)
    action, result = _other_bytes_same_name(run, package)
    outcome, _ = land(run, action, result)
    assert outcome.conflict_with is not None
    assert outcome.conflict_with.note == (
        "an ordinary wheel of the same name (not made by condawheel)"
    )
    assert target.read_bytes() == ordinary.read_bytes()


def test_an_unreadable_file_a_record_names_is_not_replaced(run: SyncRun, package: Path) -> None:
    action, result = _staged(run, package)
    target = run.wheelhouse / _wheel(result).name
    target.write_bytes(b"\0" * 100)  # cut by a power loss, but the state still names it
    run.recorded_wheels = frozenset({target.name})

    outcome, records = land(run, action, result)

    assert (outcome.status, records) == ("conflict", ())
    assert outcome.conflict_with is not None
    assert outcome.conflict_with.note == (
        "a file of that name that is no readable wheel (damaged? remove it)"
    )
    assert target.read_bytes() == b"\0" * 100


def test_a_damaged_wheel_of_the_artifact_is_repaired(run: SyncRun, package: Path) -> None:
    action, result = _staged(run, package)
    target = run.wheelhouse / _wheel(result).name
    target.write_bytes(b"PK\x03\x04 cut short")
    run.recorded_wheels = frozenset({target.name})

    outcome, (record,) = land(run, msgspec.structs.replace(action, replaces=(target.name,)), result)

    assert (outcome.status, outcome.reason, outcome.warnings) == ("converted", REPAIRED, ())
    assert record.wheel_sha256 == _sha256(target)


def test_garbage_no_record_names_is_replaced_with_a_warning(run: SyncRun, package: Path) -> None:
    action, result = _staged(run, package)
    target = run.wheelhouse / _wheel(result).name
    target.write_bytes(b"")  # what a crash leaves between a wheel and its record

    outcome, records = land(run, action, result)

    assert (outcome.status, outcome.reason) == ("converted", REPLACED_GARBAGE)
    assert outcome.warnings == (f"{target.name}: {REPLACED_GARBAGE}",)
    assert len(records) == 1


def test_something_that_is_no_file_at_the_name_fails_the_artifact(
    run: SyncRun, package: Path
) -> None:
    action, result = _staged(run, package)
    obstacle = run.wheelhouse / _wheel(result).name
    obstacle.mkdir()

    outcome, records = land(run, action, result)

    assert (outcome.status, records) == ("failed", ())
    assert outcome.reason == (
        f"cannot move {obstacle.name} into the wheelhouse: a directory of this name is in "
        f"{run.wheelhouse}; not overwritten"
    )
    assert obstacle.is_dir()


def test_untracked_wheels_are_adopted_by_their_sidecar(run: SyncRun, package: Path) -> None:
    action, result = _staged(run, package)
    landed, _ = land(run, action, result)
    assert landed.wheel is not None
    ordinary = make_wheel(run.wheelhouse, WheelSpec(name="plain"))
    garbage = run.wheelhouse / "garbage-1.0-py3-none-any.whl"
    garbage.write_bytes(b"not a zip")
    present = {
        path.name: path.stat() for path in (run.wheelhouse / landed.wheel, ordinary, garbage)
    }

    keys = adoption_keys(run.wheelhouse, present, {})

    by_wheel = {key.wheel: key for key in keys}
    assert by_wheel[landed.wheel].artifact_key == action.key
    assert by_wheel[landed.wheel].depends_key == result.depends_key
    assert by_wheel[ordinary.name].artifact_key is None
    assert by_wheel[garbage.name].artifact_key is None
    assert sidecar_source(garbage) == SidecarSource()
    source = sidecar_source(run.wheelhouse / landed.wheel)
    assert (source.filename, source.sha256, source.split) == (package.name, action.key, False)

    # What the state remembers is used while the stamp holds: the wheel is not read again.
    info = present[ordinary.name]
    remembered = SidecarKey(ordinary.name, info.st_size, info.st_mtime_ns, "d" * 64, None)
    again = adoption_keys(run.wheelhouse, {ordinary.name: info}, {ordinary.name: remembered})
    assert again == [remembered]
    os.utime(ordinary, ns=(info.st_atime_ns, info.st_mtime_ns + 1))
    fresh = {ordinary.name: ordinary.stat()}
    assert adoption_keys(run.wheelhouse, fresh, {ordinary.name: remembered})[0].artifact_key is None

    outcome, record = adopt(
        run,
        Adopt(action.item, action.key, landed.wheel, depends_key=result.depends_key),
        present,
    )
    assert (outcome.status, outcome.reason, outcome.wheel) == ("unchanged", ADOPTED, landed.wheel)
    assert (record.wheel, record.wheel_sha256, record.depends_key) == (
        landed.wheel,
        None,  # not hashed: the stamp is recorded, the wheel is verified if it changes
        result.depends_key,
    )
    assert (record.wheel_size, record.wheel_mtime_ns) == (
        present[landed.wheel].st_size,
        present[landed.wheel].st_mtime_ns,
    )


def test_an_adopted_wheel_of_other_dependencies_is_kept_with_a_warning(
    run: SyncRun, package: Path
) -> None:
    item = _identified(package)
    assert item.key is not None
    note = "kept it, made with other depends"
    outcome, _ = adopt(run, Adopt(item, item.key, "w.whl", note=note), {"w.whl": package.stat()})
    assert (outcome.reason, outcome.warnings) == (ADOPTED, (note,))


def test_the_wheels_of_a_split_package_land_together(run: SyncRun, tmp_path: Path) -> None:
    spec = two_distributions()
    (tmp_path / "split").mkdir()
    package = build_conda(spec, tmp_path / "split")
    action, result = _staged(run, package, spec=spec)
    names = tuple(staged.path.name for staged in result.staged)
    assert [name.split("-")[0] for name in names] == ["alpha", "beta", "conda_pkg_splitdemo"]

    outcome, records = land(run, action, result)

    assert (outcome.status, outcome.wheel, outcome.wheels) == ("converted", names[0], names)
    assert [record.wheel for record in records] == list(names)
    assert {record.artifact_key for record in records} == {action.key}
    assert sorted(path.name for path in run.wheelhouse.glob("*.whl")) == sorted(names)
    assert {stamp.filename for stamp in run.indexed} == set(names)
    assert all(run.landed[name] == outcome for name in names)


def test_a_split_wheel_that_cannot_be_moved_takes_back_its_siblings(
    run: SyncRun, tmp_path: Path
) -> None:
    spec = two_distributions()
    (tmp_path / "split").mkdir()
    package = build_conda(spec, tmp_path / "split")
    action, result = _staged(run, package, spec=spec)
    *first, last = (staged.path.name for staged in result.staged)
    (run.wheelhouse / last).mkdir()  # checked last: the others were moved in already

    outcome, records = land(run, action, result)

    assert (outcome.status, records) == ("failed", ())
    assert outcome.reason is not None
    assert outcome.reason.startswith(f"cannot move {last} into the wheelhouse: a directory")
    assert not any((run.wheelhouse / name).exists() for name in first)
    assert run.landed == {}
    assert not result.staged[0].path.parent.exists()
