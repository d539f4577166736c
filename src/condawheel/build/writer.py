"""Carry out a :class:`~condawheel.build.decisions.BuildPlan`: write, publish, index (I/O).

The writer decides nothing. A retagged wheel is written entry by entry in the plan's order
(members copied from the built wheel or replaced by the plan's bytes), with the plan's
timestamp and fixed modes, RECORD computed from what was written and placed last (PEP 376,
PEP 427), into a temporary file of the destination that is then linked into place
(:func:`condawheel.convert.writer.publish`: a different wheel of the same name is never replaced).
A wheelhouse is locked while wheels land, and indexed afterwards as ``sync`` indexes it.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from condawheel.convert.writer import add_bytes, publish, record_text
from condawheel.convert.zipwriter import ZipWriter
from condawheel.io.files import temporary_path
from condawheel.io.wheelfile import open_wheel

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import BinaryIO

    from condawheel.build.decisions import BuildPlan
    from condawheel.convert.writer import WriteResult

__all__ = ["write_build"]

_EXECUTABLE = 0o755
_REGULAR = 0o644
_LEVEL = 6


def write_build(plan: BuildPlan, built: Path, out_dir: Path) -> WriteResult:
    """Write ``plan`` (made from the wheel at ``built``) into ``out_dir``; return where it is.

    :raises WheelExistsError: if a different wheel of the same name is already there.
    :raises InvalidWheel: if a member of the built wheel cannot be read.
    :raises OSError: if the destination cannot be written.
    """
    with temporary_path(out_dir) as temp:
        if plan.kept_as_built:
            shutil.copyfile(built, temp)
        else:
            with temp.open("xb") as out, open_wheel(built) as archive:
                _write_zip(plan, archive.read, out)
        return publish(temp, out_dir / plan.filename)


def _write_zip(plan: BuildPlan, read: Callable[[str], bytes], out: BinaryIO) -> None:
    archive = ZipWriter(out)
    records = []
    for member in plan.members:
        data = member.data if member.data is not None else read(member.name)
        mode = _EXECUTABLE if member.executable else _REGULAR
        records.append(
            add_bytes(archive, member.name, data, date_time=plan.date_time, mode=mode, level=_LEVEL)
        )
    record = record_text([*records, (plan.record_path, "", "")]).encode("utf-8")
    add_bytes(
        archive, plan.record_path, record, date_time=plan.date_time, mode=_REGULAR, level=_LEVEL
    )
    archive.close()
