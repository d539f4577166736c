"""Core metadata, ``WHEEL`` and ``entry_points.txt`` of a converted wheel (pure).

The embedded ``*.dist-info/METADATA`` of a conda package is kept byte for byte where
possible (its fields are the project's own); condawheel only adds what conda knows and the
wheel needs (``Requires-External``, ``Requires-Python``). Egg-info is converted the way
setuptools' ``bdist_wheel`` does (PKG-INFO plus ``requires.txt``). Packages without any
Python metadata get a synthesised METADATA from ``index.json``/``about.json``.
References: the core metadata specification (versions 1.0-2.4), PEP 427 (``WHEEL``), the
entry points specification.
"""

from __future__ import annotations

import configparser
import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from condawheel.conda.condameta import About

__all__ = [
    "LOOKS_UP_ITS_ENTRY_POINT",
    "MULTI_LINE_FIELDS",
    "SCRIPT_SECTIONS",
    "MetadataText",
    "callable_path",
    "egg_info_to_metadata",
    "field_value",
    "license_fields",
    "read_scripts",
    "render_scripts",
    "render_wheel_file",
    "wrapper_target",
]

# Core metadata fields whose value is text of several lines (the rest are one line each).
MULTI_LINE_FIELDS: Final = frozenset({"description", "license"})
_FIELD = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9-]*):[ \t]?(?P<value>.*)$")


@dataclass(frozen=True)
class MetadataText:
    """An email-header document (METADATA, PKG-INFO) edited without reformatting it.

    Fields keep their order and exact spelling; continuation lines stay attached to their
    field; the body after the first blank line is kept verbatim.
    """

    fields: tuple[tuple[str, str], ...]  # (name as written, raw text incl. continuations)
    body: str

    @classmethod
    def parse(cls, text: str) -> MetadataText:
        """Parse a header document; unparseable header lines end the header block."""
        # CRLF files exist (old egg-info); METADATA is written with "\n" line ends.
        lines = text.replace("\r\n", "\n").splitlines(keepends=True)
        fields: list[tuple[str, str]] = []
        index = 0
        while index < len(lines):
            line = lines[index]
            # Only an empty line ends the header block: a whitespace-only line is a
            # continuation (setuptools indents blank Description lines with 8 spaces).
            if line.rstrip("\n") == "":
                index += 1
                break
            if line[0] in " \t" and fields:
                name, raw = fields[-1]
                fields[-1] = (name, raw + line)
            elif (match := _FIELD.match(line.rstrip("\r\n"))) is not None:
                fields.append((match["name"], line))
            else:
                break
            index += 1
        return cls(tuple(fields), "".join(lines[index:]))

    def get_all(self, name: str) -> list[str]:
        r"""Return the values of a field (case-insensitive), continuation lines unfolded.

        A folded value is read the way RFC 5322 (2.2.3) unfolds it and as email parsers
        and pip read it: the line breaks go, the whitespace that starts each continuation
        stays (``...) and\n extra == 'x'`` is ``...) and extra == 'x'``). ``Description``
        and ``License`` hold several lines of text by nature (core metadata): their lines
        stay lines, each stripped of its indentation.
        """
        wanted = name.lower()
        return [field_value(raw) for field_name, raw in self.fields if field_name.lower() == wanted]

    def get(self, name: str) -> str | None:
        """Return the first value of a field, or ``None``."""
        values = self.get_all(name)
        return values[0] if values else None

    def without_placeholders(self) -> MetadataText:
        """Return a copy without fields whose whole value is ``UNKNOWN``.

        setuptools before 62 wrote ``UNKNOWN`` for every field a project left unset
        (Summary, Home-page, License, even Description-Content-Type); the field was never
        given, and ``UNKNOWN`` is invalid where a value has a syntax.
        """
        return MetadataText(
            tuple(pair for pair in self.fields if pair[1].split(":", 1)[1].strip() != "UNKNOWN"),
            self.body,
        )

    def without(self, *names: str) -> MetadataText:
        """Return a copy without the given fields."""
        drop = {name.lower() for name in names}
        return MetadataText(
            tuple(pair for pair in self.fields if pair[0].lower() not in drop), self.body
        )

    def with_fields(self, additions: Iterable[tuple[str, str]]) -> MetadataText:
        """Return a copy with fields appended at the end of the header block."""
        added = tuple((name, f"{name}: {value}\n") for name, value in additions)
        return MetadataText(self.fields + added, self.body)

    def replaced(self, name: str, value: str) -> MetadataText:
        """Return a copy where the first ``name`` field holds ``value`` (added if absent)."""
        fields = list(self.fields)
        for position, (field_name, _) in enumerate(fields):
            if field_name.lower() == name.lower():
                fields[position] = (field_name, f"{field_name}: {value}\n")
                return MetadataText(tuple(fields), self.body)
        return MetadataText((*fields, (name, f"{name}: {value}\n")), self.body)

    def unfolded(self) -> MetadataText:
        """Return a copy whose folded fields are written on one line each.

        Core metadata fields other than ``Description`` and ``License`` are single-line
        values; a writer that folds long ones (whl2conda's ``Requires-Dist``) makes METADATA
        that ``packaging`` and pip's parsers of requirements refuse. Unfolding keeps the
        value as RFC 5322 reads it; fields without continuation lines are left untouched.
        """
        fields = []
        for field_name, raw in self.fields:
            lines = raw.splitlines()
            if len(lines) > 1 and field_name.lower() not in MULTI_LINE_FIELDS:
                name, _, value = "".join(lines).partition(":")
                raw = f"{name}: {value.strip()}\n"  # noqa: PLW2901 - the rewritten field
            fields.append((field_name, raw))
        return MetadataText(tuple(fields), self.body)

    @property
    def folded_fields(self) -> tuple[str, ...]:
        """Return the names of single-line fields written over several lines."""
        return tuple(
            name
            for name, raw in self.fields
            if name.lower() not in MULTI_LINE_FIELDS and len(raw.splitlines()) > 1
        )

    def render(self) -> bytes:
        r"""Return the document as UTF-8 bytes, every header line ending in ``\\n``."""
        parts = [raw if raw.endswith("\n") else raw + "\n" for _, raw in self.fields]
        text = "".join(parts)
        if self.body:
            text += "\n" + self.body
        return text.encode("utf-8")


def field_value(raw: str) -> str:
    """Return the value of one field as written (``Name: value`` and its continuations).

    See :meth:`MetadataText.get_all` for how continuation lines are read.
    """
    first, *rest = raw.splitlines()
    name, _, value = first.partition(":")
    if name.strip().lower() in MULTI_LINE_FIELDS:
        return "\n".join([value.strip(), *(line.strip() for line in rest)]).strip()
    return "".join([value, *rest]).strip()


def egg_info_to_metadata(pkg_info: str, requires_txt: str | None) -> MetadataText:
    """Convert egg-info's PKG-INFO and ``requires.txt`` into METADATA fields.

    ``requires.txt`` sections are ``[extra]``, ``[:marker]`` or ``[extra:marker]``, as
    setuptools writes them (``pkg_resources`` "requirements file" format).

    :raises ValueError: for a requirement line that is not PEP 508.
    """
    metadata = MetadataText.parse(pkg_info).without("Requires-Dist", "Provides-Extra")
    requirements: list[str] = []
    extras: list[str] = []
    extra: str | None = None
    marker: str | None = None
    for raw_line in (requires_txt or "").splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            name, _, condition = section.partition(":")
            extra = canonicalize_name(name) if name.strip() else None
            marker = condition.strip() or None
            if extra is not None and extra not in extras:
                extras.append(extra)
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement as error:
            msg = f"requires.txt: {line!r} is not a PEP 508 requirement ({error})"
            raise ValueError(msg) from None
        conditions = [
            f"({cond})"
            for cond in (str(requirement.marker) if requirement.marker else None, marker)
            if cond
        ]
        if extra is not None:
            conditions.append(f'extra == "{extra}"')
        requirement.marker = None
        text = str(requirement)
        if conditions:
            text += "; " + " and ".join(conditions)
        requirements.append(text)
    version = metadata.get("Metadata-Version") or "1.0"
    if _version_tuple(version) < (2, 1):
        # Requires-Dist and Provides-Extra need 1.2 / 2.1; egg-info PKG-INFO is often 1.x.
        metadata = metadata.replaced("Metadata-Version", "2.1")
    return metadata.with_fields(
        [("Provides-Extra", extra_name) for extra_name in extras]
        + [("Requires-Dist", text) for text in requirements]
    )


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.strip().split("."))
    except ValueError:
        return (0,)


def metadata_version_at_least(metadata: MetadataText, minimum: tuple[int, int]) -> MetadataText:
    """Return ``metadata`` with its Metadata-Version raised to ``minimum`` if lower."""
    current = metadata.get("Metadata-Version") or "1.0"
    if _version_tuple(current) >= minimum:
        return metadata
    return metadata.replaced("Metadata-Version", f"{minimum[0]}.{minimum[1]}")


def license_fields(*candidates: str | None) -> tuple[str, str] | None:
    """Return ``("License-Expression", spdx)`` or ``("License", text)`` for conda's license.

    conda-forge records SPDX expressions; older channels free text (``BSD``). The first
    candidate that canonicalises as SPDX wins (core metadata 2.4, PEP 639); otherwise the
    first non-empty one is kept as free-text ``License``.
    """
    texts = [candidate.strip() for candidate in candidates if candidate and candidate.strip()]
    for text in texts:
        expression = _spdx(text)
        if expression is not None:
            return "License-Expression", expression
    if texts:
        return "License", " ".join(texts[0].split())
    return None


def _spdx(text: str) -> str | None:
    try:
        return str(canonicalize_license_expression(text))
    except InvalidLicenseExpression:
        return None


def synthesize_metadata(
    *,
    name: str,
    version: str,
    about: About,
    license_field: tuple[str, str] | None,
    license_files: Sequence[str],
) -> MetadataText:
    """Write METADATA for a package that carries none, from ``about.json``/``index.json``."""
    fields: list[tuple[str, str]] = [("Name", name), ("Version", version)]
    if about.summary:
        fields.append(("Summary", " ".join(about.summary.split())))
    for label, url in (
        ("Homepage", about.home),
        ("Source", about.dev_url),
        ("Documentation", about.doc_url),
    ):
        if url:
            fields.append(("Project-URL", f"{label}, {url.strip()}"))
    if license_field is not None:
        fields.append(license_field)
    fields.extend(("License-File", path) for path in license_files)
    uses_24 = license_field is not None and license_field[0] == "License-Expression"
    version_field = "2.4" if uses_24 or license_files else "2.1"
    body = ""
    if about.description and about.description.strip():
        fields.append(("Description-Content-Type", "text/plain"))
        body = about.description.strip() + "\n"
    return MetadataText((), body).with_fields([("Metadata-Version", version_field), *fields])


def render_wheel_file(
    *, generator: str, root_is_purelib: bool, tags: Sequence[str], build: str | None
) -> bytes:
    """Return the ``WHEEL`` file (PEP 427, Wheel-Version 1.0)."""
    lines = [
        "Wheel-Version: 1.0",
        f"Generator: {generator}",
        f"Root-Is-Purelib: {'true' if root_is_purelib else 'false'}",
        *(f"Tag: {tag}" for tag in tags),
    ]
    if build:
        lines.append(f"Build: {build}")
    return ("\n".join(lines) + "\n").encode("utf-8")


SCRIPT_SECTIONS = ("console_scripts", "gui_scripts")


def read_scripts(entry_points_txt: bytes | None) -> dict[str, dict[str, str]] | None:
    """Return ``{section: {command: value}}`` of the script sections of ``entry_points.txt``.

    :returns: ``None`` if the file cannot be parsed (it is then kept as it is).
    """
    if not entry_points_txt:
        return {section: {} for section in SCRIPT_SECTIONS}
    parser = _entry_points_parser()
    try:
        parser.read_string(entry_points_txt.decode("utf-8"))
    except (configparser.Error, UnicodeDecodeError):
        return None
    return {
        section: dict(parser.items(section)) if parser.has_section(section) else {}
        for section in SCRIPT_SECTIONS
    }


def render_scripts(original: bytes | None, scripts: Mapping[str, Mapping[str, str]]) -> bytes:
    """Return ``original`` (an ``entry_points.txt``) with its script sections replaced.

    Other sections (plugins, distutils commands) keep their entries; the script sections
    are sorted by command, and an empty one is left out.
    """
    parser = _entry_points_parser()
    if original:
        parser.read_string(original.decode("utf-8"))
    for section in SCRIPT_SECTIONS:
        if parser.has_section(section):
            parser.remove_section(section)
        commands = scripts.get(section, {})
        if commands:
            parser[section] = {name: commands[name] for name in sorted(commands)}
    out = io.StringIO()
    parser.write(out)
    return out.getvalue().rstrip("\n").encode("utf-8") + b"\n"


def _entry_points_parser() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    return parser


def callable_path(value: str) -> str:
    """Return the dotted path of the object an entry point names (extras ignored).

    ``pkg:cli.main`` and ``pkg.cli:main`` both name ``pkg.cli.main``: conda's link.json and
    a project's entry_points.txt often split the same callable differently.
    """
    reference = value.split("[", 1)[0].strip()
    module, _, attribute = reference.partition(":")
    module, attribute = module.strip(), attribute.strip()
    return f"{module}.{attribute}" if attribute else module


# What conda-build, distlib (pip) and setuptools write as an entry-point wrapper:
# ``from MODULE import NAME`` then ``sys.exit(NAME[.ATTR...]())``; setuptools' own scripts
# look the entry point up at run time with ``load_entry_point(DIST, GROUP, COMMAND)``.
_IMPORT = re.compile(rb"^\s*from\s+([\w.]+)\s+import\s+(\w+)\s*$", re.MULTILINE)
_EXIT_CALL = re.compile(rb"^\s*sys\.exit\(\s*(\w+(?:\.\w+)*)\(\)\s*\)\s*$", re.MULTILINE)
_LOOKUP = re.compile(
    rb"load_entry_point\(\s*['\"][^'\"]*['\"]\s*,\s*['\"](?:console|gui)_scripts['\"]\s*,"
    rb"\s*['\"]([^'\"]+)['\"]\s*\)\(\)"
)
LOOKS_UP_ITS_ENTRY_POINT = "its declared entry point (looked up when run)"


def wrapper_target(script: bytes, command: str) -> str | None:
    """Return what an entry-point wrapper script runs, as ``module:attr``.

    :returns: :data:`LOOKS_UP_ITS_ENTRY_POINT` for setuptools scripts that load
        ``command``'s entry point from the metadata when run; ``None`` when the script
        is not a wrapper of one callable (a program of its own).
    """
    lookup = _LOOKUP.search(script)
    if lookup is not None:
        return LOOKS_UP_ITS_ENTRY_POINT if lookup[1].decode() == command else None
    imported = {name: module for module, name in _IMPORT.findall(script)}
    targets = {
        f"{imported[call.split(b'.')[0]].decode()}:{call.decode()}"
        for call in _EXIT_CALL.findall(script)
        if call.split(b".")[0] in imported
    }
    return targets.pop() if len(targets) == 1 else None
