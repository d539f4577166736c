"""Resolve requirements with pip for an environment, then apply condawheel's preference rule.

**How pip is run.** pip cannot be taught extra tags except through ``--platform``,
``--abi``, ``--implementation`` and ``--python-version``, which replace its computed tag list
(``pip/_internal/utils/compatibility_tags.py get_supported``; docs/reference.md, 4.3) and
require ``--only-binary=:all:``. pip evaluates environment markers and (before 24.1)
``Requires-Python`` with the interpreter *running* it, so condawheel runs pip with the
environment's own interpreter:

1. the environment's own pip (``<prefix>/bin/python -I -m pip``) when it has pip >= 22.2
   (``--report`` appeared in 22.2);
2. otherwise condawheel's own pip, still run by the environment's interpreter: pip is pure
   Python and vendors its dependencies, so it is lent through a private ``sys.path``
   directory holding only ``pip`` (:func:`condawheel.env.interpreter.isolated_packages`).

The command is ``pip install --dry-run --report FILE --only-binary=:all: --python-version
X.Y.Z --implementation cp --abi ... --platform <conda platforms> --platform <the
interpreter's own platforms, best first>`` with the source (``--no-index --find-links W``
or ``--index-url URL``). pip < 23.3 refuses ``--platform`` with ``--dry-run`` unless
``--target`` is given too; then condawheel passes an unused ``--target`` directory, and pip
resolves as if nothing were installed (condawheel's decisions still skip what is installed).
pip >= 23.3 sees the environment's installed distributions and leaves satisfied ones out
of the report. pip's configuration files and ``PIP_*`` variables are ignored
(``PIP_CONFIG_FILE=os.devnull``): what is resolved depends on the command line only.

**Preference.** pip ranks candidates by version, then by tag order, then by build tag
(``pip/_internal/index/package_finder.py _sort_key``), and its tag order is ABI-major, so a
``py3-none-conda`` wheel loses to a ``cp312-cp312-manylinux`` wheel of the same version
whatever the ``--platform`` order. condawheel therefore checks pip's answer: a distribution
that pip chose as an *unmatched* wheel (no configured conda platform among its tags) is
replaced by a conda build, pinned as a direct reference ``name @ url`` and resolved again:

* ``--prefer conda`` (default): the newest conda build that satisfies every requirement on
  that name wins, even over a newer unmatched version; unmatched wheels are used for what
  has no suitable conda build.
* ``--prefer newest``: the newest version wins; only at equal versions does the conda build
  win.

Among conda builds the tag order of ``condawheel tags`` decides, then the build tag. If pip
cannot resolve with the pins, pip's own choice is kept and a note says so.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal, TypeAlias
from urllib.parse import unquote, urljoin, urlparse
from urllib.request import url2pathname

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from condawheel.env.interpreter import isolated_packages
from condawheel.env.pip_hook_start import SWITCH as PIP_HOOK_SWITCH
from condawheel.errors import InstallError, SourceError
from condawheel.io.http import read_url

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from packaging.tags import Tag

    from condawheel.env.interpreter import InterpreterFacts
    from condawheel.env.tagconfig import EnvironmentTags
    from condawheel.io.http import HTTPBody

__all__ = [
    "MINIMUM_PIP",
    "Candidate",
    "PackageSource",
    "PipChoice",
    "PipReport",
    "Prefer",
    "Resolution",
    "ResolvedWheel",
    "choose_pip",
    "index_candidates",
    "parse_report",
    "pip_install_arguments",
    "preferred_builds",
    "resolve",
    "wheelhouse_candidates",
]

Prefer: TypeAlias = Literal["conda", "newest"]
MINIMUM_PIP: Final = Version("22.2")  # pip install --report
DRY_RUN_WITHOUT_TARGET: Final = Version("23.3")  # pypa/pip#12215
MAX_ROUNDS: Final = 4
# An index page lists a project's files: PyPI's largest are a few MiB.
MAX_INDEX_PAGE_BYTES: Final = 64 << 20
_SIMPLE_ACCEPT: Final = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.1"
)
# Run pip from a lent directory: sys.argv[1] is that directory, the rest is pip's argv.
_BOOTSTRAP: Final = (
    "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
    "runpy.run_module('pip', run_name='__main__', alter_sys=True)"
)
_VERSION_PREFIX = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class PackageSource:
    """Where wheels come from: a wheelhouse directory or a PEP 503 index URL."""

    wheelhouse: Path | None = None
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    """More PEP 503 indexes, consulted besides the wheelhouse or index (``--extra-index-url``)."""

    def __post_init__(self) -> None:
        if (self.wheelhouse is None) == (self.index_url is None):
            msg = "give exactly one of a wheelhouse directory and an index URL"
            raise ValueError(msg)

    def pip_arguments(self) -> tuple[str, ...]:
        """Return pip's source options; nothing else is consulted (no configured index)."""
        extras = tuple(item for url in self.extra_index_urls for item in ("--extra-index-url", url))
        if self.wheelhouse is not None:
            # A wheelhouse is a flat directory of wheels (its simple/ index is optional):
            # --find-links reads the directory itself, so a stale index cannot hide a wheel.
            links = ("--find-links", str(self.wheelhouse))
            if not self.extra_index_urls:
                return ("--no-index", *links)
            # pip's --index-url default (PyPI) must not creep in: the first extra index
            # takes its place.
            return ("--index-url", self.extra_index_urls[0], *extras[2:], *links)
        return ("--index-url", str(self.index_url), *extras)

    @property
    def index_urls(self) -> tuple[str, ...]:
        """Return every index URL pip is given (the main one first)."""
        main = () if self.index_url is None else (self.index_url,)
        return (*main, *self.extra_index_urls)

    @property
    def label(self) -> str:
        """Return the source as the user gave it."""
        main = str(self.wheelhouse) if self.wheelhouse is not None else str(self.index_url)
        return " and ".join((main, *self.extra_index_urls))


@dataclass(frozen=True)
class PipChoice:
    """Which pip resolves: the environment's own, or condawheel's run by the environment."""

    origin: Literal["environment", "condawheel"]
    version: Version

    @property
    def needs_target(self) -> bool:
        """Whether pip needs ``--target``: before 23.3 it refuses ``--platform`` without it."""
        return self.version < DRY_RUN_WITHOUT_TARGET


@dataclass(frozen=True)
class ResolvedWheel:
    """One wheel pip chose (an ``install`` item of the installation report)."""

    name: NormalizedName
    version: Version
    url: str
    filename: str
    sha256: str | None
    requested: bool
    is_direct: bool
    requires_dist: tuple[str, ...]
    requested_extras: tuple[str, ...] = ()

    @property
    def tags(self) -> frozenset[Tag]:
        """Return the wheel's tags, from its file name."""
        return parse_wheel_filename(self.filename)[3]


@dataclass(frozen=True)
class PipReport:
    """The parts of pip's installation report (``--report``, format version 1) used here."""

    wheels: tuple[ResolvedWheel, ...]
    environment: Mapping[str, str]
    pip_version: str


@dataclass(frozen=True)
class Candidate:
    """A wheel file a source offers for a project."""

    filename: str
    url: str
    name: NormalizedName
    version: Version
    build: tuple[int, str] | tuple[()]
    tags: frozenset[Tag]


@dataclass(frozen=True)
class Resolution:
    """What pip resolved, after the preference rule, and how."""

    report: PipReport
    pins: Mapping[NormalizedName, Candidate]
    pip: PipChoice
    rounds: int
    requested: frozenset[NormalizedName]
    notes: tuple[str, ...] = field(default=())

    def is_requested(self, wheel: ResolvedWheel) -> bool:
        """Return whether the user asked for this distribution (pins are not requests)."""
        if wheel.name in self.pins:
            return wheel.name in self.requested
        return wheel.requested


def choose_pip(facts: InterpreterFacts, condawheel_pip: str | None) -> PipChoice:
    """Choose the pip to run: the environment's own if recent enough, else condawheel's.

    :raises InstallError: when neither has pip >= 22.2.
    """
    for origin, text in (("environment", facts.pip), ("condawheel", condawheel_pip)):
        if text is None:
            continue
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if version >= MINIMUM_PIP:
            return PipChoice("environment" if origin == "environment" else "condawheel", version)
    raise InstallError(
        facts.prefix,
        f"no pip >= {MINIMUM_PIP} to resolve with: the environment has "
        f"{facts.pip or 'none'}, condawheel's own environment has {condawheel_pip or 'none'}; "
        "install pip into either",
    )


def condawheel_pip_version() -> str | None:
    """Return the version of the pip installed next to condawheel, if any."""
    try:
        return importlib.metadata.version("pip")
    except importlib.metadata.PackageNotFoundError:
        return None


def _python_version(version: str) -> str:
    match = _VERSION_PREFIX.match(version)
    if match is None:
        return version
    return ".".join(part for part in match.groups() if part is not None)


def pip_install_arguments(
    *,
    facts: InterpreterFacts,
    tags: EnvironmentTags,
    source: PackageSource,
    requirements: Sequence[str],
    report: Path,
    target: Path | None,
    no_deps: bool = False,
    upgrade: bool = False,
) -> list[str]:
    """Return the arguments after ``pip``: a dry-run install that writes a report.

    Platforms are passed conda first, then the interpreter's own (pip does not expand a
    ``manylinux`` platform into older ones by itself, so every one is listed).
    ``no_deps`` and ``upgrade`` are pip's ``--no-deps`` and ``--upgrade``.
    """
    arguments = [
        "install",
        "--dry-run",
        "--report",
        str(report),
        "--quiet",
        "--no-input",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        "--only-binary=:all:",
        "--python-version",
        _python_version(facts.version),
        "--implementation",
        facts.abbreviation,
    ]
    for abi in facts.abis():
        arguments += ["--abi", abi]
    for platform in dict.fromkeys([*tags.conda_platforms, *facts.platforms]):
        arguments += ["--platform", platform]
    if target is not None:
        arguments += ["--target", str(target)]
    if no_deps:
        arguments.append("--no-deps")
    if upgrade:
        arguments.append("--upgrade")
    arguments += [*source.pip_arguments(), *requirements]
    return arguments


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise InstallError("pip report", f"{where} is not a string")
    return value


def parse_report(data: bytes) -> PipReport:
    """Parse pip's installation report (``pip install --report``, version 1).

    :raises InstallError: for a report of another format.
    """
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InstallError("pip report", f"not JSON: {error}") from None
    if not isinstance(document, dict) or document.get("version") != "1":
        raise InstallError("pip report", "not an installation report of version 1")
    wheels = []
    for item in document.get("install", []):
        metadata = item.get("metadata", {})
        download = item.get("download_info", {})
        url = _text(download.get("url"), "download_info.url")
        hashes = download.get("archive_info", {}).get("hashes", {})
        filename = unquote(urlparse(url).path.rsplit("/", 1)[-1])
        try:
            version = Version(_text(metadata.get("version"), "metadata.version"))
        except InvalidVersion as error:
            raise InstallError("pip report", str(error)) from None
        wheels.append(
            ResolvedWheel(
                name=canonicalize_name(_text(metadata.get("name"), "metadata.name")),
                version=version,
                url=url,
                filename=filename,
                sha256=hashes.get("sha256"),
                requested=bool(item.get("requested")),
                is_direct=bool(item.get("is_direct")),
                requires_dist=tuple(metadata.get("requires_dist", [])),
                requested_extras=tuple(item.get("requested_extras", []) or ()),
            )
        )
    environment = {str(key): str(value) for key, value in document.get("environment", {}).items()}
    return PipReport(tuple(wheels), MappingProxyType(environment), str(document.get("pip_version")))


def _candidate(filename: str, url: str) -> Candidate | None:
    try:
        name, version, build, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return None
    return Candidate(filename, url, name, version, build, tags)


def wheelhouse_candidates(directory: Path) -> dict[NormalizedName, list[Candidate]]:
    """List the wheels of a wheelhouse directory by project."""
    found: dict[NormalizedName, list[Candidate]] = {}
    with contextlib.suppress(FileNotFoundError):
        for path in sorted(directory.glob("*.whl")):
            candidate = _candidate(path.name, path.resolve().as_uri())
            if candidate is not None:
                found.setdefault(candidate.name, []).append(candidate)
    return found


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def _files_from_page(page_url: str, body: bytes, content_type: str) -> list[tuple[str, str]]:
    if "json" in content_type:
        document = json.loads(body)
        return [
            (str(item["filename"]), urljoin(page_url, str(item["url"])))
            for item in document.get("files", [])
        ]
    parser = _Anchors()
    parser.feed(body.decode("utf-8", errors="replace"))
    files = []
    for href in parser.hrefs:
        url = urljoin(page_url, href)
        files.append((unquote(urlparse(url).path.rsplit("/", 1)[-1]), url))
    return files


def _read_page(url: str) -> tuple[bytes, str] | None:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        # pip reads <dir>/index.html for a file: URL naming a directory
        # (pip._internal.index.collector._get_index_content).
        path = Path(url2pathname(parsed.path)) / "index.html"
        try:
            return path.read_bytes(), "text/html"
        except FileNotFoundError:
            return None
    if parsed.scheme not in {"http", "https"}:
        raise InstallError(url, "index URLs must be file:, http: or https:")

    def page(body: HTTPBody) -> tuple[bytes, str]:
        return body.read(), body.headers.get("content-type", "text/html")

    try:
        # The one HTTP client: retries, the per-read timeout and the overall deadline.
        return read_url(url, page, limit=MAX_INDEX_PAGE_BYTES, headers={"Accept": _SIMPLE_ACCEPT})
    except SourceError as error:
        raise InstallError(url, f"cannot read the index: {error.reason}") from None


def index_candidates(index_url: str, project: NormalizedName) -> list[Candidate]:
    """List a project's wheels from a PEP 503 / PEP 691 index (``file:`` or HTTP).

    :raises InstallError: when the index cannot be read (a missing project is no error).
    """
    page_url = f"{index_url.rstrip('/')}/{project}/"
    page = _read_page(page_url)
    if page is None:
        return []
    try:
        files = _files_from_page(page_url, *page)
    except (ValueError, KeyError, TypeError) as error:
        raise InstallError(page_url, f"not a PEP 503/691 project page: {error}") from None
    found = []
    for filename, url in files:
        candidate = _candidate(filename, url)
        if candidate is not None and candidate.name == project:
            found.append(candidate)
    return found


def _marker_holds(
    marker: Marker | None, environment: Mapping[str, str], extras: Iterable[str]
) -> bool:
    if marker is None:
        return True
    try:
        return any(marker.evaluate({**environment, "extra": extra}) for extra in ("", *extras))
    except (InvalidMarker, ValueError, KeyError):
        return True  # a marker this environment cannot evaluate: keep the constraint


def _requirements_on(
    report: PipReport, user_requirements: Sequence[str]
) -> dict[NormalizedName, SpecifierSet]:
    """Collect, per project, every specifier that the user or a resolved wheel puts on it."""
    found: dict[NormalizedName, SpecifierSet] = {}
    texts: list[tuple[str, tuple[str, ...]]] = [(text, ()) for text in user_requirements]
    texts += [
        (text, wheel.requested_extras) for wheel in report.wheels for text in wheel.requires_dist
    ]
    for text, extras in texts:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue  # a path or URL given by the user: nothing to collect
        if not _marker_holds(requirement.marker, report.environment, extras):
            continue
        name = canonicalize_name(requirement.name)
        found[name] = found.get(name, SpecifierSet()) & requirement.specifier
    return found


def _best(candidates: Iterable[Candidate], rank: Mapping[Tag, int]) -> Candidate | None:
    ranked = [
        (candidate, min(rank[tag] for tag in candidate.tags if tag in rank))
        for candidate in candidates
        if any(tag in rank for tag in candidate.tags)
    ]
    if not ranked:
        return None
    return max(ranked, key=lambda item: (item[0].version, -item[1], item[0].build))[0]


def preferred_builds(
    report: PipReport,
    candidates: Mapping[NormalizedName, Sequence[Candidate]],
    tags: EnvironmentTags,
    *,
    prefer: Prefer,
    user_requirements: Sequence[str],
) -> dict[NormalizedName, Candidate]:
    """Return the conda builds that should replace pip's unmatched choices (pure).

    Only distributions pip chose as unmatched wheels (no configured conda platform) are
    considered; see the module docstring for the rule.
    """
    rank = tags.rank()
    constraints = _requirements_on(report, user_requirements)
    chosen: dict[NormalizedName, Candidate] = {}
    for wheel in report.wheels:
        if tags.is_conda(wheel.tags):
            continue
        conda_builds = [
            candidate
            for candidate in candidates.get(wheel.name, ())
            if tags.is_conda(candidate.tags)
            and (wheel.version.is_prerelease or not candidate.version.is_prerelease)
        ]
        if prefer == "newest":
            conda_builds = [item for item in conda_builds if item.version == wheel.version]
        else:
            allowed = constraints.get(wheel.name, SpecifierSet())
            conda_builds = [
                item for item in conda_builds if allowed.contains(item.version, prereleases=True)
            ]
        best = _best(conda_builds, rank)
        if best is not None:
            chosen[wheel.name] = best
    return chosen


def _error_lines(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return " ".join(errors or lines[-3:]) or "no output"


def _pip_environment() -> dict[str, str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "PYTHON"))
    }
    # pip reads no configuration file at all when PIP_CONFIG_FILE is os.devnull
    # (pip/_internal/configuration.py), so the command line alone decides the sources.
    environment["PIP_CONFIG_FILE"] = os.devnull
    # The tags are on the command line, and the preference rule is condawheel's own: the
    # pip hook of a hooked environment stays out of the way.
    environment[PIP_HOOK_SWITCH] = "0"
    return environment


@contextlib.contextmanager
def _pip_command(facts: InterpreterFacts, choice: PipChoice) -> Iterator[list[str]]:
    python = str(facts.python)
    if choice.origin == "environment":
        yield [python, "-I", "-m", "pip"]
        return
    with isolated_packages("pip") as lent:
        yield [python, "-I", "-c", _BOOTSTRAP, str(lent)]


class _Listing:
    """Candidates by project, read from the source once and cached."""

    def __init__(self, source: PackageSource) -> None:
        self.source = source
        self.cache: dict[NormalizedName, list[Candidate]] = {}
        self.local = (
            wheelhouse_candidates(source.wheelhouse) if source.wheelhouse is not None else None
        )

    def projects(self, names: Iterable[NormalizedName]) -> dict[NormalizedName, list[Candidate]]:
        found = {}
        for name in names:
            if name not in self.cache:
                local = [] if self.local is None else self.local.get(name, [])
                self.cache[name] = local + [
                    candidate
                    for url in self.source.index_urls
                    for candidate in index_candidates(url, name)
                ]
            found[name] = self.cache[name]
        return found


def _run_pip(
    facts: InterpreterFacts,
    choice: PipChoice,
    tags: EnvironmentTags,
    source: PackageSource,
    requirements: Sequence[str],
    *,
    no_deps: bool = False,
    upgrade: bool = False,
) -> PipReport:
    with tempfile.TemporaryDirectory(prefix="condawheel-resolve-") as temporary:
        report = Path(temporary) / "report.json"
        arguments = pip_install_arguments(
            facts=facts,
            tags=tags,
            source=source,
            requirements=requirements,
            report=report,
            target=Path(temporary) / "target" if choice.needs_target else None,
            no_deps=no_deps,
            upgrade=upgrade,
        )
        with _pip_command(facts, choice) as command:
            try:
                completed = subprocess.run(
                    [*command, *arguments],
                    capture_output=True,
                    text=True,
                    check=False,
                    env=_pip_environment(),
                )
            except OSError as error:
                raise InstallError(str(facts.python), f"cannot run pip: {error}") from None
        if completed.returncode != 0:
            raise InstallError(
                "pip", f"cannot resolve {' '.join(requirements)}: {_error_lines(completed.stderr)}"
            )
        return parse_report(report.read_bytes())


def resolve(
    requirements: Sequence[str],
    *,
    facts: InterpreterFacts,
    tags: EnvironmentTags,
    source: PackageSource,
    prefer: Prefer = "conda",
    no_deps: bool = False,
    upgrade: bool = False,
) -> Resolution:
    """Resolve requirements for an environment with pip, then prefer conda builds.

    :param no_deps: resolve the requirements alone, not their dependencies (pip's
        ``--no-deps``).
    :param upgrade: resolve newer versions of what is installed (pip's ``--upgrade``).
    :raises InstallError: when pip cannot resolve the requirements (its error is quoted).
    """
    pip_flags = {"no_deps": no_deps, "upgrade": upgrade}
    if source.wheelhouse is not None and not source.wheelhouse.is_dir():
        raise InstallError(str(source.wheelhouse), "no such wheelhouse directory")
    choice = choose_pip(facts, condawheel_pip_version())
    listing = _Listing(source)
    pins: dict[NormalizedName, Candidate] = {}
    notes: list[str] = []
    report = _run_pip(facts, choice, tags, source, requirements, **pip_flags)
    rounds = 1
    while rounds < MAX_ROUNDS:
        unmatched = [wheel.name for wheel in report.wheels if not tags.is_conda(wheel.tags)]
        if not unmatched:
            break
        wanted = preferred_builds(
            report,
            listing.projects(unmatched),
            tags,
            prefer=prefer,
            user_requirements=requirements,
        )
        new = {name: item for name, item in wanted.items() if pins.get(name) != item}
        if not new:
            break
        trial = {**pins, **new}
        pinned = [f"{name} @ {item.url}" for name, item in sorted(trial.items())]
        try:
            report = _run_pip(facts, choice, tags, source, [*requirements, *pinned], **pip_flags)
        except InstallError as error:
            shown = ", ".join(item.filename for item in new.values())
            notes.append(f"kept pip's choice instead of the conda build(s) {shown}: {error.reason}")
            break
        pins = trial
        rounds += 1
    requested = frozenset(
        canonicalize_name(requirement.name)
        for text in requirements
        if (requirement := _parse(text)) is not None
    )
    return Resolution(
        report=report,
        pins=MappingProxyType(pins),
        pip=choice,
        rounds=rounds,
        requested=requested,
        notes=tuple(notes),
    )


def _parse(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None
