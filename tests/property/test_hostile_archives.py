"""Property tests: hostile conda packages are refused in one line, or install inside the prefix.

Random packages are drawn from a grammar of hostile members (issue 16): names that are
absolute, climb with ``..``, use ``\\``, hold NUL, are 255 bytes long or longer than a
path may be, differ only in Unicode normalisation or case, or pose as the wheel's own
``.data`` and ``.dist-info`` folders; symbolic links to links, to ``..``, to folders, in
loops, out of the prefix by their text or only through another link, of the same package
or of another one installed before; hard links to members, to nothing and to files
outside; bodies the limits count (each link's copy too); sizes and digests that
``paths.json`` declares falsely; names given twice. One to three packages are written
as real ``.conda`` or ``.tar.bz2`` files and converted, each one either

* refused with one :class:`CondawheelError` whose one-line message names the package,
  nothing being left in the output folder or anywhere else; or
* made into wheels that are the same bytes when converted again, with worker threads.

The wheels are then installed one package after the other into one throw-away conda
prefix, with the steps of ``condawheel install`` (each install may be refused, in one
line, and then changes nothing at all), and uninstalled again. Neither changes anything
outside the prefix: not the sentinel folder beside it, nor anything else in the
example's folder, which holds every place the grammar's climbs can reach.

Absolute names and targets point into the sentinel folder only (``@OUT@``), and climbs
(``@UP@``) stop in the example's folder, so that a hole would show here and never
write anywhere else on the machine.

The examples are costly (conversions and real installs): the budget is a share of the
hypothesis profile's (``tests/conftest.py``); ``HYPOTHESIS_PROFILE=thorough`` runs many
more (CONTRIBUTING.md).
"""

from __future__ import annotations

import bz2
import functools
import hashlib
import io
import json
import os
import re
import stat
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conda_envs import find_python312, link_python_into
from condawheel.convert import convert
from condawheel.convert.ingest import Limits
from condawheel.convert.names import NameMapping, default_mapping
from condawheel.env.environment import open_environment
from condawheel.env.install import apply_installation, decide_for_environment
from condawheel.env.uninstall import uninstall
from condawheel.env.wheels import read_wheel
from condawheel.errors import CondawheelError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from hypothesis.vendor.pretty import RepresentationPrinter

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

Kind = Literal["file", "symlink", "hardlink", "directory", "fifo"]
Listing = Literal["right", "wrong size", "wrong sha256", "unlisted", "listed twice"]

PLACEHOLDER: Final = "/opt/anaconda1anaconda2anaconda3"
SITE: Final = "lib/python3.12/site-packages"
# The prefix sits this deep in the example's folder: a climb of the grammar (a few
# '..' per target, a few links in a chain) that escaped would still land in the folder.
DEPTH: Final = 40
# Small limits, so that a few kilobytes of links reach them (finding 4).
LIMITS: Final = Limits(
    max_file_size=4096, max_total_size=24576, max_members=64, max_metadata_file=65536
)
BIG: Final = b"\0" * 3000

# ------------------------------------------------------------------------------ grammar

# Names a package may well have: few, so that links between them form chains, and
# legal but hard ones (Unicode forms, case collisions, 255 bytes, '%', ':', spaces).
PARTS = st.sampled_from(
    ["lib", "bin", "share", "a", "b", "A", "x.txt", "X.TXT", "é", "e\u0301", "\u0130",
     "\u0131", "k", "\u212a", "n" * 255, "sp ace", "a..b", "...", "%2e%2e", "a:b"]
)  # fmt: skip
TOPS = st.sampled_from(["lib", "bin", "share", "etc", SITE, "a"])
# Legal names that pose as something else: the wheel's own .data and .dist-info folders
# (a file in site-packages lands at the root of the wheel), scripts, deep paths, names
# longer than a file system allows. @NAME@ is the package's name.
POSERS = st.sampled_from(
    [
        f"{SITE}/conda_pkg_@NAME@-1.0.data/scripts/datatrick",
        f"{SITE}/conda_pkg_@NAME@-1.0.data/data/datatrick",
        f"{SITE}/@NAME@-1.0.data/purelib/datatrick.py",
        f"{SITE}/conda_pkg_@NAME@-1.0.dist-info/RECORD",
        f"{SITE}/conda_pkg_@NAME@-1.0.dist-info/METADATA",
        f"{SITE}/@NAME@-1.0.dist-info/METADATA",
        f"{SITE}/@NAME@-1.0.dist-info/entry_points.txt",
        f"{SITE}/@NAME@-1.0.dist-info/RECORD",
        f"{SITE}/@NAME@/__init__.py",
        "bin/tool",
        "conda-meta/@NAME@-1.0-0.json",
        "lib/" + "/".join(["d" * 200] * 15) + "/deep.txt",
        "lib/" + "n" * 256,
    ]
)
# Names no package may have: each one alone must make the conversion fail.
FATAL = st.sampled_from(
    [
        "../escape.txt",
        "lib/../../escape.txt",
        "/@OUT@/absolute.txt",
        "./lib/dot.txt",
        "lib//twice.txt",
        "lib\\..\\..\\escape.txt",
        "C:\\escape.txt",
        "lib/nul\x00.txt",
        "lib/" + "/".join(["d" * 200] * 22) + "/deep.txt",
        "info/paths.json",
        "info/index.json",
    ]
)
# Contents that mean something under some of the names above.
BODIES = st.sampled_from(
    [
        b"",
        b"x",
        BIG,
        b"#!" + PLACEHOLDER.encode() + b"/bin/python\nprint(1)\n",
        b"Metadata-Version: 2.1\nName: @NAME@\nVersion: 1.0\n",
        b"[console_scripts]\n../../../../escape = os:getcwd\n/@OUT@/ep = os:getcwd\nok = os:getcwd\n",
        b"../../../../../../sentinel/keep.txt,,\n/@OUT@/keep.txt,,\n",
        b'{"name": "@NAME@", "version": "1.0", "build": "0", "files": ["../../escape"]}',
    ]
)
LINK_PARTS = st.sampled_from(["..", "..", ".", "lib", "a", "b", "x.txt", "bin"])


def _short(text: str) -> str:
    return repr(text) if len(text) <= 80 else f"{text[:40]!r}...<{len(text)} chars>"


@dataclass(frozen=True)
class Member:
    """One member of a hostile package; the ``@...@`` tokens are filled in when built."""

    name: str
    kind: Kind
    data: bytes = b""
    target: str = ""
    listing: Listing = "right"

    def __repr__(self) -> str:
        """Short enough for hypothesis to print a failing example (names can be 4 kB)."""
        data = f"<{len(self.data)} bytes>" if len(self.data) > 80 else repr(self.data)
        return (
            f"Member({_short(self.name)}, {self.kind}, {data}, {_short(self.target)}, "
            f"{self.listing})"
        )

    def _repr_pretty_(self, printer: RepresentationPrinter, cycle: bool) -> None:
        """What hypothesis prints (it would print the fields in full, not ``__repr__``)."""
        del cycle
        printer.text(repr(self))


@dataclass(frozen=True)
class Package:
    name: str
    members: tuple[Member, ...]
    form: Literal["conda", "tar.bz2"]


@st.composite
def member_names(draw: st.DrawFn) -> str:
    # Hypothesis draws the ends of a range most: the common case is at the low end, the
    # fatal one at the high end, where it still comes often enough.
    bucket = draw(st.integers(0, 39))
    if bucket == 39:
        return draw(FATAL)
    if bucket >= 35:
        return draw(POSERS)
    return "/".join([draw(TOPS), *draw(st.lists(PARTS, min_size=1, max_size=3))])


@st.composite
def link_targets(draw: st.DrawFn, link: str, names: Sequence[str]) -> str:
    """A target: another member (so chains form), a random climb, or one that must fail."""
    choice = draw(st.integers(0, 7))
    # Relative to the link's folder, and only between plain relative names (relpath of an
    # absolute one would climb from the current directory, out of the example's folder).
    plain = [
        name
        for name in names
        if name != link and not name.startswith(("/", "@")) and "\\" not in name
    ]
    if choice <= 4 and plain and not link.startswith(("/", "@")):
        other = draw(st.sampled_from(plain))
        return os.path.relpath(other, os.path.dirname(link) or ".")  # noqa: PTH120 - text
    if choice <= 6:
        parts = draw(st.lists(LINK_PARTS, min_size=1, max_size=5))
        separator = draw(st.sampled_from(["/", "/", "/", "/", "\\"]))
        return separator.join(parts)
    return draw(
        st.sampled_from(["", "@UP@sentinel", "@UP@sentinel/keep.txt", "@OUT@",
                         "@OUT@/keep.txt", "..\\..\\..\\..", "/"])
    )  # fmt: skip


@st.composite
def package_members(draw: st.DrawFn, names: Sequence[str], pool: Sequence[str]) -> list[Member]:
    """The members of one package: ``names``, linking to any name of ``pool``."""
    members: list[Member] = []
    for name in names:
        kind: Kind = draw(
            st.sampled_from(["file"] * 8 + ["symlink"] * 6 + ["hardlink"] * 2 + ["directory"])
        )
        listing: Listing = draw(
            st.sampled_from(["right"] * 40 + ["wrong size", "wrong sha256", "unlisted",
                                              "listed twice"])
        )  # fmt: skip
        if kind == "file":
            members.append(Member(name, kind, draw(BODIES), listing=listing))
        elif kind == "symlink":
            members.append(Member(name, kind, target=draw(link_targets(name, pool))))
        elif kind == "hardlink" and (files := [m.name for m in members if m.kind == "file"]):
            # A tar hard link names a file before it; now and then, anything else.
            targets = st.sampled_from([*files] * 8 + [*pool, "@OUT@/keep.txt"])
            members.append(Member(name, kind, target=draw(targets), listing=listing))
        elif kind == "directory":
            members.append(Member(name, kind))
        else:
            members.append(Member(name, "file", b"x", listing=listing))
    # Now and then a special file, or a name given twice (as another kind); neither at an
    # end of the range, where hypothesis draws most.
    extra = draw(st.integers(0, 19))
    if extra == 13 and members:
        members.append(Member(draw(member_names()), "fifo"))
    elif extra == 7 and members:
        twice = draw(st.sampled_from(members))
        members.append(Member(twice.name, "symlink" if twice.kind == "file" else "file", b"2"))
    return members


@st.composite
def package_lists(draw: st.DrawFn) -> tuple[Package, ...]:
    """One to three packages whose links may lead through each other's (finding 1)."""
    count = draw(st.integers(1, 3))
    pool = draw(st.lists(member_names(), min_size=1, max_size=10, unique=True))
    owners = draw(st.lists(st.integers(0, count - 1), min_size=len(pool), max_size=len(pool)))
    found = []
    for number in range(count):
        names = [name for name, owner in zip(pool, owners, strict=True) if owner == number]
        members = draw(package_members(names, pool))
        if number == 0:
            # Links multiply what the limits count (each one is a copy in the wheel).
            copies = draw(st.integers(0, 8))
            if copies:
                members.append(Member("lib/big.bin", "file", BIG))
                members.extend(
                    Member(f"lib/copy{n}", "symlink", target="big.bin") for n in range(copies)
                )
        form: Literal["conda", "tar.bz2"] = draw(st.sampled_from(["conda", "tar.bz2"]))
        found.append(Package(f"hostile{number}", tuple(members), form))
    return tuple(found)


# ----------------------------------------------------------------------------- building


@dataclass(frozen=True)
class Example:
    """The folder of one example: the sentinel beside the prefix, and both inside it."""

    root: Path
    sentinel: Path
    prefix: Path

    def fill(self, text: str, package: str, member: str = "") -> str:
        """Fill in the tokens: the package name, the sentinel's path, a climb to ``root``."""
        depth = DEPTH + 1 + member.count("/")
        return (
            text.replace("@NAME@", package)
            .replace("/@OUT@", str(self.sentinel))
            .replace("@OUT@", str(self.sentinel))
            .replace("@UP@", "../" * depth)
        )


def _tar(members: Sequence[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def _tarinfo(
    name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, target: str = ""
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname, info.mtime = kind, size, target, 1700000000
    info.mode = 0o755 if name.startswith("bin/") else 0o644
    return info


_TYPES: Final[dict[Kind, bytes]] = {
    "file": tarfile.REGTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "directory": tarfile.DIRTYPE,
    "fifo": tarfile.FIFOTYPE,
}


def _paths_json(package: Package, bodies: dict[str, bytes], example: Example) -> bytes:
    entries: list[dict[str, object]] = []
    for member in package.members:
        name = example.fill(member.name, package.name)
        if member.listing == "unlisted" or member.kind == "fifo":
            continue
        if member.kind in {"symlink", "directory"}:
            path_type = "softlink" if member.kind == "symlink" else "directory"
            entries.append({"_path": name, "path_type": path_type})
            continue
        data = bodies.get(member.target, b"") if member.kind == "hardlink" else bodies[name]
        entry: dict[str, object] = {
            "_path": name,
            "path_type": "hardlink",
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_in_bytes": len(data),
        }
        if PLACEHOLDER.encode() in data:
            entry.update(prefix_placeholder=PLACEHOLDER, file_mode="text")
        if member.listing == "wrong size":
            entry["size_in_bytes"] = len(data) + 1
        elif member.listing == "wrong sha256":
            entry["sha256"] = hashlib.sha256(data + b"!").hexdigest()
        entries.append(entry)
        if member.listing == "listed twice":
            entries.append(entry)
    return json.dumps({"paths": entries, "paths_version": 1}).encode()


def build(package: Package, example: Example, folder: Path) -> Path:
    """Write ``package`` as a real archive into ``folder``; return its path."""
    fill = functools.partial(example.fill, package=package.name)
    bodies = {
        fill(m.name): fill(m.data.decode("latin-1")).encode("latin-1")
        for m in package.members
        if m.kind == "file"
    }
    index = {"name": package.name, "version": "1.0", "build": "0", "build_number": 0,
             "subdir": "linux-64", "depends": [], "license": "MIT"}  # fmt: skip
    listed = _paths_json(package, bodies, example)
    text = json.dumps(index).encode()
    info: list[tuple[tarfile.TarInfo, bytes | None]] = [
        (_tarinfo("info/index.json", size=len(text)), text),
        (_tarinfo("info/paths.json", size=len(listed)), listed),
    ]
    payload: list[tuple[tarfile.TarInfo, bytes | None]] = []
    for member in package.members:
        name = fill(member.name)
        kind = _TYPES[member.kind]
        if member.kind == "file":
            data = fill(member.data.decode("latin-1")).encode("latin-1")
            payload.append((_tarinfo(name, kind, len(data)), data))
        else:
            payload.append((_tarinfo(name, kind, target=fill(member.target, member=name)), None))
    folder.mkdir()
    stem = f"{package.name}-1.0-0"
    if package.form == "tar.bz2":
        path = folder / f"{stem}.tar.bz2"
        path.write_bytes(bz2.compress(_tar(info + payload)))
        return path
    path = folder / f"{stem}.conda"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", b'{"conda_pkg_format_version": 2}')
        archive.writestr(f"pkg-{stem}.tar.zst", zstd.compress(_tar(payload)))
        archive.writestr(f"info-{stem}.tar.zst", zstd.compress(_tar(info)))
    return path


# ----------------------------------------------------------------------------- checking

Snapshot = dict[str, tuple[int, int, int, str]]


def snapshot(root: Path) -> Snapshot:
    """Every path under ``root``: type, size, mtime, link target (links never followed).

    A folder is only its mode: its entries show what was added or removed in it.
    """
    found: Snapshot = {}
    for folder, directories, files in os.walk(root):
        for name in (*directories, *files):
            path = Path(folder, name)
            status = path.lstat()
            if stat.S_ISDIR(status.st_mode):
                found[str(path.relative_to(root))] = (status.st_mode, 0, 0, "")
                continue
            target = str(path.readlink()) if stat.S_ISLNK(status.st_mode) else ""
            found[str(path.relative_to(root))] = (
                status.st_mode, status.st_size, status.st_mtime_ns, target
            )  # fmt: skip
    return found


def changed_outside(before: Snapshot, after: Snapshot, inside: str | None) -> list[str]:
    """Return the paths that changed, appeared or went, except ``inside`` and below it."""
    return sorted(
        path
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path)
        and (inside is None or (path != inside and not path.startswith(inside + os.sep)))
    )


def _category(error: CondawheelError) -> str:
    """The kind of the first problem, for ``--hypothesis-show-statistics``."""
    first = str(error).split(": ", 1)[-1].split("; ")[0]
    return re.sub(r"'[^']*'|[0-9a-f]{12}\.\.\.|\d+", "_", first)[:60]


def assert_one_line_naming(error: CondawheelError, subject: str) -> None:
    message = str(error)
    assert "\n" not in message, message
    assert "Traceback" not in message, message
    assert subject in message, message


@functools.cache
def mapping() -> NameMapping:
    """The packaged name table (not a fixture: hypothesis would print all of it)."""
    return default_mapping()


@pytest.fixture(scope="module")
def python() -> Path:
    return find_python312()


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory, python: Path) -> Iterator[Example]:
    """A fresh folder per example: sentinel, and a conda prefix ``DEPTH`` folders down."""
    base = tmp_path_factory.mktemp("hostile")

    def make() -> Iterator[Example]:
        for number in range(1_000_000):
            root = base / str(number)
            sentinel = root / "sentinel"
            sentinel.mkdir(parents=True)
            (sentinel / "keep.txt").write_text("keep")
            prefix = root.joinpath(*["p"] * DEPTH, "env")
            link_python_into(prefix, python)
            (prefix.parent / "beside.txt").write_text("beside the prefix")
            (prefix / "conda-meta").mkdir()
            yield Example(root, sentinel, prefix)

    return make()


def _budget(share: int) -> int:
    """A share of the profile's budget: 300 examples in CI give ``300 // share``."""
    profile = settings.default
    return max(1, (profile.max_examples if profile is not None else 100) // share)


def _convert(package: Package, example: Example, number: int) -> list[Path]:
    """Convert one package; check a refusal, or that converting again gives the same bytes."""
    path = build(package, example, example.root / f"source{number}")
    out, again = example.root / f"out{number}", example.root / f"again{number}"
    out.mkdir()
    again.mkdir()
    before = snapshot(example.root)
    try:
        # Read in one thread, then again with workers (the parallel bzip2 decoder for a
        # .tar.bz2, deflating in threads): the wheels must not depend on that.
        result = convert(path, out, mapping=mapping(), limits=LIMITS, threads=0)
    except CondawheelError as error:
        event("refused by convert: " + _category(error))
        assert_one_line_naming(error, str(path))
        assert list(out.iterdir()) == []
        assert changed_outside(before, snapshot(example.root), out.name) == []
        message = str(error)
        with pytest.raises(CondawheelError) as again_refused:
            convert(path, again, mapping=mapping(), limits=LIMITS, threads=2)
        assert str(again_refused.value) == message
        return []
    wheels = sorted(item.wheel for item in result.wheels)
    assert sorted(out.iterdir()) == wheels  # no temporary file is left beside them
    repeated = convert(path, again, mapping=mapping(), limits=LIMITS, threads=2)
    assert [wheel.read_bytes() for wheel in wheels] == [
        wheel.read_bytes() for wheel in sorted(item.wheel for item in repeated.wheels)
    ]
    return wheels


def _install(wheels: list[Path], example: Example) -> list[str]:
    """Install one package's wheels; return the distributions installed (none if refused)."""
    inside = str(example.prefix.relative_to(example.root))
    before = snapshot(example.root)
    try:
        environment = open_environment(example.prefix, system_config=None)
        installation = decide_for_environment(
            environment, [(read_wheel(wheel), True) for wheel in wheels]
        )
        apply_installation(installation, environment.facts)
    except CondawheelError as error:
        event("refused by install: " + _category(error))
        assert_one_line_naming(error, "")
        assert changed_outside(before, snapshot(example.root), None) == []
        return []
    event("installed")
    assert changed_outside(before, snapshot(example.root), inside) == []
    return [item.contents.name for item in installation.installs]


@settings(
    max_examples=_budget(8),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(packages=package_lists())
def test_hostile_packages_are_refused_in_one_line_or_install_inside_the_prefix(
    packages: tuple[Package, ...], examples: Iterator[Example]
) -> None:
    example = next(examples)
    converted = [_convert(package, example, number) for number, package in enumerate(packages)]
    inside = str(example.prefix.relative_to(example.root))
    before = snapshot(example.root)
    installed = [_install(wheels, example) for wheels in converted if wheels]
    for names in reversed(installed):
        if names:
            environment = open_environment(example.prefix, system_config=None)
            uninstall(names, state=environment.state, facts=environment.facts)
            assert changed_outside(before, snapshot(example.root), inside) == []
    assert (example.sentinel / "keep.txt").read_text() == "keep"
    assert sorted(path.name for path in example.sentinel.iterdir()) == ["keep.txt"]
