"""translate_dependencies: what each conda dependency becomes, and what the sidecar says."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from packaging.requirements import Requirement

from condawheel.convert.deps import DependencyTranslation, translate_dependencies
from condawheel.convert.names import NameMapping, default_mapping

if TYPE_CHECKING:
    from collections.abc import Sequence

MAPPING = default_mapping()


def plan(
    depends: Sequence[str],
    embedded: Sequence[str] | None = None,
    mapping: NameMapping = MAPPING,
) -> DependencyTranslation:
    return translate_dependencies(
        depends,
        mapping=mapping,
        embedded_requires=embedded,
        embedded_requires_python=None,
        subject="test",
    )


def sidecar(result: DependencyTranslation) -> Any:
    """Return the sidecar's ``dependencies`` as the JSON a reader of conda.json gets."""
    return json.loads(json.dumps(result.to_json()))


def record(result: DependencyTranslation, spec: str) -> Any:
    (found,) = [item for item in sidecar(result)["depends"] if item["spec"] == spec]
    return found


def comparison(result: DependencyTranslation, name: str) -> Any:
    (found,) = [item for item in sidecar(result)["metadata_vs_conda"] if item["name"] == name]
    return found


# ---------------------------------------------------------------- kinds and where they go


@pytest.mark.parametrize(
    ("embedded", "expected"),
    [
        # the same specifiers, spelt otherwise (six's METADATA; whl2conda's python dep)
        (">=2.7, !=3.0.*, !=3.1.*", ">=2.7, !=3.0.*, !=3.1.*"),
        ("!=3.1.*,!=3.0.*,>=2.7", "!=3.1.*,!=3.0.*,>=2.7"),
        # conda's spec says something else: conda's wins
        (">=2.7", ">=2.7,!=3.0.*,!=3.1.*"),
        ("not a specifier", ">=2.7,!=3.0.*,!=3.1.*"),
        (None, ">=2.7,!=3.0.*,!=3.1.*"),
    ],
)
def test_requires_python_keeps_the_projects_spelling(embedded: str | None, expected: str) -> None:
    result = translate_dependencies(
        ["python >=2.7,!=3.0.*,!=3.1.*"],
        mapping=MAPPING,
        embedded_requires=None,
        embedded_requires_python=embedded,
        subject="test",
    )
    assert result.requires_python == expected


def test_each_kind_lands_in_its_place() -> None:
    result = plan(
        [
            "python >=3.12,<3.13.0a0",
            "python_abi 3.12.* *_cp312",
            "__glibc >=2.17,<3.0.a0",
            "libzlib >=1.3.1,<2.0a0",
            "pytables >=3.8",
        ]
    )
    assert result.requires_python == ">=3.12,<3.13.0a0"
    assert (result.abi_pin, result.abi_pin_version) == ("*_cp312", "3.12.*")
    assert result.system_requirements == ("__glibc >=2.17,<3.0.a0",)
    assert result.requires_external == ("libzlib (>=1.3.1,<2.0a0)",)
    assert result.requires_dist == ("tables>=3.8",)
    written = sidecar(result)
    assert written["system_requirements"] == ["__glibc >=2.17,<3.0.a0"]
    assert record(result, "__glibc >=2.17,<3.0.a0")["kind"] == "virtual"
    assert [item["kind"] for item in written["depends"]] == [
        "python",
        "python_abi",
        "virtual",
        "external",
        "python-distribution",
    ]


@pytest.mark.parametrize("virtual", ["__osx >=11", "__cuda", "__win", "__unix", "__archspec 1"])
def test_virtual_packages_are_system_requirements_only(virtual: str) -> None:
    result = plan([virtual])
    assert result.system_requirements == (virtual,)
    assert result.requires_dist == ()
    assert result.requires_external == ()


def test_dropped_fields_are_kept_in_the_sidecar() -> None:
    spec = (
        "conda-forge/linux-64::numpy >=1.26 py312*"
        "[md5=0123456789abcdef0123456789abcdef, track_features=mkl, build_number=2]"
    )
    result = plan([spec])
    assert result.requires_dist == ("numpy>=1.26",)
    assert record(result, spec)["dropped"] == {
        "build": "py312*",
        "channel": "conda-forge",
        "subdir": "linux-64",
        "md5": "0123456789abcdef0123456789abcdef",
        "track_features": "mkl",
        "build_number": "2",
    }


def test_or_is_widened_and_recorded() -> None:
    result = plan(["numpy >=1.8,<2|==1.7"])
    assert result.requires_dist == ("numpy>=1.7,!=2,<=2",)
    found = record(result, "numpy >=1.8,<2|==1.7")
    assert found["fidelity"] == "widened"
    assert any("'|'" in note for note in found["notes"])


# ---------------------------------------------------------------- names without METADATA


def test_common_python_dependencies_without_metadata_are_requires_dist() -> None:
    """Names the generated table lacks (formats.md F.2) are still Python distributions."""
    result = plan(
        ["cffi >=1.11", "certifi", "pyyaml >=5", "scipy", "ruamel.yaml.clib", "libmambapy"]
    )
    assert result.requires_external == ()
    assert result.requires_dist == (
        "cffi>=1.11",
        "certifi",
        "pyyaml>=5",
        "scipy",
        "ruamel-yaml-clib",
        "libmambapy",
    )


@pytest.mark.parametrize("library", ["zstd", "brotli", "tzdata", "tk", "graphviz"])
def test_libraries_never_become_requires_dist(library: str) -> None:
    """Not even when METADATA requires the PyPI project of the same name (zstd, brotli)."""
    result = plan([f"{library} >=1"], embedded=[f"{library}>=1"])
    assert result.requires_external == (f"{library} (>=1)",)
    assert record(result, f"{library} >=1")["kind"] == "external"


@pytest.mark.parametrize("library", ["yaml", "libzlib", "openssl", "libgcc", "libstdcxx", "bzip2"])
def test_unmapped_libraries_stay_external(library: str) -> None:
    result = plan([f"{library} >=1"])
    assert result.requires_external == (f"{library} (>=1)",)
    assert result.requires_dist == ()


def test_unknown_names_are_external_and_say_so() -> None:
    result = plan(["some-unmapped-thing 1.0"])
    assert result.requires_external == ("some-unmapped-thing (1.0)",)
    assert record(result, "some-unmapped-thing 1.0")["notes"] == [
        "not in the name mapping: treated as a non-Python dependency"
    ]


def test_a_user_mapping_turns_an_unknown_name_into_a_python_dependency() -> None:
    mapping = MAPPING.merged(NameMapping.from_names({"some-unmapped-thing": "real-thing"}))
    result = plan(["some-unmapped-thing 1.0"], mapping=mapping)
    assert result.requires_dist == ("real-thing==1.0",)


def test_requires_external_merges_specs_of_one_name() -> None:
    result = plan(["zstd >=1.5.6,<1.5.7.0a0", "zstd >=1.5.6,<1.6.0a0", "libgcc >=13"])
    assert result.requires_external == ("zstd (>=1.5.6,<1.5.7.0a0,<1.6.0a0)", "libgcc (>=13)")
    for spec in ("zstd >=1.5.6,<1.5.7.0a0", "zstd >=1.5.6,<1.6.0a0"):
        assert record(result, spec)["became"] == (
            "Requires-External: zstd (>=1.5.6,<1.5.7.0a0,<1.6.0a0)"
        )


@pytest.mark.parametrize(
    ("depends", "lines"),
    [
        (["zstd >=1.5", "zstd <2|>=3"], ("zstd (>=1.5)", "zstd (<2|>=3)")),
        (["zstd >=1.5|<1", "zstd <2"], ("zstd (>=1.5|<1)", "zstd (<2)")),
    ],
)
def test_requires_external_keeps_alternatives_on_their_own_lines(
    depends: list[str], lines: tuple[str, ...]
) -> None:
    """`|` cannot join other specs without nested parentheses: one line per spec then."""
    from condawheel.env.external import parse_requires_external  # noqa: PLC0415

    result = plan(depends)
    assert result.requires_external == lines
    for text in result.requires_external:  # what the install side reads back
        parsed = parse_requires_external(text)
        assert parsed is not None
        assert f"{parsed.name} ({parsed.version_spec})" == text
    for spec in depends:  # the sidecar names the very line that carries each spec
        became = record(result, spec)["became"]
        assert became.removeprefix("Requires-External: ") in result.requires_external
        assert became == f"Requires-External: zstd ({spec.removeprefix('zstd ')})"


# ---------------------------------------------------------------- brackets: extras, when


def test_extras_become_pep508_extras() -> None:
    result = plan(["requests[extras=[socks, use_chardet_on_py3]]"])
    assert result.requires_dist == ("requests[socks,use-chardet-on-py3]",)
    found = record(result, "requests[extras=[socks, use_chardet_on_py3]]")
    assert (found["fidelity"], found["dropped"]) == ("exact", {})


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ('numpy >=2[when="python >=3.10"]', 'numpy>=2; python_full_version >= "3.10"'),
        (
            'numpy[when="python >=3.9,<3.12.0a0"]',
            'numpy; python_full_version >= "3.9" and python_full_version < "3.12.0a0"',
        ),
        ('colorama[when="__win"]', 'colorama; sys_platform == "win32"'),
        ('tqdm[when="__osx"]', 'tqdm; sys_platform == "darwin"'),
        ('tqdm[when="__unix"]', 'tqdm; sys_platform != "win32"'),
    ],
)
def test_when_becomes_a_marker(spec: str, expected: str) -> None:
    result = plan([spec])
    assert result.requires_dist == (expected,)
    assert Requirement(expected).marker is not None
    assert record(result, spec)["fidelity"] == "exact"


@pytest.mark.parametrize("when", ["__cuda", "__osx >=11", "numpy", "python 3.1|3.2"])
def test_when_without_a_marker_is_marked_untranslatable(when: str) -> None:
    spec = f'scipy >=1[when="{when}"]'
    result = plan([spec])
    assert result.requires_dist == ("scipy>=1",)  # kept unconditional, and said so
    found = record(result, spec)
    assert found["fidelity"] == "untranslatable"
    assert found["dropped"] == {"when": when}
    assert any("no PEP 508 marker" in note for note in found["notes"])


# ---------------------------------------------------------------- METADATA versus conda


def test_no_comparison_without_metadata() -> None:
    assert plan(["requests >=2"]).comparison == ()


def test_agreement_is_not_reported() -> None:
    # conda's <3 is written <=3,!=3; against METADATA's <3 that is no disagreement.
    result = plan(["requests >=2,<3", "colorama"], embedded=["requests<3,>=2", "colorama"])
    assert result.comparison == ()
    assert result.requires_dist == ()


def test_unconditional_in_conda_but_an_extra_in_metadata() -> None:
    result = plan(["zstandard >=0.18.0"], embedded=['zstandard>=0.18.0; extra == "zstd"'])
    found = comparison(result, "zstandard")
    assert found["difference"] == "condition"
    assert found["metadata"] == ['zstandard>=0.18.0; extra == "zstd"']
    assert found["conda"] == ["zstandard >=0.18.0"]
    assert found["used"] == "metadata-without-extra"
    assert found["wheel"] == ["zstandard>=0.18.0"]
    assert "optional" in found["why"]
    assert "repodata" not in found["why"]
    # conda installs the extra's package always, so the wheel requires it always too.
    assert result.requires_dist == ("zstandard>=0.18.0",)


def test_an_extra_conda_installs_always_keeps_its_environment_markers() -> None:
    embedded = [
        'brotli>=1.0.9; platform_python_implementation == "CPython" and extra == "brotli"',
        'brotlicffi>=0.8; platform_python_implementation != "CPython" and extra == "brotli"',
    ]
    result = plan(["brotli-python >=1.0.9"], embedded=embedded)
    assert result.requires_dist == ('brotli>=1.0.9; platform_python_implementation == "CPython"',)
    assert record(result, "brotli-python >=1.0.9")["became"] == (
        'Requires-Dist: brotli>=1.0.9; platform_python_implementation == "CPython"'
    )


def test_an_extra_or_an_environment_is_an_environment_condition() -> None:
    # The requirement holds on Windows whatever the extras: METADATA states where.
    result = plan(["zstandard >=0.18"], embedded=['zstandard; extra == "z" or os_name == "nt"'])
    assert comparison(result, "zstandard")["used"] == "metadata"
    assert result.requires_dist == ()


def test_a_conditional_conda_requirement_is_added_as_conda_states_it() -> None:
    result = plan(['pywin32 >=300[when="__win"]'], embedded=['pywin32; extra == "windows"'])
    assert result.requires_dist == ('pywin32>=300; sys_platform == "win32"',)
    assert comparison(result, "pywin32")["used"] == "conda"


def test_what_only_conda_installs_is_required() -> None:
    result = plan(["requests", "zstandard >=0.15"], embedded=["conda-package-streaming"])
    assert result.requires_dist == ("requests", "zstandard>=0.15")
    assert comparison(result, "requests")["difference"] == "only-conda"
    assert comparison(result, "requests")["used"] == "conda"
    assert record(result, "requests")["became"] == "Requires-Dist: requests"


def test_unconditional_in_conda_but_platform_only_in_metadata() -> None:
    result = plan(["colorama"], embedded=['colorama; platform_system == "Windows"'])
    found = comparison(result, "colorama")
    assert found["difference"] == "condition"
    assert 'platform_system == "Windows"' in found["why"]
    assert "marker" in found["why"]


def test_every_requirement_of_a_name_is_compared() -> None:
    embedded = [
        "cffi>=1.11; extra == 'cffi'",
        "cffi>=1.11; platform_python_implementation == 'PyPy'",
    ]
    result = plan(["cffi >=1.11"], embedded=embedded)
    found = comparison(result, "cffi")
    assert len(found["metadata"]) == 2
    assert found["difference"] == "condition"


def test_different_ranges() -> None:
    result = plan(["packaging >=23"], embedded=["packaging>=20"])
    found = comparison(result, "packaging")
    assert found["difference"] == "range"
    assert found["conda_as_pep508"] == ["packaging>=23"]


def test_only_one_side() -> None:
    result = plan(
        ["enum34"],
        embedded=["six", 'pywin32; sys_platform == "win32"', 'pytest; extra == "test"'],
    )
    assert comparison(result, "enum34")["difference"] == "only-conda"
    assert comparison(result, "six")["difference"] == "only-metadata"
    assert comparison(result, "pywin32")["difference"] == "only-metadata"
    # An extra conda does not install is no disagreement: neither installs it by default.
    assert "pytest" not in {item["name"] for item in sidecar(result)["metadata_vs_conda"]}


def test_a_when_bracket_is_compared_with_metadata_markers() -> None:
    agreeing = plan(['colorama[when="__win"]'], embedded=['colorama; sys_platform == "win32"'])
    assert agreeing.comparison == ()
    differing = plan(['colorama[when="__win"]'], embedded=["colorama"])
    assert comparison(differing, "colorama")["difference"] == "condition"
