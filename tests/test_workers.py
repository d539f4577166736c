"""Tests for condawheel.wheelhouse.workers: converting into staging, in worker processes."""

from __future__ import annotations

import hashlib
import json
import pickle
import subprocess
import sys
import zipfile
from typing import TYPE_CHECKING

import pytest
from msgspec.structs import replace

from builders import CondaSpec, build_conda, build_directory, python_package
from condawheel.conda.sources import MAX_METADATA_BYTES
from condawheel.io.http import RetryPolicy
from condawheel.options import PlanOptions
from condawheel.wheelhouse.artifacts import Artifact
from condawheel.wheelhouse.workers import ConversionJob, load_names, run_job, run_jobs
from syncing import serve

if TYPE_CHECKING:
    from pathlib import Path

NAMES = load_names(())
SPEC = python_package()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_artifact(path: Path, **changes: object) -> Artifact:
    fields: dict[str, object] = {
        "source": str(path.parent),
        "kind": "file",
        "location": str(path),
        "filename": path.name,
        "subdir": "linux-64",
        "name": SPEC.name,
        "version": SPEC.version,
        "build": SPEC.build,
    }
    fields.update(changes)
    return Artifact(**fields)  # type: ignore[arg-type]


def job(artifact: Artifact, staging: Path, number: int = 0, key: str = "k") -> ConversionJob:
    return ConversionJob(
        number=number,
        artifact=artifact,
        key=key,
        staging=staging,
        cache_dir=staging.parent / "cache",
        options=PlanOptions(),
        retry=RetryPolicy(attempts=1, backoff=0, timeout=10),
    )


def sidecar_source(wheel: Path) -> dict[str, object]:
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/conda.json")]
        source = json.loads(archive.read(name))["source"]
    assert isinstance(source, dict)
    return source


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    folder = tmp_path / ".condawheel-tmp-stage-test"
    folder.mkdir()
    return folder


def test_a_local_file_is_converted_into_its_staging_folder(tmp_path: Path, staging: Path) -> None:
    package = build_conda(SPEC, tmp_path)

    result = run_job(job(file_artifact(package), staging, number=7), NAMES)

    assert result.error is None
    assert result.staged
    assert result.staged[0].path.parent == staging / "7"
    assert result.staged[0].path.name.startswith(
        "demo-1.0-0_py312h1234567_0-cp312-cp312-conda_linux_64"
    )
    assert result.source_sha256 == sha256_of(package)


def test_an_installed_package_uses_the_archive_with_its_digest_else_its_folder(
    tmp_path: Path, staging: Path
) -> None:
    real = build_conda(SPEC, tmp_path)
    impostor_dir = tmp_path / "other-cache"
    impostor_dir.mkdir()
    # The same file name with other bytes: another build uploaded under that name.
    impostor = build_conda(python_package(version="1.0", extension=False), impostor_dir)
    folder = build_directory(SPEC, tmp_path / "extracted")
    wrong_folder = build_directory(CondaSpec(name="other", version="1", build="0"), tmp_path / "x")
    installed = file_artifact(
        real,
        kind="installed",
        sha256=sha256_of(real),
        md5=None,
        location="/env/conda-meta/demo.json",
    )

    from_archive = run_job(
        job(
            replace(installed, alternatives=(str(impostor), str(real))),
            staging,
            1,
        ),
        NAMES,
    )
    from_folder = run_job(
        job(
            replace(installed, alternatives=(str(impostor), str(wrong_folder), str(folder))),
            staging,
            2,
        ),
        NAMES,
    )
    nowhere = run_job(job(replace(installed, alternatives=(str(impostor),)), staging, 3), NAMES)

    assert from_archive.staged
    assert sidecar_source(from_archive.staged[0].path)["format"] == "conda"
    assert from_folder.staged
    source = sidecar_source(from_folder.staged[0].path)
    assert (source["format"], source["sha256"]) == ("directory", sha256_of(real))
    assert not nowhere.staged
    assert "no package cache holds the installed" in (nowhere.error or "")


def test_a_url_is_downloaded_verified_then_converted(tmp_path: Path, staging: Path) -> None:
    served = tmp_path / "served" / "linux-64"
    served.mkdir(parents=True)
    package = build_conda(SPEC, served)
    for server in serve(served.parent):
        artifact = file_artifact(
            package,
            kind="url",
            location=f"{server.url}/linux-64/{package.name}",
            url=f"{server.url}/linux-64/{package.name}",
            channel=server.url,
            sha256=sha256_of(package),
        )

        result = run_job(job(artifact, staging), NAMES)

        assert result.error is None, result.error
        assert result.staged
        source = sidecar_source(result.staged[0].path)
        assert (source["url"], source["channel"]) == (artifact.url, server.url)
        assert (staging.parent / "cache" / "pkgs" / sha256_of(package) / package.name).is_file()


def test_a_broken_package_is_an_error_not_an_exception(tmp_path: Path, staging: Path) -> None:
    broken = tmp_path / "broken-1.0-0.conda"
    broken.write_bytes(b"PK\x03\x04")

    result = run_job(job(file_artifact(broken), staging), NAMES)

    assert not result.staged
    assert result.error


def _defect(*_args: object, **_kwargs: object) -> None:
    # Stands for a bug in the converter: no input makes the real one raise a KeyError.
    known: dict[str, int] = {}
    known["a key the code forgot"] += 1


def test_an_internal_error_carries_its_traceback_back(
    tmp_path: Path, staging: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = build_conda(SPEC, tmp_path)
    monkeypatch.setattr("condawheel.wheelhouse.workers.convert", _defect)

    result = run_job(job(file_artifact(package), staging), NAMES)

    assert result.error == "internal error: KeyError: 'a key the code forgot'"
    assert result.traceback is not None
    assert result.traceback.startswith("Traceback (most recent call last):")
    assert "in _defect" in result.traceback
    assert result.traceback.rstrip().endswith("KeyError: 'a key the code forgot'")
    # A worker process sends its result back pickled: the traceback travels as text.
    assert pickle.loads(pickle.dumps(result)) == result  # noqa: S301 - our own bytes
    # Bad input is no defect: it has no traceback to show.
    broken = tmp_path / "broken-1.0-0.conda"
    broken.write_bytes(b"not a zip")
    monkeypatch.undo()
    assert run_job(job(file_artifact(broken), staging, number=1), NAMES).traceback is None


def test_a_worker_of_a_killed_run_does_not_recreate_the_staging_folder(
    tmp_path: Path, staging: Path
) -> None:
    package = build_conda(SPEC, tmp_path)
    staging.rmdir()  # what a newer run's recovery does with a dead run's staging folder

    result = run_job(job(file_artifact(package), staging), NAMES)

    assert not result.staged
    assert not staging.exists()


@pytest.mark.slow
def test_jobs_run_in_worker_processes(tmp_path: Path, staging: Path) -> None:
    packages = [
        build_conda(python_package(name=name), tmp_path) for name in ("one", "two", "three")
    ]
    broken = tmp_path / "broken-1.0-0.conda"
    broken.write_bytes(b"nope")
    jobs = [
        job(file_artifact(p, name=p.name.split("-")[0]), staging, n)
        for n, p in enumerate([*packages, broken])
    ]

    results = sorted(
        run_jobs(jobs, workers=2, mapping_files=(), names=lambda: NAMES), key=lambda r: r.number
    )

    assert [r.number for r in results] == [0, 1, 2, 3]
    assert [bool(r.staged) for r in results] == [True, True, True, False]
    assert all(r.source_sha256 == sha256_of(p) for r, p in zip(results, packages, strict=False))


UNGUARDED_SCRIPT = """
import sys
from pathlib import Path
from condawheel.wheelhouse import SyncOptions, sync
# No `if __name__ == "__main__":` guard: every spawned worker imports this file again.
report = sync([sys.argv[1]], Path(sys.argv[2]), SyncOptions(jobs=2))
print("ok" if report.ok else "not ok", flush=True)
"""


@pytest.mark.slow
def test_an_unguarded_script_fails_clearly_instead_of_deadlocking(tmp_path: Path) -> None:
    channel = tmp_path / "channel" / "linux-64"
    channel.mkdir(parents=True)
    for name in ("one", "two"):
        build_conda(python_package(name=name), channel)
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED_SCRIPT)

    result = subprocess.run(
        [sys.executable, str(script), str(channel.parent), str(tmp_path / "wheelhouse")],
        capture_output=True,
        text=True,
        timeout=120,  # a deadlock would hang here
        check=False,
    )

    assert 'guard the script that calls it with `if __name__ == "__main__":`' in result.stderr
    assert result.stdout == "not ok\n"  # the conversions failed; the run itself ended


def test_a_hostile_extracted_folder_is_passed_over(tmp_path: Path, staging: Path) -> None:
    real = build_conda(SPEC, tmp_path)
    folder = build_directory(SPEC, tmp_path / "extracted")
    deep = build_directory(SPEC, tmp_path / "deep")
    (deep / "info" / "index.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    huge = build_directory(SPEC, tmp_path / "huge")
    with (huge / "info" / "index.json").open("r+b") as sparse:
        sparse.truncate(MAX_METADATA_BYTES + 1)  # read whole, it would cost 64 MiB
    installed = file_artifact(
        real, kind="installed", sha256=sha256_of(real), md5=None, location="/env/conda-meta/x"
    )
    alternatives = (str(deep), str(huge), str(folder))

    result = run_job(job(replace(installed, alternatives=alternatives), staging), NAMES)

    assert result.error is None
    assert result.staged
    assert sidecar_source(result.staged[0].path)["format"] == "directory"
