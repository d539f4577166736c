"""Which wheels the two index views list: the plain view and the conda view (pure).

A wheelhouse holds conda wheels and ordinary wheels side by side, and ``simple/`` lists them
all: pip, asked about one interpreter, skips the tags it does not know. A *universal*
resolver (``uv lock``, ``uv pip compile --universal``, pip-tools across platforms) does not
ask about one interpreter: it considers every wheel whatever its tags, so from ``simple/``
it would lock versions that exist only as conda wheels, which ``uv sync`` then cannot
install on an ordinary machine. The index is therefore written twice more:

* ``simple-plain/``: the wheels whose every platform tag is one that interpreters outside
  conda have (``any``, ``manylinux*``, ``musllinux_*``, ``linux_*``, ``macosx_*``,
  ``win*``, ``ios_*``, ``android_*``, ``emscripten_*``/``pyodide_*``, and the other
  ``sysconfig.get_platform()`` families: PEP 425, PEP 600, PEP 656, PEP 730, PEP 738, PEP
  783);
* ``simple-conda/``: every other wheel, the conda wheels (``conda``, ``conda_linux_64``, or
  another ``--platform-prefix``).

Both have ``simple/``'s layout and depth, so their relative file URLs (``../../<wheel>``)
point at the same wheel files.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["CONDA_DIR", "PLAIN_DIR", "VIEW_DIRS", "is_plain_platform", "is_plain_wheel"]

PLAIN_DIR: Final = "simple-plain"
CONDA_DIR: Final = "simple-conda"
VIEW_DIRS: Final = (PLAIN_DIR, CONDA_DIR)
# The first word of the platform tags that Python interpreters outside conda report.
_PLAIN = re.compile(
    r"any|win32|win_[a-z0-9_]+|(?:many|musl)?linux[a-z0-9_]*|macosx_[a-z0-9_]+"
    r"|ios_[a-z0-9_]+|android_[a-z0-9_]+|(?:emscripten|pyodide|wasi)_[a-z0-9_]+"
    r"|(?:cygwin|freebsd|openbsd|netbsd|dragonfly|solaris|sunos|aix|haiku|gnu)[a-z0-9_]*"
)


def is_plain_platform(platform: str) -> bool:
    """Return whether a platform tag is one that ordinary interpreters have."""
    return _PLAIN.fullmatch(platform) is not None


def is_plain_wheel(filename: str) -> bool:
    """Return whether every platform tag of a wheel file name is plain (PEP 427 names)."""
    stem = filename.removesuffix(".whl")
    return all(is_plain_platform(item) for item in stem.rsplit("-", 1)[-1].split("."))
