"""The command line's start-up: ``condawheel --version`` and converting the tiny sample.

Both run the installed ``condawheel`` command in a fresh process, as a user does; the
source is byte-compiled first (an installed wheel has its bytecode; an editable install
on a machine with ``PYTHONDONTWRITEBYTECODE`` set would otherwise compile every module
at every start). The two are measured in alternation (:func:`common.measure_pair`). Each
row also gives the median CPU time (user + system) of the runs: on a machine others use
too, wall time waits for a core, CPU time much less so.
"""

from __future__ import annotations

import compileall
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, measure_pair

SAMPLE = ROOT / "samples" / "hello-condawheel-1.0.0-pyh4616a5c_0"


def _command() -> list[str]:
    script = Path(sys.executable).parent / "condawheel"
    return [str(script)] if script.exists() else [sys.executable, "-m", "condawheel"]


def run(*, runs: int) -> list[dict[str, object]]:
    """Measure both; return table rows."""
    import condawheel  # noqa: PLC0415

    compileall.compile_dir(Path(condawheel.__file__).parent, quiet=1)
    command = _command()
    out = Path(tempfile.mkdtemp(prefix="condawheel-bench-cli-"))
    cpu: dict[str, list[float]] = {"version": [], "convert": []}

    def timed(key: str, argv: list[str]) -> None:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[key].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)

    def version() -> None:
        timed("version", [*command, "--version"])

    def convert() -> None:
        shutil.rmtree(out, ignore_errors=True)
        timed("convert", [*command, "convert", str(SAMPLE), "-o", str(out)])

    try:
        first, second = measure_pair(
            ("condawheel --version", version),
            (f"condawheel convert {SAMPLE.name}", convert),
            runs=runs,
            warmup=2,
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)
    rows = [first.row(target="<= 0.15 s"), second.row(target="<= 0.3 s")]
    # The warm-up runs come first in each list; the timed runs are the last ones.
    for row, key in zip(rows, ("version", "convert"), strict=True):
        row["cpu_median_s"] = round(statistics.median(cpu[key][-runs:]), 4)
    return rows


if __name__ == "__main__":
    for row in run(runs=11):
        print(row)
