"""Resolving with pip for an environment, and the preference for conda builds."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from conda_envs import find_python312, link_python_into
from condawheel.env.environment import Environment, open_environment
from condawheel.env.install import InstallOptions, install_requirements
from condawheel.env.resolve import (
    Candidate,
    PackageSource,
    PipReport,
    ResolvedWheel,
    choose_pip,
    index_candidates,
    parse_report,
    pip_install_arguments,
    preferred_builds,
    wheelhouse_candidates,
)
from condawheel.env.tagconfig import InterpreterTags, default_entry, environment_tags
from condawheel.errors import InstallError
from condawheel.wheelhouse.index import index_wheelhouse
from env_support import WheelSpec, make_wheel, memory_facts, sidecar

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from condawheel.env.interpreter import InterpreterFacts

PLATFORMS = ["linux_x86_64", "manylinux_2_17_x86_64"]
OWN = (
    *cpython_tags((3, 12), ["cp312"], PLATFORMS),
    *compatible_tags((3, 12), "cp312", PLATFORMS),
)
TAGS = environment_tags(
    InterpreterTags("cp312", (3, 12), ("cp312",), "linux_x86_64", OWN), default_entry("linux-64")
)


def facts(pip: str | None = "24.0") -> InterpreterFacts:
    return memory_facts(
        "/env", base_prefix="/usr", paths={}, platforms=tuple(PLATFORMS), sys_tags=OWN, pip=pip
    )


def test_pip_arguments_list_conda_platforms_first() -> None:
    arguments = pip_install_arguments(
        facts=facts(),
        tags=TAGS,
        source=PackageSource(wheelhouse=Path("/w")),
        requirements=["cffi"],
        report=Path("r.json"),
        target=None,
    )
    platforms = [arguments[i + 1] for i, item in enumerate(arguments) if item == "--platform"]
    assert platforms == ["conda_linux_64", "conda", *PLATFORMS]
    abis = [arguments[i + 1] for i, item in enumerate(arguments) if item == "--abi"]
    assert abis == ["cp312", "abi3", "none"]
    for flag, value in (("--python-version", "3.12.1"), ("--implementation", "cp")):
        assert arguments[arguments.index(flag) + 1] == value
    assert {"--dry-run", "--only-binary=:all:", "--no-index"} <= set(arguments)
    assert "--target" not in arguments
    assert arguments[-3:] == ["--find-links", "/w", "cffi"]
    with_target = pip_install_arguments(
        facts=dataclasses.replace(facts(), version="3.13.0rc1"),
        tags=TAGS,
        source=PackageSource(index_url="https://example.org/simple"),
        requirements=["x"],
        report=Path("r"),
        target=Path("/t"),
    )
    assert with_target[with_target.index("--target") + 1] == "/t"
    assert with_target[with_target.index("--python-version") + 1] == "3.13.0"
    assert with_target[-3:] == ["--index-url", "https://example.org/simple", "x"]


@pytest.mark.parametrize(
    ("environment_pip", "own_pip", "expected"),
    [
        ("24.3.1", "23.2.1", ("environment", "24.3.1", False)),
        ("21.0", "23.2.1", ("condawheel", "23.2.1", True)),
        (None, "25.1", ("condawheel", "25.1", False)),
        ("23.2", None, ("environment", "23.2", True)),
    ],
)
def test_choose_pip(
    environment_pip: str | None, own_pip: str | None, expected: tuple[str, str, bool]
) -> None:
    choice = choose_pip(facts(environment_pip), own_pip)
    assert (choice.origin, str(choice.version), choice.needs_target) == expected


def test_choose_pip_needs_one() -> None:
    with pytest.raises(InstallError, match=r"no pip >= 22\.2"):
        choose_pip(facts(None), "20.0")


def test_package_source_needs_exactly_one() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        PackageSource()
    with pytest.raises(ValueError, match="exactly one"):
        PackageSource(wheelhouse=Path("w"), index_url="u")


REPORT = {
    "version": "1",
    "pip_version": "24.3.1",
    "install": [
        {
            "download_info": {
                "url": "file:///w/demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
                "archive_info": {"hashes": {"sha256": "ab" * 32}},
            },
            "is_direct": False,
            "requested": True,
            "metadata": {"name": "Demo", "version": "1.0", "requires_dist": ["lib>=2"]},
        },
        {
            "download_info": {"url": "file:///w/lib-2.0-py3-none-any.whl"},
            "requested": False,
            "metadata": {"name": "lib", "version": "2.0"},
        },
    ],
    "environment": {"python_version": "3.12", "sys_platform": "linux"},
}


def test_parse_report() -> None:
    report = parse_report(json.dumps(REPORT).encode())
    demo, lib = report.wheels
    assert (demo.name, demo.version, demo.requested, demo.sha256) == (
        "demo",
        Version("1.0"),
        True,
        "ab" * 32,
    )
    assert demo.requires_dist == ("lib>=2",)
    assert demo.tags == {Tag("cp312", "cp312", "manylinux_2_17_x86_64")}
    assert (lib.filename, lib.requested, lib.sha256) == ("lib-2.0-py3-none-any.whl", False, None)
    assert report.environment["python_version"] == "3.12"
    with pytest.raises(InstallError, match="version 1"):
        parse_report(b'{"version": "2"}')
    with pytest.raises(InstallError, match="not JSON"):
        parse_report(b"{")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("version", "not a version", "pip report: Invalid version: 'not a version'"),
        ("name", 3, "pip report: metadata.name is not a string"),
    ],
)
def test_a_report_of_the_wrong_shape_is_one_line(key: str, value: object, message: str) -> None:
    report = json.loads(json.dumps(REPORT))
    report["install"][0]["metadata"][key] = value
    with pytest.raises(InstallError) as raised:
        parse_report(json.dumps(report).encode())
    assert str(raised.value) == message


def candidate(filename: str) -> Candidate:
    name, version, build, tags = parse_wheel_filename(filename)
    return Candidate(filename, f"file:///w/{filename}", name, version, build, tags)


def chosen(name: str, filename: str, requires: Sequence[str] = ()) -> ResolvedWheel:
    item = candidate(filename)
    return ResolvedWheel(
        name=canonicalize_name(name),
        version=item.version,
        url=item.url,
        filename=filename,
        sha256=None,
        requested=True,
        is_direct=False,
        requires_dist=tuple(requires),
    )


DEMO = canonicalize_name("demo")
CONDA_10 = "demo-1.0-0_py_0-py3-none-conda.whl"
CONDA_10_B2 = "demo-1.0-2_py_2-py3-none-conda.whl"
CONDA_10_CP = "demo-1.0-0_h0-cp312-cp312-conda_linux_64.whl"
CONDA_09 = "demo-0.9-0_py_0-py3-none-conda.whl"
MANYLINUX_10 = "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"
ANY_11 = "demo-1.1-py3-none-any.whl"


@pytest.mark.parametrize(
    ("pip_chose", "available", "prefer", "user", "expected"),
    [
        pytest.param(MANYLINUX_10, [CONDA_10], "conda", [], CONDA_10, id="tie-conda"),
        pytest.param(MANYLINUX_10, [CONDA_10], "newest", [], CONDA_10, id="tie-newest"),
        pytest.param(ANY_11, [CONDA_10], "conda", [], CONDA_10, id="older-conda-wins"),
        pytest.param(ANY_11, [CONDA_10], "newest", [], None, id="newer-unmatched-wins"),
        pytest.param(ANY_11, [CONDA_10], "conda", ["demo>=1.1"], None, id="excluded-by-user"),
        pytest.param(
            ANY_11, [CONDA_09, CONDA_10], "conda", ["demo<1"], CONDA_09, id="newest-allowed"
        ),
        pytest.param(
            MANYLINUX_10, [CONDA_10, CONDA_10_B2], "conda", [], CONDA_10_B2, id="build-tag"
        ),
        pytest.param(
            MANYLINUX_10, [CONDA_10_B2, CONDA_10_CP], "newest", [], CONDA_10_CP, id="tag-order"
        ),
        pytest.param(CONDA_10, [CONDA_10_B2], "conda", [], None, id="conda-chosen-already"),
        pytest.param(MANYLINUX_10, [], "conda", [], None, id="no-conda-build"),
        pytest.param(
            MANYLINUX_10,
            ["demo-1.0-0_h0-cp311-cp311-conda_linux_64.whl"],
            "conda",
            [],
            None,
            id="incompatible-conda-build",
        ),
    ],
)
def test_preferred_builds(
    pip_chose: str, available: list[str], prefer: str, user: list[str], expected: str | None
) -> None:
    report = PipReport((chosen("demo", pip_chose),), {"python_version": "3.12"}, "24")
    found = preferred_builds(
        report,
        {canonicalize_name("demo"): [candidate(name) for name in available]},
        TAGS,
        prefer="conda" if prefer == "conda" else "newest",
        user_requirements=user,
    )
    assert (found[DEMO].filename if DEMO in found else None) == expected


def test_preferred_builds_respect_dependencies_with_markers() -> None:
    report = PipReport(
        (
            chosen("app", "app-1.0-py3-none-any.whl", ["demo>=1.1; python_version >= '3'"]),
            chosen("demo", ANY_11),
        ),
        {"python_version": "3.12"},
        "24",
    )
    candidates = {canonicalize_name("demo"): [candidate(CONDA_10)]}
    assert preferred_builds(report, candidates, TAGS, prefer="conda", user_requirements=[]) == {}
    old_marker = PipReport(
        (
            chosen("app", "app-1.0-py3-none-any.whl", ["demo>=1.1; python_version < '3'"]),
            *report.wheels[1:],
        ),
        {"python_version": "3.12"},
        "24",
    )
    found = preferred_builds(old_marker, candidates, TAGS, prefer="conda", user_requirements=[])
    assert found[DEMO].filename == CONDA_10


# --------------------------------------------------------------------------------------------
# Listing wheels: a wheelhouse directory, a file: index, an HTTP index
# --------------------------------------------------------------------------------------------


@pytest.fixture
def mixed_wheelhouse(tmp_path: Path) -> Path:
    """demo 1.0 as a conda build and as manylinux, demo 1.1 as a pure unmatched wheel."""
    wheelhouse = tmp_path / "W"
    for version, build, tag in (
        ("1.0", "0_py_0", "py3-none-conda"),
        ("1.0", None, "cp312-cp312-manylinux_2_17_x86_64"),
        ("1.1", None, "py3-none-any"),
    ):
        origin = tag.rsplit("-", 1)[1].split("_")[0]
        spec = WheelSpec(
            name="demo",
            version=version,
            build=build,
            tag=tag,
            files={"demo/__init__.py": f"ORIGIN = {origin!r}\n".encode()},
            sidecar=sidecar(noarch="python") if origin == "conda" else None,
        )
        make_wheel(wheelhouse, spec)
    app = WheelSpec(
        name="app",
        build="0_py_0",
        tag="py3-none-conda",
        files={"app/__init__.py": b""},
        requires_dist=["demo"],
        sidecar=sidecar(conda_name="app", noarch="python"),
    )
    make_wheel(wheelhouse, app)
    index_wheelhouse(wheelhouse)
    return wheelhouse


def test_wheelhouse_candidates(mixed_wheelhouse: Path) -> None:
    found = wheelhouse_candidates(mixed_wheelhouse)
    assert sorted(found) == ["app", "demo"]
    assert len(found[canonicalize_name("demo")]) == 3
    assert all(item.url.startswith("file:///") for item in found[canonicalize_name("demo")])
    assert wheelhouse_candidates(mixed_wheelhouse / "missing") == {}


@pytest.fixture
def http_index(mixed_wheelhouse: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
            pass

    handler = functools.partial(Quiet, directory=str(mixed_wheelhouse))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    finally:
        server.shutdown()
        server.server_close()


def test_index_candidates_from_file_and_http(mixed_wheelhouse: Path, http_index: str) -> None:
    for index in ((mixed_wheelhouse / "simple").as_uri(), http_index):
        found = index_candidates(index, canonicalize_name("demo"))
        assert sorted(item.filename for item in found) == sorted(
            path.name for path in mixed_wheelhouse.glob("demo-*.whl")
        )
        assert index_candidates(index, canonicalize_name("nothing-here")) == []
    assert found[0].url.startswith("http://127.0.0.1:")
    with pytest.raises(InstallError, match="file:, http: or https:"):
        index_candidates("ftp://example.org/simple", canonicalize_name("demo"))


def test_an_index_page_lists_only_the_projects_wheels(tmp_path: Path) -> None:
    page = tmp_path / "simple" / "demo"
    page.mkdir(parents=True)
    (page / "index.html").write_text(
        '<a href="../../files/demo-1.0.tar.gz">demo-1.0.tar.gz</a>\n'
        '<a href="../../files/demo-1.0-py3-none-any.whl">demo-1.0-py3-none-any.whl</a>\n'
        '<a href="../../files/other-1.0-py3-none-any.whl">other-1.0-py3-none-any.whl</a>\n'
        '<a href="../../files/not-a-wheel.whl">not-a-wheel.whl</a>\n'
    )
    found = index_candidates((tmp_path / "simple").as_uri(), canonicalize_name("demo"))
    assert [item.filename for item in found] == ["demo-1.0-py3-none-any.whl"]
    assert found[0].url == (tmp_path / "files" / "demo-1.0-py3-none-any.whl").as_uri()


# --------------------------------------------------------------------------------------------
# Real pip, run by the environment's interpreter
# --------------------------------------------------------------------------------------------


@pytest.fixture
def environment(tmp_path: Path) -> Environment:
    prefix = tmp_path / "env"
    link_python_into(prefix, find_python312())
    (prefix / "conda-meta").mkdir()
    return open_environment(prefix, system_config=None)


def _dry_run(
    environment: Environment, source: PackageSource, requirements: list[str], prefer: str = "conda"
) -> dict[str, str]:
    result = install_requirements(
        requirements,
        prefix=environment.prefix,
        source=source,
        options=InstallOptions(prefer="newest" if prefer == "newest" else "conda", dry_run=True),
        environment=environment,
    )
    return {
        str(item.contents.name): item.contents.filename for item in result.installation.installs
    }


@pytest.mark.slow
def test_pip_with_preference(environment: Environment, mixed_wheelhouse: Path) -> None:
    source = PackageSource(wheelhouse=mixed_wheelhouse)
    # pip alone would take demo 1.1 (newest); --prefer conda takes the conda build.
    assert _dry_run(environment, source, ["demo"])["demo"] == "demo-1.0-0_py_0-py3-none-conda.whl"
    assert _dry_run(environment, source, ["demo"], "newest")["demo"] == "demo-1.1-py3-none-any.whl"
    # At equal versions pip's ABI-major order prefers cp312-cp312-manylinux; condawheel does not.
    tie = _dry_run(environment, source, ["demo==1.0"], "newest")
    assert tie["demo"] == "demo-1.0-0_py_0-py3-none-conda.whl"
    # A dependency pinned for preference is not "requested".
    result = install_requirements(
        ["app"],
        prefix=environment.prefix,
        source=source,
        options=InstallOptions(dry_run=True),
        environment=environment,
    )
    assert {item.contents.filename: item.requested for item in result.installation.installs} == {
        "app-1.0-0_py_0-py3-none-conda.whl": True,
        "demo-1.0-0_py_0-py3-none-conda.whl": False,
    }
    assert result.resolution.rounds == 2
    with pytest.raises(InstallError, match="cannot resolve nothing-such"):
        _dry_run(environment, source, ["nothing-such"])


@pytest.mark.slow
def test_cli_prefer_newest_and_the_wheelhouse_of_the_environment(
    mixed_wheelhouse: Path, tmp_path: Path
) -> None:
    def condawheel(prefix: Path, *arguments: str, **variables: str) -> dict[str, str]:
        """Run ``condawheel install demo`` and return each installed wheel by name."""
        link_python_into(prefix, find_python312())
        (prefix / "conda-meta").mkdir()
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("PIP_") and key not in {"CONDAWHEEL_WHEELHOUSE", "CONDA_PREFIX"}
        }
        environment.update(PIP_CONFIG_FILE=os.devnull, **variables)
        done = subprocess.run(
            [sys.executable, "-m", "condawheel", "install", "demo", "--prefix", str(prefix),
             "--system-config", str(tmp_path / "no-system.cfg"), "--json", *arguments],
            capture_output=True, text=True, check=False, env=environment,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return {item["name"]: item["wheel"] for item in json.loads(done.stdout)["installed"]}

    def origin(prefix: Path) -> str:
        code = "import demo; print(demo.ORIGIN)"
        run = subprocess.run(
            [str(prefix / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True
        )
        return run.stdout.strip()

    newest = condawheel(
        tmp_path / "newest", "--wheelhouse", str(mixed_wheelhouse), "--prefer", "newest"
    )
    assert Path(newest["demo"]).name == "demo-1.1-py3-none-any.whl"
    assert origin(tmp_path / "newest") == "any"
    # No --wheelhouse: the one activation exported (`condawheel hook install`), conda preferred.
    default = condawheel(tmp_path / "default", CONDAWHEEL_WHEELHOUSE=str(mixed_wheelhouse))
    assert Path(default["demo"]).name == "demo-1.0-0_py_0-py3-none-conda.whl"
    assert origin(tmp_path / "default") == "conda"


@pytest.mark.slow
def test_condawheels_own_pip_and_an_http_index(environment: Environment, http_index: str) -> None:
    # An environment without pip: condawheel lends its own pip to the environment's Python.
    without_pip = dataclasses.replace(
        environment, facts=dataclasses.replace(environment.facts, pip=None)
    )
    result = install_requirements(
        ["app"],
        prefix=environment.prefix,
        source=PackageSource(index_url=http_index),
        environment=without_pip,
    )
    assert result.resolution.pip.origin == "condawheel"
    assert sorted(item.contents.filename for item in result.installation.installs) == [
        "app-1.0-0_py_0-py3-none-conda.whl",
        "demo-1.0-0_py_0-py3-none-conda.whl",
    ]
    python = environment.prefix / "bin" / "python"
    origin = subprocess.run(
        [str(python), "-c", "import demo; print(demo.ORIGIN)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert origin.stdout == "conda\n"
