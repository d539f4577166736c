"""Recognise conda packages made from wheels, and undo what their tools hid (pure).

Two tools turn a wheel into a conda package without a recipe, and both leave the wheel's
``*.dist-info`` in site-packages:

* **whl2conda** records itself in ``about.json`` (``extra.whl2conda_version``) and in the
  dist-info's ``INSTALLER``. Unless told to keep them (``-K``), it moves every
  ``Requires-Dist`` that needs no extra under an extra of its own, ``extra ==
  'original'`` (declared by ``Provides-Extra: original``), so that pip inside a conda
  environment does not act on them; conda installs the translation in ``depends``
  instead, without the requirements that carry an environment marker.
* **conda-pypi** records ``"generator": "conda-pypi"`` in ``about.json``'s ``extra``,
  keeps METADATA as the wheel has it, writes the unconditional requirements into
  ``depends`` and those of extras into ``extra_depends``, and leaves out requirements
  with other markers.

The wheel made from such a package must install the way the original wheel did, so
whl2conda's ``original`` extra is taken off again: the requirements are the project's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from condawheel.convert.markers import separate_extras, without_extras
from condawheel.metadata import MetadataText, field_value

if TYPE_CHECKING:
    from collections.abc import Mapping

    from condawheel.conda.condameta import JSONObject

__all__ = ["MadeFromWheel", "WheelTool", "recognise_wheel_tool", "restore_requirements"]

WheelTool: TypeAlias = Literal["whl2conda", "conda-pypi"]

WHL2CONDA_EXTRA: Final = "original"


@dataclass(frozen=True)
class MadeFromWheel:
    """The tool that made a conda package from a wheel.

    :param hidden_extra: the extra the tool moved the project's requirements under, if
        it did (whl2conda's ``original``).
    """

    tool: WheelTool
    version: str | None
    hidden_extra: str | None = None

    def to_json(self) -> JSONObject:
        """Return the sidecar form."""
        return {"tool": self.tool, "version": self.version, "hidden_extra": self.hidden_extra}


def recognise_wheel_tool(
    about: Mapping[str, object], dist_info_files: Mapping[str, bytes], metadata: MetadataText
) -> MadeFromWheel | None:
    """Say which tool made the package from a wheel, from what the tool records.

    :param about: ``info/about.json``.
    :param dist_info_files: the embedded dist-info's files by name (``INSTALLER``).
    :param metadata: the embedded METADATA.
    """
    extra = about.get("extra")
    extra = extra if isinstance(extra, dict) else {}
    installer = dist_info_files.get("INSTALLER", b"").strip()
    version = extra.get("whl2conda_version")
    if isinstance(version, str) or installer == b"whl2conda":
        provided = {canonicalize_name(value) for value in metadata.get_all("Provides-Extra")}
        hidden = WHL2CONDA_EXTRA if WHL2CONDA_EXTRA in provided else None
        return MadeFromWheel(
            "whl2conda", version if isinstance(version, str) else None, hidden_extra=hidden
        )
    if extra.get("generator") == "conda-pypi":
        version = extra.get("generator_version")
        return MadeFromWheel("conda-pypi", version if isinstance(version, str) else None)
    return None


def restore_requirements(
    metadata: MetadataText, made: MadeFromWheel
) -> tuple[MetadataText, tuple[str, ...]]:
    """Take the project's requirements out of the extra a tool hid them under.

    Each ``Requires-Dist`` that needs the hidden extra loses that condition (its
    environment markers stay), and ``Provides-Extra: <hidden>`` goes: METADATA declares
    what the original wheel did.

    :returns: the METADATA, and notes saying what changed (none when nothing did).
    """
    hidden = made.hidden_extra
    if hidden is None:
        return metadata, ()
    fields: list[tuple[str, str]] = []
    restored = 0
    for name, raw in metadata.fields:
        lowered = name.lower()
        if lowered == "provides-extra" and canonicalize_name(field_value(raw)) == hidden:
            continue
        if lowered == "requires-dist":
            text = _restored(field_value(raw), hidden)
            if text is not None:
                fields.append((name, f"{name}: {text}\n"))
                restored += 1
                continue
        fields.append((name, raw))
    note = (
        f"{made.tool} moved {restored} requirement(s) under the extra {hidden!r}; "
        "METADATA requires them as the original wheel did"
    )
    return MetadataText(tuple(fields), metadata.body), (note,) if restored else ()


# whl2conda writes each requirement it hides as ``<requirement> ; extra == 'original'``,
# or ``<requirement> ; (<marker>) and extra == 'original'`` when it had a marker: taking
# that clause off textually gives back the requirement as whl2conda read it, extras and
# markers included (also one whose marker already named an extra of the project's).
_HIDDEN_CLAUSE = re.compile(
    r"(?P<requirement>[^;]*?)\s*;\s*(?:\((?P<marker>.*)\)\s+and\s+)?"
    r"extra\s*==\s*(?P<quote>['\"])(?P<extra>[^'\"]*)(?P=quote)\s*"
)


def _restored(text: str, hidden: str) -> str | None:
    """Return the requirement without the hidden extra, or ``None`` if it has none."""
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return None
    clause = _HIDDEN_CLAUSE.fullmatch(text)
    if clause is not None and canonicalize_name(clause["extra"]) == hidden:
        marker = clause["marker"]
        restored = clause["requirement"] + (f" ; {marker}" if marker else "")
        try:
            Requirement(restored)
        except InvalidRequirement:
            pass  # the parentheses were not whl2conda's: read the marker instead
        else:
            return restored
    separated = separate_extras(requirement.marker)
    if separated is None or frozenset({hidden}) not in separated.extras:
        return None
    return without_extras(requirement, [hidden])
