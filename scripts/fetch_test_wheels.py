"""Download the pip wheels the pip-hook tests install into conda environments.

The tests never reach the network (loopback only), so the pips they run are fetched
beforehand, by pip itself, from the package index the user's pip is configured for::

    python scripts/fetch_test_wheels.py             # into .cache/test-wheels/
    python scripts/fetch_test_wheels.py DIR         # elsewhere ($CONDAWHEEL_TEST_WHEELS=DIR)

* pip 22.2, the oldest pip condawheel supports in environments (``pip install --report``);
  it runs on Python 3.11 and older only (its vendored pkg_resources needs pkgutil.ImpImporter);
* the newest pip on the index, whichever it is on the day (the tests read its version from
  the file name).

.ci/run calls this before the tests. Existing files are kept (pip download skips them).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

OLDEST_PIP = "pip==22.2"
DEFAULT = Path(__file__).resolve().parent.parent / ".cache" / "test-wheels"


def main() -> int:
    """Download both pips into the folder given (default ``.cache/test-wheels``)."""
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    target.mkdir(parents=True, exist_ok=True)
    for requirement in (OLDEST_PIP, "pip"):
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--dest", str(target), requirement],
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            print(f"fetch_test_wheels: pip download {requirement} failed", file=sys.stderr)
            return 1
    for path in sorted(target.glob("pip-*.whl")):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
