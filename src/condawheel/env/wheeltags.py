"""The tags an installed conda wheel records, so that pip and uv accept what is installed.

A conda wheel's ``WHEEL`` file lists its conda tags (``cp312-cp312-conda_linux_64``), which
no installer knows unless told. Installed as is, pip (``pip check``, pip >= 23.3: "is not
supported on this platform", ``pip._internal.operations.check.check_unsupported``) and uv
(``uv pip check``, and ``uv pip install``, which since 0.8.13 reinstalls an installed
distribution whose ``WHEEL`` tags do not fit the interpreter) judge it broken although it
was made for this very environment.

So :func:`installed_tags` chooses, for each conda tag, the same python and ABI tags on a
platform the interpreter itself accepts: its base platform (``linux_x86_64``,
``sysconfig.get_platform()``, PEP 425) for a build of a platform subdir, ``any`` for a
``noarch`` one. The installed ``WHEEL`` lists those; the wheel's own file name and tags are
kept in the sidecar under ``installed_from`` (:func:`sidecar_with_origin`), so nothing is
lost. Pure functions, text in and text out, but for :func:`record_tags`, which
``condawheel install`` applies to the staged copy of the dist-info before committing it,
with the tags its decisions chose (:func:`tags_to_record`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

from packaging.tags import Tag

from condawheel.io.files import write_atomically
from condawheel.sidecar import SIDECAR_NAME

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable
    from pathlib import Path

    from condawheel.env.interpreter import InterpreterFacts
    from condawheel.env.wheels import WheelContents

__all__ = [
    "ORIGIN_KEY",
    "installed_tags",
    "record_tags",
    "rewrite_wheel_file",
    "sidecar_with_origin",
    "tags_to_record",
]

ORIGIN_KEY: Final = "installed_from"


def installed_tags(
    wheel_tags: Iterable[Tag], accepted: Collection[Tag], *, base_platform: str, noarch: bool
) -> tuple[Tag, ...] | None:
    """Return the tags to record for an installed wheel, or ``None`` to keep its own.

    ``None`` when one of the wheel's tags is accepted already (an ordinary wheel) or when
    no replacement is accepted either (then the truth is better than a guess).

    :param accepted: the interpreter's own tags (``sys_tags()``, without conda tags).
    :param noarch: a build of conda's ``noarch`` subdir: ``any`` is tried first.
    """
    tags = sorted(wheel_tags, key=str)
    if any(tag in accepted for tag in tags):
        return None
    platforms = ("any", base_platform) if noarch else (base_platform, "any")
    chosen: list[Tag] = []
    for tag in tags:
        for platform in platforms:
            candidate = Tag(tag.interpreter, tag.abi, platform)
            if candidate in accepted:
                chosen.append(candidate)
                break
    return tuple(dict.fromkeys(chosen)) or None


def rewrite_wheel_file(text: str, tags: Iterable[Tag]) -> str:
    """Return a ``WHEEL`` file's text with its ``Tag:`` lines replaced by ``tags``.

    The other lines keep their order; the new ``Tag:`` lines take the place of the first.
    """
    kept: list[str] = []
    position: int | None = None
    for line in text.splitlines():
        if line.lower().startswith("tag:"):
            position = len(kept) if position is None else position
            continue
        kept.append(line)
    position = len(kept) if position is None else position
    new = [f"Tag: {tag}" for tag in tags]
    return "\n".join([*kept[:position], *new, *kept[position:]]) + "\n"


def sidecar_with_origin(data: bytes, filename: str, tags: Iterable[Tag]) -> bytes:
    """Return the sidecar's bytes with ``installed_from``: the wheel's file name and tags.

    :raises ValueError: if the sidecar is not a JSON object.
    """
    document = json.loads(data)
    if not isinstance(document, dict):
        msg = "the sidecar is not a JSON object"
        raise ValueError(msg)  # noqa: TRY004 - a content error, reported like bad JSON
    document[ORIGIN_KEY] = {"wheel": filename, "tags": sorted(str(tag) for tag in tags)}
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


def tags_to_record(contents: WheelContents, facts: InterpreterFacts) -> tuple[Tag, ...] | None:
    """Return the tags an installed wheel's ``WHEEL`` is to list, or ``None`` to keep its own.

    See :func:`installed_tags`: a build of conda's ``noarch`` subdir tries ``any`` first.
    """
    sidecar = contents.sidecar
    package = sidecar.document.get("package") if sidecar is not None else None
    noarch = isinstance(package, dict) and package.get("subdir") == "noarch"
    return installed_tags(
        contents.tags, frozenset(facts.sys_tags), base_platform=facts.base_platform, noarch=noarch
    )


def record_tags(contents: WheelContents, dist_info: Path, tags: Iterable[Tag]) -> None:
    """Rewrite a staged dist-info's ``WHEEL`` to list ``tags``, and note the wheel's own.

    Only the staging copy is replaced (new files renamed into place, as everywhere); the
    sidecar, if any, gets ``installed_from``. ``RECORD`` is rehashed afterwards, with the
    relocated files.
    """
    wheel_file = dist_info / "WHEEL"
    text = rewrite_wheel_file(wheel_file.read_text(encoding="utf-8"), tags)
    write_atomically(wheel_file, text.encode())
    sidecar_file = dist_info / SIDECAR_NAME
    if sidecar_file.is_file():
        data = sidecar_with_origin(sidecar_file.read_bytes(), contents.filename, contents.tags)
        write_atomically(sidecar_file, data)
