"""Shared pieces of the benchmarks: timing, peak memory, synthetic packages, the corpus."""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"


def corpus() -> Path:
    """Return the corpus directory (``$CONDAWHEEL_CORPUS`` overrides ``../shared/corpus``)."""
    configured = os.environ.get("CONDAWHEEL_CORPUS")
    return Path(configured) if configured else ROOT.parent / "shared" / "corpus"


@dataclass(frozen=True)
class Measurement:
    """Repeated timings of one thing."""

    what: str
    seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median run."""
        return statistics.median(self.seconds)

    def row(self, baseline: Measurement | None = None, target: str = "") -> dict[str, object]:
        """Return a table row, with the ratio to ``baseline`` if given."""
        ratio = self.median / baseline.median if baseline is not None else None
        return {
            "what": self.what,
            "median_s": round(self.median, 4),
            "min_s": round(min(self.seconds), 4),
            "max_s": round(max(self.seconds), 4),
            "runs": len(self.seconds),
            "ratio": None if ratio is None else round(ratio, 3),
            "target": target,
        }


def measure(what: str, action: Callable[[], object], *, runs: int, warmup: int = 1) -> Measurement:
    """Time ``action`` ``runs`` times after ``warmup`` untimed runs (page cache warm)."""
    for _ in range(warmup):
        action()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
    return Measurement(what, tuple(seconds))


def measure_pair(
    first: tuple[str, Callable[[], object]],
    second: tuple[str, Callable[[], object]],
    *,
    runs: int,
    warmup: int = 1,
) -> tuple[Measurement, Measurement]:
    """Time two actions in alternation, so that drift of the machine hits both alike.

    A ratio of two medians measured one block after the other moves with whatever else
    the machine (a VM's neighbours, its clock) did in between; alternating runs do not.
    """
    (first_what, first_action), (second_what, second_action) = first, second
    for _ in range(warmup):
        first_action()
        second_action()
    first_seconds, second_seconds = [], []
    for _ in range(runs):
        for action, seconds in ((first_action, first_seconds), (second_action, second_seconds)):
            start = time.perf_counter()
            action()
            seconds.append(time.perf_counter() - start)
    return Measurement(first_what, tuple(first_seconds)), Measurement(
        second_what, tuple(second_seconds)
    )


def peak_rss_mib(argv: list[str]) -> float:
    """Run a command in a child process and return its peak resident memory in MiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the maximum over all children waited for so far; each
    # measurement runs in a fresh python, so measure the largest first or in isolation.
    return max(after, before) / 1024


def machine() -> dict[str, object]:
    """Describe the machine the numbers come from."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return {
        "cores": cores,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        # How quiet the machine was: the 1, 5 and 15 minute load averages at the end.
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def _text_block(rng: random.Random, size: int) -> bytes:
    words = [
        b"conda",
        b"wheel",
        b"prefix",
        b"library",
        b"python",
        b"import",
        b"return",
        b"0x%04x" % rng.randrange(65536),
        b"\n",
        b"def",
        b"class",
        b"self",
        b"value",
    ]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) + b" "
    return bytes(out[:size])


def _cached(stem: str) -> Path:
    """Return where the ``.conda`` named ``stem`` is cached (the folder made if missing)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    return CACHE / f"{stem}.conda"


def synthetic_package(size_mib: int = 200, *, seed: int = 2026) -> Path:
    """Build (once, cached) a ``.conda`` of about ``size_mib`` MiB of payload.

    Many files of mixed content, as real packages have: text (compresses ~4:1), binary
    with structure (~2:1) and random bytes (incompressible, like bundled archives).
    """
    stem = f"synthetic-{size_mib}mib-1.0-h0_0"
    if (target := _cached(stem)).exists():
        return target
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    budget = size_mib << 20
    files: list[tuple[str, bytes]] = []
    index = 0
    while budget > 0:
        kind = index % 3
        size = min(budget, rng.choice([4 << 10, 32 << 10, 256 << 10, 1 << 20, 4 << 20]))
        if kind == 0:
            data = _text_block(rng, size)
            name = f"share/synthetic/doc/file{index:05d}.txt"
        elif kind == 1:
            half = rng.randbytes(size // 2)
            data = bytes(b for pair in zip(half, bytes(len(half)), strict=True) for b in pair)[
                :size
            ]
            name = f"lib/synthetic/lib{index:05d}.so"
        else:
            data = rng.randbytes(size)
            name = f"share/synthetic/blobs/blob{index:05d}.bin"
        files.append((name, data))
        budget -= size
        index += 1
    return _write_conda(stem, files)


def mixed_package(size_mb: int = 150, *, seed: int = 2027) -> Path:
    """Build (once, cached) a ``.conda`` of another mix than :func:`synthetic_package`.

    The mix of issue 17, scaled to ``size_mb`` (150 at full size): 110 MB of large
    binaries whose content alternates runs of random bytes and runs of zeros (code and
    the zero padding of sections), 31 MB of tab-separated text in a few large files, and
    386 small Python files. Few, large bodies, where the other package has many.
    """
    stem = f"mixed-{size_mb}mb-1.0-h0_0"
    if (target := _cached(stem)).exists():
        return target
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    scale = size_mb / 150
    files: list[tuple[str, bytes]] = []
    binaries = max(1, round(8 * scale))
    for number in range(binaries):
        size = int(110_000_000 * scale) // binaries
        out = bytearray()
        random_run = True
        while len(out) < size:
            run = rng.choice([4 << 10, 16 << 10, 64 << 10, 256 << 10])
            out += rng.randbytes(run) if random_run else bytes(run)
            random_run = not random_run
        files.append((f"lib/libmixed{number}.so.1", bytes(out[:size])))
    tables = max(1, round(4 * scale))
    for number in range(tables):
        size = int(31_000_000 * scale) // tables
        rows = bytearray()
        while len(rows) < size:
            rows += b"%d\tsample_%05d\t%.6f\t%s\n" % (
                len(rows),
                rng.randrange(100_000),
                rng.random(),
                rng.choice([b"GAT", b"CCA", b"TTG", b"AGC"]) * rng.randrange(1, 9),
            )
        files.append((f"share/mixed/table{number}.tsv", bytes(rows[:size])))
    for number in range(max(1, round(386 * scale))):
        body = _text_block(rng, rng.randrange(500, 12_000))
        files.append((f"lib/python3.12/site-packages/mixed/module{number:03d}.py", body))
    return _write_conda(stem, files)


def _write_conda(stem: str, files: list[tuple[str, bytes]]) -> Path:
    from conda_package_streaming.create import conda_builder  # noqa: PLC0415

    paths = [
        {
            "_path": name,
            "path_type": "hardlink",
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_in_bytes": len(data),
        }
        for name, data in files
    ]
    info = {
        "info/index.json": json.dumps(
            {
                "name": stem.split("-1.0", maxsplit=1)[0],
                "version": "1.0",
                "build": "h0_0",
                "build_number": 0,
                "subdir": "linux-64",
                "depends": [],
                "timestamp": 1735689600000,
            }
        ).encode(),
        "info/paths.json": json.dumps({"paths_version": 1, "paths": paths}).encode(),
    }
    with conda_builder(stem, CACHE, compression_level=3, compression_threads=2) as tar:
        for name, data in sorted(info.items()) + files:
            member = tarfile.TarInfo(name)
            member.size = len(data)
            member.mode = 0o644
            tar.addfile(member, io.BytesIO(data))
    return CACHE / f"{stem}.conda"


def tiny_channel(count: int) -> Path:
    """Build (once, cached) a folder channel of ``count`` tiny noarch python packages."""
    from conda_package_streaming.create import conda_builder  # noqa: PLC0415

    root = CACHE / f"channel-{count}"
    subdir = root / "noarch"
    done = root / ".complete"
    if done.exists():
        return root
    subdir.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        name = f"pkg{number:05d}"
        stem = f"{name}-1.0-py_0"
        if (subdir / f"{stem}.conda").exists():
            continue
        files = {
            f"site-packages/{name}/__init__.py": f"X = {number}\n".encode(),
            f"site-packages/{name}-1.0.dist-info/METADATA": (
                f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode()
            ),
        }
        index = {
            "name": name,
            "version": "1.0",
            "build": "py_0",
            "build_number": 0,
            "subdir": "noarch",
            "noarch": "python",
            "depends": ["python >=3.8"],
            "timestamp": 1735689600000,
            "license": "MIT",
        }
        paths = {
            "paths_version": 1,
            "paths": [
                {
                    "_path": path,
                    "path_type": "hardlink",
                    "size_in_bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
                for path, data in files.items()
            ],
        }
        link = {"noarch": {"type": "python"}, "package_metadata_version": 1}
        info = {"info/index.json": index, "info/paths.json": paths, "info/link.json": link}
        with conda_builder(stem, subdir, compression_level=3) as tar:
            for member_name, document in info.items():
                _add(tar, member_name, json.dumps(document).encode())
            for path, data in files.items():
                _add(tar, path, data)
    done.write_text("ok")
    return root


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    member = tarfile.TarInfo(name)
    member.size = len(data)
    member.mtime = 1735689600
    tar.addfile(member, io.BytesIO(data))


def transmuted_tar_bz2(conda: Path) -> Path:
    """Return a ``.tar.bz2`` made from a ``.conda`` with ``cph transmute`` (cached)."""
    target = conda.with_name(conda.name.removesuffix(".conda") + ".tar.bz2")
    if not target.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "conda_package_handling",
                "transmute",
                str(conda),
                ".tar.bz2",
                "--out-folder",
                str(conda.parent),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return target
