"""Helpers of the front-page tests: reading the page back, and a wheel that attacks it."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from env_support import WheelSpec, make_wheel

if TYPE_CHECKING:
    from pathlib import Path

# Everything the page is made of; anything else (script, img, svg, iframe, ...) is injected.
ALLOWED_TAGS = frozenset(
    [
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "p",
        "a",
        "code",
        "section",
        "nav",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "ul",
        "li",
        "br",
        "span",
        "b",
    ]
)
SCRIPT = "<script>document.title='pwned'</script>"
IMAGE = '"><img src=x onerror="document.title=\'pwned\'">'
# A hostile wheel dropped into a wheelhouse: its file name, METADATA and conda.json are the
# attacker's. Each string must show on the page as text, none as markup.
HOSTILE = WheelSpec(
    name="evil",
    version="1.0",
    build="1_\"'<b>&amp;",
    tag="py3-none-x_<i>",
    requires_external=["<svg onload=\"document.title='pwned'\">"],
    sidecar={
        "schema_version": 1,
        "source": {
            "filename": "evil-1.0-0.conda",
            "format": "conda",
            "channel": "javascript:document.title='pwned'",
            "subdir": IMAGE,
        },
        "package": {"name": SCRIPT, "version": "1.0 </td></tr></table><h1>x", "build": "0"},
        "warnings": [
            "<!-- condawheel:last-sync -->",
            "<style>body { display: none }</style>",
            '<iframe src="javascript:alert(1)"></iframe>',
        ],
    },
)
HOSTILE_TEXTS = (
    HOSTILE.filename,
    SCRIPT,
    IMAGE,
    "1.0 </td></tr></table><h1>x",
    "<svg onload=\"document.title='pwned'\">",
    "<!-- condawheel:last-sync -->",
    "<style>body { display: none }</style>",
)


def hostile_wheel(directory: Path) -> Path:
    """Write :data:`HOSTILE` into ``directory``."""
    return make_wheel(directory, HOSTILE)


@dataclass
class Cell:
    """One table cell: its whole text, and the items of its list."""

    text: str = ""
    items: list[str] = field(default_factory=list)


class PageReader(HTMLParser):
    """Read a front page back as a browser's parser sees it: elements, text, table rows."""

    def __init__(self, page: bytes | str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []
        self.rows: dict[str, list[list[Cell]]] = {}
        """Section id -> its rows of cells (header rows, of ``th``, left out)."""
        self._section = ""
        self._row: list[Cell] | None = None
        self._cell: Cell | None = None
        self._item: list[str] | None = None
        self.feed(page.decode("ascii") if isinstance(page, bytes) else page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag == "section":
            self._section = dict(attrs).get("id") or ""
            self.rows[self._section] = []
        elif tag == "tr":
            self._row = []
        elif tag == "td":
            self._cell = Cell()
        elif tag == "li":
            self._item = []
        elif tag == "br" and self._cell is not None:
            self._cell.text += "\n"

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row:
            self.rows[self._section].append(self._row)
            self._row = None
        elif tag == "li" and self._item is not None and self._cell is not None:
            self._cell.items.append("".join(self._item))
            self._item = None

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self._cell is not None:
            self._cell.text += data
        if self._item is not None:
            self._item.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def links(self) -> list[str]:
        return [str(attrs["href"]) for tag, attrs in self.elements if tag == "a"]

    def projects(self) -> list[str]:
        """The projects the page lists, in its order."""
        return [
            section.removeprefix("project-")
            for section in self.rows
            if section.startswith("project-")
        ]

    def wheels(self, project: str) -> dict[str, list[Cell]]:
        """A project's rows by wheel file name (the first cell's first line)."""
        return {row[0].text.split("\n")[0]: row for row in self.rows[f"project-{project}"]}


def injected(reader: PageReader) -> list[str]:
    """Return what in the page is markup a hostile text made: foreign elements, handlers."""
    found = [tag for tag, _ in reader.elements if tag not in ALLOWED_TAGS]
    found += [
        f"{tag} {name}"
        for tag, attrs in reader.elements
        for name in attrs
        if name.startswith("on") or name in {"src", "srcdoc", "formaction"}
    ]
    found += [href for href in reader.links() if ":" in href.split("/")[0].split("#")[0]]
    return found
