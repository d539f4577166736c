"""Conda version specs read into a tree of clauses (CEP 29) (pure).

``,`` (AND) binds tighter than ``|`` (OR) and parentheses group. The tree is what
MatchSpec parsing validates, what matching walks and what translation to PEP 440 walks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypeAlias

from condawheel.conda.matchspec.versions import parse_conda_version
from condawheel.errors import InvalidMatchSpec

__all__ = ["Clause", "Group", "SpecNode", "parse_version_spec"]


@dataclass(frozen=True)
class Clause:
    r"""One version clause, such as ``>=1.2``, ``1.2.*``, ``*`` or ``^1\.2$``."""

    text: str  # as written, without surrounding space
    operator: str  # "", "==", "!=", "<", "<=", ">", ">=", "~=", "=", or "*" / "regex" / "glob"
    literal: str  # the version, without operator and trailing '*' / '.*'
    starred: bool = False  # the version ended in '*' or '.*'


@dataclass(frozen=True)
class Group:
    """Clauses or groups joined by ``,`` (all must hold) or ``|`` (one must)."""

    joiner: Literal[",", "|"]
    members: tuple[SpecNode, ...]


SpecNode: TypeAlias = Clause | Group
"""A parsed version spec, or a part of one."""

_TOKENS = re.compile(r"\s*(\^[^$]*\$|[()|,]|[^()|,]+)")
_CLAUSE = re.compile(r"(?P<operator>==|!=|<=|>=|~=|<|>|=)?\s*(?P<literal>[^\s()|,=<>!~][^\s()|,]*)")


def _read_clause(text: str, spec: str) -> Clause:
    if text == "*":
        return Clause(text, "*", "")
    if text.startswith("^") or text.endswith("$"):
        # conda: a regex must be anchored at both ends.
        if not (text.startswith("^") and text.endswith("$")):
            raise InvalidMatchSpec(spec, f"regex version {text!r} must start '^' and end '$'")
        try:
            re.compile(text)
        except re.error as error:
            raise InvalidMatchSpec(spec, f"regex version {text!r} does not compile") from error
        return Clause(text, "regex", text)
    match = _CLAUSE.fullmatch(text)
    if match is None:
        raise InvalidMatchSpec(spec, f"{text!r} is not a version clause (CEP 29)")
    operator, literal = match["operator"] or "", match["literal"]
    starred = literal.endswith("*")
    base = literal[:-2] if literal.endswith(".*") else literal.removesuffix("*")
    if "*" in base:
        if operator:
            raise InvalidMatchSpec(spec, f"{text!r} mixes an operator and a glob")
        return Clause(text, "glob", literal)
    if parse_conda_version(base) is None:
        raise InvalidMatchSpec(spec, f"{base!r} in {text!r} is not a conda version (CEP 33)")
    return Clause(text, operator, base, starred=starred)


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


def parse_version_spec(text: str, spec: str) -> SpecNode:
    """Read the version spec ``text`` into a tree of clauses.

    :param spec: the string an error names: the MatchSpec the version spec came from, or
        the version spec itself.
    :raises InvalidMatchSpec: for a version spec conda cannot read.
    """
    tokens = _tokenize(text, spec)
    if not tokens:
        raise InvalidMatchSpec(spec, "empty version spec")
    node, end = _parse_joined(tokens, 0, spec, "|")
    if end != len(tokens):
        raise InvalidMatchSpec(spec, f"unexpected {tokens[end]!r} in version spec {text!r}")
    return node


def _parse_joined(
    tokens: list[str], index: int, spec: str, joiner: Literal[",", "|"]
) -> tuple[SpecNode, int]:
    # '|' joins ','-groups and ',' joins atoms, so ',' binds tighter (CEP 29).
    members: list[SpecNode] = []
    while True:
        if joiner == "|":
            node, index = _parse_joined(tokens, index, spec, ",")
        else:
            node, index = _parse_atom(tokens, index, spec)
        members.append(node)
        if index >= len(tokens) or tokens[index] != joiner:
            break
        index += 1
    return (members[0] if len(members) == 1 else Group(joiner, tuple(members))), index


def _parse_atom(tokens: list[str], index: int, spec: str) -> tuple[SpecNode, int]:
    if index >= len(tokens):
        raise InvalidMatchSpec(spec, "version spec ends where a version was expected")
    item = tokens[index]
    if item == "(":
        node, index = _parse_joined(tokens, index + 1, spec, "|")
        if index >= len(tokens) or tokens[index] != ")":
            raise InvalidMatchSpec(spec, "unbalanced '(' in version spec")
        return node, index + 1
    if item in {")", "|", ","}:
        raise InvalidMatchSpec(spec, f"unexpected {item!r} where a version was expected")
    return _read_clause(item, spec), index + 1
