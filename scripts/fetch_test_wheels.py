"""Download the wheels the tests install or convert, before the tests (which stay offline).

The tests never reach the network (loopback only), so the pips they run are fetched
beforehand, by pip itself, from the package index the user's pip is configured for::

    python scripts/fetch_test_wheels.py             # into .cache/test-wheels/
    python scripts/fetch_test_wheels.py DIR         # elsewhere ($CONDAWHEEL_TEST_WHEELS=DIR)

* pip 22.2, the oldest pip condawheel supports in environments (``pip install --report``);
  it runs on Python 3.11 and older only (its vendored pkg_resources needs pkgutil.ImpImporter);
* the newest pip on the index, whichever it is on the day (the tests read its version from
  the file name);
* pinned pure-Python wheels that whl2conda turns into conda packages, which condawheel must
  turn back into these very wheels (``tests/test_wheelmakers.py``).

.ci/run calls this before the tests. Existing files are kept (pip download skips them).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

OLDEST_PIP = "pip==22.2"
# Each is both a dependency test and a file-for-file test (rich and typer with their
# dependencies, so that `condawheel install rich` has what it needs). The last ones are
# the shapes the round trip once got wrong: a marker with an extra whl2conda hid again
# (attrs), an entry point with extras (black), METADATA a strict reader refuses
# (iniconfig), dist-info names that are not escaped (PySocks, backports.tarfile), and a
# wheel's .data/scripts and .data/data (virtualenvwrapper, jupyterlab-widgets).
MADE_FROM_WHEELS = (
    "rich==13.9.4",
    "markdown-it-py==3.0.0",
    "mdurl==0.1.2",
    "pygments==2.18.0",
    "requests==2.32.3",
    "jinja2==3.1.4",
    "typer==0.15.1",
    "click==8.1.7",
    "shellingham==1.5.4",
    "urllib3==2.3.0",
    "ipykernel==6.29.5",
    "attrs==24.3.0",
    "black==24.10.0",
    "iniconfig==2.0.0",
    "pysocks==1.7.1",
    "backports.tarfile==1.2.0",
    "virtualenvwrapper==6.1.0",
    "jupyterlab-widgets==3.0.13",
)
# The pure-Python wheel even where the project also has compiled ones (black).
PURE = ["--python-version", "3.12", "--implementation", "py", "--abi", "none", "--platform", "any"]
DEFAULT = Path(__file__).resolve().parent.parent / ".cache" / "test-wheels"


def main() -> int:
    """Download the wheels into the folder given (default ``.cache/test-wheels``)."""
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    target.mkdir(parents=True, exist_ok=True)
    for requirement in (OLDEST_PIP, "pip", *MADE_FROM_WHEELS):
        pure = PURE if requirement in MADE_FROM_WHEELS else []
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", *pure, "--dest", str(target), requirement],
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
