"""Resolve every library the binaries of one wheel need, as the loader would, and report it (pure).

Each needed library resolves to the first match along the binary's search path
(:mod:`.search`): a file of the wheel, else a file that a declared conda dependency ships
(:class:`~condawheel.binaries.libraries.SonameProviders`), else the system when the
policy (:mod:`.policy`) lists it, else ``unresolved`` with the reason. The report also
judges under- and over-declared dependencies, as conda-build's overlinking checks do.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, TypeAlias

from condawheel.binaries.facts import unique
from condawheel.binaries.policy import default_policy
from condawheel.binaries.search import loader_candidates, normalize

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from condawheel.binaries.facts import BinaryFacts
    from condawheel.binaries.libraries import SonameProviders
    from condawheel.binaries.policy import SystemPolicy
    from condawheel.io.jsondata import JSONObject, JSONValue

__all__ = [
    "BinaryReport",
    "LibraryReport",
    "Resolution",
    "ResolvedLibrary",
    "resolve_in_environment",
    "resolve_libraries",
]

Resolution: TypeAlias = Literal["wheel", "system", "dependency", "unresolved"]


@dataclass(frozen=True)
class ResolvedLibrary:
    """Where one needed library of one binary comes from."""

    name: str
    kind: Resolution
    # How it was found, or why it was not.
    reason: str
    # wheel / dependency: the prefix-relative path the loader opens.
    location: str | None = None
    # dependency: the declared conda dependency that brings the library.
    dependency: str | None = None
    # dependency: the conda package that ships it; differs from ``dependency`` when the
    # declared dependency is a package without libraries (``libgcc-ng`` -> ``libgcc``).
    package: str | None = None
    # Conda packages that ship the library but are not declared (system / unresolved).
    undeclared_providers: tuple[str, ...] = ()
    # A Mach-O weak dylib or PE delay-loaded DLL: the binary loads without it.
    optional: bool = False

    def to_json(self) -> JSONObject:
        """Return a JSON object with a fixed key order, leaving out empty fields."""
        data: JSONObject = {"name": self.name, "kind": self.kind}
        for key, value in (
            ("location", self.location),
            ("dependency", self.dependency),
            ("package", self.package),
        ):
            if value is not None:
                data[key] = value
        if self.undeclared_providers:
            data["undeclared_providers"] = _json_list(self.undeclared_providers)
        if self.optional:
            data["optional"] = True
        data["reason"] = self.reason
        return data


@dataclass(frozen=True)
class BinaryReport:
    """One binary of the wheel, at its installed path, and its resolved libraries."""

    path: str
    facts: BinaryFacts
    libraries: tuple[ResolvedLibrary, ...]

    def to_json(self) -> JSONObject:
        """Return a JSON object with a fixed key order, leaving out empty fields."""
        facts = self.facts
        data: JSONObject = {
            "path": self.path,
            "format": facts.format,
            "kind": facts.kind,
            "archs": _json_list(facts.archs),
        }
        if facts.soname is not None:
            data["soname"] = facts.soname
        if facts.rpaths:
            data["rpaths"] = _json_list(facts.rpaths)
        if facts.runpaths:
            data["runpaths"] = _json_list(facts.runpaths)
        if facts.error is not None:
            data["error"] = facts.error
        data["libraries"] = [library.to_json() for library in self.libraries]
        return data


@dataclass(frozen=True)
class LibraryReport:
    """The external-library analysis of one wheel."""

    binaries: tuple[BinaryReport, ...]
    # Needed libraries that no declared dependency provides and that are neither in the
    # wheel nor system libraries; judged only with a providers index.
    under_declared: tuple[str, ...]
    # Declared dependencies that ship shared libraries (in loader directories) which no
    # binary of the wheel links, as conda-build's overdepending check reports them.
    over_declared: tuple[str, ...]
    # Declared dependencies that provide at least one linked library.
    linked_dependencies: tuple[str, ...]
    # Declared dependencies the providers index does not know, so not judged.
    unjudged_dependencies: tuple[str, ...]
    providers_given: bool

    @property
    def unresolved(self) -> tuple[str, ...]:
        """Return the names of all needed libraries that resolved to nothing, sorted."""
        return tuple(
            sorted(
                {
                    library.name
                    for binary in self.binaries
                    for library in binary.libraries
                    if library.kind == "unresolved"
                }
            )
        )

    def to_json(self) -> JSONObject:
        """Return the sidecar form: fixed key order, binaries sorted by path, sorted lists."""
        binaries: list[JSONValue] = [binary.to_json() for binary in self.binaries]
        return {
            "providers_given": self.providers_given,
            "binaries": binaries,
            "under_declared": _json_list(self.under_declared),
            "over_declared": _json_list(self.over_declared),
            "linked_dependencies": _json_list(self.linked_dependencies),
            "unjudged_dependencies": _json_list(self.unjudged_dependencies),
        }


def _json_list(values: Iterable[str]) -> list[JSONValue]:
    items: list[JSONValue] = []
    items.extend(values)
    return items


# Interpreters host extension modules rather than being linked by them: never over-declared.
_INTERPRETERS = frozenset({"python", "pypy", "pypy3"})
_METAPACKAGE_DEPTH = 4


@dataclass(frozen=True)
class _Context:
    wheel: Mapping[str, BinaryFacts]
    wheel_folded: Mapping[str, tuple[str, BinaryFacts]]
    providers: SonameProviders | None
    # conda package -> the declared dependency that brings it (itself, or a declared
    # package without libraries of its own that depends on it)
    effective: Mapping[str, str]
    declared: frozenset[str]
    unjudged: tuple[str, ...]
    placeholders: tuple[str, ...]
    policy: SystemPolicy


def resolve_libraries(
    binaries: Mapping[str, BinaryFacts],
    *,
    declared: Collection[str],
    providers: SonameProviders | None = None,
    prefix_placeholders: Collection[str] = (),
    policy: SystemPolicy | None = None,
) -> LibraryReport:
    """Resolve every library every binary of one wheel needs, as the loader would.

    Each library resolves to the first match along the binary's search path (a file of
    this wheel, else a file that a declared dependency ships), else to the system when it
    is a system library, else to ``unresolved`` with the reason.

    :param binaries: installed prefix-relative path -> facts, for every binary of the
        wheel; symbolic links included under their own names.
    :param declared: names of the package's declared conda dependencies.
    :param providers: the ``--libs-from`` index; without it only the wheel and the system
        are searched, and neither under- nor over-declaration is judged.
    :param prefix_placeholders: the package's prefix placeholders, so that absolute
        search paths into the build prefix are understood.
    :param policy: which libraries the host system provides; the shipped policy
        (:func:`~condawheel.binaries.policy.default_policy`) when not given.
    """
    declared_names = frozenset(declared)
    wheel: dict[str, BinaryFacts] = {}
    for path, facts in binaries.items():
        normalized = normalize(path)
        if normalized:
            wheel[normalized] = facts
    context = _Context(
        wheel=wheel,
        wheel_folded={path.casefold(): (path, facts) for path, facts in sorted(wheel.items())},
        providers=providers,
        effective=_effective_providers(declared_names, providers),
        declared=declared_names,
        unjudged=tuple(
            sorted(
                name
                for name in declared_names
                if providers is not None
                and name not in providers.packages
                and not name.startswith("__")  # virtual packages ship nothing
            )
        ),
        placeholders=tuple(p.rstrip("/") for p in prefix_placeholders if p.strip("/")),
        policy=default_policy() if policy is None else policy,
    )
    # Binaries that share a directory and a search path find each library in the same
    # place: 3,000 extension modules in a few hundred directories resolve each of their
    # libraries a few hundred times, not 9,000 (ResolvedLibrary names no binary).
    resolved: dict[tuple[tuple[object, ...], str], ResolvedLibrary] = {}
    reports = []
    for path, facts in sorted(wheel.items()):
        searches = _search_key(path, facts)
        libraries = []
        for name in facts.needed:
            library = resolved.get((searches, name))
            if library is None:
                library = resolved[searches, name] = _resolve(path, facts, name, context)
            libraries.append(library)
        reports.append(BinaryReport(path, facts, tuple(libraries)))
    return _summarize(tuple(reports), context)


def _search_key(path: str, facts: BinaryFacts) -> tuple[object, ...]:
    """Return all that :func:`_resolve` reads of a binary, but the library's name.

    The loader's candidates depend on the binary's directory, format, kind and search
    paths (:func:`~condawheel.binaries.search.loader_candidates`), a match on its
    architectures, the system policy on its format, and the outcome on whether the
    library is optional. Not on its file name, soname or other needed libraries.
    """
    return (
        posixpath.dirname(path),
        facts.format,
        facts.kind,
        facts.archs,
        facts.rpaths,
        facts.runpaths,
        facts.optional,
    )


def resolve_in_environment(
    binaries: Mapping[str, BinaryFacts],
    environment: SonameProviders,
    *,
    prefix_placeholders: Collection[str] = (),
    policy: SystemPolicy | None = None,
) -> LibraryReport:
    """Resolve the binaries of a build made in a conda environment against that environment.

    A wheel built with an environment's Python declares nothing yet: what it links is what
    the environment offered. So every package installed there counts as declared, and each
    library resolves to the wheel, to the conda package of the environment that ships it
    (``package``, and ``dependency``, the same name unless reached through a package that
    ships no library), to the system policy, or to ``unresolved``. The packages to
    declare are ``linked_dependencies``; ``unresolved`` names the libraries that make the
    build unusable elsewhere. Declarations are not judged: ``under_declared`` and
    ``over_declared`` are empty.

    :param binaries: installed prefix-relative path -> facts (see :func:`resolve_libraries`).
    :param environment: the environment's index, from
        :func:`condawheel.binaries.providers.load_providers` on its prefix.
    :param prefix_placeholders: absolute paths that stand for the prefix (the environment's
        own path, when the build recorded absolute search paths into it).
    :param policy: which libraries the host system provides; the shipped policy by default.
    """
    report = resolve_libraries(
        binaries,
        declared=environment.packages.keys(),
        providers=environment,
        prefix_placeholders=prefix_placeholders,
        policy=policy,
    )
    return replace(report, under_declared=(), over_declared=())


def _effective_providers(
    declared: frozenset[str], providers: SonameProviders | None
) -> dict[str, str]:
    effective = {name: name for name in sorted(declared)}
    if providers is None:
        return effective
    # A declared package that ships no library at all (libgcc-ng, libstdcxx-ng, vc, ...)
    # stands for its dependencies: follow them, a few levels deep.
    frontier = [(name, name) for name in sorted(declared) if _ships_nothing(providers, name)]
    for _ in range(_METAPACKAGE_DEPTH):
        following = []
        for package, root in frontier:
            for child in sorted(providers.depends.get(package, ())):
                if child not in effective:
                    effective[child] = root
                    if _ships_nothing(providers, child):
                        following.append((child, root))
        frontier = following
    return effective


def _ships_nothing(providers: SonameProviders, name: str) -> bool:
    return name in providers.packages and not providers.packages[name]


def _resolve(path: str, facts: BinaryFacts, name: str, context: _Context) -> ResolvedLibrary:
    optional = name in facts.optional
    candidates, notes = loader_candidates(path, facts, name, context.placeholders)
    casefold = facts.format == "pe"  # Windows file names are case-insensitive
    undeclared: set[str] = set()
    for candidate, how in candidates:
        location, found = _in_wheel(candidate, context, casefold=casefold)
        if found is not None:
            if _compatible(facts, found):
                return ResolvedLibrary(
                    name,
                    "wheel",
                    f"in this wheel, found through {how}",
                    location=location,
                    optional=optional,
                )
            notes.append(f"skipped {location}, built for {'/'.join(found.archs) or '?'}")
            continue
        if context.providers is None:
            continue
        location, shipped = context.providers.packages_at(candidate, casefold=casefold)
        bringing = sorted(
            shipped & context.effective.keys(),
            key=lambda package: (context.effective[package] != package, package),
        )
        if bringing:
            package = bringing[0]
            dependency = context.effective[package]
            through = "" if dependency == package else f" (through declared {dependency!r})"
            return ResolvedLibrary(
                name,
                "dependency",
                f"shipped by {package!r}{through}, found through {how}",
                location=location,
                dependency=dependency,
                package=package,
                optional=optional,
            )
        undeclared |= shipped
    if context.providers is not None:
        undeclared |= context.providers.providers_of(posixpath.basename(name)) - set(
            context.effective
        )
    system = context.policy.reason(facts.format, name)
    if system is not None:
        if undeclared:
            system += f"; also shipped by undeclared {_quoted(undeclared)}"
        return ResolvedLibrary(
            name,
            "system",
            system,
            undeclared_providers=tuple(sorted(undeclared)),
            optional=optional,
        )
    reason = _unresolved_reason(name, candidates, undeclared, notes, context)
    if optional:
        reason = f"optional ({'delay-loaded' if casefold else 'weak'}): {reason}"
    return ResolvedLibrary(
        name,
        "unresolved",
        reason,
        undeclared_providers=tuple(sorted(undeclared)),
        optional=optional,
    )


def _in_wheel(
    candidate: str, context: _Context, *, casefold: bool
) -> tuple[str, BinaryFacts | None]:
    if casefold:
        return context.wheel_folded.get(candidate.casefold(), (candidate, None))
    return candidate, context.wheel.get(candidate)


def _unresolved_reason(
    name: str,
    candidates: list[tuple[str, str]],
    undeclared: set[str],
    notes: list[str],
    context: _Context,
) -> str:
    searched = unique(_directory(candidate) for candidate, _ in candidates)
    details = "; ".join([*([f"searched {', '.join(searched)}"] if searched else []), *notes])
    suffix = f" ({details})" if details else ""
    providers = context.providers
    if providers is None:
        return f"not in this wheel and not a system library; no providers index given{suffix}"
    declared_elsewhere = providers.providers_of(posixpath.basename(name)) & context.effective.keys()
    if declared_elsewhere:
        return (
            f"declared {_quoted(declared_elsewhere)} ships it, but not on this binary's "
            f"search path{suffix}"
        )
    if undeclared:
        parents = sorted(
            dependency
            for dependency in context.declared
            if undeclared & providers.depends.get(dependency, frozenset())
        )
        comes_with = f"; it comes in through declared {_quoted(parents)}" if parents else ""
        return f"shipped by {_quoted(undeclared)}, which is not declared{comes_with}{suffix}"
    if context.unjudged:
        return (
            f"no known conda package ships it; declared {_quoted(context.unjudged)} "
            f"are not in the providers index{suffix}"
        )
    return f"no known conda package ships it{suffix}"


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(repr(name) for name in sorted(names))


def _directory(candidate: str) -> str:
    return (posixpath.dirname(candidate) or ".") + "/"


def _compatible(binary: BinaryFacts, library: BinaryFacts) -> bool:
    # The loader skips a file of another format, class or machine, and searches on.
    if binary.format != library.format:
        return False
    return not binary.archs or not library.archs or bool(set(binary.archs) & set(library.archs))


def _summarize(reports: tuple[BinaryReport, ...], context: _Context) -> LibraryReport:
    providers = context.providers
    linked = sorted(
        {
            library.dependency
            for report in reports
            for library in report.libraries
            if library.kind == "dependency" and library.dependency is not None
        }
    )
    under: set[str] = set()
    over: list[str] = []
    if providers is not None:
        for report in reports:
            for library in report.libraries:
                if library.kind != "unresolved" or library.optional:
                    continue
                declared_ships = providers.providers_of(posixpath.basename(library.name)) & (
                    context.effective.keys()
                )
                # A declared dependency may ship it off the search path: not under-declared.
                # Without any shipper, only sure when every declared dependency is known.
                if not declared_ships and (library.undeclared_providers or not context.unjudged):
                    under.add(library.name)
        if any(report.facts.kind != "object" for report in reports):
            over = sorted(
                name
                for name in context.declared
                if name not in _INTERPRETERS
                and name not in linked
                and providers.loader_libraries(name)
            )
    return LibraryReport(
        binaries=reports,
        under_declared=tuple(sorted(under)),
        over_declared=tuple(over),
        linked_dependencies=tuple(linked),
        unjudged_dependencies=context.unjudged,
        providers_given=providers is not None,
    )
