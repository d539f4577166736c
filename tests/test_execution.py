"""Carrying out a sync's actions: rounds, the .tar.bz2 standing in for a failed .conda, batches.

In process (one job converts in the engine), on packages the tests build, in a real
wheelhouse with a real state database.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

import pytest

from builders import build_conda, build_tar_bz2, python_package
from condawheel.conda.twins import preferred_reason, stand_in_reason
from condawheel.options import PlanOptions
from condawheel.wheelhouse.artifacts import Artifact
from condawheel.wheelhouse.context import SyncOptions, SyncRun
from condawheel.wheelhouse.decisions import (
    Convert,
    Identified,
    Keep,
    StateView,
    decide_actions,
    options_fingerprint,
)
from condawheel.wheelhouse.execution import execute
from condawheel.wheelhouse.landing import ADOPTED
from condawheel.wheelhouse.outcomes import ArtifactFinished, Phase, SyncEvent, WorkPlanned
from condawheel.wheelhouse.state import WheelhouseState

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SPEC = python_package()
OPTIONS = PlanOptions()


def _identified(path: Path, *, problem: str | None = None) -> Identified:
    name, version, build = path.name.removesuffix(".conda").removesuffix(".tar.bz2").rsplit("-", 2)
    artifact = Artifact(
        source=str(path.parent),
        kind="file",
        location=str(path),
        filename=path.name,
        subdir="linux-64",
        name=name,
        version=version,
        build=build,
    )
    key = hashlib.sha256(path.read_bytes()).hexdigest()
    return Identified(artifact, key, path.stat().st_size, problem)


_EventT = TypeVar("_EventT")


class _Events(list[SyncEvent]):
    def of(self, kind: type[_EventT]) -> list[_EventT]:
        return [event for event in self if isinstance(event, kind)]


@pytest.fixture
def events() -> _Events:
    return _Events()


def _run(
    tmp_path: Path, events: _Events, state: WheelhouseState | None, **options: object
) -> SyncRun:
    settings: dict[str, object] = {"jobs": 1, "system_config": None, **options}
    sync_options = SyncOptions(**settings)  # type: ignore[arg-type]
    key, text = options_fingerprint(sync_options.plan_options, [])
    return SyncRun(tmp_path / "wheelhouse", sync_options, key, text, events.append, state=state)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[WheelhouseState]:
    (tmp_path / "wheelhouse").mkdir()
    with WheelhouseState.open(tmp_path / "wheelhouse") as opened:
        yield opened


@pytest.fixture
def twins(tmp_path: Path) -> tuple[Path, Path]:
    """A package as .conda and .tar.bz2 in one subdir; the .conda's bytes are broken."""
    channel = tmp_path / "channel" / "linux-64"
    channel.mkdir(parents=True)
    conda = build_conda(SPEC, channel)
    conda.write_bytes(b"PK\x03\x04 not a whole .conda")
    return conda, build_tar_bz2(SPEC, channel)


def test_a_tar_bz2_stands_in_for_a_conda_that_fails_to_convert(
    tmp_path: Path, events: _Events, state: WheelhouseState, twins: tuple[Path, Path]
) -> None:
    conda, tar_bz2 = twins
    items = [_identified(conda), _identified(tar_bz2)]
    decided = decide_actions(items, StateView(), options=OPTIONS)
    run = _run(tmp_path, events, state)

    outcomes, stand_ins = execute(run, decided, StateView(), {})

    assert [(o.filename, o.status) for o in outcomes] == [
        (conda.name, "failed"),
        (tar_bz2.name, "converted"),
    ]
    assert outcomes[1].reason == stand_in_reason(conda.name)
    assert outcomes[1].in_place_of == str(conda)
    assert [type(action) for action in stand_ins] == [Convert]
    # The progress counts both rounds; "converting" is announced once.
    assert [(e.artifacts, e.size) for e in events.of(WorkPlanned)] == [
        (1, items[0].size),
        (2, (items[0].size or 0) + (items[1].size or 0)),
    ]
    assert [e.name for e in events.of(Phase)] == ["converting"]
    finished = events.of(ArtifactFinished)
    assert [e.outcome for e in finished] == outcomes
    # Landed wheels are recorded (the batch is flushed at the end).
    [record] = state.conversions()
    assert (record.artifact_filename, record.wheel) == (tar_bz2.name, outcomes[1].wheel)
    assert list(run.wheelhouse.glob(".condawheel-tmp-*")) == []  # staging removed


def test_a_tar_bz2_stays_skipped_when_its_conda_converts(
    tmp_path: Path, events: _Events, state: WheelhouseState
) -> None:
    channel = tmp_path / "channel" / "linux-64"
    channel.mkdir(parents=True)
    conda, tar_bz2 = build_conda(SPEC, channel), build_tar_bz2(SPEC, channel)
    decided = decide_actions(
        [_identified(conda), _identified(tar_bz2)], StateView(), options=OPTIONS
    )

    outcomes, stand_ins = execute(_run(tmp_path, events, state), decided, StateView(), {})

    assert [(o.status, o.reason) for o in outcomes] == [
        ("converted", None),
        ("skipped", preferred_reason(conda.name)),
    ]
    assert stand_ins == ()
    assert len(events.of(WorkPlanned)) == 1


def test_a_dry_run_stands_in_for_a_conda_that_failed_while_deciding(
    tmp_path: Path, events: _Events, twins: tuple[Path, Path]
) -> None:
    conda, tar_bz2 = twins
    unreadable = _identified(conda, problem="cannot be read: Permission denied")
    decided = decide_actions([unreadable, _identified(tar_bz2)], StateView(), options=OPTIONS)
    run = _run(tmp_path, events, None, dry_run=True)

    outcomes, _ = execute(run, decided, StateView(), {})

    assert [(o.status, o.reason) for o in outcomes] == [
        ("failed", "cannot be read: Permission denied"),
        ("would-convert", f"{stand_in_reason(conda.name)}; new"),
    ]
    assert not (tmp_path / "wheelhouse").exists()  # a dry run writes nothing
    assert events.of(Phase) == []


def test_a_stand_in_converted_before_is_kept(
    tmp_path: Path, events: _Events, state: WheelhouseState, twins: tuple[Path, Path]
) -> None:
    conda, tar_bz2 = twins
    items = [_identified(conda), _identified(tar_bz2)]
    run = _run(tmp_path, events, state)
    # An earlier run converted the .tar.bz2 (when its .conda failed then too).
    first, _ = execute(run, decide_actions(items, StateView(), options=OPTIONS), StateView(), {})
    [record] = state.conversions()
    view = StateView(
        conversions={record.artifact_key: (record,)},
        wheels={record.wheel: record.wheel_size},
    )
    events.clear()

    outcomes, stand_ins = execute(run, decide_actions(items, view, options=OPTIONS), view, {})

    assert [type(action) for action in stand_ins] == [Keep]
    assert (outcomes[1].status, outcomes[1].reason, outcomes[1].wheel) == (
        "unchanged",
        stand_in_reason(conda.name),
        first[1].wheel,
    )
    assert outcomes[1].in_place_of == str(conda)
    # Only the .conda was tried again; the stand-in needed no conversion.
    assert [e.artifacts for e in events.of(WorkPlanned)] == [1]


def test_an_adopted_wheel_is_recorded_without_converting(
    tmp_path: Path, events: _Events, state: WheelhouseState
) -> None:
    channel = tmp_path / "channel" / "linux-64"
    channel.mkdir(parents=True)
    item = _identified(build_conda(SPEC, channel))
    run = _run(tmp_path, events, state)
    # A killed run landed the wheel, but not its record.
    [converted], _ = execute(
        run, decide_actions([item], StateView(), options=OPTIONS), StateView(), {}
    )
    assert converted.wheel is not None
    with state.transaction():
        state.forget_wheel(converted.wheel)
    present = {converted.wheel: (run.wheelhouse / converted.wheel).stat()}
    view = StateView(
        wheels={converted.wheel: present[converted.wheel].st_size},
        adoptable={item.key or "": (converted.wheel,)},
    )
    events.clear()

    [adopted], _ = execute(run, decide_actions([item], view, options=OPTIONS), view, present)

    assert (adopted.status, adopted.reason, adopted.wheel) == (
        "unchanged",
        ADOPTED,
        converted.wheel,
    )
    [record] = state.conversions()
    assert (record.wheel, record.wheel_sha256) == (converted.wheel, None)
    assert events.of(ArtifactFinished) == []
    assert [e.artifacts for e in events.of(WorkPlanned)] == [0]


def test_jobs_in_worker_processes_report_in_the_sources_order(
    tmp_path: Path, events: _Events, state: WheelhouseState
) -> None:
    channel = tmp_path / "channel" / "linux-64"
    channel.mkdir(parents=True)
    small = replace(SPEC, name="small", files=SPEC.files[:1])
    items = [_identified(build_conda(SPEC, channel)), _identified(build_conda(small, channel))]
    # Two jobs: the engine converts one, a worker process the other, largest first.
    run = _run(tmp_path, events, state, jobs=2)

    outcomes, _ = execute(run, decide_actions(items, StateView(), options=OPTIONS), StateView(), {})

    assert [o.filename for o in outcomes] == [item.artifact.filename for item in items]
    assert {o.status for o in outcomes} == {"converted"}
    assert len(state.conversions()) == 2
