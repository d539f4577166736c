"""Read the conda <-> PyPI name tables other tools publish, as conda name -> PyPI name (pure).

``--mapping FILE`` takes condawheel's own YAML (:mod:`condawheel.convert.names`) and these JSON
forms, told apart by their shape:

* **pixi / parselmouth** (``"flat"``): one object, conda name -> PyPI name, ``null`` for a
  conda package that is not a Python distribution: pixi's ``conda-pypi-map`` files and
  prefix.dev parselmouth's ``compressed_mapping.json``. pixi also takes a list of PyPI
  names for a conda package that ships several distributions.
* **parselmouth's per-artifact records** (``"parselmouth"``): ``{"conda_name": ...,
  "pypi_normalized_names": [...], ...}``, one object or a list of them, as its
  ``files/v0/<channel>/<sha256>`` entries are written.
* **conda-pypi** (``"conda-pypi"``): PyPI name -> ``{"conda_name": ..., "pypi_name": ...,
  "import_name": ..., "mapping_source": ...}``, the form of conda-pypi's
  ``grayskull_pypi_mapping.json`` and of its ``--name-mapping`` files (cf-graph's table,
  which parselmouth also publishes as ``mapping_as_grayskull.json``).

Each becomes conda name -> canonical PyPI name or ``None``. A conda name given several
PyPI names is left out (unknown): condawheel names a wheel after one distribution, and
absence lets the package's own METADATA decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

from packaging.utils import InvalidName, canonicalize_name

if TYPE_CHECKING:
    from condawheel.io.jsondata import JSONValue

__all__ = ["ForeignFormat", "ForeignTable", "ForeignTableError", "read_foreign_table"]

ForeignFormat: TypeAlias = Literal["flat", "parselmouth", "conda-pypi"]


class ForeignTableError(ValueError):
    """A table that none of the known forms describes; ``str()`` says where it breaks."""


@dataclass(frozen=True)
class ForeignTable:
    """A foreign table read as conda name -> PyPI name (``None``: not Python).

    :param ambiguous: conda names given several PyPI names, left out.
    """

    format: ForeignFormat
    names: dict[str, str | None]
    ambiguous: tuple[str, ...] = ()


def read_foreign_table(document: JSONValue) -> ForeignTable:
    """Tell which form ``document`` has and read it.

    :raises ForeignTableError: when it has none of them, or an entry breaks its form.
    """
    records: list[JSONValue] = document if isinstance(document, list) else [document]
    if records and all(isinstance(item, dict) and "conda_name" in item for item in records):
        return _parselmouth(records)
    if not isinstance(document, dict):
        msg = "expected a JSON object (pixi, parselmouth or conda-pypi form)"
        raise ForeignTableError(msg)
    values = list(document.values())
    if values and all(isinstance(value, dict) for value in values):
        return _conda_pypi(document)
    return _flat(document)


def _pypi(value: object, where: str) -> str:
    if not isinstance(value, str):
        msg = f"{where}: {value!r} is not a PyPI name"
        raise ForeignTableError(msg)
    try:
        return canonicalize_name(value, validate=True)
    except InvalidName:
        msg = f"{where}: {value!r} is not a valid PyPI project name (PEP 508)"
        raise ForeignTableError(msg) from None


def _flat(document: dict[str, JSONValue]) -> ForeignTable:
    names: dict[str, str | None] = {}
    ambiguous: list[str] = []
    for conda, value in document.items():
        where = f"[{conda!r}]"
        if value is None:
            names[conda] = None
        elif isinstance(value, list):
            pypi = sorted({_pypi(item, where) for item in value})
            if len(pypi) > 1:
                ambiguous.append(conda)
            else:
                names[conda] = pypi[0] if pypi else None
        else:
            names[conda] = _pypi(value, where)
    return ForeignTable("flat", names, tuple(ambiguous))


def _parselmouth(records: list[JSONValue]) -> ForeignTable:
    chosen: dict[str, set[str]] = {}
    for position, record in enumerate(records):
        assert isinstance(record, dict)  # noqa: S101 - checked by the caller
        conda = record["conda_name"]
        where = f"[{position}]"
        if not isinstance(conda, str):
            msg = f"{where}: conda_name {conda!r} is not a string"
            raise ForeignTableError(msg)
        raw = record.get("pypi_normalized_names") or []
        if not isinstance(raw, list):
            msg = f"{where}: pypi_normalized_names must be a list"
            raise ForeignTableError(msg)
        chosen.setdefault(conda, set()).update(_pypi(item, where) for item in raw)
    return _settled("parselmouth", chosen)


def _conda_pypi(document: dict[str, JSONValue]) -> ForeignTable:
    chosen: dict[str, set[str]] = {}
    for key, entry in document.items():
        assert isinstance(entry, dict)  # noqa: S101 - checked by the caller
        where = f"[{key!r}]"
        conda = entry.get("conda_name")
        if not isinstance(conda, str) or not conda:
            msg = f"{where}: missing 'conda_name' (conda-pypi form)"
            raise ForeignTableError(msg)
        chosen.setdefault(conda, set()).add(_pypi(entry.get("pypi_name") or key, where))
    return _settled("conda-pypi", chosen)


def _settled(form: ForeignFormat, chosen: dict[str, set[str]]) -> ForeignTable:
    names: dict[str, str | None] = {}
    ambiguous: list[str] = []
    for conda, pypi in chosen.items():
        if len(pypi) > 1:
            ambiguous.append(conda)
        else:
            names[conda] = next(iter(pypi), None)
    return ForeignTable(form, names, tuple(sorted(ambiguous)))
