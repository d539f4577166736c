"""Proof on the real channel: dependencies say what conda said, and every library resolves."""

from __future__ import annotations

import json
import zipfile
from typing import TYPE_CHECKING

import pytest
from conda_package_streaming.package_streaming import stream_conda_component
from packaging.metadata import Metadata, parse_email
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from condawheel.convert import ConversionResult, convert
from condawheel.matchspec import parse_matchspec, translate_version_spec
from condawheel.names import default_mapping
from condawheel.providers import load_providers
from conftest import corpus_root

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.corpus

CHANNEL = corpus_root() / "channel"
MAPPING = default_mapping()
C_EXTENSIONS = [
    "linux-64/cffi-1.17.1-py312h06ac9bb_0.conda",
    "linux-64/zstandard-0.23.0-py312hef9b889_1.conda",
    "linux-64/brotli-python-1.1.0-py312h2ec8cdc_2.conda",
    "linux-64/libmambapy-1.5.12-py312hbaee817_0.conda",
    "linux-64/pycosat-0.6.6-py312h66e93f0_2.conda",
    "linux-64/ruamel.yaml.clib-0.2.8-py312h66e93f0_1.conda",
]
NOT_PYPI = {
    "python",
    "python-abi",
    "libgcc",
    "libgcc-ng",
    "libstdcxx",
    "libstdcxx-ng",
    "libzlib",
    "openssl",
    "_openmp-mutex",
    "openmp-mutex",
}


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ConversionResult]:
    out = tmp_path_factory.mktemp("deps")
    providers = load_providers([CHANNEL])
    mapping = default_mapping()
    results = {}
    for path in sorted(CHANNEL.rglob("*")):
        if path.name.endswith((".conda", ".tar.bz2")):
            results[str(path.relative_to(CHANNEL))] = convert(
                path, out, mapping=mapping, providers=providers, threads=1
            )
    return results


def _read(result: ConversionResult) -> tuple[Metadata, dict[str, object], list[str] | None]:
    with zipfile.ZipFile(result.wheel) as archive:
        metadata = Metadata.from_email(
            archive.read(f"{result.plan.dist_info}/METADATA"), validate=True
        )
        sidecar = json.loads(archive.read(f"{result.plan.dist_info}/conda.json"))
    return metadata, sidecar, None


def _embedded_requires(package: Path) -> tuple[list[str] | None, set[str]]:
    """Return the shipped dist-info's Requires-Dist (if any), and every required name.

    The names also cover an egg-info's requires.txt (one PEP 508 line per requirement).
    """
    requires: list[str] | None = None
    names: set[str] = set()
    for tar, member in stream_conda_component(str(package), component="pkg"):
        parts = member.name.split("/")
        if len(parts) < 3 or parts[-3] != "site-packages":
            continue
        body = tar.extractfile(member)
        if body is None:
            continue
        if member.name.endswith(".dist-info/METADATA"):
            raw, _ = parse_email(body.read())
            requires = list(raw.get("requires_dist", []))
            names |= {canonicalize_name(Requirement(r).name) for r in requires}
        elif member.name.endswith(".egg-info/requires.txt"):
            for line in body.read().decode().splitlines():
                if line.strip() and not line.startswith("["):
                    names.add(canonicalize_name(Requirement(line).name))
    return requires, names


def test_requires_dist_holds_only_pypi_names_and_agrees_with_metadata(
    converted: dict[str, ConversionResult],
) -> None:
    for name, result in converted.items():
        if result.plan.kind != "python":
            continue
        metadata, sidecar, _ = _read(result)
        requires = [Requirement(str(r)) for r in metadata.requires_dist or []]
        embedded, embedded_names = _embedded_requires(CHANNEL / name)
        if embedded is not None:
            assert [str(r) for r in requires] == [str(Requirement(r)) for r in embedded], name
        for requirement in requires:
            pypi = canonicalize_name(requirement.name)
            assert pypi not in NOT_PYPI, (name, str(requirement))
            # A name comes from the package's own metadata, or the mapping knows it as a
            # Python distribution: conda-only names never reach Requires-Dist.
            assert pypi in embedded_names or MAPPING.conda_names(pypi), (name, str(requirement))
        dependencies = sidecar["dependencies"]
        assert isinstance(dependencies, dict)
        for comparison in dependencies["metadata_vs_conda"]:
            assert comparison["used"] == "metadata", (name, comparison)


def test_requires_python_matches_the_conda_python_dependency(
    converted: dict[str, ConversionResult],
) -> None:
    checked = 0
    for name, result in converted.items():
        if result.plan.kind != "python":
            continue
        metadata, sidecar, _ = _read(result)
        index = sidecar["index"]
        assert isinstance(index, dict)
        python_specs = [
            parse_matchspec(spec) for spec in index["depends"] if spec.split()[0] == "python"
        ]
        versions = [spec.version for spec in python_specs if spec.version]
        if not versions:
            continue
        expected = SpecifierSet()
        for version in versions:
            expected &= translate_version_spec(version).specifier
        assert metadata.requires_python == expected, name
        checked += 1
    assert checked > 30


def test_every_needed_library_of_the_c_extensions_resolves(
    converted: dict[str, ConversionResult],
) -> None:
    for name in C_EXTENSIONS:
        metadata, sidecar, _ = _read(converted[name])
        libraries = sidecar["libraries"]
        assert isinstance(libraries, dict)
        assert libraries["providers_given"] is True
        binaries = libraries["binaries"]
        assert binaries, name  # the extension modules were analysed
        providers = set()
        for binary in binaries:
            for library in binary["libraries"]:
                assert library["kind"] != "unresolved", (name, binary["path"], library)
                if library["kind"] == "dependency":
                    providers.add(library["dependency"])
        external = {line.split(" ", 1)[0] for line in metadata.requires_external or []}
        assert providers <= external, (name, providers, external)
