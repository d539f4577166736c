"""The wheelhouse's front page, ``<wheelhouse>/index.html``: the wheels for people (pure).

One static HTML page beside ``simple/``, readable without JavaScript or any other file. It
lists every project with its wheels and, for each wheel, the conda package it was made
from (name, version, build, channel and subdir, from its ``conda.json``), its tags, its
external dependencies (``Requires-External``) and the warnings of its conversion; and
what the last ``condawheel sync`` did, and when.

Installers read ``simple/``, never this page; but pip's ``--find-links <wheelhouse>`` parses
every top-level ``*.html`` of the folder, and ``--find-links http://host/`` reads whatever
the server answers for ``/``, which is this page once it exists. So its wheel links are
proper find-links entries: relative to the wheelhouse root, with the ``#sha256=``
fragment and ``data-requires-python`` (PEP 503); the other links are not file names pip
could take for a distribution.

Every text on the page comes from file names, METADATA and ``conda.json``, which a hostile
package controls: it is HTML-escaped (attributes too), the page is pure ASCII (other
characters become character references) and long texts and lists are cut, so a wheel
cannot inject markup or make the page unbounded. The same wheels and the same last sync
always give the same bytes.

The last sync's part sits between two comments that no escaped text can contain, so that
a sync which changed no wheel replaces just that part (:func:`with_last_sync`) instead of
rendering the page again from every wheel's summary.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from packaging.metadata import parse_email

from condawheel.io.jsondata import JSONProblem, parse_json

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from condawheel.conda.condameta import JSONValue
    from condawheel.wheelhouse.index import IndexedWheel

__all__ = [
    "FRONT_PAGE",
    "MAX_SIDECAR_SIZE",
    "CondaOrigin",
    "LastSync",
    "WheelSummary",
    "render_front_page",
    "summarize_wheel",
    "summary_from_json",
    "with_last_sync",
]

FRONT_PAGE: Final = "index.html"
# A conda.json larger than this is not read for the page (the largest real ones, of
# packages with thousands of prefix placeholders, are a few MiB).
MAX_SIDECAR_SIZE: Final = 64 << 20
# What one wheel may put on the page: a hostile conda.json or METADATA could hold
# millions of warnings or megabyte-long strings.
MAX_ITEMS: Final = 50
MAX_TEXT: Final = 500
_BEGIN_LAST_SYNC: Final = b"<!-- condawheel:last-sync -->"
_END_LAST_SYNC: Final = b"<!-- /condawheel:last-sync -->"
_STYLE: Final = """\
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; background: #fff; }
h1 { margin-bottom: 0.2em; }
h2 { margin: 1.4em 0 0.4em; font-size: 1.2em; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th:nth-child(1) { width: 30%; } th:nth-child(2) { width: 13%; } th:nth-child(3) { width: 25%; }
th, td { border: 1px solid #c8c8c8; padding: 0.3em 0.5em; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; }
th { background: #eef1f5; }
td ul { margin: 0; padding-left: 1.1em; }
code, .wheel { font-family: ui-monospace, monospace; font-size: 0.9em; overflow-wrap: anywhere; }
.muted { color: #5a5a5a; }
.warnings li { color: #8a4b00; }
#last-sync { background: #f6f8fa; border: 1px solid #d0d7de; padding: 0.5em 1em; }
nav a { margin-right: 0.6em; }"""


@dataclass(frozen=True)
class CondaOrigin:
    """The conda package a wheel was made from, as its ``conda.json`` names it."""

    name: str
    version: str
    build: str
    channel: str | None = None
    """The channel the artifact was listed in (a URL or a folder); None: not known."""
    subdir: str | None = None
    filename: str | None = None
    """The artifact's file name (``.conda``, ``.tar.bz2``, or an extracted folder)."""


_ORIGIN_FIELDS: Final = ("name", "version", "build", "channel", "subdir", "filename")


@dataclass(frozen=True)
class WheelSummary:
    """What the front page shows about one wheel beyond its file name and hash."""

    origin: CondaOrigin | None = None
    """None: the wheel has no ``conda.json`` (an ordinary wheel), or it cannot be read."""
    external: tuple[str, ...] = ()
    """The METADATA ``Requires-External`` entries (PEP 345 / core metadata 1.2)."""
    warnings: tuple[str, ...] = ()
    """The warnings of the wheel's conversion, as ``conda.json`` recorded them."""
    problem: str | None = None
    """Why the ``conda.json`` could not be read, if it could not."""

    def to_json(self) -> dict[str, object]:
        """Return the JSON form kept in the index cache (read by :func:`summary_from_json`)."""
        origin = self.origin
        return {
            "origin": None
            if origin is None
            else {key: getattr(origin, key) for key in _ORIGIN_FIELDS},
            "external": list(self.external),
            "warnings": list(self.warnings),
            "problem": self.problem,
        }


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def _bounded(items: Iterable[object]) -> tuple[str, ...]:
    """Keep the strings of ``items``, each and all of them cut to what the page shows."""
    texts = [_cut(item) for item in items if isinstance(item, str)]
    if len(texts) <= MAX_ITEMS:
        return tuple(texts)
    return (*texts[: MAX_ITEMS - 1], f"... and {len(texts) - MAX_ITEMS + 1} more")


def _string(value: JSONValue) -> str | None:
    return _cut(value) if isinstance(value, str) else None


def _origin(sidecar: JSONValue) -> tuple[CondaOrigin | None, tuple[str, ...], str | None]:
    """Return the origin and warnings a parsed ``conda.json`` names, or why it names none."""
    if not isinstance(sidecar, dict):
        return None, (), "conda.json does not hold a JSON object"
    package, source = sidecar.get("package"), sidecar.get("source")
    if not isinstance(package, dict):
        return None, (), "conda.json has no 'package' object"
    name, version, build = (_string(package.get(key)) for key in ("name", "version", "build"))
    if name is None or version is None or build is None:
        return None, (), "conda.json's 'package' lacks a name, version or build"
    source = source if isinstance(source, dict) else {}
    origin = CondaOrigin(
        name=name,
        version=version,
        build=build,
        channel=_string(source.get("channel")),
        subdir=_string(source.get("subdir")) or _string(package.get("subdir")),
        filename=_string(source.get("filename")),
    )
    warnings = sidecar.get("warnings")
    return origin, _bounded(warnings if isinstance(warnings, list) else ()), None


def summarize_wheel(
    metadata: bytes, sidecar: JSONValue | bytes | None, *, problem: str | None = None
) -> WheelSummary:
    """Summarize a wheel for the front page from its METADATA and its ``conda.json``.

    :param metadata: the wheel's ``*.dist-info/METADATA``.
    :param sidecar: its ``conda.json``, parsed or as bytes; None: it has none.
    :param problem: why the ``conda.json`` could not be read from the wheel.
    """
    raw, _ = parse_email(metadata)
    external = _bounded(raw.get("requires_external", ()))
    if isinstance(sidecar, bytes):
        try:
            sidecar = parse_json(sidecar)
        except JSONProblem as error:
            return WheelSummary(external=external, problem=_cut(f"conda.json is {error}"))
    if sidecar is None:
        return WheelSummary(external=external, problem=problem)
    origin, warnings, why = _origin(sidecar)
    return WheelSummary(origin, external, warnings, why)


def summary_from_json(document: object) -> WheelSummary | None:
    """Read back :meth:`WheelSummary.to_json`; None if ``document`` is not one."""
    if not isinstance(document, dict):
        return None
    origin, external = document.get("origin"), document.get("external")
    warnings, problem = document.get("warnings"), document.get("problem")
    if not (
        isinstance(external, list)
        and isinstance(warnings, list)
        and all(isinstance(item, str) for item in (*external, *warnings))
        and (problem is None or isinstance(problem, str))
    ):
        return None
    found = None
    if origin is not None:
        if not isinstance(origin, dict):
            return None
        values = [origin.get(key) for key in _ORIGIN_FIELDS]
        texts = [value if isinstance(value, str) else None for value in values]
        name, version, build, channel, subdir, filename = texts
        if name is None or version is None or build is None or texts != values:
            return None
        found = CondaOrigin(name, version, build, channel, subdir, filename)
    return WheelSummary(found, _bounded(external), _bounded(warnings), problem)


@dataclass(frozen=True)
class LastSync:
    """What the last ``condawheel sync`` of the wheelhouse did, and when."""

    started: float
    """When it started, in seconds since the epoch."""
    seconds: float
    """How long it ran until it wrote the index."""
    converted: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    conflicts: int = 0
    pruned: int = 0
    warnings: int = 0

    def to_json(self) -> dict[str, float | int]:
        """Return the JSON form (kept in the wheelhouse state)."""
        return {
            "started": self.started,
            "seconds": self.seconds,
            **{name: getattr(self, name) for name in _COUNTS},
        }

    @classmethod
    def from_json(cls, document: object) -> LastSync | None:
        """Read back :meth:`to_json`; None if ``document`` is not one."""
        if not isinstance(document, dict):
            return None
        started, seconds = document.get("started"), document.get("seconds")
        counts = {name: document.get(name, 0) for name in _COUNTS}
        # Bounded so that the page can always print them (NaN fails every comparison).
        if not (
            isinstance(started, int | float)
            and 0 <= started < _LATEST
            and isinstance(seconds, int | float)
            and 0 <= seconds < _LATEST
            and all(type(value) is int and value >= 0 for value in counts.values())
        ):
            return None
        return cls(float(started), float(seconds), **counts)


_LATEST: Final = 1e11  # seconds: the year 5138
_HEADER_ROW: Final = (
    "<tr><th>Wheel</th><th>Tags</th><th>Made from</th>"
    "<th>External dependencies</th><th>Warnings</th></tr>"
)
_COUNTS: Final = ("converted", "unchanged", "skipped", "failed", "conflicts", "pruned", "warnings")


def _text(value: str) -> str:
    return html.escape(value, quote=True)


def _size(size: int) -> str:
    if size < 1 << 10:
        return f"{size} bytes"
    if size < 1 << 20:
        return f"{size / (1 << 10):.1f} KiB"
    return f"{size / (1 << 20):.1f} MiB"


def _tags(filename: str) -> str:
    # PEP 427: {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl
    return "-".join(filename.removesuffix(".whl").rsplit("-", 3)[-3:])


def _list(items: Sequence[str], css: str = "") -> str:
    if not items:
        return '<span class="muted">none</span>'
    attribute = f' class="{css}"' if css else ""
    return f"<ul{attribute}>" + "".join(f"<li>{_text(item)}</li>" for item in items) + "</ul>"


def _origin_cell(summary: WheelSummary | None) -> str:
    if summary is None or summary.origin is None:
        why = summary.problem if summary is not None else None
        text = "not a conda wheel" if why is None else f"conda.json not readable: {why}"
        return f'<span class="muted">{_text(text)}</span>'
    origin = summary.origin
    lines = [f"<b>{_text(origin.name)}</b> {_text(origin.version)} {_text(origin.build)}"]
    where = "/".join(part for part in (origin.channel, origin.subdir) if part)
    if where:
        lines.append(f'<span class="muted">{_text(where)}</span>')
    if origin.filename:
        lines.append(f"<code>{_text(origin.filename)}</code>")
    return "<br>".join(lines)


def _wheel_row(wheel: IndexedWheel) -> str:
    summary = wheel.summary
    attributes = [f'href="{_text(quote(wheel.filename, safe=""))}#sha256={wheel.sha256}"']
    if wheel.requires_python is not None:
        attributes.append(f'data-requires-python="{_text(wheel.requires_python)}"')
    link = f'<a class="wheel" {" ".join(attributes)}>{_text(wheel.filename)}</a>'
    cells = [
        f'{link}<br><span class="muted">{_size(wheel.size)}</span>',
        f"<code>{_text(_tags(wheel.filename))}</code>",
        _origin_cell(summary),
        _list(summary.external if summary is not None else ()),
        _list(summary.warnings if summary is not None else (), "warnings"),
    ]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _last_sync_part(last_sync: LastSync | None) -> bytes:
    if last_sync is None:
        body = "<p>No <code>condawheel sync</code> has been recorded in this wheelhouse.</p>"
    else:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(last_sync.started))
        counts = ", ".join(
            f"{getattr(last_sync, name)} {name}" for name in _COUNTS if name != "warnings"
        )
        plural = "" if last_sync.warnings == 1 else "s"
        body = (
            f"<p>Started {when}, took {last_sync.seconds:.1f} s: {counts}; "
            f"{last_sync.warnings} warning{plural}.</p>"
        )
    part = f'<section id="last-sync">\n<h2>Last sync</h2>\n{body}\n</section>'
    return b"\n".join((_BEGIN_LAST_SYNC, part.encode("ascii"), _END_LAST_SYNC))


def render_front_page(
    projects: Sequence[tuple[str, Sequence[IndexedWheel]]], last_sync: LastSync | None
) -> bytes:
    """Render the front page (pure: the same arguments always give the same bytes).

    :param projects: each project's normalized name and its wheels, in the order to show
        (the index's: projects by name, wheels by version, then file name).
    :param last_sync: what the last sync did; None: no sync is recorded.
    """
    wheels = sum(len(items) for _, items in projects)
    counted = (
        f"<p>{wheels} wheel{'' if wheels == 1 else 's'} of {len(projects)} "
        f"project{'' if len(projects) == 1 else 's'}. Installers read the index, "
        '<a href="simple/">simple/</a> (PEP 503 HTML, PEP 691 JSON in '
        "<code>index.json</code>); this page is for people.</p>"
    )
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Wheelhouse</title>",
        f"<style>\n{_STYLE}\n</style>",
        "</head>",
        "<body>",
        "<h1>Wheelhouse</h1>",
        counted,
    ]
    body = [
        "<nav>",
        *(f'<a href="#project-{_text(name)}">{_text(name)}</a>' for name, _ in projects),
        "</nav>",
    ]
    for name, items in projects:
        body += [
            f'<section id="project-{_text(name)}">',
            f'<h2><a href="simple/{_text(quote(name))}/">{_text(name)}</a></h2>',
            "<table>",
            f"<thead>{_HEADER_ROW}</thead>",
            "<tbody>",
            *(_wheel_row(wheel) for wheel in items),
            "</tbody>",
            "</table>",
            "</section>",
        ]
    tail = ["</body>", "</html>", ""]
    encode = "\n".join
    return b"\n".join(
        (
            encode(head).encode("ascii", "xmlcharrefreplace"),
            _last_sync_part(last_sync),
            encode([*body, *tail]).encode("ascii", "xmlcharrefreplace"),
        )
    )


def with_last_sync(page: bytes, last_sync: LastSync | None) -> bytes | None:
    """Return ``page`` with its last-sync part replaced, or None if it is not such a page.

    The result is what :func:`render_front_page` gives for the same wheels and
    ``last_sync``, provided ``page`` was rendered by it (by this condawheel version).
    """
    # The part is near the top, and no escaped text can hold the markers: the first of
    # each is the one (no need to scan the megabytes of a large wheelhouse's page).
    start = page.find(_BEGIN_LAST_SYNC)
    end = page.find(_END_LAST_SYNC, start + 1)
    if start < 0 or end < 0:
        return None
    return page[:start] + _last_sync_part(last_sync) + page[end + len(_END_LAST_SYNC) :]
