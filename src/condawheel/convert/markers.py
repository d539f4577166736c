"""PEP 508 markers: tell the extras a requirement needs from its environment conditions (pure).

A requirement's marker may combine ``extra == "x"`` (an optional feature the installer
is asked for) with environment conditions (``python_version``, ``sys_platform``...). conda
has no optional dependencies, so when conda installs an extra's requirement always, or
when a tool hid the project's requirements under an extra of its own (whl2conda's
``original``), the wheel needs the requirement without its extra but with its
environment conditions. :func:`without_extras` does that where the marker allows it: the
extras must be required by the whole marker (joined to the rest with ``and`` at its top
level), not be one alternative among others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["SeparatedMarker", "separate_extras", "without_extras"]

# packaging parses a marker into nested lists of (left, operator, right) triples and the
# words "and"/"or"; each part serialises itself (``Variable``/``Value``/``Op``.serialize).


@dataclass(frozen=True)
class SeparatedMarker:
    """A marker split into the extras it requires and the environment condition left.

    :param extras: the conditions on extras, all required; each is a set of extras any
        one of which satisfies it (``(extra == "a" or extra == "b")`` is ``{a, b}``).
    :param environment: the rest of the marker, or ``None`` when nothing is left.
    """

    extras: tuple[frozenset[str], ...]
    environment: str | None

    @property
    def names(self) -> frozenset[str]:
        """Return every extra the marker names."""
        return frozenset(extra for group in self.extras for extra in group)


def separate_extras(marker: Marker | None) -> SeparatedMarker | None:
    """Split ``marker`` into the extras it requires and its environment condition.

    :returns: ``None`` when the extras cannot be taken out without changing the rest
        (``extra == "a" or python_version < "3"``: the requirement holds either way).
    """
    if marker is None:
        return SeparatedMarker((), None)
    nodes: list[object] = list(marker._markers)  # noqa: SLF001 - packaging's parsed form
    if "or" in nodes:  # the top level is a disjunction: all or nothing
        return None if _mentions_extra(nodes) else SeparatedMarker((), str(marker))
    extras: list[frozenset[str]] = []
    kept: list[object] = []
    for node in nodes[::2]:  # the terms; the words between them are all "and"
        named = _extra_group(node)
        if named is not None:
            extras.append(frozenset(named))
        elif _mentions_extra(node):
            return None
        else:
            kept.append(node)
    environment = str(Marker(" and ".join(_render(node) for node in kept))) if kept else None
    return SeparatedMarker(tuple(extras), environment)


def without_extras(requirement: Requirement, extras: Sequence[str] | None = None) -> str | None:
    """Return ``requirement`` without its condition on extras, environment kept.

    :param extras: only these extras count as given (``None``: every extra); a condition
        on others stays (``(extra == "a" or extra == "b")`` goes as soon as ``a`` is given).
    :returns: the requirement as PEP 508 text, or ``None`` when its marker cannot be
        separated (see :func:`separate_extras`).
    """
    separated = separate_extras(requirement.marker)
    if separated is None:
        return None
    given = None if extras is None else {canonicalize_name(extra) for extra in extras}
    remaining = [group for group in separated.extras if given is not None and not group & given]
    conditions = [_extra_condition(group) for group in remaining]
    if separated.environment is not None:
        conditions.insert(0, f"({separated.environment})" if remaining else separated.environment)
    stripped = Requirement(str(requirement))
    stripped.marker = Marker(" and ".join(conditions)) if conditions else None
    return str(stripped)


def _extra_condition(group: frozenset[str]) -> str:
    text = " or ".join(f'extra == "{extra}"' for extra in sorted(group))
    return f"({text})" if len(group) > 1 else text


def _extra_group(node: object) -> set[str] | None:
    """Return the extras ``node`` names if it only compares ``extra`` (``or``-joined)."""
    if isinstance(node, tuple):
        left, operator, right = node
        if str(operator) != "==":
            return None
        if _is_extra(left):
            return {canonicalize_name(str(right))}
        if _is_extra(right):
            return {canonicalize_name(str(left))}
        return None
    if isinstance(node, list):
        if any(word == "and" for word in node[1::2]):
            return None
        found: set[str] = set()
        for term in node[::2]:
            named = _extra_group(term)
            if named is None:
                return None
            found |= named
        return found
    return None


def _is_extra(part: object) -> bool:
    return type(part).__name__ == "Variable" and str(part) == "extra"


def _mentions_extra(node: object) -> bool:
    if isinstance(node, tuple):
        return any(_is_extra(part) for part in node)
    if isinstance(node, list):
        return any(_mentions_extra(term) for term in node)
    return False


def _render(node: object) -> str:
    """Write a parsed marker node back as PEP 508 text (as packaging's ``str`` does)."""
    if isinstance(node, tuple):
        return " ".join(part.serialize() for part in node)
    if isinstance(node, list):
        return "(" + " ".join(_render(term) for term in node) + ")"
    return str(node)
