"""Whether a conda version satisfies a conda version spec, decided as conda does (pure).

Matching stays on the conda side (CEP 29, CEP 33): it never goes through PEP 440. Where
conda and rattler disagree, rattler is followed, as in the translation to PEP 440.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from condawheel.conda.matchspec.versions import compatible_prefix, parse_conda_version
from condawheel.conda.matchspec.versionspec import Clause, parse_version_spec

if TYPE_CHECKING:
    from condawheel.conda.matchspec.versions import CondaVersion
    from condawheel.conda.matchspec.versionspec import SpecNode

__all__ = ["pattern_matches", "version_matches"]


def pattern_matches(pattern: str, text: str) -> bool:
    """Return whether ``text`` (a build string or version) matches a conda pattern.

    As conda reads a MatchSpec's build or version field: ``^...$`` is a regular
    expression, anything else a case-sensitive glob (``py*``, ``*_cp312``, ``1.*.3``).
    """
    if pattern.startswith("^") and pattern.endswith("$"):
        return re.match(pattern, text) is not None
    return fnmatchcase(text, pattern)


def _clause_matches(clause: Clause, text: str, version: CondaVersion) -> bool:
    operator = clause.operator
    if operator == "*":
        return True
    if operator in {"regex", "glob"}:
        return pattern_matches(
            clause.literal if operator == "regex" else clause.literal.replace(".*", "*"), text
        )
    literal = parse_conda_version(clause.literal)
    if literal is None:  # a guard: parse_matchspec refused it already
        return False
    if operator == "=" or (operator in {"", "!="} and clause.starred):
        return version.starts_with(literal) != (operator == "!=")
    if clause.starred and operator == ">":
        operator = ">="  # rattler reads >1.2.* as >=1.2 (conda as >1.2), as translation does
    order = version.compare(literal)
    if operator == "~=":
        if order < 0:
            return False
        prefix_text = compatible_prefix(clause.literal)
        prefix = None if prefix_text is None else parse_conda_version(prefix_text)
        return version.epoch == literal.epoch if prefix is None else version.starts_with(prefix)
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


def _node_matches(node: SpecNode, text: str, version: CondaVersion) -> bool:
    if isinstance(node, Clause):
        return _clause_matches(node, text, version)
    members = (_node_matches(member, text, version) for member in node.members)
    return all(members) if node.joiner == "," else any(members)


def version_matches(version: str, version_spec: str) -> bool:
    """Return whether the conda ``version`` satisfies ``version_spec`` (CEP 29).

    ``,`` binds tighter than ``|``; ``1.2.*`` and ``=1.2`` match by prefix, segment by
    segment (so ``1.20`` is not in ``1.2.*``); ``~=`` and starred comparisons follow
    rattler, as the translation to PEP 440 does; ``^...$`` versions are regular expressions
    and other globs are matched as conda does. A version that is not a conda version
    matches nothing but ``*``.

    :raises InvalidMatchSpec: if ``version_spec`` cannot be read.
    """
    tree = parse_version_spec(version_spec, version_spec)
    parsed = parse_conda_version(version)
    if parsed is None:
        return isinstance(tree, Clause) and tree.operator == "*"
    return _node_matches(tree, version.strip().lower(), parsed)
