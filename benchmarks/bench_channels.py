"""Channels at conda-forge scale: listing a million-record channel, and re-syncing a slice.

The channel is synthetic (built once into ``benchmarks/.cache``): one subdir whose
``repodata.json`` lists ``records`` records of realistic size (about 480 bytes each, as
conda-forge's), of which ``real`` are tiny real packages in the folder (the others' files
are absent, as in a mirror of the index only). Selected: the real ones, ``--select
'pkg0*'``.

* the baseline is Python's own ``json.load`` of the document (and, for scale, msgspec's
  decode of it into Python objects);
* the listing is condawheel's, with no cache: selection first (the folder);
* the whole channel is ``condawheel sync URL -w W --dry-run`` (and ``--json``), the CLI
  as a user runs it, over loopback HTTP (so that records need no files) from a server
  in a process of its own, so that the figures are condawheel's alone: its wall time
  (interpreter start included) and its peak memory (``ru_maxrss`` of that process);
* each runs in a fresh process, which reports its time and its peak memory (``VmHWM``);
* the no-op re-sync is the CLI, wall time, after a first sync converted the selection;
  once as it runs (the selection's records are kept until ``repodata.json`` changes),
  once with that kept selection removed before each run (so the listing parses again).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import CACHE, Measurement, tiny_channel

_LIST = """
import json, sys, time
from pathlib import Path
import msgspec
from condawheel.wheelhouse.channels import list_folder_channel
from condawheel.wheelhouse.selection import name_filter, parse_selection
mode, path = sys.argv[1], Path(sys.argv[2])
start = time.perf_counter()  # imports aside: the CLI's start is in the re-sync rows
if mode == "json":
    with (path / "noarch" / "repodata.json").open("rb") as handle:
        json.load(handle)
elif mode == "msgspec":
    msgspec.json.decode((path / "noarch" / "repodata.json").read_bytes())
else:
    wanted = name_filter(parse_selection([sys.argv[3]]))
    listing = list_folder_channel(path, wanted=wanted)
    assert len(listing.artifacts) == int(sys.argv[4]), len(listing.artifacts)
    assert not listing.problems, listing.problems[:3]
elapsed = time.perf_counter() - start
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print(elapsed, int(line.split()[1]) / 1024)
"""

_DEPENDS = (
    "libgcc-ng >=12", "python >=3.12,<3.13.0a0", "python_abi 3.12.* *_cp312",
    "libzlib >=1.3.1,<2.0a0", "openssl >=3.4.0,<4.0a0", "libstdcxx-ng >=12",
)  # fmt: skip


def _filler(number: int) -> tuple[str, dict[str, object]]:
    name = f"filler{number // 10}"
    version = f"1.{number % 10}.0"
    build = f"py312h{number:07x}_0"
    filename = f"{name}-{version}-{build}.conda"
    digest = hashlib.sha256(filename.encode()).hexdigest()
    return filename, {
        "build": build,
        "build_number": 0,
        "constrains": [],
        "depends": [_DEPENDS[(number + k) % len(_DEPENDS)] for k in range(5)],
        "license": "BSD-3-Clause",
        "license_family": "BSD",
        "md5": digest[:32],
        "name": name,
        "sha256": digest,
        "size": 123456 + number,
        "subdir": "noarch",
        "timestamp": 1707225380409,
        "version": version,
    }


def million_channel(records: int, real: int) -> Path:
    """Build (once, cached) the synthetic channel; see the module docstring."""
    root = CACHE / f"big-channel-{records}-{real}"
    done = root / ".complete"
    if done.exists():
        return root
    tiny = tiny_channel(real) / "noarch"
    subdir = root / "noarch"
    subdir.mkdir(parents=True, exist_ok=True)
    with (subdir / "repodata.json").open("w") as out:
        out.write('{"info": {"subdir": "noarch"}, "packages": {}, "packages.conda": {')
        first = True
        for package in sorted(tiny.glob("*.conda")):
            target = subdir / package.name
            if not target.exists():
                os.link(package, target)
            data = package.read_bytes()
            name, version, build = package.name.removesuffix(".conda").rsplit("-", 2)
            record = {
                "build": build, "build_number": 0, "depends": ["python >=3.8"],
                "md5": hashlib.md5(data).hexdigest(),  # noqa: S324 - conda's checksum
                "name": name, "noarch": "python", "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data), "subdir": "noarch", "version": version,
            }  # fmt: skip
            out.write(("" if first else ",") + json.dumps(package.name) + ":" + json.dumps(record))
            first = False
        for number in range(records - real):
            filename, record = _filler(number)
            out.write("," + json.dumps(filename) + ":" + json.dumps(record, separators=(",", ":")))
        out.write('}, "removed": [], "repodata_version": 1}')
    done.touch()
    return root


_SERVE = """
import functools, http.server, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
handler = functools.partial(Quiet, directory=sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

# Runs a command, then prints its wall time and its peak memory (this process's only child).
_MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
with open(sys.argv[1], "wb") as out:
    subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.DEVNULL, check=True)
elapsed = time.perf_counter() - start
print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def _dry_run(url: str, entry: bytes, *extra: str) -> tuple[float, float, int]:
    """Run ``sync URL --dry-run`` alone: its seconds, its MiB, how often stdout has ``entry``."""
    with tempfile.TemporaryDirectory(prefix="condawheel-bench-") as work:
        output = Path(work) / "stdout"
        command = [sys.executable, "-m", "condawheel", "sync", url, "-w", f"{work}/w"]
        command += ["--subdir", "noarch", "--dry-run", "--cache-dir", f"{work}/cache", *extra]
        result = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(output), *command],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        entries = output.read_bytes().count(entry)
    seconds, mib = result.stdout.split()
    return float(seconds), float(mib), entries


def _in_child(*argv: str) -> tuple[float, float]:
    result = subprocess.run(
        [sys.executable, "-c", _LIST, *argv], capture_output=True, text=True, check=True
    )
    seconds, mib = result.stdout.split()
    return float(seconds), float(mib)


def _sync(channel: Path, wheelhouse: Path, cache: Path) -> float:
    argv = [sys.executable, "-m", "condawheel", "sync", str(channel), "-w", str(wheelhouse)]
    argv += ["--select", "pkg0*", "-q"]
    environment = {**os.environ, "CONDAWHEEL_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=environment)
    return time.perf_counter() - start


def run(records: int, real: int, *, runs: int) -> list[dict[str, object]]:
    """Measure listing and re-sync on the synthetic channel; return table rows."""
    started = time.perf_counter()
    channel = million_channel(records, real)
    print(f"  channel of {records:,} records ready in {time.perf_counter() - started:.0f}s",
          file=sys.stderr)  # fmt: skip
    size = (channel / "noarch" / "repodata.json").stat().st_size
    baseline, fast, listing, everything, as_json = [], [], [], [], []
    rss = {"json": 0.0, "msgspec": 0.0, "list": 0.0, "all": 0.0, "all-json": 0.0}
    modes = (("json", baseline), ("msgspec", fast), ("list", listing))
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVE, str(channel)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        # Round-robin, so that drift of the machine between runs hits them all alike.
        for _ in range(runs):
            for mode, seconds in modes:
                elapsed, mib = _in_child(mode, str(channel), "pkg0*", str(real))
                seconds.append(elapsed)
                rss[mode] = max(rss[mode], mib)
            for mode, seconds, extra, entry in (
                ("all", everything, (), b"would-convert http"),
                ("all-json", as_json, ("--json",), b'"status": "would-convert"'),
            ):
                elapsed, mib, entries = _dry_run(url, entry, *extra)
                seconds.append(elapsed)
                rss[mode] = max(rss[mode], mib)
                assert entries == records, (mode, entries)
    finally:
        server.terminate()
        server.wait()
    label = f"{records:,}-record repodata.json ({size / (1 << 20):.0f} MiB)"
    parse = Measurement(f"json.load of the {label}", tuple(baseline))
    decode = Measurement(f"msgspec.json.decode of the {label} (into objects)", tuple(fast))
    listed = Measurement(f"condawheel lists it, --select pkg0* ({real:,} records)", tuple(listing))
    whole = Measurement("sync URL --dry-run of it all (CLI, wall)", tuple(everything))
    whole_json = Measurement("sync URL --dry-run --json of it all (CLI, wall)", tuple(as_json))
    rows = [
        parse.row(),
        decode.row(parse),
        listed.row(parse, "<= 1.5x json.load"),
        whole.row(parse, "<= 1.5x json.load"),
        whole_json.row(parse, "<= 1.5x json.load"),
    ]
    rows += [
        {"what": f"peak RSS: json.load of the {label}", "rss_mib": round(rss["json"], 1)},
        {
            "what": f"peak RSS: msgspec.json.decode of the {label} (into objects)",
            "rss_mib": round(rss["msgspec"], 1),
        },
        {
            "what": "peak RSS: condawheel lists it, selection first",
            "rss_mib": round(rss["list"], 1),
            "target": "< 500 MiB",
        },
        {
            "what": "peak RSS: sync URL --dry-run of it all",
            "rss_mib": round(rss["all"], 1),
            "target": "< 500 MiB",
        },
        {
            "what": "peak RSS: sync URL --dry-run --json of it all",
            "rss_mib": round(rss["all-json"], 1),
            "target": "< 500 MiB",
        },
    ]
    work = Path(tempfile.mkdtemp(prefix="condawheel-bench-"))
    try:
        wheelhouse, cache = work / "wheelhouse", work / "cache"
        first = _sync(channel, wheelhouse, cache)
        print(f"  first sync of {real:,} selected packages: {first:.1f}s", file=sys.stderr)
        kept, parsed = [], []
        _sync(channel, wheelhouse, cache)  # warm
        for _ in range(runs):
            kept.append(_sync(channel, wheelhouse, cache))
            shutil.rmtree(cache / "repodata", ignore_errors=True)
            parsed.append(_sync(channel, wheelhouse, cache))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    what = f"no-op re-sync of {real:,} selected of {records:,} records (CLI, wall)"
    rows.append(Measurement(what, tuple(kept)).row(target="< 2 s"))
    rows.append(Measurement(what + ", repodata parsed again", tuple(parsed)).row())
    return rows


if __name__ == "__main__":
    print(json.dumps(run(1_000_000, 10_000, runs=3), indent=1))
