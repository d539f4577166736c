"""After the commit: bytecode by the environment's interpreter, and a ``RECORD`` true to disk.

``RECORD`` (the "Recording installed projects" specification) lists every installed file
with its hash. installer wrote it for what it staged; relocated files are rehashed, the
symbolic links restored from ``conda.json`` are listed with an empty hash (the link, not
its target, belongs to the distribution) and the bytecode compiled here is listed too.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from condawheel.env.destinations import scheme_root
from condawheel.io.digests import hash_file
from condawheel.io.files import write_atomically
from condawheel.sidecar import SIDECAR_NAME

if TYPE_CHECKING:
    from collections.abc import Sequence

    from condawheel.env.decisions import WheelInstall
    from condawheel.env.interpreter import InterpreterFacts

__all__ = ["compile_bytecode", "rewrite_record"]


def _digest(path: Path) -> tuple[str, str]:
    """Return a file's RECORD hash and size columns."""
    digests = hash_file(path)
    return digests.record_hash, str(digests.size)


def compile_bytecode(facts: InterpreterFacts, sources: Sequence[Path]) -> None:
    """Compile the installed modules with the environment's interpreter (PEP 3147 caches)."""
    if not sources or facts.cache_tag is None:
        return
    # compileall of the environment's interpreter: bytecode for its version, with its magic
    # number (installer would use the interpreter running condawheel). Failures (a module
    # that does not compile on this Python) leave that module without bytecode, as pip does.
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            [str(facts.python), "-I", "-m", "compileall", "-q", "-i", "-"],
            input="\n".join(str(path) for path in sources),
            capture_output=True,
            text=True,
            check=False,
        )


def _bytecode(path: Path, cache_tag: str) -> Path:
    return path.parent / "__pycache__" / f"{path.stem}.{cache_tag}.pyc"


def rewrite_record(item: WheelInstall, facts: InterpreterFacts) -> int:
    """Make an installed wheel's ``RECORD`` true to the disk; return the bytecode files added.

    Written under a temporary name and renamed over the old one: ``RECORD`` is a file
    installer just created, but it is replaced, never written through.
    """
    root = scheme_root(item.contents, item.scheme)
    record = root / item.contents.dist_info / "RECORD"
    rows = list(csv.reader(io.StringIO(record.read_text(encoding="utf-8"))))
    listed = {Path(os.path.normpath(root / row[0])): row for row in rows if row}
    changed = {relocation.path for relocation in item.relocations}
    dist_info = root / item.contents.dist_info
    changed |= {dist_info / name for name in ("WHEEL", SIDECAR_NAME)}  # retagged
    for path in changed:
        if path in listed:
            listed[path][1:3] = _digest(path)
    for link in item.symlinks:
        # A link that could not be made (a warning of staging: its name too long for the
        # file system, say) is not recorded; Path.is_symlink would raise for such a name.
        made = os.path.islink(link.path)  # noqa: PTH114 - see above
        row = listed.get(link.path)
        if row is None:
            if not made:
                continue
            row = [Path(os.path.relpath(link.path, root)).as_posix(), "", ""]
            rows.append(row)
            listed[link.path] = row
        if made:
            row[1:3] = ["", ""]
    compiled = 0
    if facts.cache_tag is not None:
        for path in list(listed):
            if path.suffix != ".py":
                continue
            cached = _bytecode(path, facts.cache_tag)
            if cached.is_file() and cached not in listed:
                row = [Path(os.path.relpath(cached, root)).as_posix(), *_digest(cached)]
                rows.append(row)
                listed[cached] = row
                compiled += 1
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    # RECORD is installer's new file; it is replaced, never written through.
    write_atomically(record, buffer.getvalue().encode("utf-8"))
    return compiled
