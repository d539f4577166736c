"""Conda MatchSpec strings read into their fields (CEP 29) (pure).

Follows conda's ``models/match_spec.py`` and rattler's ``match_spec/parse.rs``; where the
two disagree, rattler is followed (the differential tests run against it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from condawheel.conda.matchspec.versionspec import parse_version_spec
from condawheel.conda.subdirs import KNOWN_SUBDIRS
from condawheel.errors import InvalidMatchSpec

__all__ = ["ParsedMatchSpec", "parse_matchspec"]

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
_KNOWN_SUBDIRS: Final = frozenset(KNOWN_SUBDIRS)
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
        parse_version_spec(version, spec)
    return ParsedMatchSpec(spec, name, version, build, channel, subdir, namespace, brackets)
