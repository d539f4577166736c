"""Packages made from wheels (whl2conda, conda-pypi) become the wheels they were made from."""

from __future__ import annotations

import configparser
import email
import email.policy
import io
import json
import shutil
import subprocess
import sys
import zipfile
from typing import TYPE_CHECKING, Any

import pytest
from packaging.metadata import parse_email
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from builders import CondaSpec, FileSpec, build_conda, read_wheel
from conda_envs import ENV_B_SPECS, conda_environments
from condawheel.convert import convert
from condawheel.convert.names import default_mapping
from condawheel.convert.wheelmakers import MadeFromWheel, recognise_wheel_tool, restore_requirements
from condawheel.metadata import MetadataText
from made_from_wheels import MadeFromWheels, made_from_wheels, whl2conda
from pip_hook_support import clean_environment
from test_install import run_condawheel

if TYPE_CHECKING:
    from pathlib import Path

    from conda_envs import CondaEnvironments

__all__ = ["conda_environments", "made_from_wheels"]  # fixtures, imported for pytest

MAPPING = default_mapping()
# Files of the dist-info that condawheel writes anew, compared by what they say.
REWRITTEN = {"RECORD", "WHEEL", "METADATA"}
# WHEEL fields that are the converted wheel's own: who made it, its conda tag, its build.
WHEEL_OWN_FIELDS = {"generator", "tag", "build"}
# METADATA fields whl2conda rewrites (spelling, position), compared as requirements.
REQUIREMENT_FIELDS = {"requires-dist", "provides-extra"}


def _requirements(metadata: bytes) -> set[str]:
    """Return the requirements METADATA declares, normalised (some originals do not validate)."""
    raw, _ = parse_email(metadata)
    return {str(Requirement(text)) for text in raw.get("requires_dist", [])}


def _extras(metadata: bytes) -> set[str]:
    raw, _ = parse_email(metadata)
    return {canonicalize_name(extra) for extra in raw.get("provides_extra", [])}


def _fields(document: bytes, leave_out: set[str]) -> tuple[list[tuple[str, str]], str]:
    """Return a header document's fields in order (values unfolded), and its body."""
    message = email.message_from_bytes(document, policy=email.policy.compat32)
    fields = [
        (name.lower(), " ".join(str(value).split()))
        for name, value in message.items()
        if name.lower() not in leave_out
    ]
    return fields, str(message.get_payload())


def _entry_points(files: dict[str, bytes]) -> dict[str, dict[str, str]]:
    found = [data for name, data in files.items() if name.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    for data in found:
        parser.read_string(data.decode())
    return {section: dict(parser.items(section)) for section in parser.sections()}


def _metadata(files: dict[str, bytes]) -> bytes:
    (data,) = [data for name, data in files.items() if name.endswith(".dist-info/METADATA")]
    return data


def assert_reproduced(original: dict[str, bytes], made: dict[str, bytes], project: str) -> str:
    """Assert that ``made`` is the wheel ``original`` file for file; return its dist-info.

    What may differ, and why (docs/convert.md): RECORD is written anew; WHEEL names
    condawheel, the conda tag and the build tag; METADATA keeps every field and the body,
    in their order, but whl2conda rewrote the requirements (their spelling, and their
    place at the end of the header), so those are compared as requirements; the sidecar
    ``conda.json`` is added. Directory entries of the zip are not files.
    """
    (dist_info,) = {name.split("/")[0] for name in made if name.endswith(".dist-info/METADATA")}
    original_files = {name for name in original if not name.endswith("/")}
    assert set(made) - original_files == {f"{dist_info}/conda.json"}, project
    assert original_files - set(made) == set(), project
    for name in original_files:
        top, _, rest = name.partition("/")
        if top != dist_info or rest not in REWRITTEN:
            assert made[name] == original[name], (project, name)
    wheel_file = f"{dist_info}/WHEEL"
    assert _fields(made[wheel_file], WHEEL_OWN_FIELDS) == _fields(
        original[wheel_file], WHEEL_OWN_FIELDS
    ), project
    metadata = f"{dist_info}/METADATA"
    assert _fields(made[metadata], REQUIREMENT_FIELDS) == _fields(
        original[metadata], REQUIREMENT_FIELDS
    ), project
    # No lost dependency: the same requirements (names, specifiers, markers, extras).
    assert _requirements(made[metadata]) == _requirements(original[metadata]), project
    assert _extras(made[metadata]) == _extras(original[metadata]), project
    assert _entry_points(made) == _entry_points(original), project
    return dist_info


@pytest.mark.slow
def test_whl2conda_packages_become_their_original_wheels(
    made_from_wheels: MadeFromWheels, tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    for project, package in made_from_wheels.packages.items():
        result = convert(package, tmp_path / "out", mapping=MAPPING)
        made = read_wheel(result.wheel)
        assert_reproduced(read_wheel(made_from_wheels.wheels[project]), made, project)
        sidecar = json.loads(made[f"{result.plan.dist_info}/conda.json"])
        assert sidecar["made_from_wheel"]["tool"] == "whl2conda", project
        assert sidecar["made_from_wheel"]["hidden_extra"] == "original", project
        # Nothing to tell about the requirements of a project without any.
        assert not any("moved 0" in warning for warning in result.plan.warnings), project


@pytest.mark.slow
def test_whl2conda_tar_bz2_packages_become_their_original_wheels(
    made_from_wheels: MadeFromWheels, tmp_path: Path
) -> None:
    """whl2conda's other format (V1) holds the same files; the wheel is the same."""
    for project in ("rich", "black"):
        wheel = made_from_wheels.wheels[project]
        package = whl2conda(wheel, tmp_path / project / "noarch", out_format="V1")
        assert package.name.endswith(".tar.bz2")
        result = convert(package, tmp_path, mapping=MAPPING)
        assert_reproduced(read_wheel(wheel), read_wheel(result.wheel), project)


@pytest.mark.slow
def test_the_shapes_the_round_trip_once_lost(
    made_from_wheels: MadeFromWheels, tmp_path: Path
) -> None:
    """Each shape of the pinned set that once came back different, said plainly."""
    converted = {
        project: convert(made_from_wheels.packages[project], tmp_path, mapping=MAPPING)
        for project in ("attrs", "black", "iniconfig", "pysocks", "backports.tarfile")
    }
    attrs = _metadata(read_wheel(converted["attrs"].wheel))
    # whl2conda hid these under its extra as well as under the project's own.
    assert "original" not in attrs.decode()
    # black's link.json entry point carries extras: accepted, kept in entry_points.txt.
    assert _entry_points(read_wheel(converted["black"].wheel))["console_scripts"] == {
        "black": "black:patched_main",
        "blackd": "blackd:patched_main [d]",
    }
    # iniconfig's License-Expression under Metadata-Version 2.1: the wheel's own fault.
    assert b"License-Expression: MIT" in _metadata(read_wheel(converted["iniconfig"].wheel))
    # The dist-info keeps the wheel's name for it; the wheel's file name is escaped.
    assert converted["pysocks"].plan.dist_info == "PySocks-1.7.1.dist-info"
    assert converted["pysocks"].wheel.name.startswith("pysocks-1.7.1-")
    pysocks = _metadata(read_wheel(converted["pysocks"].wheel))
    assert b"Platform: UNKNOWN\n" in pysocks
    assert b"Requires-Python: >=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*\n" in pysocks
    assert converted["backports.tarfile"].plan.dist_info == "backports.tarfile-1.2.0.dist-info"


RICH_AND_ITS_DEPENDENCIES = ("rich", "markdown-it-py", "mdurl", "pygments")


def _pip_install_rich(wheelhouse: Path, target: Path) -> dict[str, bytes]:
    """``pip install rich`` from ``wheelhouse`` alone into ``target``; return its files.

    ``--platform conda`` (with ``--target``, as pip wants it) lets pip take the
    ``py3-none-conda`` wheels, which a plain interpreter never selects on its own.
    """
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-compile",
         "--find-links", str(wheelhouse), "--target", str(target), "--only-binary=:all:",
         "--platform", "conda", "--python-version", python, "rich"],
        capture_output=True, text=True, check=False, env=clean_environment(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return {
        path.relative_to(target).as_posix(): path.read_bytes()
        for path in sorted(target.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.mark.slow
def test_pip_installs_the_converted_wheels_as_it_installs_the_originals(
    made_from_wheels: MadeFromWheels, tmp_path: Path
) -> None:
    """``pip install rich`` pulls its dependencies; the files are those of the originals."""
    originals, converted = tmp_path / "originals", tmp_path / "converted"
    originals.mkdir()
    converted.mkdir()
    for project in RICH_AND_ITS_DEPENDENCIES:
        shutil.copy2(made_from_wheels.wheels[project], originals)
        convert(made_from_wheels.packages[project], converted, mapping=MAPPING)
    expected = _pip_install_rich(originals, tmp_path / "A")
    installed = _pip_install_rich(converted, tmp_path / "B")
    distributions = {
        canonicalize_name(name.split("/")[0].removesuffix(".dist-info").rpartition("-")[0])
        for name in installed
        if name.endswith(".dist-info/METADATA")
    }
    assert distributions == set(RICH_AND_ITS_DEPENDENCIES)
    # The same installed files, console scripts included; RECORD lists the files pip
    # wrote, and METADATA, WHEEL and conda.json are the converted wheel's (see above).
    rewritten = [".dist-info/RECORD", ".dist-info/METADATA", ".dist-info/WHEEL"]
    added = {name for name in installed if name.endswith(".dist-info/conda.json")}
    assert len(added) == len(RICH_AND_ITS_DEPENDENCIES)
    assert set(installed) - added == set(expected)
    for name, data in expected.items():
        if not name.endswith(tuple(rewritten)):
            assert installed[name] == data, name
    # The console scripts run.
    environment = clean_environment({"PYTHONPATH": str(tmp_path / "B")})
    for command, expected_output in (("pygmentize", "2.18.0"), ("markdown-it", "usage")):
        ran = subprocess.run(
            [str(tmp_path / "B" / "bin" / command), "--help" if command != "pygmentize" else "-V"],
            capture_output=True, text=True, check=False, env=environment,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        assert expected_output in ran.stdout, ran.stdout


@pytest.mark.slow
def test_whl2conda_folded_requirements_and_markers(
    made_from_wheels: MadeFromWheels, tmp_path: Path
) -> None:
    """rich: whl2conda folds the long line and drops the marker's requirement from depends."""
    package = made_from_wheels.packages["rich"]
    result = convert(package, tmp_path, mapping=MAPPING)
    metadata = _metadata(read_wheel(result.wheel))
    assert b"\n extra" not in metadata  # unfolded
    assert 'typing-extensions<5.0,>=4.0.0; python_version < "3.11"' in _requirements(metadata)
    assert "original" not in _extras(metadata)
    sidecar: Any = result.plan.sidecar
    found = {item["name"]: item for item in sidecar["dependencies"]["metadata_vs_conda"]}
    # conda's depends lack it (whl2conda skips marked requirements): METADATA's marker stands.
    assert found["typing-extensions"]["difference"] == "only-metadata"


@pytest.mark.slow
def test_whl2conda_keeping_pip_dependencies_changes_nothing(
    made_from_wheels: MadeFromWheels, tmp_path: Path
) -> None:
    wheel = made_from_wheels.wheels["requests"]
    package = whl2conda(wheel, tmp_path / "kept" / "noarch", "--keep-pip-dependencies")
    result = convert(package, tmp_path, mapping=MAPPING)
    made = read_wheel(result.wheel)
    original = read_wheel(wheel)
    assert _requirements(_metadata(made)) == _requirements(_metadata(original))
    sidecar: Any = result.plan.sidecar
    assert sidecar["made_from_wheel"]["tool"] == "whl2conda"
    assert sidecar["made_from_wheel"]["hidden_extra"] is None


@pytest.mark.slow
@pytest.mark.corpus
def test_condawheel_install_rich_made_by_whl2conda_brings_pygments(
    made_from_wheels: MadeFromWheels, conda_environments: CondaEnvironments, tmp_path: Path
) -> None:
    wheelhouse = tmp_path / "W"
    wheelhouse.mkdir()
    for project in ("rich", "markdown-it-py", "mdurl", "pygments"):
        convert(made_from_wheels.packages[project], wheelhouse, mapping=MAPPING)
    prefix = conda_environments.create(tmp_path / "B", ENV_B_SPECS)
    done = run_condawheel(
        "install", "rich", "--prefix", str(prefix), "--wheelhouse", str(wheelhouse),
        "--system-config", str(tmp_path / "none"), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    installed = {item["name"] for item in json.loads(done.stdout)["installed"]}
    assert installed == {"rich", "markdown-it-py", "mdurl", "pygments"}
    ran = subprocess.run(
        [str(prefix / "bin" / "python"), "-c",
         "import rich.syntax, pygments; print(rich.syntax.Syntax('x = 1', 'python').lexer)"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "PythonLexer" in ran.stdout


# ---------------------------------------------------------------- conda-pypi's packages

CONDA_PYPI_METADATA = (
    b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
    b'Requires-Dist: requests>=2\nRequires-Dist: colorama; sys_platform == "win32"\n'
    b'Provides-Extra: socks\nRequires-Dist: pysocks; extra == "socks"\n'
)


def conda_pypi_spec() -> CondaSpec:
    """A package as conda-pypi's ``build_conda`` writes it (conda-pypi 0.13)."""
    site = "site-packages/demo-1.0.dist-info"
    return CondaSpec(
        name="demo",
        version="1.0",
        build="pypi_0",
        subdir="noarch",
        noarch="python",
        # requires_to_conda: unconditional requirements only; markers other than
        # extras are left out, extras go to extra_depends.
        depends=["python >=3.8", "requests >=2"],
        index_extra={"extra_depends": {"socks": ["pysocks"]}},
        about={
            "summary": "",
            "extra": {"generator": "conda-pypi", "generator_version": "0.13.1"},
        },
        files=[
            FileSpec("site-packages/demo/__init__.py", b""),
            FileSpec(f"{site}/METADATA", CONDA_PYPI_METADATA),
            FileSpec(f"{site}/INSTALLER", b"conda-pypi\n"),
            FileSpec(f"{site}/RECORD", b""),
        ],
    )


def test_conda_pypi_packages_keep_their_metadata(tmp_path: Path) -> None:
    package = build_conda(conda_pypi_spec(), tmp_path)
    result = convert(package, tmp_path, mapping=MAPPING)
    metadata = _metadata(read_wheel(result.wheel))
    assert _requirements(metadata) == {
        "requests>=2",
        'colorama; sys_platform == "win32"',
        'pysocks; extra == "socks"',
    }
    assert result.plan.sidecar["made_from_wheel"] == {
        "tool": "conda-pypi",
        "version": "0.13.1",
        "hidden_extra": None,
    }


# ---------------------------------------------------------------- the pure parts


def test_recognise_whl2conda_by_about_or_installer() -> None:
    metadata = MetadataText.parse("Name: x\nVersion: 1\nProvides-Extra: original\n")
    found = recognise_wheel_tool({"extra": {"whl2conda_version": "26.7.2"}}, {}, metadata)
    assert found == MadeFromWheel("whl2conda", "26.7.2", hidden_extra="original")
    found = recognise_wheel_tool({}, {"INSTALLER": b"whl2conda\n"}, metadata)
    assert found == MadeFromWheel("whl2conda", None, hidden_extra="original")
    assert recognise_wheel_tool({}, {"INSTALLER": b"pip\n"}, metadata) is None


def test_restore_requirements_takes_off_the_hidden_extra_only() -> None:
    metadata = MetadataText.parse(
        "Name: x\nVersion: 1\nProvides-Extra: jupyter\n"
        'Requires-Dist: ipywidgets >=7 ; extra == "jupyter"\n'
        "Requires-Dist: pygments <3,>=2.13 ; extra == 'original'\n"
        'Requires-Dist: typing-extensions ; (python_version < "3.11") and\n'
        " extra == 'original'\n"
        # whl2conda's test for an extra missed this one: it hid it under both.
        "Requires-Dist: mypy >=1 ; ((implementation_name == 'cpython' and "
        "python_version >= '3.10') and extra == 'tests-mypy') and extra == 'original'\n"
        "Requires-Dist: six ; (python_version < '3') and (sys_platform == 'win32') and "
        "extra == 'original'\n"
        "Requires-Dist: tomli ; (python_version < '3') or (sys_platform == 'win32') and "
        "extra == 'original'\n"
        "Provides-Extra: original\n"
    )
    restored, notes = restore_requirements(
        metadata, MadeFromWheel("whl2conda", None, hidden_extra="original")
    )
    # The clause whl2conda added goes; the rest stays as whl2conda wrote it.
    assert restored.get_all("Requires-Dist") == [
        'ipywidgets >=7 ; extra == "jupyter"',
        "pygments <3,>=2.13",
        'typing-extensions ; python_version < "3.11"',
        (
            "mypy >=1 ; (implementation_name == 'cpython' and python_version >= '3.10') "
            "and extra == 'tests-mypy'"
        ),
        # Not whl2conda's parentheses: the marker is read, and the extra taken out of it.
        'six; python_version < "3" and sys_platform == "win32"',
        # Not separable (the extra is one alternative): kept as it is.
        "tomli ; (python_version < '3') or (sys_platform == 'win32') and extra == 'original'",
    ]
    assert restored.get_all("Provides-Extra") == ["jupyter"]
    assert "4 requirement(s)" in notes[0]
    unchanged, none = restore_requirements(metadata, MadeFromWheel("conda-pypi", None))
    assert (unchanged, none) == (metadata, ())


def test_restore_requirements_says_nothing_when_nothing_was_hidden() -> None:
    """whl2conda declares its extra even for a project without requirements (certifi)."""
    metadata = MetadataText.parse("Name: x\nVersion: 1\nProvides-Extra: original\n")
    restored, notes = restore_requirements(
        metadata, MadeFromWheel("whl2conda", None, hidden_extra="original")
    )
    assert restored.get_all("Provides-Extra") == []
    assert notes == ()


def test_the_hidden_extra_is_not_taken_off_packages_of_other_tools(tmp_path: Path) -> None:
    spec = conda_pypi_spec()
    site = "site-packages/demo-1.0.dist-info"
    spec.about = {}
    spec.files = [
        *[item for item in spec.files if not item.path.endswith("METADATA")],
        FileSpec(
            f"{site}/METADATA",
            b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nProvides-Extra: original\n"
            b"Requires-Dist: requests>=2; extra == 'original'\n",
        ),
    ]
    spec.files = [item for item in spec.files if not item.path.endswith("INSTALLER")]
    result = convert(build_conda(spec, tmp_path), tmp_path, mapping=MAPPING)
    archive = zipfile.ZipFile(io.BytesIO(result.wheel.read_bytes()))
    metadata = archive.read(f"{result.plan.dist_info}/METADATA")
    # The project's own extra named 'original': conda installs requests always, so the
    # wheel requires it always, and the extra stays.
    assert _extras(metadata) == {"original"}
    assert "requests>=2" in _requirements(metadata)
    assert result.plan.sidecar["made_from_wheel"] is None
