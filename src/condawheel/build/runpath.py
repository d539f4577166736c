"""Run paths of built ELF binaries: decide the ``$ORIGIN``-relative form, and patch it in (pure).

A build in a conda environment links against ``$PREFIX/lib`` with ``-Wl,-rpath,$PREFIX/lib``,
as conda-build's activation does, so the binary names an absolute path into the build
environment. Installed elsewhere, that path is wrong or, worse, still there. conda-build
rewrites it relative to the binary (``$ORIGIN/../lib``, ld.so(8)); so does this module:
:func:`decide_run_path` says what each entry becomes, :func:`patch_run_path` writes the new
string over the old one in the dynamic string table, padded with NUL bytes (the table cannot
grow without relinking). The build pads its absolute entry (``lib/./././...``) so that the
relative form always fits.
"""

from __future__ import annotations

import io
import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSegment
from elftools.elf.elffile import ELFFile

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

__all__ = ["RunPathChange", "RunPathError", "decide_run_path", "patch_run_path"]

_RUN_PATH_TAGS = frozenset({"DT_RPATH", "DT_RUNPATH"})
_STRING_TAGS = frozenset({"DT_NEEDED", "DT_SONAME", *_RUN_PATH_TAGS})


class RunPathError(Exception):
    """A run path cannot be rewritten in place; the message says why."""


@dataclass(frozen=True)
class RunPathChange:
    """What one binary's run path becomes.

    :param old: the entries as built (DT_RUNPATH, else DT_RPATH).
    :param new: the entries shipped: ``$ORIGIN``-relative, in the same order, no repeats.
    :param dropped: entries left out, each with the reason.
    """

    old: tuple[str, ...]
    new: tuple[str, ...]
    dropped: tuple[tuple[str, str], ...]

    @property
    def changed(self) -> bool:
        """Whether the binary must be patched."""
        return self.old != self.new


def decide_run_path(
    entries: Sequence[str], installed_path: str, prefixes: Collection[str]
) -> RunPathChange:
    """Decide the shipped run path of a binary installed at ``installed_path``.

    * ``$ORIGIN``-relative entries stay;
    * an absolute entry inside the build environment (any spelling in ``prefixes``)
      becomes ``$ORIGIN/<relative path>`` from the binary's installed folder;
    * any other entry is dropped: an absolute path elsewhere on the build machine (the
      build interpreter's own ``lib/``, a build folder) or one relative to the current
      directory would make the binary load whatever that path holds where it runs.

    :param installed_path: the binary's prefix-relative installed path (POSIX).
    :param prefixes: absolute spellings of the build environment's prefix.
    """
    here = posixpath.dirname(installed_path) or "."
    roots = sorted({prefix.rstrip("/") for prefix in prefixes if prefix.strip("/")}, key=len)
    new: list[str] = []
    dropped: list[tuple[str, str]] = []
    for entry in entries:
        kept: str | None
        if entry.startswith(("$ORIGIN", "${ORIGIN}")):
            kept = entry
        elif entry.startswith("/"):
            normal = posixpath.normpath(entry)
            inside = next(
                (
                    posixpath.relpath(normal, root)
                    for root in reversed(roots)
                    if normal == root or normal.startswith(root + "/")
                ),
                None,
            )
            if inside is None:
                dropped.append((entry, "an absolute path outside the build environment"))
                continue
            relative = posixpath.relpath(inside, here)
            kept = "$ORIGIN" if relative == "." else f"$ORIGIN/{relative}"
        else:
            dropped.append((entry, "relative to the current directory"))
            continue
        if kept not in new:
            new.append(kept)
    return RunPathChange(tuple(entries), tuple(new), tuple(dropped))


def patch_run_path(data: bytes, entries: Sequence[str]) -> bytes:
    """Return the ELF binary ``data`` with its DT_RUNPATH / DT_RPATH set to ``entries``.

    The new string is written over the old one and padded with NUL bytes; every run path
    entry of the binary gets it.

    :raises RunPathError: if the binary has no run path, the new one is longer than the old,
        or another string of the table shares the old one's bytes (a merged suffix).
    """
    new = ":".join(entries).encode()
    try:
        elf = ELFFile(io.BytesIO(data))
        dynamic = next(
            (segment for segment in elf.iter_segments() if isinstance(segment, DynamicSegment)),
            None,
        )
        if dynamic is None:
            msg = "no dynamic section"
            raise RunPathError(msg)
        tags = list(dynamic.iter_tags())
        table = next((tag.entry.d_val for tag in tags if tag.entry.d_tag == "DT_STRTAB"), None)
        if table is None:
            msg = "no DT_STRTAB"
            raise RunPathError(msg)
        start = next(iter(elf.address_offsets(table)), None)
        if start is None:
            msg = f"DT_STRTAB {table:#x} is in no loaded segment"
            raise RunPathError(msg)
        run_paths = sorted({t.entry.d_val for t in tags if t.entry.d_tag in _RUN_PATH_TAGS})
        others = {t.entry.d_val for t in tags if t.entry.d_tag in _STRING_TAGS}
        others |= {symbol.entry.st_name for symbol in dynamic.iter_symbols()}
    except ELFError as error:
        msg = f"unreadable ELF: {error}"
        raise RunPathError(msg) from None
    if not run_paths:
        msg = "it has no DT_RUNPATH or DT_RPATH to rewrite"
        raise RunPathError(msg)
    patched = bytearray(data)
    for offset in run_paths:
        begin = start + offset
        end = data.find(b"\0", begin)
        if end < 0:
            msg = "the run path string is not NUL-terminated"
            raise RunPathError(msg)
        length = end - begin
        if len(new) > length:
            msg = (
                f"the new run path {new.decode()!r} ({len(new)} bytes) is longer than the "
                f"built one ({length} bytes)"
            )
            raise RunPathError(msg)
        shared = sorted(o for o in others if offset < o < offset + length)
        if shared:
            msg = f"another string of the table shares the run path's bytes (offset {shared[0]})"
            raise RunPathError(msg)
        patched[begin:end] = new + b"\0" * (length - len(new))
    return bytes(patched)
