"""Regenerate ``mappings/conda-pypi.yaml`` from public name tables published on PyPI.

Run from anywhere (it only needs ``pip``, ``packaging`` and ``pyyaml``)::

    python scripts/update_mappings.py            # writes mappings/conda-pypi.yaml
    python scripts/update_mappings.py --check    # exit 1 if the file would change

Each source is a file inside a pinned wheel on PyPI. ``pip install --dry-run --report``
names the wheel's URL, sha256 and license; ``pip download`` fetches it (through the
user's own pip configuration and mirrors) and the sha256 is checked before the table is
read. To move to a newer table, bump a ``version`` (and ``sha256`` then comes from the
report: the pin is the version, the digest is recorded for audit) and rerun.

Both tables are keyed by PyPI name; this script inverts them to conda name -> PyPI name:

1. ``conda-pypi`` ships ``grayskull_pypi_mapping.json``, a copy of regro/cf-graph-countyfair
   ``mappings/pypi/grayskull_pypi_mapping.json`` (conda-forge's bot-generated table; see
   ``mappings/README.md`` for its license situation).
2. ``grayskull`` ships ``strategy/config.yaml`` (Apache-2.0), hand-curated renames; it only
   fills conda names the first table does not have.

Source-wide rules (docs/reference.md, 5): conda names are kept exactly as written; PyPI
names are canonicalised (``packaging.utils.canonicalize_name``); entries whose PyPI name
is a content hash (the bot's fallback for an unnamed source URL) are dropped; a conda name
that the first source maps to more than one PyPI name is dropped, listed on stderr, and
left to ``mappings/overrides.yaml``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email.parser
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "mappings" / "conda-pypi.yaml"
DEPURL_OUTPUT = REPO_ROOT / "mappings" / "depurls.yaml"

_CONDA_NAME = re.compile(r"^[a-z0-9_][a-z0-9._-]*$")
_CANONICAL_PYPI_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# cf-graph's bot names a project after the hash in its source URL when it cannot find a
# name (e.g. "0164e082b29777fbc56c...": django-jsoneditor); such keys are not PyPI names.
_HASH_NAME = re.compile(r"^[0-9a-f]{32,}$")

HEADER_COMMENT = """\
# conda name -> PyPI name (null: not a Python distribution). GENERATED FILE: do not edit.
# Regenerate with `python scripts/update_mappings.py`; put corrections in overrides.yaml.
# Schema, precedence and licenses: mappings/README.md.
"""


@dataclass(frozen=True)
class Source:
    """One pinned table inside a wheel on PyPI."""

    package: str
    version: str
    member: str  # path of the table inside the wheel
    upstream: str  # where the data comes from, for the header
    license_note: str  # appended to the wheel's license expression in the header
    reader: Callable[[bytes], Iterator[tuple[str, str]]]  # -> (conda name, PyPI name)


def _read_cf_graph(data: bytes) -> Iterator[tuple[str, str]]:
    """Yield (conda, PyPI) pairs of cf-graph's ``{pypi: {conda_name, pypi_name, ...}}``."""
    table = json.loads(data)
    for key, entry in table.items():
        yield entry["conda_name"], entry.get("pypi_name", key)


def _read_grayskull(data: bytes) -> Iterator[tuple[str, str]]:
    """Yield (conda, PyPI) pairs of grayskull's ``{pypi: {conda_forge, import_name, ...}}``."""
    table = yaml.safe_load(data)
    for key, entry in table.items():
        conda_name = entry.get("conda_forge")
        if isinstance(conda_name, str):
            yield conda_name, key


SOURCES = (
    Source(
        package="conda-pypi",
        version="0.13.1",
        member="conda_pypi/grayskull_pypi_mapping.json",
        upstream="regro/cf-graph-countyfair mappings/pypi/grayskull_pypi_mapping.json",
        license_note="of the conda-pypi wheel; the upstream cf-graph table has no license file",
        reader=_read_cf_graph,
    ),
    Source(
        package="grayskull",
        version="3.2.0",
        member="grayskull/strategy/config.yaml",
        upstream="conda/grayskull grayskull/strategy/config.yaml",
        license_note="",
        reader=_read_grayskull,
    ),
)


@dataclass(frozen=True)
class Pep804Source:
    """PEP 804's conda-forge mapping, pinned to a commit of its reference repository.

    No package on PyPI ships it: it is fetched from the repository at the pinned commit
    (HTTPS) and checked against the pinned sha256.
    """

    repository: str
    commit: str
    file: str
    sha256: str
    license: str

    @property
    def url(self) -> str:
        """The file at the pinned commit."""
        return f"https://raw.githubusercontent.com/{self.repository}/{self.commit}/{self.file}"


PEP804 = Pep804Source(
    repository="jaimergp/external-metadata-mappings",
    commit="b027048d606d5f73e1251af43fc75a706d07da2b",
    file="data/conda-forge.mapping.json",
    sha256="a82fd22128182a072bc135df958f732f9b82e228cc7b1a5808830657e051c78e",
    license="BSD-3-Clause (Quansight LLC)",
)

DEPURL_HEADER_COMMENT = """\
# conda name -> PEP 725 DepURL, from PEP 804's conda-forge mapping. GENERATED FILE: do not edit.
# Regenerate with `python scripts/update_mappings.py`. Source, date and license below;
# how condawheel uses it: mappings/README.md ("DepURLs").
"""


def read_pep804_mapping(data: bytes) -> tuple[dict[str, str], list[str]]:
    """Invert PEP 804's conda-forge mapping into conda name -> DepURL.

    Each entry maps a DepURL (``id``) to conda specs, per stage or for all of them; the
    run stage is what an installed package depends on. A spec's first word is the conda
    name; recipe templates (``{{ compiler('c') }}``) are no package. A name several
    entries give is decided by the entry that names it without a build string (``libblas``
    is ``dep:virtual/interface/blas``; ``libblas * *_openblas`` also means OpenBLAS).

    :returns: the table, sorted, and one diagnostic line per name left out.
    """
    document = json.loads(data)
    found: dict[str, dict[str, bool]] = {}
    for entry in document["mappings"]:
        specs = entry["specs"]
        if isinstance(specs, dict):
            specs = specs.get("run", [])
        for spec in [specs] if isinstance(specs, str) else specs:
            if "{{" in spec or not spec.strip():
                continue
            name, *rest = spec.split()
            bare = not rest or rest == ["*"]
            found.setdefault(name, {})
            found[name][entry["id"]] = found[name].get(entry["id"], False) or bare
    table: dict[str, str] = {}
    problems: list[str] = []
    for name, ids in sorted(found.items()):
        bare = sorted(depurl for depurl, plain in ids.items() if plain)
        chosen = bare or sorted(ids)
        if len(chosen) > 1 or not _CONDA_NAME.match(name):
            problems.append(f"PEP 804: {name!r} left out ({', '.join(sorted(ids))})")
            continue
        table[name] = chosen[0]
    return table, problems


def render_depurls(table: dict[str, str], source: dict[str, str | int], date: str) -> str:
    """Return the YAML text of ``mappings/depurls.yaml`` (deterministic for equal inputs)."""
    header = {"schema": 1, "generated": date, "source": source}
    text = DEPURL_HEADER_COMMENT
    text += yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=1000)
    text += yaml.safe_dump({"depurls": table}, sort_keys=True, allow_unicode=True, width=1000)
    return text


def fetch_pep804(local: Path | None) -> bytes:
    """Return the pinned PEP 804 mapping (from ``local`` if given), its sha256 checked."""
    if local is not None:
        data = local.read_bytes()
    else:
        with urllib.request.urlopen(PEP804.url, timeout=60) as response:
            data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != PEP804.sha256:
        raise SystemExit(f"{PEP804.file}: sha256 {digest} differs from the pinned {PEP804.sha256}")
    return data


@dataclass(frozen=True)
class Fetched:
    """A downloaded source wheel and what PyPI says about it."""

    wheel: Path
    url: str
    sha256: str
    license: str


def _pip(*args: str) -> str:
    """Run pip of this interpreter and return its stdout; pip's own errors go to stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def fetch(source: Source, workdir: Path) -> Fetched:
    """Download the pinned wheel of ``source`` into ``workdir`` and verify its sha256."""
    requirement = f"{source.package}=={source.version}"
    report = json.loads(
        _pip(
            "install",
            "--dry-run",
            "--ignore-installed",
            "--no-deps",
            "--only-binary=:all:",
            "--quiet",
            "--report",
            "-",
            requirement,
        )
    )
    (item,) = report["install"]
    url = item["download_info"]["url"]
    sha256 = item["download_info"]["archive_info"]["hashes"]["sha256"]
    target = workdir / source.package
    _pip(
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--quiet",
        "--dest",
        str(target),
        requirement,
    )
    (wheel,) = target.glob("*.whl")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != sha256:
        raise SystemExit(f"{wheel.name}: sha256 {digest} differs from PyPI's {sha256}")
    return Fetched(wheel=wheel, url=url, sha256=sha256, license=_wheel_license(wheel))


def _wheel_license(wheel: Path) -> str:
    """Return the License-Expression (or legacy License) of a wheel's METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        (member,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.BytesHeaderParser().parsebytes(archive.read(member))
    return metadata.get("License-Expression") or metadata.get("License") or "UNKNOWN"


def build_names(
    tables: list[tuple[str, list[tuple[str, str]]]],
) -> tuple[dict[str, str], list[str]]:
    """Merge per-source (conda, PyPI) pairs into one conda -> PyPI table.

    The first source that knows a conda name decides it; if it maps the name to several
    PyPI names the name is dropped (and reported), not passed on to a later source.

    :returns: the table and one diagnostic line per dropped pair or name.
    """
    names: dict[str, str] = {}
    decided: set[str] = set()
    problems: list[str] = []
    for source, pairs in tables:
        candidates: dict[str, set[str]] = {}
        for conda_name, raw_pypi in pairs:
            pypi_name = canonicalize_name(raw_pypi)
            if _HASH_NAME.match(pypi_name):
                problems.append(f"{source}: {conda_name!r}: dropped hash name {raw_pypi!r}")
                continue
            if not _CONDA_NAME.match(conda_name) or not _CANONICAL_PYPI_NAME.match(pypi_name):
                problems.append(f"{source}: dropped invalid pair {conda_name!r} -> {raw_pypi!r}")
                continue
            candidates.setdefault(conda_name, set()).add(pypi_name)
        for conda_name, pypi_names in candidates.items():
            if conda_name in decided:
                continue
            decided.add(conda_name)
            if len(pypi_names) > 1:
                listed = ", ".join(sorted(pypi_names))
                problems.append(f"{source}: {conda_name!r} is ambiguous ({listed}): dropped")
                continue
            (names[conda_name],) = pypi_names
    return dict(sorted(names.items())), sorted(problems)


def render(names: dict[str, str], sources: list[dict[str, str | int]], date: str) -> str:
    """Return the YAML text of the generated file (deterministic for equal inputs)."""
    header = {"schema": 1, "generated": date, "sources": sources}
    text = HEADER_COMMENT
    text += yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=1000)
    # One `conda: pypi` line per entry; safe_dump quotes whatever YAML would misread.
    text += yaml.safe_dump({"names": names}, sort_keys=True, allow_unicode=True, width=1000)
    reread = yaml.safe_load(text)
    if reread["names"] != names or reread["sources"] != sources:
        raise SystemExit("internal error: the rendered YAML does not read back identically")
    return text


def _today() -> str:
    """Return today's date, or SOURCE_DATE_EPOCH's, as YYYY-MM-DD (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc)
        if epoch
        else dt.datetime.now(tz=dt.timezone.utc)
    )
    return moment.date().isoformat()


def main(argv: list[str] | None = None) -> int:
    """Download the sources, rebuild the table and write (or check) the output file."""
    parser = argparse.ArgumentParser(description="Regenerate mappings/conda-pypi.yaml.")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="file to write")
    parser.add_argument("--date", default=None, help="date for the header (YYYY-MM-DD)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the entries or sources differ from --output",
    )
    parser.add_argument(
        "--pep804-file",
        type=Path,
        default=None,
        help="a local copy of PEP 804's conda-forge mapping at the pinned commit",
    )
    parser.add_argument("--depurl-output", type=Path, default=DEPURL_OUTPUT, help="file to write")
    args = parser.parse_args(argv)
    date = args.date or _today()
    dt.date.fromisoformat(date)  # reject a malformed --date early

    tables: list[tuple[str, list[tuple[str, str]]]] = []
    sources: list[dict[str, str | int]] = []
    with tempfile.TemporaryDirectory(prefix="condawheel-mappings-") as tmp:
        for source in SOURCES:
            fetched = fetch(source, Path(tmp))
            with zipfile.ZipFile(fetched.wheel) as archive:
                data = archive.read(source.member)
            pairs = list(source.reader(data))
            tables.append((source.package, pairs))
            sources.append(
                {
                    "package": source.package,
                    "version": source.version,
                    "file": source.member,
                    "url": fetched.url,
                    "sha256": fetched.sha256,
                    "license": (
                        f"{fetched.license} ({source.license_note})"
                        if source.license_note
                        else fetched.license
                    ),
                    "upstream": source.upstream,
                    "entries": len(pairs),
                }
            )
    names, problems = build_names(tables)
    depurls, depurl_problems = read_pep804_mapping(fetch_pep804(args.pep804_file))
    depurl_source: dict[str, str | int] = {
        "repository": PEP804.repository,
        "commit": PEP804.commit,
        "file": PEP804.file,
        "url": PEP804.url,
        "sha256": PEP804.sha256,
        "license": PEP804.license,
        "entries": len(depurls),
    }
    for problem in [*problems, *depurl_problems]:
        print(problem, file=sys.stderr)
    text = render(names, sources, date)

    if args.check:
        current = yaml.safe_load(args.output.read_text(encoding="utf-8"))
        current_depurls = yaml.safe_load(args.depurl_output.read_text(encoding="utf-8"))
        if (
            current.get("names") != names
            or current.get("sources") != sources
            or current_depurls.get("depurls") != depurls
            or current_depurls.get("source") != depurl_source
        ):
            print("mappings are out of date; rerun without --check", file=sys.stderr)
            return 1
        print(f"{args.output} and {args.depurl_output} are up to date ({len(names)} entries)")
        return 0
    args.output.write_text(text, encoding="utf-8")
    args.depurl_output.write_text(render_depurls(depurls, depurl_source, date), encoding="utf-8")
    print(f"wrote {args.output}: {len(names)} entries, {len(problems)} dropped (see stderr)")
    print(f"wrote {args.depurl_output}: {len(depurls)} entries")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
