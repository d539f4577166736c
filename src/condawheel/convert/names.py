"""conda name -> PyPI name mapping: the schema, its parser, lookups (pure except the loaders).

A mapping file (``mappings/*.yaml``, or a user's ``--mapping FILE``) is YAML::

    schema: 1
    generated: '2026-11-21'      # optional: when the table was made
    sources: [...]               # optional: where it came from (package, version, url...)
    names:
      matplotlib-base: matplotlib   # a Python distribution and its PyPI name
      zstd: null                    # not a Python distribution (external library or tool)

Keys are conda names, exact and case-sensitive (``typing_extensions`` and
``typing-extensions`` are different conda packages; docs/reference.md, 5.2). Values are PyPI names
in canonical form (``packaging.utils.canonicalize_name``), or ``null``. A name absent from
every layer is *unknown*: the tables are incomplete, so absence is not evidence of
anything (docs/reference.md, 5.2). Later layers win (``NameMapping.merged``): the packaged table,
then the packaged overrides, then user files. ``mappings/README.md`` documents the files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal, TypeAlias
from urllib.parse import unquote

from packaging.utils import InvalidName, NormalizedName, canonicalize_name

from condawheel import __version__
from condawheel.convert.depurls import DEPURL_FILE, parse_depurl_table
from condawheel.convert.mappingformats import ForeignTableError, read_foreign_table
from condawheel.errors import InvalidMapping, InvalidPackage, UnsupportedPackage
from condawheel.io.files import write_atomically
from condawheel.io.jsondata import JSONProblem, parse_json

if TYPE_CHECKING:
    from collections.abc import Hashable, Iterable, Mapping, Sequence
    from importlib.resources.abc import Traversable

    import yaml

__all__ = [
    "DEFAULT_MAPPING_FILES",
    "MappingLayer",
    "MappingSource",
    "NameKind",
    "NameLookup",
    "NameMapping",
    "default_mapping",
    "library_distribution_name",
    "load_mapping",
    "parse_any_mapping",
    "parse_mapping",
    "pypi_name_from_purls",
]

NameKind: TypeAlias = Literal["python", "external", "unknown"]
"""What a conda name is: a Python distribution, not one (a library or tool), or unknown."""

SCHEMA: Final = 1
DEFAULT_MAPPING_FILES: Final = ("conda-pypi.yaml", "overrides.yaml")
"""Packaged files in ``condawheel/mappings``, lowest precedence first."""

LIBRARY_PREFIX: Final = "conda-pkg-"

# CEP 26 conda names (virtual packages start with "__"); same rule as condameta.
_CONDA_NAME = re.compile(r"[a-z0-9_][a-z0-9._-]*")
_CONDA_NAME_RULE = "^[a-z0-9_][a-z0-9._-]*$"
# A canonical PyPI name: the output of canonicalize_name on a valid PEP 508 name.
_CANONICAL_PYPI_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# PEP 508 names (core metadata "Name"), case-insensitive.
_PEP508_NAME = re.compile(r"[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?", re.IGNORECASE)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_QUOTE_HINT = "quote names that YAML reads as booleans, numbers or dates"

_TOP_KEYS: Final = ("generated", "names", "schema", "sources")
_SOURCE_TEXT_KEYS: Final = ("package", "version", "file", "url", "license")
_SOURCE_OPTIONAL_KEYS: Final = ("sha256", "upstream", "entries")


@dataclass(frozen=True)
class MappingSource:
    """Where a generated table came from (one item of the header's ``sources``)."""

    package: str  # the PyPI project whose wheel ships the table
    version: str
    file: str  # path of the table inside the wheel
    url: str  # the wheel's download URL
    license: str  # SPDX expression of the wheel, plus any note on the data's origin
    sha256: str | None = None  # of the wheel
    upstream: str | None = None  # the repository and file the table is a copy of
    entries: int | None = None  # entries read from the table


@dataclass(frozen=True)
class MappingLayer:
    """The contents of one mapping file."""

    origin: str  # the file (or other input) it was parsed from, for messages
    names: Mapping[str, NormalizedName | None] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, hash=False
    )
    generated: str | None = None  # ISO date from the header
    sources: tuple[MappingSource, ...] = ()
    form: str = "condawheel"  # or a foreign table's form (condawheel.convert.mappingformats)


@dataclass(frozen=True)
class NameLookup:
    """The answer for one conda name, and which layer gave it."""

    conda_name: str
    kind: NameKind
    pypi_name: NormalizedName | None  # set exactly when kind == "python"
    origin: str | None  # the deciding layer's origin; None when unknown


@dataclass(frozen=True)
class NameMapping:
    """Layers of conda -> PyPI names; a later layer wins over an earlier one.

    A value passed to whatever needs it (never a module global). Build one with
    :func:`default_mapping`, :func:`load_mapping`, :func:`parse_mapping` or
    :meth:`from_names`, and stack them with :meth:`merged`.
    """

    layers: tuple[MappingLayer, ...] = ()
    depurls: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )
    """conda name -> PEP 725 DepURL of external dependencies (:mod:`condawheel.convert.depurls`)."""

    @classmethod
    def from_names(cls, names: Mapping[str, str | None], *, origin: str = "<names>") -> NameMapping:
        """Return a one-layer mapping of ``names``, validated like a file's ``names``.

        >>> NameMapping.from_names({"pytables": "tables", "zstd": None}).classify("zstd")
        'external'

        :raises InvalidMapping: for an invalid conda name or a non-canonical PyPI name.
        """
        checked = _check_names(names.items(), origin)
        return cls((MappingLayer(origin, MappingProxyType(checked)),))

    def merged(self, other: NameMapping) -> NameMapping:
        """Return a mapping where ``other``'s entries win over this one's."""
        depurls = MappingProxyType({**self.depurls, **other.depurls})
        return NameMapping(self.layers + other.layers, depurls)

    def lookup(self, conda_name: str) -> NameLookup:
        """Return what ``conda_name`` is, its PyPI name, and the deciding layer."""
        for layer in reversed(self.layers):
            if conda_name in layer.names:
                value = layer.names[conda_name]
                kind: NameKind = "external" if value is None else "python"
                return NameLookup(conda_name, kind, value, layer.origin)
        return NameLookup(conda_name, "unknown", None, None)

    def classify(self, conda_name: str) -> NameKind:
        """Return ``"python"``, ``"external"`` (mapped to null) or ``"unknown"`` (absent)."""
        return self.lookup(conda_name).kind

    def pypi_name(self, conda_name: str) -> NormalizedName | None:
        """Return the PyPI name of ``conda_name``; ``None`` when external *or* unknown.

        Use :meth:`classify` to tell those two apart: for an unknown name the caller's
        fallback applies (docs/reference.md, 5.2: the package's own METADATA, then "same name" as
        a last resort).
        """
        for layer in reversed(self.layers):
            if conda_name in layer.names:
                return layer.names[conda_name]
        return None

    def conda_names(self, pypi_name: str) -> tuple[str, ...]:
        """Return every conda name whose effective PyPI name is ``pypi_name`` (sorted).

        The relation is many-to-one (``matplotlib`` and ``matplotlib-base`` are both PyPI
        ``matplotlib``), so a reverse lookup is a set, never a single name.
        """
        wanted = canonicalize_name(pypi_name)
        return tuple(sorted(name for name, value in self.as_dict().items() if value == wanted))

    def as_dict(self) -> dict[str, NormalizedName | None]:
        """Return the effective entries of all layers (later layers applied last)."""
        merged: dict[str, NormalizedName | None] = {}
        for layer in self.layers:
            merged.update(layer.names)
        return merged

    @property
    def origins(self) -> tuple[str, ...]:
        """Return the origin of each layer, lowest precedence first."""
        return tuple(layer.origin for layer in self.layers)

    @property
    def sources(self) -> tuple[MappingSource, ...]:
        """Return the recorded sources of all layers, lowest precedence first."""
        return tuple(source for layer in self.layers for source in layer.sources)


def pypi_name_from_purls(purls: Sequence[str]) -> NormalizedName | None:
    """Return the PyPI project a record's package URLs name (``pkg:pypi/<name>``), if one.

    Package URLs (the purl specification; conda records carry them since CEP 16's
    "additional data") name what a conda package repackages. Several PyPI names, or
    one that is no valid project name, name none.
    """
    found = set()
    for purl in purls:
        kind, _, rest = purl.partition("/")
        if kind.lower() != "pkg:pypi" or not rest:
            continue
        name = unquote(re.split(r"[@?#]", rest, maxsplit=1)[0])
        try:
            found.add(canonicalize_name(name, validate=True))
        except InvalidName:
            return None
    return found.pop() if len(found) == 1 else None


def library_distribution_name(conda_name: str) -> NormalizedName:
    """Return the wheel distribution name of a conda package with no Python metadata.

    A conda package such as ``zstd`` or ``openssl`` is a C library, not a Python
    distribution, yet its wheel needs a ``Name``. Its conda name will not do: PyPI's
    ``zstd`` is a Python binding (conda's ``python-zstd``), so a wheel named ``zstd``
    would satisfy, or be replaced by, requirements meant for that project. The name is
    therefore ``conda-pkg-<conda name>``, canonicalised (``zstd`` -> ``conda-pkg-zstd``,
    ``_openmp_mutex`` -> ``conda-pkg-openmp-mutex``): a namespace no PyPI project uses,
    that says where the wheel came from, and that maps back to the conda name for every
    conda name without ``.``/``_`` (canonicalisation folds those into ``-``).

    >>> library_distribution_name("libzlib")
    'conda-pkg-libzlib'

    :raises InvalidPackage: if ``conda_name`` is not a conda name (CEP 26).
    :raises UnsupportedPackage: if the result is no valid PyPI name (a trailing ``.`` or
        ``_`` in the conda name).
    """
    if not _CONDA_NAME.fullmatch(conda_name):
        raise InvalidPackage(
            conda_name, f"conda name {conda_name!r} does not match {_CONDA_NAME_RULE}"
        )
    name = canonicalize_name(LIBRARY_PREFIX + conda_name)
    if not _CANONICAL_PYPI_NAME.fullmatch(name):
        raise UnsupportedPackage(
            conda_name,
            f"library distribution name {name!r} is not a valid PyPI name (PEP 508)",
        )
    return name


def parse_mapping(text: str, *, origin: str) -> NameMapping:
    """Parse one mapping file's text into a one-layer :class:`NameMapping`.

    :param origin: names the input in error messages and in :attr:`NameLookup.origin`.
    :raises InvalidMapping: with a one-line reason naming the first rule broken.
    """
    import yaml  # noqa: PLC0415 - 40 ms to import; not needed when the cache answers

    try:
        document = yaml.load(text, Loader=_strict_loader())  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise InvalidMapping(origin, f"not valid YAML: {error.problem}{where}") from None
    except yaml.YAMLError as error:
        raise InvalidMapping(origin, f"not valid YAML: {_one_line(str(error))}") from None
    return NameMapping((_check_document(document, origin),))


def load_mapping(path: Path) -> NameMapping:
    """Read and parse a mapping file (a user's ``--mapping FILE``), of any form it takes.

    :raises InvalidMapping: if the file cannot be read, is not UTF-8, or breaks the schema.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InvalidMapping(str(path), f"not UTF-8 text ({error.reason})") from None
    except OSError as error:
        raise InvalidMapping(str(path), f"cannot be read: {error.strerror or error}") from None
    return parse_any_mapping(text, origin=str(path))


def parse_any_mapping(text: str, *, origin: str) -> NameMapping:
    """Parse a mapping file of any form ``--mapping`` takes, told apart by its shape.

    condawheel's YAML (or the same document as JSON, with its ``schema``), or the JSON
    tables of pixi, parselmouth and conda-pypi (:mod:`condawheel.convert.mappingformats`).

    :raises InvalidMapping: with a one-line reason naming the first rule broken.
    """
    if not text.lstrip().startswith(("{", "[")):
        return parse_mapping(text, origin=origin)
    try:
        document = parse_json(text)
    except JSONProblem as problem:
        raise InvalidMapping(origin, str(problem)) from None
    if isinstance(document, dict) and "schema" in document:
        return parse_mapping(text, origin=origin)
    try:
        table = read_foreign_table(document)
    except ForeignTableError as problem:
        raise InvalidMapping(origin, str(problem)) from None
    checked = _check_names(table.names.items(), origin)
    return NameMapping((MappingLayer(origin, MappingProxyType(checked), form=table.format),))


def default_mapping(*, cache: Path | None = None) -> NameMapping:
    """Return the packaged mapping: ``conda-pypi.yaml`` with ``overrides.yaml`` on top.

    It also carries the packaged DepURL table (``depurls.yaml``) for external
    dependencies.

    Reads ``condawheel/mappings`` through :mod:`importlib.resources`, so it works from a
    wheel or a zip; an editable install of a source checkout reads the repository's
    ``mappings/`` (see :func:`_mapping_folder`). Parsing the files takes about 70 ms with
    libyaml: call it once and pass the value on.

    :param cache: a folder where each parsed file is kept as JSON, named by the sha256
        of its text and condawheel's version, so that later runs read it in a few
        milliseconds (a command line starts faster); unreadable or unwritable, it is
        ignored and the YAML parsed.
    :raises InvalidMapping: if a packaged file is missing or invalid (a broken install).
    """
    mapping = NameMapping()
    folder = _mapping_folder()
    for name in DEFAULT_MAPPING_FILES:
        text, origin = _read_packaged(folder, name)
        kept = None if cache is None else _cached_path(cache, text)
        layer = None if kept is None else _read_cached(kept, origin)
        if layer is None:
            (layer,) = parse_mapping(text, origin=origin).layers
            if kept is not None:
                _write_cached(kept, layer)
        mapping = mapping.merged(NameMapping((layer,)))
    text, origin = _read_packaged(folder, DEPURL_FILE)
    return NameMapping(mapping.layers, _depurl_table(text, origin, cache))


def _read_packaged(folder: Traversable, name: str) -> tuple[str, str]:
    """Return the text of a packaged mapping file and how messages name it."""
    origin = f"condawheel/mappings/{name}"
    try:
        return (folder / name).read_text(encoding="utf-8"), origin
    except OSError as error:
        raise InvalidMapping(
            origin, f"packaged mapping cannot be read: {error.strerror or error}"
        ) from None


def _depurl_table(text: str, origin: str, cache: Path | None) -> Mapping[str, str]:
    """Return the packaged DepURL table, from the cache when it is kept there."""
    kept = None if cache is None else _cached_path(cache, text)
    if kept is not None:
        with contextlib.suppress(OSError, ValueError):
            found = json.loads(kept.read_bytes()).get("depurls")
            if isinstance(found, dict) and all(
                isinstance(key, str) and isinstance(value, str) for key, value in found.items()
            ):
                return MappingProxyType(found)
    table = parse_depurl_table(text, origin=origin)
    if kept is not None:
        _write_json(kept, {"depurls": dict(table)})
    return table


def _cached_path(cache: Path, text: str) -> Path:
    key = hashlib.sha256(f"{__version__}\n{text}".encode()).hexdigest()
    return cache / "mappings" / f"{key[:40]}.json"


def _read_cached(path: Path, origin: str) -> MappingLayer | None:
    """Return the layer kept at ``path``, or None if there is none that is whole."""
    try:
        document = json.loads(path.read_bytes())
        names = document["names"]
        sources = tuple(MappingSource(**item) for item in document["sources"])
        generated = document["generated"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(names, dict) or not (generated is None or isinstance(generated, str)):
        return None
    if not all(isinstance(value, (str, type(None))) for value in names.values()):
        return None
    form = document.get("form", "condawheel")
    if not isinstance(form, str):
        return None
    return MappingLayer(origin, MappingProxyType(names), generated, sources, form)


def _write_cached(path: Path, layer: MappingLayer) -> None:
    """Keep ``layer`` at ``path``; see :func:`_write_json`."""
    document = {
        "names": dict(layer.names),
        "generated": layer.generated,
        "sources": [dataclasses.asdict(source) for source in layer.sources],
        "form": layer.form,
    }
    _write_json(path, document)


def _write_json(path: Path, document: Mapping[str, object]) -> None:
    """Write ``document`` at ``path`` atomically; a cache that cannot be written is no error."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps(document, sort_keys=True).encode())


def _mapping_folder() -> Traversable:
    """Return the folder holding the packaged mapping files.

    The files live at the top of the repository (``mappings/``); the wheel build
    force-includes them as ``condawheel/mappings``. An editable install imports the
    package from ``src/condawheel``, where they are not, so a source checkout's
    ``mappings/`` next to ``src/`` is used when the packaged folder is absent.
    """
    packaged = resources.files("condawheel") / "mappings"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent.parent.parent / "mappings"
    return checkout if checkout.is_dir() else packaged


# ---------------------------------------------------------------------------- helpers


@functools.cache
def _strict_loader() -> type[yaml.SafeLoader]:
    """Return a safe loader that refuses duplicate keys, which YAML would silently overwrite.

    libyaml's loader parses the 12k-entry default table about 7x faster than pure Python.
    """
    import yaml  # noqa: PLC0415 - see parse_mapping

    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StrictLoader(base):  # type: ignore[valid-type,misc]
        def construct_mapping(
            self,
            node: yaml.MappingNode,
            deep: bool = False,  # noqa: FBT001, FBT002 - base API
        ) -> dict[Hashable, object]:
            """Construct a mapping after checking that no key appears twice."""
            seen: set[str] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                        )
                    seen.add(key_node.value)
            result: dict[Hashable, object] = super().construct_mapping(node, deep=deep)
            return result

    return StrictLoader


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _check_document(document: object, origin: str) -> MappingLayer:
    """Validate the top level of a parsed file and return its layer."""
    if not isinstance(document, dict):
        raise InvalidMapping(
            origin,
            f"the document must be a mapping with keys 'schema' and 'names', "
            f"got {_type_name(document)}",
        )
    for key in document:
        if key not in _TOP_KEYS:
            raise InvalidMapping(
                origin, f"unknown top-level key {key!r} (allowed: {', '.join(_TOP_KEYS)})"
            )
    if "schema" not in document:
        raise InvalidMapping(origin, f"missing top-level key 'schema' (expected {SCHEMA})")
    schema = document["schema"]
    if type(schema) is not int or schema != SCHEMA:
        raise InvalidMapping(
            origin, f"unsupported schema {schema!r} (this condawheel reads schema {SCHEMA})"
        )
    if "names" not in document:
        raise InvalidMapping(origin, "missing top-level key 'names'")
    names = document["names"]
    if not isinstance(names, dict):
        raise InvalidMapping(
            origin,
            f"'names' must be a mapping of conda name to PyPI name or null, "
            f"got {_type_name(names)}",
        )
    return MappingLayer(
        origin=origin,
        names=MappingProxyType(_check_names(names.items(), origin)),
        generated=_check_generated(document.get("generated"), origin),
        sources=_check_sources(document.get("sources"), origin),
    )


def _check_names(
    items: Iterable[tuple[object, object]], origin: str
) -> dict[str, NormalizedName | None]:
    """Return the ``names`` items as a typed dict, or raise for the first invalid one."""
    checked: dict[str, NormalizedName | None] = {}
    for key, value in items:
        if not isinstance(key, str):
            raise InvalidMapping(
                origin,
                f"names: key {key!r} ({_type_name(key)}) is not a string; {_QUOTE_HINT}",
            )
        if not _CONDA_NAME.fullmatch(key):
            raise InvalidMapping(
                origin, f"names: {key!r} is not a conda name (must match {_CONDA_NAME_RULE})"
            )
        if value is None:
            checked[key] = None
        elif isinstance(value, str) and _CANONICAL_PYPI_NAME.fullmatch(value):
            checked[key] = NormalizedName(value)
        else:
            raise InvalidMapping(origin, _value_problem(key, value))
    return checked


def _value_problem(key: str, value: object) -> str:
    """Explain why ``value`` is not a canonical PyPI name or null."""
    where = f"names[{key!r}]"
    if not isinstance(value, str):
        return f"{where}: {value!r} ({_type_name(value)}) is not a PyPI name or null; {_QUOTE_HINT}"
    if not _PEP508_NAME.fullmatch(value):
        return f"{where}: {value!r} is not a valid PyPI project name (PEP 508)"
    return (
        f"{where}: PyPI name {value!r} is not canonical "
        f"(write {canonicalize_name(value)!r}; PEP 503 normalization)"
    )


def _check_generated(value: object, origin: str) -> str | None:
    """Return the header's ``generated`` date as ISO text."""
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise InvalidMapping(origin, f"'generated' must be a date (YYYY-MM-DD), got {value!r}")


def _check_sources(value: object, origin: str) -> tuple[MappingSource, ...]:
    """Return the header's ``sources`` list as typed records."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidMapping(
            origin, f"'sources' must be a list of mappings, got {_type_name(value)}"
        )
    return tuple(
        _check_source(item, f"sources[{index}]", origin) for index, item in enumerate(value)
    )


def _check_source(item: object, where: str, origin: str) -> MappingSource:
    if not isinstance(item, dict):
        raise InvalidMapping(origin, f"{where} must be a mapping, got {_type_name(item)}")
    allowed = (*_SOURCE_TEXT_KEYS, *_SOURCE_OPTIONAL_KEYS)
    for key in item:
        if key not in allowed:
            raise InvalidMapping(
                origin, f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})"
            )
    text: dict[str, str] = {}
    for key in (*_SOURCE_TEXT_KEYS, "sha256", "upstream"):
        if key not in item:
            if key in _SOURCE_TEXT_KEYS:
                raise InvalidMapping(origin, f"{where}: missing key {key!r}")
            continue
        if not isinstance(item[key], str) or not item[key]:
            raise InvalidMapping(
                origin, f"{where}: {key!r} must be a non-empty string, got {item[key]!r}"
            )
        text[key] = item[key]
    if "sha256" in text and not _SHA256.fullmatch(text["sha256"]):
        raise InvalidMapping(
            origin, f"{where}: 'sha256' must be 64 lowercase hex digits, got {text['sha256']!r}"
        )
    entries = item.get("entries")
    if entries is not None and (type(entries) is not int or entries < 0):
        raise InvalidMapping(
            origin, f"{where}: 'entries' must be a non-negative integer, got {entries!r}"
        )
    return MappingSource(
        package=text["package"],
        version=text["version"],
        file=text["file"],
        url=text["url"],
        license=text["license"],
        sha256=text.get("sha256"),
        upstream=text.get("upstream"),
        entries=entries,
    )
