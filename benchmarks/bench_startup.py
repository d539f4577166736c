"""Python start-up with and without condawheel's pip hook (``python benchmarks/bench_startup.py``).

Two identical virtual environments of the interpreter running this script, one of them
with the hook's files as ``condawheel hook install`` writes them (the ``.pth`` and
``.start`` files, the module, ``etc/condawheel/pip-hook.json``) and a
``binary-compatibility.cfg``. Measured in alternation (:func:`common.measure_pair`):

* ``python -c pass``: what every process in a hooked environment pays (the ``.pth`` line
  imports the module and puts a finder on ``sys.meta_path``; nothing is read);
* ``pip check`` (the benchmark's own pip, put on ``sys.path``, checking what is there):
  a pip command that computes the supported tags, where the hook reads the configuration,
  computes the conda tags and imports and wraps pip's installer and candidate order, once
  per process (``pip install`` imports those anyway).

The module's bytecode is written beforehand, as ``hook install`` does.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import CACHE, measure_pair

from condawheel.env.piphook import render_pip_hook

PIP = (
    "import sys; sys.path.append(sys.argv[1]); from pip._internal.cli.main import main; "
    "sys.exit(main(sys.argv[2:]))"
)


def _environment(root: Path, *, hooked: bool) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if hooked:
        site = Path(purelib).relative_to(root).as_posix()
        files = render_pip_hook(
            site,
            condawheel_python=sys.executable,
            system_config=None,
            default_platforms=("conda_linux_64", "conda"),
        )
        for item in files:
            path = root / item.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(item.content)
        base = sysconfig.get_platform().replace("-", "_").replace(".", "_")
        entry = {base: {"build": "conda_linux_64", "install": ["conda_linux_64", "conda"]}}
        (root / "binary-compatibility.cfg").write_text(json.dumps(entry))
        for name in ("_condawheel_pip_hook", "_condawheel_pip_hook_patches"):
            module = Path(purelib) / f"{name}.py"
            subprocess.run([str(python), "-I", "-m", "py_compile", str(module)], check=True)
    return python


def run(runs: int) -> list[dict[str, object]]:
    """Measure both environments; return table rows (the hooked one with its ratio)."""
    root = CACHE / "startup"
    plain = _environment(root / "plain", hooked=False)
    hooked = _environment(root / "hooked", hooked=True)
    pip_site = str(Path(__import__("pip").__file__).parent.parent)

    def start(python: Path, *arguments: str) -> None:
        subprocess.run([str(python), *arguments], check=False, stdout=subprocess.DEVNULL)

    rows: list[dict[str, object]] = []
    for label, arguments in (
        ("python -c pass", ("-c", "pass")),
        ("pip check", ("-c", PIP, pip_site, "check")),
    ):
        without, with_hook = measure_pair(
            (f"{label}: without the hook", lambda a=arguments: start(plain, *a)),
            (f"{label}: with the hook", lambda a=arguments: start(hooked, *a)),
            runs=runs,
            warmup=2,
        )
        row = with_hook.row(without, "< +5 ms" if label.startswith("python") else "")
        row["added_ms"] = round((with_hook.median - without.median) * 1000, 2)
        rows += [without.row(), row]
    return rows


def main() -> int:
    """Print the medians and the time the hook adds."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=41)
    args = parser.parse_args()
    for row in run(args.runs):
        added = f", +{row['added_ms']} ms" if "added_ms" in row else ""
        print(f"{row['what']}: median {row['median_s'] * 1000:.2f} ms{added}")  # type: ignore[operator]
    return 0


if __name__ == "__main__":
    sys.exit(main())
