"""Tests for condawheel.wheelhouse.cluster: a sync whose conversions run on a Dask cluster.

A real scheduler and real workers on loopback (the ``dask scheduler`` and ``dask worker``
commands, started and ended by pid), real HTTP channels served on 127.0.0.1, real
signals. The reference for every result is a local sync of the same sources: the same
wheels, index and report, byte for byte (the report without its timing).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Final

import pytest

from builders import (
    CondaSpec,
    FileSpec,
    build_conda,
    build_tar_bz2,
    python_package,
    two_distributions,
)
from cli_runner import invoke
from condawheel import __version__
from condawheel.errors import WheelhouseError
from condawheel.io.http import RetryPolicy
from condawheel.options import PlanOptions
from condawheel.wheelhouse import SyncOptions, sync
from condawheel.wheelhouse.artifacts import Artifact
from condawheel.wheelhouse.cluster import (
    TIMEOUT_TRIES,
    Probe,
    RunSetup,
    convert_task,
    probe_worker,
)
from condawheel.wheelhouse.downloads import PART_PREFIX
from condawheel.wheelhouse.outcomes import ArtifactFinished
from condawheel.wheelhouse.workers import ConversionJob
from dask_cluster import DaskProcesses, dask_cluster, runs_on_worker
from dask_counting import parsed
from envs import index_channel
from syncing import cli_environment, condawheel_command, hidden_leftovers, serve, wheelhouse_digest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from condawheel.wheelhouse.outcomes import SyncEvent, SyncReport
    from syncing import ChannelServer

pytestmark = pytest.mark.slow

# A scheduler that goes away is noticed at once; one that never answers, within this.
CONNECT_TIMEOUT: Final = "5s"
MAPPING: Final = "schema: 1\nnames:\n  webmod: web-renamed\n  mylib: my-pypi-lib\n"


def _channel(root: Path, specs: list[CondaSpec], *, tar_bz2: tuple[str, ...] = ()) -> Path:
    for spec in specs:
        folder = root / (spec.subdir if spec.noarch is None else "noarch")
        folder.mkdir(parents=True, exist_ok=True)
        if spec.name in tar_bz2:
            build_tar_bz2(spec, folder)
        else:
            build_conda(spec, folder)
    (root / "noarch").mkdir(exist_ok=True)
    index_channel(root, relax=False)
    return root


def _payload(name: str, size: int) -> FileSpec:
    # Compressible but not trivial: each package takes a moment to convert.
    text = "".join(f"{name} line {n} {n * n % 9973}\n" for n in range(size))
    return FileSpec(f"share/{name}/data.txt", text.encode())


def _specs(prefix: str, count: int) -> list[CondaSpec]:
    specs = []
    for number in range(count):
        name = f"{prefix}{number}"
        spec = python_package(name=name, depends=["python >=3.12", "mylib >=1"])
        spec.files.append(_payload(name, 20_000 + 5_000 * number))
        specs.append(spec)
    # A noarch Python package without a dist-info: its wheel's name and Requires-Dist
    # come from the name mapping.
    module = CondaSpec(
        name=f"{prefix}mod",
        build="py_0",
        subdir="noarch",
        noarch="python",
        depends=["python >=3.8", "mylib >=1"],
        files=[FileSpec(f"site-packages/{prefix}mod/__init__.py", b"VALUE = 1\n")],
    )
    module.files.append(_payload(f"{prefix}mod", 10_000))
    return [*specs, module]


@pytest.fixture(scope="module")
def http_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("served") / "channel"
    return _channel(root, _specs("web", 4), tar_bz2=("web1",))


@pytest.fixture(scope="module")
def folder_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("folder") / "channel"
    return _channel(root, _specs("disk", 3))


@pytest.fixture
def server(http_root: Path) -> Iterator[ChannelServer]:
    yield from serve(http_root)


@pytest.fixture(scope="module")
def worker_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("worker-cache")


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, worker_cache: Path
) -> Iterator[DaskProcesses]:
    folder = tmp_path_factory.mktemp("dask")
    with dask_cluster(folder, environment={"CONDAWHEEL_CACHE_DIR": str(worker_cache)}) as running:
        yield running


@pytest.fixture
def engine_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The engine's own download cache, apart from the workers'."""
    cache = tmp_path / "engine-cache"
    monkeypatch.setenv("CONDAWHEEL_CACHE_DIR", str(cache))
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", CONNECT_TIMEOUT)
    return cache


def comparable(report: SyncReport) -> str:
    """The report as --json prints it, without the timing, the wheelhouse named alike."""
    document = report.to_json()
    del document["seconds"]
    return json.dumps(document, sort_keys=True).replace(str(report.wheelhouse), "<wheelhouse>")


def local_sync(sources: list[str], wheelhouse: Path, **options: object) -> SyncReport:
    return sync(sources, wheelhouse, SyncOptions(jobs=1, **options))  # type: ignore[arg-type]


def assert_as_local(report: SyncReport, expected: SyncReport) -> None:
    """The same report (but its timing) and the same wheelhouse, byte for byte."""
    assert comparable(report) == comparable(expected)
    assert wheelhouse_digest(report.wheelhouse) == wheelhouse_digest(expected.wheelhouse)


def part_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob(f"{PART_PREFIX}*"))


# ------------------------------------------------------------------ the same results


def test_a_dask_sync_makes_the_wheels_index_and_report_of_a_local_sync(
    cluster: DaskProcesses,
    server: ChannelServer,
    folder_channel: Path,
    worker_cache: Path,
    engine_cache: Path,
    tmp_path: Path,
) -> None:
    cluster.wait_for_workers(2)
    mapping = tmp_path / "names.yaml"
    mapping.write_text(MAPPING)
    sources = [server.url, str(folder_channel)]
    events: list[SyncEvent] = []
    expected = local_sync(sources, tmp_path / "local", mapping_files=(mapping,))
    shutil.rmtree(engine_cache)
    server.controls.requests.clear()
    parsed_before = cluster.client.run(parsed)

    report = sync(
        sources,
        tmp_path / "dask",
        SyncOptions(jobs=1, scheduler=cluster.address, mapping_files=(mapping,)),
        on_event=events.append,
    )

    assert report.ok, comparable(report)
    assert report.count("converted") == 9
    assert wheelhouse_digest(tmp_path / "dask") == wheelhouse_digest(tmp_path / "local")
    assert comparable(report) == comparable(expected)
    # The mapping reached the workers: the names are the mapping's.
    metadata = next((tmp_path / "dask").glob("web_renamed-*.whl.metadata")).read_text()
    assert "Requires-Dist: my-pypi-lib>=1" in metadata
    # ... and was parsed once by each worker, not once for each of the 9 tasks.
    parsed_after = cluster.client.run(parsed)
    assert {w: parsed_after[w] - parsed_before[w] for w in parsed_after} == dict.fromkeys(
        parsed_after, 1
    )
    # The same progress: one event per artifact converted.
    finished = [event.outcome.filename for event in events if isinstance(event, ArtifactFinished)]
    assert sorted(finished) == sorted(o.filename for o in report.outcomes)
    # The workers fetched the channel's artifacts themselves, into their own cache.
    downloaded = {path.name for path in worker_cache.rglob("web*") if path.is_file()}
    assert {o.filename for o in report.outcomes if o.filename.startswith("web")} <= downloaded
    assert not engine_cache.exists() or not any(engine_cache.rglob("*.conda"))
    assert hidden_leftovers(tmp_path / "dask") == []
    assert not list((tmp_path / "dask").glob(".condawheel-tmp-stage-*"))
    # Nothing of the run stays on the workers.
    assert cluster.client.run(runs_on_worker) == dict.fromkeys(cluster.worker_pids(), 0)


@pytest.mark.usefixtures("engine_cache")
def test_a_split_package_lands_every_wheel_from_dask_as_locally(
    cluster: DaskProcesses, tmp_path: Path
) -> None:
    # One task, several wheels: a package holding several Python distributions.
    cluster.wait_for_workers(1)
    sources = [str(_channel(tmp_path / "channel", [two_distributions()]))]
    expected = local_sync(sources, tmp_path / "local")

    report = sync(sources, tmp_path / "dask", SyncOptions(jobs=1, scheduler=cluster.address))

    assert_as_local(report, expected)
    [outcome] = report.outcomes
    assert outcome.status == "converted"
    assert [wheel.split("-")[0] for wheel in outcome.wheels] == [
        "alpha",
        "beta",
        "conda_pkg_splitdemo",
    ]
    assert sorted(path.name for path in (tmp_path / "dask").glob("*.whl")) == sorted(outcome.wheels)


@pytest.mark.corpus
@pytest.mark.usefixtures("engine_cache")
def test_the_corpus_channel_synced_on_dask_equals_a_local_sync(
    cluster: DaskProcesses, corpus: Path, tmp_path: Path
) -> None:
    cluster.wait_for_workers(2)
    sources = [str(corpus / "channel")]
    expected = local_sync(sources, tmp_path / "local")

    report = sync(sources, tmp_path / "dask", SyncOptions(scheduler=cluster.address))

    assert_as_local(report, expected)


@pytest.mark.usefixtures("engine_cache")
def test_a_job_file_names_the_scheduler_and_the_json_report_is_a_local_syncs(
    cluster: DaskProcesses, folder_channel: Path, tmp_path: Path
) -> None:
    cluster.wait_for_workers(2)
    job = tmp_path / "job.toml"
    job.write_text(
        f'[sync]\nsources = ["{folder_channel}"]\nwheelhouse = "dask"\n'
        f'scheduler = "{cluster.address}"\n'
    )
    local = invoke("sync", folder_channel, "-w", tmp_path / "local", "-j", "1", "--json")
    parsed_before = cluster.client.run(parsed)

    run = invoke("sync", "--config", job, "--json")

    assert (run.exit_code, local.exit_code) == (0, 0), run.stderr
    # The run's setup reached each worker: the conversions ran there.
    parsed_after = cluster.client.run(parsed)
    assert all(parsed_after[w] == parsed_before[w] + 1 for w in parsed_after)
    reports = [json.loads(result.stdout) for result in (run, local)]
    for report in reports:
        assert report.pop("seconds") >= 0
        del report["wheelhouse"]
    assert reports[0] == reports[1]
    assert reports[0]["counts"]["converted"] == 4
    assert wheelhouse_digest(tmp_path / "dask") == wheelhouse_digest(tmp_path / "local")


# ------------------------------------------------------------------ faults


class Watcher(threading.Thread):
    """Call ``then`` once the server has been asked for ``path``; keep what it raised."""

    def __init__(self, server: ChannelServer, path: str, then: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.server, self.path, self.then = server, path, then
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        deadline = time.monotonic() + 120
        while self.path not in self.server.controls.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            self.then()
        except BaseException as error:  # noqa: BLE001 - shown by finish()
            self.error = error

    def finish(self) -> None:
        self.join(timeout=60)
        if self.error is not None:
            raise self.error


def test_a_worker_killed_mid_task_has_its_task_run_again_elsewhere(
    cluster: DaskProcesses,
    server: ChannelServer,
    engine_cache: Path,
    tmp_path: Path,
) -> None:
    cluster.wait_for_workers(2)
    expected = local_sync([server.url], tmp_path / "local")
    shutil.rmtree(engine_cache)
    server.controls.requests.clear()
    victim = "web2-1.0-py312h1234567_0.conda"
    path = f"/linux-64/{victim}"
    released = threading.Event()
    server.controls.stall_once[path] = released
    killed: list[int] = []
    # The worker is killed while it is in the middle of downloading the artifact.
    watcher = Watcher(server, path, lambda: killed.append(cluster.kill_worker_running(victim)))
    # A cache of this test's own (--cache-dir), which the workers use: nothing is cached.
    options = SyncOptions(scheduler=cluster.address, cache_dir=tmp_path / "c")
    try:
        report = sync([server.url], tmp_path / "dask", options)
    finally:
        released.set()
        watcher.finish()

    assert killed
    assert server.controls.requests.count(path) == 2  # ran again, once
    assert_as_local(report, expected)
    assert [o.status for o in report.outcomes if o.filename == victim] == ["converted"]
    assert hidden_leftovers(tmp_path / "dask") == []
    assert not list((tmp_path / "dask").glob(".condawheel-tmp-stage-*"))
    # The killed worker's half download is removed by the next run's setup on the workers.
    assert len(part_files(tmp_path / "c")) <= 1
    cluster.wait_for_workers(2)
    assert sync([server.url], tmp_path / "next", options).ok
    assert part_files(tmp_path / "c") == []


def sync_stalling(
    server: ChannelServer, path: str, wheelhouse: Path, options: SyncOptions, *, every_time: bool
) -> SyncReport:
    """Sync the served channel while each download of ``path`` (or the first) stalls half-way."""
    released = threading.Event()
    (server.controls.stall if every_time else server.controls.stall_once)[path] = released
    try:
        return sync([server.url], wheelhouse, options)
    finally:
        released.set()


def test_a_hung_task_times_out_and_runs_again(
    cluster: DaskProcesses, server: ChannelServer, engine_cache: Path, tmp_path: Path
) -> None:
    cluster.wait_for_workers(2)
    expected = local_sync([server.url], tmp_path / "local")
    shutil.rmtree(engine_cache)
    server.controls.requests.clear()
    path = "/noarch/webmod-1.0-py_0.conda"
    # The download stalls half-way, longer than the task may take; the HTTP client's
    # per-read timeout (a minute) would catch it too, later. A cache of this test's own
    # (--cache-dir), which the workers use: nothing is cached.
    options = SyncOptions(scheduler=cluster.address, task_timeout=3, cache_dir=tmp_path / "c")
    report = sync_stalling(server, path, tmp_path / "dask", options, every_time=False)

    assert server.controls.requests.count(path) == 2
    assert_as_local(report, expected)


@pytest.mark.usefixtures("engine_cache")
def test_a_task_that_hangs_every_time_fails_alone_after_its_tries(
    cluster: DaskProcesses, server: ChannelServer, tmp_path: Path
) -> None:
    cluster.wait_for_workers(2)
    path = "/noarch/webmod-1.0-py_0.conda"
    options = SyncOptions(scheduler=cluster.address, task_timeout=1, cache_dir=tmp_path / "c")
    report = sync_stalling(server, path, tmp_path / "dask", options, every_time=True)

    assert server.controls.requests.count(path) == TIMEOUT_TRIES
    [failed] = [o for o in report.outcomes if o.status == "failed"]
    assert failed.filename == "webmod-1.0-py_0.conda"
    assert failed.reason == f"timed out on the Dask workers {TIMEOUT_TRIES} times, after 1 s each"
    assert report.count("converted") == 4
    assert not report.ok


@pytest.mark.usefixtures("engine_cache")
def test_a_poison_artifact_fails_alone_after_the_allowed_failures(
    server: ChannelServer, worker_cache: Path, tmp_path: Path
) -> None:
    poison = "web0-1.0-py312h1234567_0.conda"
    settings = {
        "CONDAWHEEL_CACHE_DIR": str(worker_cache),
        "CONDAWHEEL_TEST_POISON": poison,
        # 2 tries; and a worker holds only the task it runs, so that a death is charged
        # to that task alone.
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",
        "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
    }
    with dask_cluster(
        tmp_path / "dask-cluster", environment=settings, preload=("dask_poison",)
    ) as poisoned:
        report = sync([server.url], tmp_path / "dask", SyncOptions(scheduler=poisoned.address))

    failures = [o for o in report.outcomes if o.status == "failed"]
    assert [o.filename for o in failures] == [poison], [o.reason for o in failures]
    [failed] = failures
    assert failed.reason == (
        "the Dask worker converting it died, all 2 times it was tried (killed, out of "
        "memory, or this artifact crashes it)"
    )
    assert report.count("converted") == 4
    assert hidden_leftovers(tmp_path / "dask") == []


@pytest.mark.usefixtures("engine_cache")
def test_the_scheduler_gone_fails_the_sync_in_one_line_and_a_rerun_finishes(
    server: ChannelServer, worker_cache: Path, tmp_path: Path
) -> None:
    reference = tmp_path / "local"
    assert local_sync([server.url], reference).ok
    server.controls.requests.clear()
    path = "/linux-64/web3-1.0-py312h1234567_0.conda"
    released = threading.Event()
    server.controls.stall_once[path] = released
    wheelhouse = tmp_path / "wheelhouse"
    environment = cli_environment(DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=CONNECT_TIMEOUT)
    with dask_cluster(
        tmp_path / "dask-cluster", environment={"CONDAWHEEL_CACHE_DIR": str(worker_cache)}
    ) as doomed:
        environment["CONDAWHEEL_SCHEDULER"] = doomed.address
        watcher = Watcher(server, path, doomed.kill_scheduler)
        try:
            result = subprocess.run(
                condawheel_command(
                    "sync", server.url, "-w", str(wheelhouse), "--cache-dir", str(tmp_path / "c")
                ),
                capture_output=True,
                text=True,
                env=environment,
                timeout=300,
                check=False,
            )
        finally:
            released.set()
            watcher.finish()

    assert result.returncode == 1, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {doomed.address}: lost the connection to the Dask scheduler (")
    assert line.endswith("); the wheels landed so far are kept: run the sync again to finish")
    assert result.stdout == ""
    assert hidden_leftovers(wheelhouse) == []
    assert not list(wheelhouse.glob(".condawheel-tmp-stage-*"))
    # The re-run, here on this machine, finishes the work.
    del environment["CONDAWHEEL_SCHEDULER"]
    again = subprocess.run(
        condawheel_command("sync", server.url, "-w", str(wheelhouse)),
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert wheelhouse_digest(wheelhouse) == wheelhouse_digest(reference)


# ------------------------------------------------------------------ checked up front


@pytest.mark.usefixtures("engine_cache")
def test_a_source_the_workers_cannot_read_fails_the_sync_before_any_task(
    cluster: DaskProcesses, folder_channel: Path, tmp_path: Path
) -> None:
    cluster.wait_for_workers(2)
    channel = tmp_path / "channel"
    shutil.copytree(folder_channel, channel)
    hidden = tmp_path / "elsewhere"

    def hide(event: SyncEvent) -> None:
        # Listed and hashed here, then gone from the workers' view before they start.
        if getattr(event, "name", None) == "converting":
            channel.rename(hidden)

    with pytest.raises(WheelhouseError) as raised:
        sync(
            [str(channel)], tmp_path / "dask", SyncOptions(scheduler=cluster.address), on_event=hide
        )

    message = str(raised.value)
    assert message.startswith(f"{cluster.address}: Dask worker tcp://127.0.0.1:")
    assert f"cannot read {channel}/" in message
    assert "the sources must be on a filesystem the workers share, at the same path" in message
    assert "(and 1 more workers)" in message
    assert not list((tmp_path / "dask").glob("*.whl"))
    assert not list((tmp_path / "dask").glob(".condawheel-tmp-stage-*"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_an_unreachable_scheduler_is_one_line_and_nothing_is_written(tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    environment = cli_environment(
        CONDAWHEEL_SCHEDULER=address, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="1s"
    )
    result = subprocess.run(
        condawheel_command("sync", str(tmp_path), "-w", str(tmp_path / "wheelhouse")),
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {address}: cannot reach the Dask scheduler: ")
    assert not (tmp_path / "wheelhouse").exists()


def test_without_distributed_the_scheduler_says_how_to_install_it(tmp_path: Path) -> None:
    # The import system's own way to make a package absent: None in sys.modules.
    script = (
        "import sys; sys.modules['distributed'] = None; "
        "from condawheel.cli import main; sys.argv[0] = 'condawheel'; main()"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "sync",
            str(tmp_path),
            "-w",
            str(tmp_path / "wheelhouse"),
            "--scheduler",
            "tcp://127.0.0.1:8786",
        ],
        capture_output=True,
        text=True,
        env=cli_environment(),
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        (
            "error: tcp://127.0.0.1:8786: a Dask scheduler needs the 'distributed' package: "
            "pip install 'condawheel[dask]'"
        )
    ]
    assert not (tmp_path / "wheelhouse").exists()


# ------------------------------------------------------------------ on a worker, in process


def _probe(tmp_path: Path, **changes: object) -> Probe:
    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    token_file = staging / "probe-token"
    token_file.write_text("token")
    fields: dict[str, object] = {
        "version": __version__,
        "token_file": token_file,
        "token": "token",
        "files": (),
        "downloads": False,
        "cache_dir": None,
    }
    fields.update(changes)
    return Probe(**fields)  # type: ignore[arg-type]


def test_a_worker_that_can_do_the_work_has_no_problem(tmp_path: Path) -> None:
    readable = tmp_path / "a.conda"
    readable.write_bytes(b"x")
    probe = _probe(
        tmp_path,
        files=((str(tmp_path / "missing.conda"), str(readable)),),
        downloads=True,
        cache_dir=tmp_path / "cache",
    )
    assert probe_worker(probe) == []
    assert (tmp_path / "cache" / "pkgs").is_dir()


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        pytest.param(
            {"version": "0.0.1"},
            f"runs condawheel {__version__}, the engine 0.0.1: its wheels would differ; "
            "install the same version on every worker",
            id="another-version",
        ),
        pytest.param(
            {"token": "another"},
            "does not see the wheelhouse's staging folder {staging} (token): the wheelhouse "
            "must be on a filesystem the workers share, at the same path",
            id="another-folder-at-that-path",
        ),
        pytest.param(
            {"files": (("/nowhere/x.conda",),)},
            "cannot read /nowhere/x.conda: the sources must be on a filesystem the workers "
            "share, at the same path",
            id="unreadable-source",
        ),
    ],
)
def test_a_worker_that_cannot_do_the_work_says_why(
    tmp_path: Path, changes: dict[str, object], problem: str
) -> None:
    probe = _probe(tmp_path, **changes)
    assert probe_worker(probe) == [problem.format(staging=tmp_path / "staging")]


def test_a_worker_without_the_staging_folder_or_a_cache_says_why(tmp_path: Path) -> None:
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    probe = _probe(tmp_path, downloads=True, cache_dir=tmp_path / "cache")
    probe.token_file.unlink()
    assert probe_worker(probe) == [
        (
            f"does not see the wheelhouse's staging folder {tmp_path / 'staging'} (unreadable: "
            "No such file or directory): the wheelhouse must be on a filesystem the workers "
            "share, at the same path"
        ),
        f"cannot create its download cache {tmp_path / 'cache' / 'pkgs'}: Not a directory",
    ]


def _url_job(server: ChannelServer, staging: Path, filename: str, subdir: str) -> ConversionJob:
    data = (server.root / subdir / filename).read_bytes()
    artifact = Artifact(
        source=server.url,
        kind="url",
        location=f"{server.url}/{subdir}/{filename}",
        filename=filename,
        subdir=subdir,
        name=filename.rsplit("-", 2)[0],
        version="1.0",
        build=filename.rsplit("-", 1)[1].split(".", maxsplit=1)[0],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )
    return ConversionJob(
        number=7,
        artifact=artifact,
        key=artifact.sha256 or "",
        staging=staging,
        cache_dir=staging.parent / "cache",
        options=PlanOptions(),
        retry=RetryPolicy(attempts=1, backoff=0, timeout=60),
    )


def test_a_task_converts_with_the_runs_mapping_in_a_folder_of_its_own(
    server: ChannelServer, tmp_path: Path
) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    setup = RunSetup("run-a", (("names.yaml", MAPPING),), tmp_path / "cache")
    setup.setup(None)  # type: ignore[arg-type]
    try:
        job = _url_job(server, staging, "webmod-1.0-py_0.conda", "noarch")
        first = convert_task(job, "run-a", 60)
        second = convert_task(job, "run-a", 60)
    finally:
        setup.teardown(None)  # type: ignore[arg-type]
    assert first.error is None
    assert first.staged
    assert second.staged
    # A task run twice (its worker died) stages apart each time.
    assert first.staged[0].path.parent != second.staged[0].path.parent
    assert first.staged[0].path.read_bytes() == second.staged[0].path.read_bytes()
    assert b"Requires-Dist: my-pypi-lib>=1" in (first.staged[0].metadata or b"")


def test_a_task_past_its_deadline_is_given_up(server: ChannelServer, tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    released = threading.Event()
    server.controls.stall["/noarch/webmod-1.0-py_0.conda"] = released
    setup = RunSetup("run-b", (), tmp_path / "cache")
    setup.setup(None)  # type: ignore[arg-type]
    try:
        job = _url_job(server, staging, "webmod-1.0-py_0.conda", "noarch")
        result = convert_task(job, "run-b", 0.5)
    finally:
        released.set()
        setup.teardown(None)  # type: ignore[arg-type]
    assert result.timed_out
    assert result.error == "timed out after 0.5 s"


def test_a_dry_run_with_a_scheduler_connects_to_nothing(
    folder_channel: Path, tmp_path: Path
) -> None:
    # It converts nothing, so it needs no cluster: no scheduler listens at this address.
    address = f"tcp://127.0.0.1:{_free_port()}"
    report = sync(
        [str(folder_channel)], tmp_path / "w", SyncOptions(dry_run=True, scheduler=address)
    )
    assert report.count("would-convert") == 4
    assert not (tmp_path / "w").exists()
