"""Helpers for the wheelhouse sync tests: channels, PyPI wheels, a channel server, pip."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest
from conda_package_handling import api as cph
from conda_package_streaming.create import conda_builder

from conda_envs import find_python312
from condawheel.wheelhouse.frontpage import FRONT_PAGE, with_last_sync

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from builders import CondaSpec

# Small packages of the corpus channel (noarch and linux-64, .conda and .tar.bz2): enough
# for the crash and concurrency tests, which run many syncs.
SMALL_PACKAGES: Final = (
    "linux-64/_libgcc_mutex-0.1-conda_forge.tar.bz2",
    "linux-64/python_abi-3.12-5_cp312.conda",
    "linux-64/jsonpointer-3.0.0-py312h7900ff3_1.conda",
    "linux-64/frozendict-2.4.6-py312h66e93f0_0.conda",
    "linux-64/libffi-3.4.2-h7f98852_5.tar.bz2",
    "noarch/hyperframe-6.0.1-pyhd8ed1ab_1.conda",
    "noarch/jsonpatch-1.33-pyhd8ed1ab_1.conda",
    "noarch/platformdirs-4.3.6-pyhd8ed1ab_1.conda",
    "noarch/pysocks-1.7.1-pyha55dd90_7.conda",
    "noarch/pluggy-1.5.0-pyhd8ed1ab_1.conda",
    "noarch/colorama-0.4.6-pyhd8ed1ab_1.conda",
    "noarch/hpack-4.0.0-pyhd8ed1ab_1.conda",
)


def copy_channel(corpus: Path, destination: Path, files: Iterable[str] | None = None) -> Path:
    """Copy the corpus channel (or some of its files) to a writable ``destination``."""
    source = corpus / "channel"
    if files is None:
        shutil.copytree(source, destination)
    else:
        for relative in files:
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / relative, target)
    for path in destination.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)  # the corpus files are read-only
    return destination


def pypi_wheels() -> list[Path]:
    """Real wheels from PyPI, offline: the ones this Python bundles for ``ensurepip``.

    pip (and setuptools, bundled before Python 3.12) are in the corpus channel too, as
    newer conda packages: a system pip must pick these, a conda platform the conda ones.
    """
    import ensurepip  # noqa: PLC0415

    folders = [Path(ensurepip.__file__).parent / "_bundled"]
    packaged = getattr(ensurepip, "_WHEEL_PKG_DIR", None)  # distributions may move them
    if packaged:
        folders.append(Path(packaged))
    wheels = sorted(path for folder in folders for path in folder.glob("*-py3-none-any.whl"))
    if not any(path.name.startswith("pip-") for path in wheels):
        pytest.fail(f"no pip wheel bundled with {sys.executable} (looked in {folders})")
    return wheels


def add_pypi_wheels(directory: Path) -> set[str]:
    """Copy :func:`pypi_wheels` into ``directory``; return their names."""
    directory.mkdir(parents=True, exist_ok=True)
    return {shutil.copyfile(path, directory / path.name).name for path in pypi_wheels()}


def rebuild(
    package: Path, destination: Path, *, build: str, build_number: int, version: str | None = None
) -> Path:
    """Repack a ``.conda`` as another build (or version) of the package: another artifact."""
    scratch = destination / f".rebuild-{package.name}"
    cph.extract(str(package), dest_dir=str(scratch))
    index_path = scratch / "info" / "index.json"
    index = json.loads(index_path.read_text())
    index.update(build=build, build_number=build_number)
    if version is not None:
        index["version"] = version
    index_path.write_text(json.dumps(index, indent=2, sort_keys=True))
    stem = f"{index['name']}-{index['version']}-{build}"
    with conda_builder(stem, destination) as tar:
        for path in sorted(scratch.rglob("*")):
            if path.is_dir() and not path.is_symlink():
                continue
            tar.add(path, arcname=path.relative_to(scratch).as_posix(), recursive=False)
    shutil.rmtree(scratch)
    return destination / f"{stem}.conda"


def with_changed_bytes(package: Path) -> None:
    """Replace a ``.conda`` in place by other bytes of the same package (a re-upload)."""
    scratch = package.parent / f".changed-{package.name}"
    cph.extract(str(package), dest_dir=str(scratch))
    about = scratch / "info" / "about.json"
    document = json.loads(about.read_text()) if about.exists() else {}
    document["summary"] = "re-uploaded with other bytes"
    about.write_text(json.dumps(document))
    package.unlink()
    with conda_builder(package.name.removesuffix(".conda"), package.parent) as tar:
        for path in sorted(scratch.rglob("*")):
            if path.is_dir() and not path.is_symlink():
                continue
            tar.add(path, arcname=path.relative_to(scratch).as_posix(), recursive=False)
    shutil.rmtree(scratch)


def record_of(path: Path, spec: CondaSpec) -> dict[str, object]:
    """The repodata record of a package file built from ``spec`` (its real digests)."""
    data = path.read_bytes()
    return {
        "name": spec.name,
        "version": spec.version,
        "build": spec.build,
        "build_number": spec.build_number,
        "subdir": spec.subdir,
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),  # noqa: S324 - conda's checksum
        "size": len(data),
        "depends": [],
    }


def wheelhouse_digest(directory: Path) -> dict[str, str]:
    """Hash every file readers see: wheels, ``.metadata`` files, index pages, front page.

    The front page is hashed without its last-sync part, which says when each run started
    and what it did (so it differs between runs that leave everything else identical).
    """
    front_page = directory / FRONT_PAGE
    files = [p for p in directory.glob("*") if p.is_file() and not p.name.startswith(".")]
    files += [
        p
        for p in (directory / "simple").rglob("*")
        if p.is_file() and p.name in {"index.html", "index.json"}
    ]
    return {
        path.relative_to(directory).as_posix(): hashlib.sha256(
            _without_last_sync(path.read_bytes()) if path == front_page else path.read_bytes()
        ).hexdigest()
        for path in sorted(files)
    }


def _without_last_sync(page: bytes) -> bytes:
    return with_last_sync(page, None) or page


def hidden_leftovers(directory: Path) -> list[str]:
    """Temporary files of condawheel left anywhere in a wheelhouse."""
    return sorted(
        p.relative_to(directory).as_posix()
        for p in directory.rglob(".condawheel-*")
        if p.name.startswith((".condawheel-tmp-", ".condawheel-index-", ".condawheel-spool-"))
    )


def cli_environment(**extra: str) -> dict[str, str]:
    """The environment for condawheel and pip subprocesses, free of this machine's pip config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_INPUT="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONNOUSERSITE="1",
        COLUMNS="200",
    )
    env.update(extra)
    return env


def condawheel_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "condawheel", *args]


def run_condawheel(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess (a sync job as cron runs it)."""
    return subprocess.run(
        condawheel_command(*args),
        capture_output=True,
        text=True,
        env=cli_environment(),
        timeout=timeout,
        check=False,
    )


# ------------------------------------------------------------------- a channel server


@dataclass
class ServerControls:
    """What the test changes in what the server answers."""

    corrupt: dict[str, bytes] = field(default_factory=dict)
    """URL path -> the bytes to serve instead of the file's."""
    fail_first: dict[str, int] = field(default_factory=dict)
    """URL path -> how many times to answer 503 before serving it."""
    stall: dict[str, threading.Event] = field(default_factory=dict)
    """URL path -> send half of the file, then wait for the event before the rest."""
    trickle: dict[str, float] = field(default_factory=dict)
    """URL path -> send the file one byte at a time, this many seconds apart."""
    redirect: dict[str, str] = field(default_factory=dict)
    """URL path -> answer 302 with this Location."""
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    """URL path -> the request headers it came with (the last request's)."""
    stall_once: dict[str, threading.Event] = field(default_factory=dict)
    """The same as ``stall``, for the first request of the path only."""
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _ChannelHandler(http.server.SimpleHTTPRequestHandler):
    controls: ServerControls

    def do_GET(self) -> None:
        controls = self.controls
        with controls.lock:
            controls.requests.append(self.path)
            controls.headers[self.path] = dict(self.headers.items())
            remaining = controls.fail_first.get(self.path, 0)
            if remaining:
                controls.fail_first[self.path] = remaining - 1
            stall = controls.stall.get(self.path) or controls.stall_once.pop(self.path, None)
        if remaining:
            self.send_error(503, "try again")
            return
        if self.path in controls.redirect:
            self.send_response(302)
            self.send_header("Location", controls.redirect[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path in controls.trickle:
            self._trickle(controls.trickle[self.path])
            return
        body = controls.corrupt.get(self.path)
        if body is None and stall is None:
            super().do_GET()
            return
        if body is None:
            body = Path(self.translate_path(self.path)).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if stall is not None:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            stall.wait(timeout=60)
            body = body[len(body) // 2 :]
        with contextlib.suppress(OSError):  # the client may be gone (killed)
            self.wfile.write(body)

    def _trickle(self, pause: float) -> None:
        body = Path(self.translate_path(self.path)).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client gives up, as it should
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(pause)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep the test output quiet."""


@dataclass
class ChannelServer:
    """A real HTTP server on 127.0.0.1 serving a channel folder."""

    root: Path
    port: int
    controls: ServerControls

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def serve(root: Path) -> Iterator[ChannelServer]:
    """Serve ``root`` until the generator is closed (use in a fixture)."""
    controls = ServerControls()
    handler = type("Handler", (_ChannelHandler,), {"controls": controls})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield ChannelServer(root, server.server_address[1], controls)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# ------------------------------------------------------------------- pip


def pip_command() -> list[str]:
    """The test environment's pip, run by the machine's CPython 3.12 (``pip --python``).

    The corpus's binary conda wheels are cp312: a pip running on another Python would
    refuse them for their interpreter tag, and a test that pip ignores the conda platform
    tag would prove nothing. No CPython 3.12 is an error, not a skip.
    """
    if importlib.util.find_spec("pip") is None:
        pytest.fail("pip is not installed in the test environment; the real pip is the proof")
    return [sys.executable, "-m", "pip", "--python", str(find_python312())]


# A conda environment on linux-64 with CPython 3.12 (pip checks Requires-Python against
# --python-version, and the index's data-requires-python too).
CONDA_LINUX_64_PIP: Final = (
    "--platform", "conda_linux_64", "--platform", "conda", "--python-version", "3.12",
    "--implementation", "cp", "--abi", "cp312", "--abi", "abi3", "--abi", "none",
    "--only-binary=:all:",
)  # fmt: skip


def pip_resolve(
    target: Path, index: Sequence[str], requirements: Sequence[str], *extra: str
) -> subprocess.CompletedProcess[str]:
    """``pip install --dry-run --report -`` (pip 23.2 needs --target with --platform)."""
    command = [
        *pip_command(),
        "install",
        "--isolated",
        "--dry-run",
        "--ignore-installed",
        "--no-cache-dir",
        "--quiet",
        "--report",
        "-",
        "--target",
        str(target),
        *index,
        *extra,
        *requirements,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, env=cli_environment(), timeout=180, check=False
    )


def chosen_files(result: subprocess.CompletedProcess[str]) -> list[str]:
    from urllib.parse import unquote  # noqa: PLC0415

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    return sorted(
        unquote(item["download_info"]["url"].rsplit("/", 1)[1]) for item in report["install"]
    )
