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

from condawheel.binaries.providers import load_providers
from condawheel.convert import ConversionResult, convert, plan_package
from condawheel.convert.names import default_mapping
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
        dependencies = sidecar["dependencies"]
        assert isinstance(dependencies, dict)
        added = dependencies["requires_dist_added"]
        if embedded is not None:
            # METADATA's own lines, then what conda installs that they leave to an extra.
            expected = [str(Requirement(r)) for r in [*embedded, *added]]
            assert [str(r) for r in requires] == expected, name
        for requirement in requires:
            pypi = canonicalize_name(requirement.name)
            assert pypi not in NOT_PYPI, (name, str(requirement))
            # A name comes from the package's own metadata, or the mapping knows it as a
            # Python distribution: conda-only names never reach Requires-Dist.
            assert pypi in embedded_names or MAPPING.conda_names(pypi), (name, str(requirement))
        for comparison in dependencies["metadata_vs_conda"]:
            # Every decision is recorded with the lines the wheel declares for the name.
            if comparison["used"] == "metadata":
                assert comparison["wheel"] == comparison["metadata"], (name, comparison)
            else:
                assert set(comparison["wheel"]) <= set(added), (name, comparison)


# Requires-Python of named packages, written out: conda's python spec as people read it.
REQUIRES_PYTHON = {
    "linux-64/cffi-1.17.1-py312h06ac9bb_0.conda": ">=3.12,<3.13.0a0",
    "linux-64/conda-24.11.3-py312h7900ff3_0.conda": ">=3.12,<3.13.0a0",
    "linux-64/ruamel.yaml.clib-0.2.8-py312h66e93f0_1.conda": ">=3.12,<3.13.0a0",
    "noarch/pip-24.3.1-pyh8b19718_2.conda": ">=3.9,<3.13.0a0",
    "noarch/tqdm-4.67.1-pyhd8ed1ab_1.conda": ">=3.9",
    "noarch/urllib3-2.3.0-pyhd8ed1ab_0.conda": ">=3.9",
}


def test_requires_python_matches_the_conda_python_dependency(
    converted: dict[str, ConversionResult],
) -> None:
    for name, expected in REQUIRES_PYTHON.items():
        metadata, _, _ = _read(converted[name])
        assert metadata.requires_python == SpecifierSet(expected), name
    # Every other Python package with a python dependency has a Requires-Python too, and
    # the interpreter it was built for (3.12, the channel's python) satisfies it.
    checked = 0
    for name, result in converted.items():
        if result.plan.kind != "python":
            continue
        metadata, sidecar, _ = _read(result)
        index = sidecar["index"]
        assert isinstance(index, dict)
        if not any(spec.split()[0] == "python" for spec in index["depends"]):
            continue
        assert metadata.requires_python is not None, name
        assert metadata.requires_python.contains("3.12.4"), name
        assert not metadata.requires_python.contains("2.7"), name
        checked += 1
    assert checked > 30


# What METADATA and conda's depends say differently, for real packages (name, difference).
DISAGREEMENTS = {
    "noarch/urllib3-2.3.0-pyhd8ed1ab_0.conda": {
        ("brotli", "condition"),  # conda: brotli-python always; METADATA: extra 'brotli'
        ("h2", "condition"),
        ("pysocks", "condition"),
        ("zstandard", "condition"),
    },
    "noarch/tqdm-4.67.1-pyhd8ed1ab_1.conda": {("colorama", "condition")},  # Windows only
    # the recipe adds what the project leaves to the user: conda installs them, so does pip
    "noarch/pip-24.3.1-pyh8b19718_2.conda": {("setuptools", "only-conda"), ("wheel", "only-conda")},
    "linux-64/zstandard-0.23.0-py312hef9b889_1.conda": {("cffi", "condition")},  # PyPy only
}


def test_metadata_and_conda_disagreements_are_recorded(
    converted: dict[str, ConversionResult],
) -> None:
    for name, expected in DISAGREEMENTS.items():
        _, sidecar, _ = _read(converted[name])
        dependencies = sidecar["dependencies"]
        assert isinstance(dependencies, dict)
        found = dependencies["metadata_vs_conda"]
        assert {(item["name"], item["difference"]) for item in found} == expected, name
        for item in found:
            assert item["metadata"] or item["difference"] == "only-conda", (name, item)
            assert item["conda"], (name, item)
            assert "repodata" not in item["why"], (name, item)
    _, sidecar, _ = _read(converted["noarch/urllib3-2.3.0-pyhd8ed1ab_0.conda"])
    dependencies = sidecar["dependencies"]
    assert isinstance(dependencies, dict)
    (brotli,) = [item for item in dependencies["metadata_vs_conda"] if item["name"] == "brotli"]
    assert brotli["conda"] == ["brotli-python >=1.0.9"]
    assert brotli["conda_as_pep508"] == ["brotli>=1.0.9"]
    assert brotli["metadata"] == [
        'brotli>=1.0.9; platform_python_implementation == "CPython" and extra == "brotli"'
    ]
    # conda installs the extra's package always: so does the wheel, on the platforms
    # METADATA names (brotlicffi, the extra's PyPy half, is in neither conda's depends nor
    # the wheel's unconditional requirements).
    assert brotli["used"] == "metadata-without-extra"
    assert brotli["wheel"] == ['brotli>=1.0.9; platform_python_implementation == "CPython"']
    metadata, _, _ = _read(converted["noarch/urllib3-2.3.0-pyhd8ed1ab_0.conda"])
    unconditional = {
        str(r) for r in metadata.requires_dist or [] if "extra" not in str(r.marker or "")
    }
    assert unconditional == {
        'brotli>=1.0.9; platform_python_implementation == "CPython"',
        "h2<5,>=4",
        "pysocks!=1.5.7,<2.0,>=1.5.6",
        "zstandard>=0.18.0",
    }
    (cffi,) = [
        item
        for item in _read(converted["linux-64/zstandard-0.23.0-py312hef9b889_1.conda"])[1][
            "dependencies"
        ]["metadata_vs_conda"]  # type: ignore[index]
        if item["name"] == "cffi"
    ]
    assert cffi["used"] == "metadata"  # METADATA's marker says where: PyPy only


def _distributions(package: Path) -> set[str]:
    """Return the PyPI names of the *.dist-info / *.egg-info a package ships in site-packages.

    Only top-level ones: setuptools vendors other distributions below its own.
    """
    found: set[str] = set()
    for _, member in stream_conda_component(str(package), component="pkg"):
        parts = member.name.split("/")
        if len(parts) < 3 or parts[-3] != "site-packages":
            continue
        if parts[-2].endswith(".dist-info"):
            found.add(canonicalize_name(parts[-2].removesuffix(".dist-info").rsplit("-", 1)[0]))
        elif parts[-2].endswith(".egg-info"):
            found.add(canonicalize_name(parts[-2].split("-", 1)[0]))
    return found


# conda-forge `mamba` ships a mamba dist-info, but PyPI `mamba` is another project
# (mappings/overrides.yaml).
NOT_MAPPED_ON_PURPOSE = {"mamba"}


def test_python_packages_of_the_channel_are_python_in_the_mapping() -> None:
    """The parselmouth check on the channel: a package's dist-info names its PyPI name."""
    checked = 0
    for path in sorted(CHANNEL.rglob("*")):
        if not path.name.endswith((".conda", ".tar.bz2")):
            continue
        conda_name = path.name.rsplit("-", 2)[0]
        distributions = _distributions(path)
        if not distributions or conda_name in NOT_MAPPED_ON_PURPOSE:
            continue
        assert MAPPING.pypi_name(conda_name) in distributions, (conda_name, distributions)
        checked += 1
    assert checked >= 35


def test_requires_external_holds_no_python_distribution(
    converted: dict[str, ConversionResult],
) -> None:
    # Judged by what the named packages ship, not by the mapping that made the lines.
    packages = {
        path.name.rsplit("-", 2)[0]: path
        for path in CHANNEL.rglob("*")
        if path.name.endswith((".conda", ".tar.bz2"))
    }
    checked = 0
    for name, result in converted.items():
        metadata, _, _ = _read(result)
        for line in metadata.requires_external or []:
            conda_name = line.split(" ", 1)[0]
            if conda_name in packages and conda_name not in NOT_MAPPED_ON_PURPOSE:
                assert not _distributions(packages[conda_name]), (name, line)
                checked += 1
    assert checked >= 50
    # Old conda, whose egg-info declares nothing: its Python dependencies are not external.
    edge = corpus_root() / "edge" / "starrysky1211+starrysky" / "conda-4.3.13-py27_0.tar.bz2"
    plan = plan_package(edge, mapping=MAPPING)
    metadata = Metadata.from_email(plan.metadata, validate=False)
    assert metadata.requires_external == ["conda-env (>=2.6)"]


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
