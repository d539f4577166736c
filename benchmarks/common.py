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
import struct
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


def cpu_seconds() -> float:
    """Return the CPU time of this process and of the children it has waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@dataclass(frozen=True)
class Measurement:
    """Repeated timings of one thing."""

    what: str
    seconds: tuple[float, ...]
    # CPU seconds of the process (every thread, and the child processes it waited for:
    # a conversion's deflate helpers) per run, where measured: the figure the other
    # processes of a shared machine disturb least.
    cpu_seconds: tuple[float, ...] = ()

    @property
    def median(self) -> float:
        """The median run."""
        return statistics.median(self.seconds)

    def row(self, baseline: Measurement | None = None, target: str = "") -> dict[str, object]:
        """Return a table row, with the ratio to ``baseline`` if given."""
        ratio = self.median / baseline.median if baseline is not None else None
        row: dict[str, object] = {
            "what": self.what,
            "median_s": round(self.median, 4),
            "min_s": round(min(self.seconds), 4),
            "max_s": round(max(self.seconds), 4),
            "runs": len(self.seconds),
            "ratio": None if ratio is None else round(ratio, 3),
            "target": target,
        }
        if self.cpu_seconds:
            row["cpu_median_s"] = round(statistics.median(self.cpu_seconds), 4)
        return row


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
    first_seconds: list[float] = []
    second_seconds: list[float] = []
    first_cpu: list[float] = []
    second_cpu: list[float] = []
    for _ in range(runs):
        for action, seconds, cpu in (
            (first_action, first_seconds, first_cpu),
            (second_action, second_seconds, second_cpu),
        ):
            start, start_cpu = time.perf_counter(), cpu_seconds()
            action()
            seconds.append(time.perf_counter() - start)
            cpu.append(cpu_seconds() - start_cpu)
    return (
        Measurement(first_what, tuple(first_seconds), tuple(first_cpu)),
        Measurement(second_what, tuple(second_seconds), tuple(second_cpu)),
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


_WORDS = tuple(
    f"{prefix}{suffix}"
    for prefix in ("name", "value", "path", "record", "channel", "package", "wheel", "prefix")
    for suffix in ("", "s", "_list", "_map", "_count", "_of", "_id", "_text")
)


def _python_source(rng: random.Random, size: int) -> bytes:
    """Return about ``size`` bytes that look like a Python module (compress ~4:1)."""
    lines = [f'"""Module {rng.randrange(10**6)}."""\n', "from __future__ import annotations\n"]
    length = sum(map(len, lines))
    while length < size:
        name, first, second = rng.choices(_WORDS, k=3)
        line = (
            f"\n\ndef {name}_{rng.randrange(1000)}({first}: str, {second}: int = 0) -> str:\n"
            f"    if {second} > {rng.randrange(100)}:\n"
            f"        return {first}.replace({name!r}, {second!r})\n"
            f'    return f"{{{first}}}-{{{second}}}"\n'
        )
        lines.append(line)
        length += len(line)
    return "".join(lines).encode()[:size]


def _json_document(rng: random.Random, size: int) -> bytes:
    """Return about ``size`` bytes of JSON records (a data file)."""
    records = []
    length = 0
    while length < size:
        record = {
            "id": rng.randrange(10**9),
            "name": "-".join(rng.choices(_WORDS, k=2)),
            "score": round(rng.random(), 6),
            "tags": rng.choices(_WORDS, k=rng.randrange(1, 5)),
        }
        records.append(record)
        length += 24 + len(json.dumps(record))
    return json.dumps(records, indent=1).encode()[:size]


def tiny_elf(
    rng: random.Random, size: int, *, soname: str, needed: tuple[str, ...], runpath: str
) -> bytes:
    """Return an ELF64 x86-64 shared object of ``size`` bytes with a real dynamic section.

    What the converter reads of a library is all there, as a linker writes it (System V
    gABI): the file header, a PT_LOAD segment mapping the whole file, a PT_DYNAMIC
    segment with DT_NEEDED, DT_SONAME, DT_RUNPATH, DT_STRTAB and DT_STRSZ, and the
    string table. The rest is "code": random bytes interleaved with zeros (~2:1).
    """
    strings = bytearray(b"\0")
    offsets = {}
    for text in (*needed, soname, runpath):
        offsets[text] = len(strings)
        strings += text.encode() + b"\0"
    dynamic_entries = [(1, offsets[name]) for name in needed]  # DT_NEEDED
    dynamic_entries.append((14, offsets[soname]))  # DT_SONAME
    if runpath:
        dynamic_entries.append((29, offsets[runpath]))  # DT_RUNPATH
    header_size, program_header_size = 64, 56
    dynamic_at = header_size + 2 * program_header_size
    strings_at = dynamic_at + 16 * (len(dynamic_entries) + 3)
    dynamic_entries += [(5, strings_at), (10, len(strings)), (0, 0)]  # STRTAB, STRSZ, NULL
    size = max(size, strings_at + len(strings))
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # ELFCLASS64, ELFDATA2LSB
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 3, 62, 1, 0, header_size, 0, 0, header_size, 56, 2, 64, 0, 0
    )
    load = struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, size, size, 0x1000)  # PT_LOAD, R+X
    dynamic_size = 16 * len(dynamic_entries)
    segment = struct.pack(
        "<IIQQQQQQ", 2, 6, dynamic_at, dynamic_at, dynamic_at, dynamic_size, dynamic_size, 8
    )
    dynamic = b"".join(struct.pack("<qQ", tag, value) for tag, value in dynamic_entries)
    head = header + load + segment + dynamic + bytes(strings)
    half = rng.randbytes((size - len(head)) // 2 + 1)
    code = bytes(b for pair in zip(half, bytes(len(half)), strict=True) for b in pair)
    return (head + code)[:size]


def many_files_package(size_mb: int = 100, *, seed: int = 2028) -> Path:
    """Build (once, cached) a ``.conda`` of ``size_mb`` MB in many small files.

    A large pure-Python library with its data and extension modules, the composition
    where per-file costs dominate: at full size 30,000 files averaging 3.3 KB, about
    half Python modules (0.3-12 KB), a third JSON and text data files (0.2-16 KB), and
    3,000 small ELF extension modules (2-14 KB) linked against the C library and one
    library of the package itself.
    """
    stem = f"manyfiles-{size_mb}mb-1.0-py312_1"
    if (target := _cached(stem)).exists():
        return target
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    scale = size_mb / 100
    site = "lib/python3.12/site-packages/manyfiles"
    files: list[tuple[str, bytes]] = [
        (
            "lib/libmanyfiles.so.1",
            tiny_elf(rng, 64 << 10, soname="libmanyfiles.so.1", needed=("libc.so.6",), runpath=""),
        )
    ]
    budget = int(100_000_000 * scale)
    count = max(1, round(30_000 * scale))
    for number in range(count):
        folder = f"{site}/sub{number % 300:03d}"
        kind = number % 10
        if kind < 5:  # half the files are Python modules, 4 in 10 data files
            size = int(rng.lognormvariate(7.7, 0.7))
            files.append((f"{folder}/module{number:05d}.py", _python_source(rng, size)))
        elif kind < 9:
            size = int(rng.lognormvariate(7.6, 0.9))
            if kind % 2:
                files.append((f"{folder}/data{number:05d}.json", _json_document(rng, size)))
            else:
                files.append((f"{folder}/notes{number:05d}.txt", _text_block(rng, size)))
        else:
            size = int(rng.lognormvariate(8.6, 0.5))
            needed = ("libmanyfiles.so.1", "libm.so.6", "libc.so.6")
            name = f"_ext{number:05d}.cpython-312-x86_64-linux-gnu.so"
            runpath = "$ORIGIN/../../../.."
            body = tiny_elf(rng, size, soname=name, needed=needed, runpath=runpath)
            files.append((f"{folder}/{name}", body))
    used = sum(len(data) for _, data in files)
    # Top the payload up to its size with more modules of the same kind.
    number = count
    while used < budget:
        body = _python_source(rng, min(budget - used, int(rng.lognormvariate(7.7, 0.7))))
        files.append((f"{site}/sub{number % 300:03d}/module{number:05d}.py", body))
        used += len(body)
        number += 1
    # In the order conda-package-handling writes an archive: grouped by extension, then
    # by size (so the wheel's order, by path, is another one).
    files.sort(key=lambda file: (file[0].rpartition(".")[2], len(file[1])))
    return _write_conda(stem, files, python=True)


def tiny_files_package(count: int = 60_000, *, seed: int = 2029) -> Path:
    """Build (once, cached) a ``.conda`` of ``count`` Python files of 100-500 bytes.

    Another composition where members, not bytes, cost: 18 MB at full size, so deflate
    is cheap and nearly everything is the per-member work.
    """
    return _flat_package(
        "tinyfiles", count, seed, ".py", lambda rng: _python_source(rng, rng.randrange(100, 500))
    )


def incompressible_files_package(count: int = 20_000, *, seed: int = 2030) -> Path:
    """Build (once, cached) a ``.conda`` of ``count`` random files of 1-6 KB.

    Small bodies that deflate cannot shrink (compressed or encrypted data): each is
    deflated, found not to pay, and stored, as the floor (which deflates everything)
    would.
    """
    return _flat_package(
        "incompressible", count, seed, ".bin", lambda rng: rng.randbytes(rng.randrange(1000, 6000))
    )


def _flat_package(
    name: str, count: int, seed: int, suffix: str, body: Callable[[random.Random], bytes]
) -> Path:
    """Build (once, cached) ``count`` files made by ``body`` in 100 folders of one package."""
    stem = f"{name}-{count}-1.0-py312_0"
    if (target := _cached(stem)).exists():
        return target
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    site = f"lib/python3.12/site-packages/{name}"
    files = [(f"{site}/d{n % 100:02d}/f{n:06d}{suffix}", body(rng)) for n in range(count)]
    return _write_conda(stem, files, python=True)


def _write_conda(stem: str, files: list[tuple[str, bytes]], *, python: bool = False) -> Path:
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
                "build": stem.rsplit("-", 1)[1],
                "build_number": 0,
                "subdir": "linux-64",
                "depends": ["python >=3.12,<3.13.0a0", "python_abi 3.12.* *_cp312"]
                if python
                else [],
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
