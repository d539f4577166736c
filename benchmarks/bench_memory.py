"""Peak memory: converting the large synthetic package, and syncing the corpus channel.

``ru_maxrss`` is useless here: Linux carries a parent's high-water mark into a child it
forks (``exec`` records the old mapping's peak), so a small child of a large benchmark
process reports the parent's size. Instead a converting child reads its own ``VmHWM``
(``/proc/self/status``, reset by ``exec``), and a sync, which runs worker processes, is
sampled every 10 ms: the sum of ``VmRSS`` over the process and all its descendants.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import corpus, synthetic_package

_CONVERT = """
import sys
from pathlib import Path
from condawheel.convert import convert
from condawheel.convert.names import default_mapping
mapping = default_mapping()
if sys.argv[1] != "-":
    convert(Path(sys.argv[1]), Path(sys.argv[2]), mapping=mapping)
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print(int(line.split()[1]))
"""


def own_peak_mib(package: Path | None, out: Path) -> float:
    """Return the peak resident memory of a process converting ``package`` (None: idle)."""
    argv = [sys.executable, "-c", _CONVERT, str(package) if package else "-", str(out)]
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    return int(result.stdout.split()[-1]) / 1024


def _rss_kib(pid: int) -> int:
    try:
        with Path(f"/proc/{pid}/status").open() as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def tree_peak_mib(argv: list[str]) -> tuple[float, float]:
    """Run ``argv``; return the peak total RSS of its process tree and of one process."""
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    peaks = [0, 0]

    def sample() -> None:
        while process.poll() is None:
            pids = [process.pid]
            for pid in pids:
                pids.extend(_children(pid))
            sizes = [_rss_kib(pid) for pid in pids]
            peaks[0] = max(peaks[0], sum(sizes))
            peaks[1] = max(peaks[1], *sizes)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    process.wait()
    sampler.join()
    if process.returncode != 0:
        msg = f"{argv[:5]} failed"
        raise RuntimeError(msg)
    return peaks[0] / 1024, peaks[1] / 1024


def run(*, size_mib: int) -> list[dict[str, object]]:
    """Return the peak-memory rows."""
    work = Path(tempfile.mkdtemp(prefix="condawheel-bench-"))
    package = synthetic_package(size_mib)
    try:
        (work / "out").mkdir()
        idle = own_peak_mib(None, work / "out")
        converting = own_peak_mib(package, work / "out")
        total, largest = tree_peak_mib(
            [
                sys.executable,
                "-m",
                "condawheel",
                "sync",
                str(corpus() / "channel"),
                "-w",
                str(work / "wheelhouse"),
                "-q",
                "--jobs",
                "2",
            ]
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [
        {
            "what": "peak RSS: python with condawheel imported, mapping loaded",
            "rss_mib": round(idle, 1),
        },
        {
            "what": f"peak RSS: convert {package.name}",
            "rss_mib": round(converting, 1),
            "target": "< 150 MiB",
        },
        {
            "what": "peak RSS: sync corpus channel --jobs 2, all processes",
            "rss_mib": round(total, 1),
        },
        {
            "what": "peak RSS: sync corpus channel --jobs 2, largest process",
            "rss_mib": round(largest, 1),
        },
    ]


if __name__ == "__main__":
    import json

    print(json.dumps(run(size_mib=200), indent=1))
