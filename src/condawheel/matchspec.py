"""Conda MatchSpecs (CEP 29): parse them, and translate their versions to PEP 440 (pure).

Three layers, each usable on its own:

* :func:`parse_matchspec` splits a MatchSpec string into a :class:`ParsedMatchSpec`.
* :func:`conda_version_to_pep440` maps one conda version to a PEP 440 ``Version``, and
  :func:`compare_conda_versions` orders conda versions as conda and rattler do (CEP 33).
* :func:`translate_version_spec` turns a conda version spec into a ``SpecifierSet`` and says
  how faithful that is; :func:`to_requirement` makes the PEP 508 requirement.

What "exact" means. Conda and PEP 440 order some versions differently (``1.2a1`` sorts
below ``1.2.0a0`` in conda, ``1.1.1k`` below ``1.1.1``; CEP 33 versus PEP 440), so no
specifier can be right for every conda version. A translation is *exact* when, for every
candidate conda version ``c`` that conda and PEP 440 place alike against each version
written in the spec (:func:`pep440_agrees`), ``c`` matches the conda spec if and only if
``conda_version_to_pep440(c)`` is in the specifier, pre-releases included. *Widened* means
"if" instead of "if and only if" (the specifier admits more); *untranslatable* means nothing
PEP 440 can say about the spec was kept (the specifier is empty). Conda itself has no
pre-release policy, so the specifiers describe sets, not pip's pre-release preferences.

Where conda and py-rattler disagree (both are cited below), rattler is followed: it is the
reference implementation the differential tests run against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from packaging.requirements import Requirement
from packaging.specifiers import Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from condawheel.errors import InvalidMapping, InvalidMatchSpec

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "Fidelity",
    "ParsedMatchSpec",
    "VersionTranslation",
    "compare_conda_versions",
    "conda_version_to_pep440",
    "is_conda_version",
    "parse_matchspec",
    "pep440_agrees",
    "to_requirement",
    "translate_version_spec",
    "version_matches",
]

Fidelity: TypeAlias = Literal["exact", "widened", "untranslatable"]
"""How faithfully a conda version spec was translated (see the module docstring)."""


# ---------------------------------------------------------------------------------------------
# Conda versions (CEP 33; conda's ``models/version.py``; rattler's ``version/mod.rs``)
# ---------------------------------------------------------------------------------------------

# A version is split at '.', '_' and '-' into segments, and each segment into runs of digits
# and letters. Every run becomes a sort key: 'dev' sorts below every string, strings below
# every number, and 'post' above everything.
_Key: TypeAlias = tuple[int, int | str]
_Segment: TypeAlias = tuple[_Key, ...]

_DEV: Final[_Key] = (0, 0)
_STRING: Final = 1
_NUMBER: Final = 2
_POST: Final[_Key] = (3, 0)
# A missing run or segment counts as the number 0, so that 1.1 == 1.1.0.
_ZERO: Final[_Key] = (_NUMBER, 0)

_VERSION_CHARACTERS = re.compile(r"[0-9a-z._+!-]+")
_ALPHANUMERIC = re.compile(r"[0-9a-z]+")
_RUNS = re.compile(r"\d+|[a-z]+")
_SEPARATORS = re.compile(r"[._-]")
_LETTERS = re.compile(r"[a-z]+")
_PLAIN_RELEASE = re.compile(r"(?:\d+!)?\d+(?:\.\d+)*")
# README rule: letters glued to the end of a release number and followed by no digit are how
# conda-forge spells *releases* (tzdata 2025a, openssl 1.1.1k, jpeg 9e).
_LETTERED_RELEASE = re.compile(r"(?P<release>(?:\d+!)?\d+(?:\.\d+)*)(?P<letters>[a-z]+)")
# The only words PEP 440 writes itself; packaging also reads alpha, beta, c, pre, preview, r,
# rev and a leading v, which conda sorts as plain strings.
_PEP440_WORDS: Final = frozenset({"a", "b", "rc", "post", "dev"})


@dataclass(frozen=True)
class _CondaVersion:
    epoch: int
    main: tuple[_Segment, ...]
    local: tuple[_Segment, ...]


def _key(run: str) -> _Key:
    if run.isdigit():
        return (_NUMBER, int(run))
    if run == "dev":
        return _DEV
    if run == "post":
        return _POST
    return (_STRING, run)


def _segment(part: str) -> _Segment:
    keys = tuple(_key(run) for run in _RUNS.findall(part))
    # A segment that starts with a letter gets an implicit 0 so that numbers and strings stay
    # in phase: 1.1.a1 == 1.1.0a1 (CEP 33).
    return keys if part[0].isdigit() else (_ZERO, *keys)


def _segments(text: str) -> tuple[_Segment, ...] | None:
    parts = _SEPARATORS.split(text)
    if not all(_ALPHANUMERIC.fullmatch(part) for part in parts):
        return None  # an empty segment ("1..2", "1.") or a stray character
    return tuple(_segment(part) for part in parts)


def _parse_conda_version(text: str) -> _CondaVersion | None:
    """Split a conda version into sort keys, or return None when conda rejects it."""
    version = text.strip().lower()
    # Conda reads '-' as '_' unless both occur; rattler rejects the mix outright.
    if not _VERSION_CHARACTERS.fullmatch(version) or ("-" in version and "_" in version):
        return None
    epoch, bang, rest = version.rpartition("!")
    if bang and not epoch.isdigit():
        return None
    main_text, plus, local_text = rest.partition("+")
    main = _segments(main_text)
    local = _segments(local_text) if plus else ()
    if main is None or local is None:
        return None
    return _CondaVersion(int(epoch) if bang else 0, main, local)


def _compare_segments(left: Sequence[_Segment], right: Sequence[_Segment]) -> int:
    for index in range(max(len(left), len(right))):
        mine = left[index] if index < len(left) else ()
        theirs = right[index] if index < len(right) else ()
        for position in range(max(len(mine), len(theirs))):
            a = mine[position] if position < len(mine) else _ZERO
            b = theirs[position] if position < len(theirs) else _ZERO
            if a != b:
                return -1 if a < b else 1
    return 0


def _compare(left: _CondaVersion, right: _CondaVersion) -> int:
    if left.epoch != right.epoch:
        return -1 if left.epoch < right.epoch else 1
    # The local part only breaks ties between equal main parts; an absent one counts as 0.
    return _compare_segments(left.main, right.main) or _compare_segments(left.local, right.local)


def _segments_start_with(segments: Sequence[_Segment], prefix: Sequence[_Segment]) -> bool:
    # rattler's ``starts_with``: missing segments and runs of the version count as 0, and a
    # segment may run on past its prefix segment only if it is the prefix's last one. So
    # 1.2a1 starts with 1.2 and with 1.2.0, but 1.2a1.post1 does not start with 1.2.0.
    # (conda's ``VersionOrder.startswith`` says no to 1.2a1 against 1.2.0; rattler, like
    # PEP 440's ``==1.2.0.*``, says yes.)
    ran_on = False
    for index, wanted in enumerate(prefix):
        if index >= len(segments):
            if any(key != _ZERO for key in wanted):
                return False
            continue
        if ran_on:
            return False
        have = segments[index]
        for position, key in enumerate(wanted):
            if (have[position] if position < len(have) else _ZERO) != key:
                return False
        ran_on = len(have) > len(wanted)
    return True


def _starts_with(version: _CondaVersion, prefix: _CondaVersion) -> bool:
    return (
        version.epoch == prefix.epoch
        and _segments_start_with(version.main, prefix.main)
        and _segments_start_with(version.local, prefix.local)
    )


def _require_conda_version(text: str) -> _CondaVersion:
    parsed = _parse_conda_version(text)
    if parsed is None:
        raise InvalidMatchSpec(text, f"{text!r} is not a conda version (CEP 33)")
    return parsed


def is_conda_version(text: str) -> bool:
    """Return whether ``text`` is a version conda can order (CEP 33)."""
    return _parse_conda_version(text) is not None


def compare_conda_versions(left: str, right: str) -> int:
    """Compare two conda versions as conda and rattler order them (CEP 33).

    Return -1, 0 or 1. ``1.1 == 1.1.0``; ``1.1dev1 < 1.1a1 < 1.1 < 1.1.post1 < 1.1post1``;
    ``1.1.1k < 1.1.1``; ``1.0+local < 1.0``.

    :raises InvalidMatchSpec: for a string that is not a conda version.
    """
    return _compare(_require_conda_version(left), _require_conda_version(right))


# ---------------------------------------------------------------------------------------------
# Conda versions as PEP 440 versions
# ---------------------------------------------------------------------------------------------

_Rule: TypeAlias = Literal["pep440", "local", "lettered-release", "respelled"]


@dataclass(frozen=True)
class _Mapped:
    version: Version
    rule: _Rule


def _normalise(version: str) -> str:
    # Conda reads '_' and '-' as '.' (CEP 33). PEP 440 would make "1.0-1" a post-release.
    return _SEPARATORS.sub(".", version.strip().lower())


def _map_version(version: str) -> _Mapped | None:
    if _parse_conda_version(version) is None:
        return None
    normal = _normalise(version)
    if match := _LETTERED_RELEASE.fullmatch(normal):
        return _Mapped(Version(f"{match['release']}+{match['letters']}"), "lettered-release")
    try:
        mapped = Version(normal)
    except InvalidVersion:
        return None
    if mapped.local is not None:
        return _Mapped(mapped, "local")
    if set(_LETTERS.findall(normal)) <= _PEP440_WORDS:
        return _Mapped(mapped, "pep440")
    return _Mapped(mapped, "respelled")


def conda_version_to_pep440(version: str) -> Version | None:
    """Return the PEP 440 version a conda version becomes, or None if there is none.

    The README rule: conda's ``_`` and ``-`` separators are ``.`` (``1.0_1`` and ``1.0-1``
    become ``1.0.1``); letters glued to the end of a release number with no digit after them
    are how conda-forge spells releases, so they become a local label (``2025a`` ->
    ``2025+a``, ``1.1.1k`` -> ``1.1.1+k``, ``9e`` -> ``9+e``) rather than a PEP 440
    pre-release; anything else that ``packaging`` parses is normalised (``1.0RC1`` ->
    ``1.0rc1``); the rest (``1.0.1a1.1``, ``1.0_1-2``) has no PEP 440 form.
    """
    mapped = _map_version(version)
    return None if mapped is None else mapped.version


def _pep440_sign(candidate: Version, literal: Version) -> int:
    # A specifier without a local label ignores the candidate's (PEP 440, "Local version
    # identifiers"); the specifiers this module writes compare exactly that way.
    if literal.local is None:
        candidate = Version(candidate.public)
    return (candidate > literal) - (candidate < literal)


def pep440_agrees(candidate: str, literal: str, *, prefix: bool = False) -> bool:
    """Return whether conda and PEP 440 relate ``candidate`` to ``literal`` the same way.

    Without ``prefix``: both order the two versions alike (``<``, ``==`` or ``>``). With
    ``prefix``: ``literal`` is a plain release and both agree on whether ``candidate``
    starts with it (conda ``1.2.*`` versus PEP 440 ``==1.2.*``). False whenever either
    string has no conda or no PEP 440 reading. This is the domain on which
    :func:`translate_version_spec` promises exactness.
    """
    conda_candidate = _parse_conda_version(candidate)
    conda_literal = _parse_conda_version(literal)
    pep_candidate = conda_version_to_pep440(candidate)
    pep_literal = conda_version_to_pep440(literal)
    if conda_candidate is None or conda_literal is None:
        return False
    if pep_candidate is None or pep_literal is None:
        return False
    if prefix:
        if not _PLAIN_RELEASE.fullmatch(_normalise(literal)):
            return False
        in_pep440 = Specifier(f"=={pep_literal}.*").contains(pep_candidate, prereleases=True)
        return _starts_with(conda_candidate, conda_literal) == in_pep440
    return _compare(conda_candidate, conda_literal) == _pep440_sign(pep_candidate, pep_literal)


# ---------------------------------------------------------------------------------------------
# Version specs: ',' (AND) binds tighter than '|' (OR); parentheses group (CEP 29)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clause:
    text: str  # as written, without surrounding space
    operator: str  # "", "==", "!=", "<", "<=", ">", ">=", "~=", "=", or "*" / "regex" / "glob"
    literal: str  # the version, without operator and trailing '*' / '.*'
    starred: bool = False  # the version ended in '*' or '.*'


@dataclass(frozen=True)
class _Group:
    joiner: Literal[",", "|"]
    members: tuple[_Clause | _Group, ...]


_TOKENS = re.compile(r"\s*(\^[^$]*\$|[()|,]|[^()|,]+)")
_CLAUSE = re.compile(r"(?P<operator>==|!=|<=|>=|~=|<|>|=)?\s*(?P<literal>[^\s()|,=<>!~][^\s()|,]*)")


def _read_clause(text: str, spec: str) -> _Clause:
    if text == "*":
        return _Clause(text, "*", "")
    if text.startswith("^") or text.endswith("$"):
        # conda: a regex must be anchored at both ends.
        if not (text.startswith("^") and text.endswith("$")):
            raise InvalidMatchSpec(spec, f"regex version {text!r} must start '^' and end '$'")
        try:
            re.compile(text)
        except re.error as error:
            raise InvalidMatchSpec(spec, f"regex version {text!r} does not compile") from error
        return _Clause(text, "regex", text)
    match = _CLAUSE.fullmatch(text)
    if match is None:
        raise InvalidMatchSpec(spec, f"{text!r} is not a version clause (CEP 29)")
    operator, literal = match["operator"] or "", match["literal"]
    starred = literal.endswith("*")
    base = literal[:-2] if literal.endswith(".*") else literal.removesuffix("*")
    if "*" in base:
        if operator:
            raise InvalidMatchSpec(spec, f"{text!r} mixes an operator and a glob")
        return _Clause(text, "glob", literal)
    if _parse_conda_version(base) is None:
        raise InvalidMatchSpec(spec, f"{base!r} in {text!r} is not a conda version (CEP 33)")
    return _Clause(text, operator, base, starred=starred)


def _tokenize(text: str, spec: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    for match in _TOKENS.finditer(text):
        if match.start() != position:
            break
        position = match.end()
        token = match.group(1).strip()
        if token:
            tokens.append(token)
    if text[position:].strip():
        raise InvalidMatchSpec(spec, f"cannot read version spec {text!r}")
    return tokens


def _parse_version_spec(text: str, spec: str) -> _Clause | _Group:
    tokens = _tokenize(text, spec)
    if not tokens:
        raise InvalidMatchSpec(spec, "empty version spec")
    node, end = _parse_any(tokens, 0, spec)
    if end != len(tokens):
        raise InvalidMatchSpec(spec, f"unexpected {tokens[end]!r} in version spec {text!r}")
    return node


def _parse_any(tokens: list[str], start: int, spec: str) -> tuple[_Clause | _Group, int]:
    members = []
    node, index = _parse_all(tokens, start, spec)
    members.append(node)
    while index < len(tokens) and tokens[index] == "|":
        node, index = _parse_all(tokens, index + 1, spec)
        members.append(node)
    return (members[0] if len(members) == 1 else _Group("|", tuple(members))), index


def _parse_all(tokens: list[str], start: int, spec: str) -> tuple[_Clause | _Group, int]:
    members = []
    node, index = _parse_atom(tokens, start, spec)
    members.append(node)
    while index < len(tokens) and tokens[index] == ",":
        node, index = _parse_atom(tokens, index + 1, spec)
        members.append(node)
    return (members[0] if len(members) == 1 else _Group(",", tuple(members))), index


def _parse_atom(tokens: list[str], index: int, spec: str) -> tuple[_Clause | _Group, int]:
    if index >= len(tokens):
        raise InvalidMatchSpec(spec, "version spec ends where a version was expected")
    item = tokens[index]
    if item == "(":
        node, index = _parse_any(tokens, index + 1, spec)
        if index >= len(tokens) or tokens[index] != ")":
            raise InvalidMatchSpec(spec, "unbalanced '(' in version spec")
        return node, index + 1
    if item in {")", "|", ","}:
        raise InvalidMatchSpec(spec, f"unexpected {item!r} where a version was expected")
    return _read_clause(item, spec), index + 1


# ---------------------------------------------------------------------------------------------
# MatchSpecs (CEP 29; conda's ``models/match_spec.py``; rattler's ``match_spec/parse.rs``)
# ---------------------------------------------------------------------------------------------

_BRACKET_KEYS: Final = frozenset(
    {
        "version", "build", "build_number", "channel", "subdir", "namespace", "md5",
        "sha256", "url", "fn", "license", "license_family", "track_features", "features",
        "when",  # CEP 43 conditional dependencies
        "extras",  # CEP 44 optional dependencies
        "flags",  # rattler's build-variant flags
    }
)  # fmt: skip
# conda's ``context.known_subdirs``: a trailing "/<subdir>" of a channel is the subdir.
_KNOWN_SUBDIRS: Final = frozenset(
    {
        "noarch", "emscripten-wasm32", "wasi-wasm32", "freebsd-64", "linux-32", "linux-64",
        "linux-aarch64", "linux-armv6l", "linux-armv7l", "linux-ppc64", "linux-ppc64le",
        "linux-riscv64", "linux-s390x", "osx-64", "osx-arm64", "win-32", "win-64",
        "win-arm64", "zos-z",
    }
)  # fmt: skip
_BRACKET_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NAME_AND_REST = re.compile(r"(?P<name>[^\s=<>!~(]+)\s*(?P<rest>.*)", re.DOTALL)
_PACKAGE_NAME = re.compile(r"[a-z0-9_.*-]+")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_CHANNEL = re.compile(r"[^\s:]+")
_NAMESPACE = re.compile(r"[A-Za-z0-9_.-]+")
_BUILD = re.compile(r"[^\s=<>!~,|()\[\]]+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_MD5_LENGTH: Final = 32
_SHA256_LENGTH: Final = 64
_BUILD_NUMBER = re.compile(r"(?:==|!=|<=|>=|<|>|=)?\d+")
_OPERATOR_SPACE = re.compile(r"(==|!=|<=|>=|~=|<|>|=)\s+")
_JOINER_SPACE = re.compile(r"\s*([,|])\s*")
_PAREN_SPACE = re.compile(r"(?<=\()\s+|\s+(?=\))")
_OPERATOR_CHARACTERS: Final = "=!<>~"
_POSITIONAL_PARTS: Final = 2  # at most "version build" after the name
_CHANNEL_PARTS: Final = 3  # "channel:namespace:rest"


@dataclass(frozen=True)
class ParsedMatchSpec:
    """A conda MatchSpec (CEP 29), split into its fields.

    ``version`` is a conda version spec in which a bare version means exactly that version
    (``1.2`` is ``==1.2``). The ``=`` form's fuzzy meaning is already written out, as conda
    and rattler do: ``numpy=1.2`` has ``version="1.2.*"`` while ``numpy 1.2`` and
    ``numpy=1.2=py*`` have ``version="1.2"``. Bracket values override positional ones and
    every bracket pair is kept, in order and unquoted, in ``brackets``; a list value such as
    ``extras=[a, b]`` (CEP 44) is kept as ``"a,b"``.
    """

    original: str
    name: str  # lowercased, as conda does; "*" or a glob is allowed
    version: str | None = None
    build: str | None = None  # a build string, glob or ^regex$
    channel: str | None = None  # a channel name or URL; None also for "*"
    subdir: str | None = None
    namespace: str | None = None
    brackets: tuple[tuple[str, str], ...] = ()

    def bracket(self, key: str) -> str | None:
        """Return the value given last for ``key`` in the brackets, if any."""
        values = [value for name, value in self.brackets if name == key]
        return values[-1] if values else None


def _skip_separators(text: str, index: int) -> int:
    while index < len(text) and (text[index] == "," or text[index].isspace()):
        index += 1
    return index


def _read_bracket_value(text: str, index: int, spec: str) -> tuple[str, int]:
    opener = text[index] if index < len(text) else ""
    if opener in {"'", '"'}:
        end = text.find(opener, index + 1)
        if end < 0:
            raise InvalidMatchSpec(spec, f"unterminated {opener} quote in brackets")
        return text[index + 1 : end], end + 1
    if opener == "[":
        # A list, as in extras=[a, b] (CEP 44); kept as "a,b".
        end = text.find("]", index)
        if end < 0:
            raise InvalidMatchSpec(spec, "unterminated list in brackets")
        items = [item.strip() for item in text[index + 1 : end].split(",")]
        return ",".join(item for item in items if item), end + 1
    end = index
    while end < len(text) and text[end] not in ",]" and not text[end].isspace():
        end += 1
    return text[index:end], end


def _check_bracket_value(key: str, value: str, spec: str) -> None:
    if not value:
        raise InvalidMatchSpec(spec, f"bracket key {key!r} has no value")
    expected = {"md5": _MD5_LENGTH, "sha256": _SHA256_LENGTH}.get(key)
    if expected is not None and (len(value) != expected or not _HEX.fullmatch(value)):
        raise InvalidMatchSpec(spec, f"{key} {value!r} is not {expected} hex digits")
    if key == "build_number" and not _BUILD_NUMBER.fullmatch(value.replace(" ", "")):
        raise InvalidMatchSpec(spec, f"build_number {value!r} is not [operator]integer")


def _split_brackets(text: str, spec: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    start = text.find("[")
    if start < 0:
        if "]" in text:
            raise InvalidMatchSpec(spec, "']' without '['")
        return text, ()
    pairs: list[tuple[str, str]] = []
    index = start + 1
    while True:
        index = _skip_separators(text, index)
        if index >= len(text):
            raise InvalidMatchSpec(spec, "unterminated '[' brackets")
        if text[index] == "]":
            break
        key_match = _BRACKET_KEY.match(text, index)
        if key_match is None or not text.startswith("=", key_match.end()):
            raise InvalidMatchSpec(spec, f"expected key=value in brackets at {text[index:]!r}")
        key = key_match.group()
        if key not in _BRACKET_KEYS:
            raise InvalidMatchSpec(spec, f"unknown bracket key {key!r}")
        value, index = _read_bracket_value(text, key_match.end() + 1, spec)
        _check_bracket_value(key, value, spec)
        pairs.append((key, value))
    if text[index + 1 :].strip():
        raise InvalidMatchSpec(spec, "only one bracket section, at the end, is allowed")
    return text[:start].rstrip(), tuple(pairs)


def _split_channel(channel: str, spec: str) -> tuple[str | None, str | None]:
    """Split ``channel[/subdir]``; a channel of ``*`` means any channel."""
    if ":" in channel and not _URL.fullmatch(channel):
        raise InvalidMatchSpec(spec, f"channel {channel!r} is neither a name nor a URL")
    if not _URL.fullmatch(channel) and not _CHANNEL.fullmatch(channel):
        raise InvalidMatchSpec(spec, f"invalid channel {channel!r}")
    head, slash, tail = channel.rstrip("/").rpartition("/")
    subdir = tail if slash and tail in _KNOWN_SUBDIRS else None
    name = head if subdir else channel
    return (None if name == "*" else name), subdir


def _split_prefix(body: str, spec: str) -> tuple[str | None, str | None, str | None, str]:
    """Split ``channel(/subdir):namespace:rest`` (conda splits at the last two colons)."""
    parts = body.rsplit(":", 2)
    if len(parts) == 1:
        return None, None, None, body
    namespace_text, rest = parts[-2].strip(), parts[-1]
    if namespace_text and not _NAMESPACE.fullmatch(namespace_text):
        raise InvalidMatchSpec(spec, f"invalid namespace {namespace_text!r}")
    namespace = namespace_text or None
    channel_text = parts[0].strip() if len(parts) == _CHANNEL_PARTS else ""
    if not channel_text:
        return None, None, namespace, rest
    channel, subdir = _split_channel(channel_text, spec)
    return channel, subdir, namespace, rest


def _split_name(text: str, spec: str) -> tuple[str, str]:
    match = _NAME_AND_REST.fullmatch(text.strip())
    if match is None:
        raise InvalidMatchSpec(spec, "no package name")
    name = match["name"].lower()
    if not _PACKAGE_NAME.fullmatch(name):
        raise InvalidMatchSpec(spec, f"invalid package name {match['name']!r}")
    return name, match["rest"].strip()


def _split_equals_build(token: str) -> tuple[str, str | None]:
    # "1.2=py*", "==1.2=py", ">=1.2=py*": the build follows the first '=' that comes right
    # after a version, not after an operator, ',', '|' or '(' (as in "<2|==1.7").
    for index in range(1, len(token)):
        if token[index] == "=" and token[index - 1] not in _OPERATOR_CHARACTERS + ",|(":
            return token[:index], token[index + 1 :]
    return token, None


def _fuzzy_first(version: str) -> str:
    # The '=' operator of conda's VersionSpec: "=1.2,<2" is "1.2.*,<2".
    ends = [index for index in (version.find(","), version.find("|")) if index >= 0]
    end = min(ends, default=len(version))
    first, rest = version[:end], version[end:]
    if first.endswith("*"):
        return version
    return f"{first}.*{rest}"


def _split_version_build(text: str, spec: str) -> tuple[str | None, str | None]:
    if not text:
        return None, None
    text = _PAREN_SPACE.sub("", _JOINER_SPACE.sub(r"\1", _OPERATOR_SPACE.sub(r"\1", text)))
    fuzzy = text.startswith("=") and not text.startswith("==")
    if fuzzy:
        text = text[1:]
    tokens = text.split()
    if not tokens or len(tokens) > _POSITIONAL_PARTS:
        raise InvalidMatchSpec(spec, f"expected 'version [build]' after the name, not {text!r}")
    build: str | None
    if len(tokens) == _POSITIONAL_PARTS:
        version, build = tokens
    else:
        version, build = _split_equals_build(tokens[0])
    if not version or (fuzzy and version[0] in _OPERATOR_CHARACTERS + "("):
        raise InvalidMatchSpec(spec, f"no version in {text!r}")
    if build is not None and not _BUILD.fullmatch(build):
        raise InvalidMatchSpec(spec, f"invalid build string {build!r}")
    # "numpy=1.2" is 1.2.* but "numpy=1.2=py*" is exactly 1.2 (conda's ``_parse_spec_str``
    # and rattler agree). With ',' or '|' the '=' stays an operator on the first clause, build
    # or not: "numpy=1.2,<2" is "1.2.*,<2".
    if fuzzy and (build is None or "," in version or "|" in version):
        version = _fuzzy_first(version)
    # Without a build, a leading '==' is dropped (conda's ``_parse_spec_str``, rattler): so
    # "numpy ==1.2.*" is 1.2.*, while "numpy ==1.2.* py*" and [version="==1.2.*"] are ==1.2.
    if build is None and version.startswith("=="):
        version = version[2:]
    return version, build


def parse_matchspec(spec: str) -> ParsedMatchSpec:
    """Parse a conda MatchSpec string (CEP 29).

    ``(channel(/subdir):(namespace):)name(version(build))([key=value, ...])``, with version
    and build separated by spaces (``numpy 1.2 py*``) or by ``=`` (``numpy=1.2=py*``), a
    ``#`` comment, and bracket values quoted with ``'`` or ``"`` when they hold a comma,
    space or ``=``.

    :raises InvalidMatchSpec: for anything that is not a MatchSpec, including a version spec
        or bracket value that cannot be read.
    """
    text = spec.split("#", 1)[0].strip()  # conda: '#' starts a comment
    if not text:
        raise InvalidMatchSpec(spec, "empty MatchSpec")
    body, brackets = _split_brackets(text, spec)
    channel, subdir, namespace, rest = _split_prefix(body, spec)
    name, version_and_build = _split_name(rest, spec)
    version, build = _split_version_build(version_and_build, spec)
    # Brackets win over everything written before them (CEP 29), the last one over earlier.
    for key, value in brackets:
        if key == "version":
            version = value
        elif key == "build":
            build = value
        elif key == "channel":
            channel, bracket_subdir = _split_channel(value, spec)
            subdir = bracket_subdir or subdir
        elif key == "subdir":
            subdir = value
    if version is not None:
        _parse_version_spec(version, spec)
    return ParsedMatchSpec(spec, name, version, build, channel, subdir, namespace, brackets)


# ---------------------------------------------------------------------------------------------
# Translating version specs to PEP 440 specifiers
# ---------------------------------------------------------------------------------------------

_RANK: Final[dict[Fidelity, int]] = {"exact": 0, "widened": 1, "untranslatable": 2}
_HULL_NOTE: Final = "'|' has no PEP 508 form: widened to the hull of the alternatives"


@dataclass(frozen=True)
class VersionTranslation:
    """A conda version spec as a PEP 440 ``SpecifierSet`` (empty: any version).

    ``fidelity`` and the domain it is promised on are described in the module docstring;
    ``notes`` say, for people, what was rewritten, widened or dropped, and why.
    """

    specifier: SpecifierSet
    fidelity: Fidelity
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Bound:
    version: Version
    inclusive: bool


@dataclass(frozen=True)
class _Piece:
    """A translated clause or group: its specifiers and the interval that contains them."""

    specifiers: tuple[str, ...] = ()
    lower: _Bound | None = None  # None: unbounded
    upper: _Bound | None = None
    interval: bool = True  # the specifiers admit exactly [lower, upper], no holes
    fidelity: Fidelity = "exact"
    notes: tuple[str, ...] = ()


def _worst(fidelities: Iterable[Fidelity]) -> Fidelity:
    return max(fidelities, key=_RANK.__getitem__, default="exact")


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _dropped(fidelity: Fidelity, note: str) -> _Piece:
    return _Piece(interval=False, fidelity=fidelity, notes=(note,))


def _dev0(release: Version) -> Version:
    """Return the lowest PEP 440 version with this release: 1.2 -> 1.2.dev0."""
    return Version(f"{release.base_version}.dev0")


def _next_dev0(release: Version) -> Version:
    """Return the lowest version after every ``release.*``: 1.2 -> 1.3.dev0."""
    numbers = (*release.release[:-1], release.release[-1] + 1)
    epoch = f"{release.epoch}!" if release.epoch else ""
    return Version(f"{epoch}{'.'.join(map(str, numbers))}.dev0")


def _translate_prefix(clause: _Clause, *, negated: bool) -> _Piece:
    normal = _normalise(clause.literal)
    if not _PLAIN_RELEASE.fullmatch(normal):
        note = f"{clause.text!r}: only a plain release can be a PEP 440 prefix; dropped"
        return _dropped("untranslatable", note)
    release = Version(normal)
    if negated:
        return _Piece((f"!={release}.*",), interval=False)
    # conda and rattler compare prefixes segment by segment, so 1.2.* admits 1.2a1 and
    # 1.2.post1 but not 1.20, as PEP 440's ==1.2.* does (PEP 440, "Version matching").
    lower = _Bound(_dev0(release), inclusive=True)
    upper = _Bound(_next_dev0(release), inclusive=False)
    return _Piece((f"=={release}.*",), lower, upper)


def _translate_compatible(clause: _Clause, mapped: Version) -> _Piece:
    # rattler: ~=V is >=V and "starts with V minus its last segment" (~=1.2.3.dev0 wants
    # 1.2.3.*). PEP 440 drops the last *release* number instead (~=1.2.3.dev0 is ==1.2.*),
    # so ~= is kept only where both agree.
    epoch, bang, main = _normalise(clause.literal).rpartition("!")
    segments = main.split(".")
    lower = _Bound(mapped, inclusive=True)
    if len(segments) == 1:
        # rattler reads ~=1 as >=1 within the same epoch (nothing is left to start with);
        # conda rejects it. The next epoch starts at (E+1)!0.dev0.
        upper = _Bound(Version(f"{mapped.epoch + 1}!0.dev0"), inclusive=False)
        specifiers = _render(lower, upper)
        note = f"{clause.text!r} read as {','.join(specifiers)!r} (rattler; conda rejects it)"
        return _Piece(specifiers, lower, upper, notes=(note,))
    prefix_text = f"{epoch}{bang}{'.'.join(segments[:-1])}"
    if not _PLAIN_RELEASE.fullmatch(prefix_text):
        note = f"{clause.text!r}: prefix {prefix_text!r} is not a plain release; kept '>='"
        return _Piece((f">={mapped}",), lower, interval=False, fidelity="widened", notes=(note,))
    prefix = Version(prefix_text)
    upper = _Bound(_next_dev0(prefix), inclusive=False)
    if mapped.epoch == prefix.epoch and mapped.release[:-1] == prefix.release:
        return _Piece((f"~={mapped}",), lower, upper)
    return _Piece((f">={mapped}", f"=={prefix}.*"), lower, upper)


def _translate_unusual(clause: _Clause, operator: str, mapped: _Mapped) -> _Piece:
    """Translate a clause whose version PEP 440 spells or orders differently from conda."""
    version = mapped.version
    if mapped.rule == "local":
        if operator == "==":
            public = _Bound(Version(version.public), inclusive=True)
            return _Piece((f"=={version}",), public, public, interval=False)
        if operator == "!=":
            return _Piece((f"!={version}",), interval=False)
        note = f"{clause.text!r} dropped: PEP 440 allows a local label only with == and !="
        return _dropped("widened", note)
    reason = (
        f"conda sorts {clause.literal!r} below {version.public} (a release spelled with "
        f"letters, mapped to {version})"
        if mapped.rule == "lettered-release"
        else f"PEP 440 reads {clause.literal!r} as {version}, which conda sorts differently"
    )
    if operator == "==":
        # Every conda version equal to the literal maps to this version too, so the pin
        # admits at least what conda admits.
        public = _Bound(Version(version.public), inclusive=True)
        note = f"{clause.text!r} pinned as '=={version}': {reason}"
        return _Piece(
            (f"=={version}",), public, public, interval=False, fidelity="widened", notes=(note,)
        )
    return _dropped("widened", f"{clause.text!r} dropped: {reason}")


def _translate_ordering(clause: _Clause, operator: str) -> _Piece:
    mapped = _map_version(clause.literal)
    if mapped is None:
        return _dropped("untranslatable", f"{clause.text!r}: no PEP 440 form; dropped")
    if mapped.rule != "pep440":
        return _translate_unusual(clause, operator, mapped)
    if operator == "~=":
        return _translate_compatible(clause, mapped.version)
    return _translate_comparison(clause, operator, mapped.version)


def _translate_comparison(clause: _Clause, operator: str, version: Version) -> _Piece:
    at = _Bound(version, inclusive=True)
    just = _Bound(version, inclusive=False)
    above, below = _render(just, None), _render(None, just)
    # PEP 440's >V also shuts out V's post-releases, and its <V V's pre-releases unless V
    # is one ("Exclusive ordered comparison"); conda's do not. <3.13.0a0 stays as it is.
    above_note = (f"{clause.text!r} written as {','.join(above)!r} to admit its post-releases",)
    below_note = (f"{clause.text!r} written as {','.join(below)!r} to admit its pre-releases",)
    pieces = {
        "==": _Piece((f"=={version}",), at, at),
        "!=": _Piece((f"!={version}",), interval=False),
        ">=": _Piece((f">={version}",), at),
        "<=": _Piece((f"<={version}",), upper=at),
        ">": _Piece(above, just, notes=above_note),
        "<": _Piece(below, upper=just, notes=() if version.is_prerelease else below_note),
    }
    return pieces[operator]


# Clauses of the form "op V.*": what the operator becomes, the fidelity, and why.
_STARRED: Final[dict[str, tuple[str, Fidelity, str]]] = {
    ">=": (">=", "exact", "conda and rattler ignore '.*' after '>='"),
    "<=": ("<=", "exact", "conda and rattler ignore '.*' after '<='"),
    "<": ("<", "exact", "conda and rattler ignore '.*' after '<'"),
    "==": ("==", "exact", "conda and rattler ignore '.*' after '=='"),
    # conda reads >1.2.* as >1.2, rattler as >=1.2: keep the wider reading.
    ">": (">=", "widened", "conda reads '>V.*' as '>V', rattler as '>=V': kept '>=V'"),
    # conda rejects ~=1.2.*; rattler reads it as ~=1.2.
    "~=": ("~=", "exact", "rattler ignores '.*' after '~=' (conda rejects it)"),
}


def _translate_clause(clause: _Clause) -> _Piece:
    operator = clause.operator
    if operator in {"*", "regex", "glob"}:
        if operator == "*":
            return _Piece()
        return _dropped("untranslatable", f"{clause.text!r} has no PEP 440 form; dropped")
    if operator == "=" or (operator in {"", "!="} and clause.starred):
        return _translate_prefix(clause, negated=operator == "!=")
    if not clause.starred:
        return _translate_ordering(clause, operator or "==")  # a bare version is exact
    operator, fidelity, note = _STARRED[operator]
    piece = _translate_ordering(clause, operator)
    return _Piece(
        piece.specifiers,
        piece.lower,
        piece.upper,
        piece.interval and fidelity == "exact",
        _worst((piece.fidelity, fidelity)),
        (*piece.notes, f"{clause.text!r}: {note}"),
    )


def _lower_key(bound: _Bound | None) -> tuple[int, Version | None, bool]:
    # Sort key for lower bounds: unbounded first, and V before "just above V".
    return (0, None, False) if bound is None else (1, bound.version, not bound.inclusive)


def _upper_key(bound: _Bound | None) -> tuple[int, Version | None, bool]:
    # Sort key for upper bounds: "just below V" before V, and unbounded last.
    return (1, None, False) if bound is None else (0, bound.version, bound.inclusive)


def _is_empty(piece: _Piece) -> bool:
    lower, upper = piece.lower, piece.upper
    if lower is None or upper is None:
        return False
    if lower.version != upper.version:
        return lower.version > upper.version
    return not (lower.inclusive and upper.inclusive)


def _conjoin(pieces: Sequence[_Piece]) -> _Piece:
    lowers = [piece.lower for piece in pieces if piece.lower is not None]
    uppers = [piece.upper for piece in pieces if piece.upper is not None]
    return _Piece(
        _unique(spec for piece in pieces for spec in piece.specifiers),
        max(lowers, key=_lower_key, default=None),
        min(uppers, key=_upper_key, default=None),
        all(piece.interval for piece in pieces),
        _worst(piece.fidelity for piece in pieces),
        _unique(note for piece in pieces for note in piece.notes),
    )


def _gapless(pieces: Sequence[_Piece]) -> bool:
    ordered = sorted(pieces, key=lambda piece: _lower_key(piece.lower))
    reach = ordered[0].upper
    for piece in ordered[1:]:
        if reach is None:
            return True  # covered up to the top already
        lower = piece.lower
        if lower is not None and (
            lower.version > reach.version
            or (lower.version == reach.version and not (lower.inclusive or reach.inclusive))
        ):
            return False
        reach = max((reach, piece.upper), key=_upper_key)
    return True


def _disjoin(pieces: Sequence[_Piece]) -> _Piece:
    notes = _unique(note for piece in pieces for note in piece.notes)
    live = [piece for piece in pieces if not _is_empty(piece)]
    if len(live) <= 1:
        # At most one alternative can match anything: the union is that alternative.
        chosen = live[0] if live else pieces[0]
        return _Piece(
            chosen.specifiers, chosen.lower, chosen.upper, chosen.interval, chosen.fidelity, notes
        )
    lower = min((piece.lower for piece in live), key=_lower_key)
    upper = max((piece.upper for piece in live), key=_upper_key)
    if all(piece.interval and piece.fidelity == "exact" for piece in live) and _gapless(live):
        # The alternatives tile one range: its hull is their union (">=1,<2|>=2,<3").
        return _Piece(_render(lower, upper), lower, upper, notes=notes)
    fidelity = _worst(["widened", *(piece.fidelity for piece in live)])
    return _Piece(
        _render(lower, upper),
        lower,
        upper,
        interval=False,
        fidelity=fidelity,
        notes=(*notes, _HULL_NOTE),
    )


def _render(lower: _Bound | None, upper: _Bound | None) -> tuple[str, ...]:
    """Write an interval of PEP 440 versions (pre-releases included) as specifiers."""
    if lower and upper and lower == upper and lower.inclusive:
        return (f"=={lower.version}",)
    specifiers: list[str] = []
    if lower is not None:
        specifiers.append(f">={lower.version}")
        if not lower.inclusive:
            specifiers.append(f"!={lower.version}")
    if upper is not None:
        if upper.inclusive:
            specifiers.append(f"<={upper.version}")
        elif upper.version.is_prerelease:
            specifiers.append(f"<{upper.version}")
        else:
            # <V would also shut out V's pre-releases (PEP 440, "Exclusive ordered
            # comparison"); the interval holds them.
            specifiers.extend((f"<={upper.version}", f"!={upper.version}"))
    return tuple(specifiers)


def _translate_node(node: _Clause | _Group) -> _Piece:
    if isinstance(node, _Clause):
        return _translate_clause(node)
    pieces = [_translate_node(member) for member in node.members]
    return _conjoin(pieces) if node.joiner == "," else _disjoin(pieces)


def translate_version_spec(version_spec: str | None) -> VersionTranslation:
    """Translate a conda version spec to a PEP 440 ``SpecifierSet``.

    The spec is read as conda's ``VersionSpec`` reads it, where a bare ``1.2`` is exact
    (:class:`ParsedMatchSpec` has already written out the ``=`` form). ``None`` and ``*``
    are any version. ``1.2.*``, ``1.2*`` and ``=1.2`` become ``==1.2.*``; ``!=1.2.*`` stays;
    ``>=1.2.*`` is ``>=1.2``; ``,`` is AND; ``|`` becomes the narrowest single range that
    holds every alternative (``widened``, unless they tile it); regexes and infix globs are
    dropped (``untranslatable`` when nothing is left). ``<V`` and ``>V`` are written
    ``<=V,!=V`` and ``>=V,!=V`` because PEP 440 would shut out V's pre- and post-releases;
    ``<3.13.0a0`` stays as it is.

    :raises InvalidMatchSpec: for a version spec conda cannot read.
    """
    if version_spec is None:
        return VersionTranslation(SpecifierSet(), "exact")
    piece = _translate_node(_parse_version_spec(version_spec, version_spec))
    fidelity = piece.fidelity
    if fidelity == "untranslatable" and piece.specifiers:
        fidelity = "widened"  # some clauses were dropped, the rest still narrows
    return VersionTranslation(SpecifierSet(",".join(piece.specifiers)), fidelity, piece.notes)


# A project name (PEP 508 "Names"); the same pattern ``packaging`` uses.
_PROJECT_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


def to_requirement(pypi_name: str, translation: VersionTranslation) -> Requirement:
    """Return the PEP 508 requirement ``<pypi_name><specifier>``.

    :raises InvalidMapping: for a name that is not a PEP 508 project name (the names come
        from the conda -> PyPI name mapping).
    """
    if not _PROJECT_NAME.fullmatch(pypi_name):
        raise InvalidMapping(pypi_name, f"{pypi_name!r} is not a PEP 508 project name")
    return Requirement(f"{pypi_name}{translation.specifier}")


# Matching on the conda side (CEP 29, as conda and rattler do it): deciding whether a conda
# version satisfies a version spec without going through PEP 440.


def _glob_matches(pattern: str, text: str) -> bool:
    if pattern.startswith("^") and pattern.endswith("$"):
        # conda: a build or version written ^...$ is a regular expression.
        return re.match(pattern, text) is not None
    return fnmatchcase(text, pattern)


def _compatible_prefix(literal: str) -> _CondaVersion | None:
    # rattler: ~=V means >=V and "starts with V without its last segment"; for a
    # one-segment V only the epoch must match (parse_matchspec validated the literal).
    epoch, bang, main = _normalise(literal).rpartition("!")
    segments = main.split("+", 1)[0].split(".")
    if len(segments) == 1:
        return None
    return _parse_conda_version(f"{epoch}{bang}{'.'.join(segments[:-1])}")


def _clause_matches(clause: _Clause, text: str, version: _CondaVersion) -> bool:
    operator = clause.operator
    if operator == "*":
        return True
    if operator in {"regex", "glob"}:
        return _glob_matches(
            clause.literal if operator == "regex" else clause.literal.replace(".*", "*"), text
        )
    literal = _parse_conda_version(clause.literal)
    if literal is None:  # pragma: no cover - parse_matchspec refused it already
        return False
    if operator == "=" or (operator in {"", "!="} and clause.starred):
        return _starts_with(version, literal) != (operator == "!=")
    if clause.starred and operator == ">":
        operator = ">="  # rattler reads >1.2.* as >=1.2 (conda as >1.2); see matchspec
    order = _compare(version, literal)
    if operator == "~=":
        prefix = _compatible_prefix(clause.literal)
        if order < 0:
            return False
        return version.epoch == literal.epoch if prefix is None else _starts_with(version, prefix)
    results = {
        "": order == 0,
        "==": order == 0,
        "!=": order != 0,
        "<": order < 0,
        "<=": order <= 0,
        ">": order > 0,
        ">=": order >= 0,
    }
    return results[operator]


def _node_matches(node: _Clause | _Group, text: str, version: _CondaVersion) -> bool:
    if isinstance(node, _Clause):
        return _clause_matches(node, text, version)
    members = (_node_matches(member, text, version) for member in node.members)
    return all(members) if node.joiner == "," else any(members)


def version_matches(version: str, version_spec: str) -> bool:
    """Return whether the conda ``version`` satisfies ``version_spec`` (CEP 29).

    ``,`` binds tighter than ``|``; ``1.2.*`` and ``=1.2`` match by prefix, segment by
    segment (so ``1.20`` is not in ``1.2.*``); ``~=`` and starred comparisons follow
    rattler, like :mod:`condawheel.matchspec`; ``^...$`` versions are regular expressions
    and other globs are matched as conda does. A version that is not a conda version
    matches nothing but ``*``.

    :raises InvalidMatchSpec: if ``version_spec`` cannot be read.
    """
    tree = _parse_version_spec(version_spec, version_spec)
    parsed = _parse_conda_version(version)
    if parsed is None:
        return isinstance(tree, _Clause) and tree.operator == "*"
    return _node_matches(tree, version.strip().lower(), parsed)
