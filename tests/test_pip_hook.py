"""The pip hook: the environment's own, unmodified pip installs conda wheels faithfully.

Unit part: the runtime module's pure pieces (configuration, file names) and the hook's files.
Proof part (``slow``): real conda environments built with py-rattler from the corpus, hooked
with ``condawheel hook install``, and their real pips: conda-forge's pip 24.3.1 (from the
corpus), the oldest pip condawheel supports in environments (22.2) and the newest pip on PyPI
(both fetched by ``scripts/fetch_test_wheels.py``). The wheelhouse is environment A's,
converted by ``condawheel sync``.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from conda_envs import CondaEnvironments, conda_environments
from condawheel.env import pip_hook_patches as patches
from condawheel.env import pip_hook_start as start
from condawheel.env.pip_hook_patches import (
    ConfigProblem,
    entry_platforms,
    read_platforms,
    wheel_platforms,
)
from condawheel.env.piphook import render_pip_hook
from env_support import SITE, ZSTD, WheelSpec, assert_record_true, make_wheel, zstd_fork_wheelhouse
from pip_hook_support import (
    HOOK,
    condawheel,
    env_a_wheelhouse,
    error_lines,
    hook_install,
    make_flavoured_environment,
    pip,
    pip_version,
    plain_wheel,
    python_of,
    replace_file,
    run_checked,
    run_python,
    site_packages,
)

__all__ = ["conda_environments", "env_a_wheelhouse"]  # fixtures, imported for pytest

# --------------------------------------------------------------------------------------------
# Unit: the runtime module's pure parts, and the files hook install writes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"linux_x86_64": {"build": "conda_linux_64", "install": ["conda"]}},
            ("conda_linux_64", "conda"),
        ),
        ({"linux_x86_64": {"build": "a", "install": ["b", "a", "b"]}}, ("b", "a")),
        ({"linux_x86_64": {"install": []}}, ()),
        ({"win_amd64": {"install": ["conda_win_64"]}}, None),
    ],
    ids=["build-first", "listed-build-keeps-its-place", "empty", "other-platform"],
)
def test_entry_platforms_follow_the_tag_configuration_rule(
    document: dict[str, object], expected: tuple[str, ...] | None
) -> None:
    assert entry_platforms("cfg", document, "linux_x86_64") == expected


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must hold a JSON object"),
        ({"linux_x86_64": []}, "must map to an object"),
        ({"linux_x86_64": {"install": "conda"}}, "must be a list"),
        ({"linux_x86_64": {"install": ["Conda-Linux"]}}, "not a platform tag"),
        ({"linux_x86_64": {"build": 3}}, "not a platform tag"),
        ({"linux_x86_64": {"extra": []}}, "must map to an object"),
    ],
)
def test_a_bad_entry_is_a_config_problem(document: object, message: str) -> None:
    with pytest.raises(ConfigProblem, match=message):
        entry_platforms("cfg", document, "linux_x86_64")


def test_the_environment_file_wins_and_a_missing_entry_gives_the_default(tmp_path: Path) -> None:
    system = tmp_path / "system.cfg"
    own = tmp_path / "own.cfg"
    system.write_text(json.dumps({"linux_x86_64": {"install": ["site_tag"]}}))
    files = [str(system), str(own)]
    assert read_platforms(files, "linux_x86_64", ["dflt"]) == ("site_tag",)
    own.write_text(json.dumps({"linux_x86_64": {"build": "conda_linux_64", "install": ["conda"]}}))
    assert read_platforms(files, "linux_x86_64", ["dflt"]) == ("conda_linux_64", "conda")
    assert read_platforms(files, "linux_aarch64", ["dflt"]) == ("dflt",)
    own.write_text("{not json")
    with pytest.raises(ConfigProblem, match=r"own\.cfg: cannot be read as JSON"):
        read_platforms(files, "linux_x86_64", ["dflt"])


@pytest.mark.parametrize(
    ("filename", "platforms"),
    [
        ("cffi-1.17.1-0_py312h06ac9bb_0-cp312-cp312-conda_linux_64.whl", ("conda_linux_64",)),
        ("idna-3.10-py3-none-any.whl", ("any",)),
        (
            "x-1-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            ("manylinux_2_17_x86_64", "manylinux2014_x86_64"),
        ),
    ],
)
def test_wheel_platforms(filename: str, platforms: tuple[str, ...]) -> None:
    assert wheel_platforms(filename) == platforms


def test_both_modules_know_the_same_switch() -> None:
    assert patches.SWITCH == start.SWITCH == "CONDAWHEEL_PIP_HOOK"
    assert start.PATCHES == patches.MODULE_NAME


def test_the_hook_files() -> None:
    files = {
        item.path: item.content
        for item in render_pip_hook(
            SITE,
            condawheel_python="/opt/condawheel/bin/python",
            system_config=None,
            default_platforms=("conda_linux_64", "conda"),
        )
    }
    sources = Path(__file__).parent.parent / "src/condawheel/env"
    assert files[f"{SITE}/{HOOK}.py"] == (sources / "pip_hook_start.py").read_bytes()
    assert files[f"{SITE}/{HOOK}_patches.py"] == (sources / "pip_hook_patches.py").read_bytes()
    # site.py runs .pth lines that start with "import"; PEP 829 .start lines name an entry point.
    assert files[f"{SITE}/{HOOK}.pth"].decode().splitlines()[1] == (
        f"import {HOOK} as hook; hook.activate()"
    )
    assert files[f"{SITE}/{HOOK}.start"].decode().splitlines()[1] == f"{HOOK}:activate"
    assert json.loads(files["etc/condawheel/pip-hook.json"]) == {
        "schema_version": 1,
        "condawheel_python": "/opt/condawheel/bin/python",
        "system_config": None,
        "default_platforms": ["conda_linux_64", "conda"],
    }


# --------------------------------------------------------------------------------------------
# Real environments: the wheelhouse, and a hooked environment per pip
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hooked:
    """A hooked conda environment, the wheelhouse it points at, and its pip's version."""

    prefix: Path
    wheelhouse: Path
    system_config: Path
    pip_version: str


@pytest.fixture(scope="module")
def wheelhouse(env_a_wheelhouse: Path) -> Path:
    """Environment A's conda packages, converted by ``condawheel sync`` and indexed."""
    return env_a_wheelhouse


def _hooked(
    conda_environments: CondaEnvironments, wheelhouse: Path, root: Path, flavour: str
) -> Hooked:
    prefix = make_flavoured_environment(conda_environments, root / "env", flavour)
    system_config = root / "no-system.cfg"
    hook_install(prefix, wheelhouse, system_config)
    return Hooked(prefix, wheelhouse, system_config, pip_version(prefix))


@pytest.fixture(scope="module")
def shared(
    conda_environments: CondaEnvironments,
    wheelhouse: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Hooked:
    """A hooked environment with conda-forge's pip, shared by tests that install nothing
    another of them asks for (each asks for other distributions)."""
    root = tmp_path_factory.mktemp("hooked-shared")
    return _hooked(conda_environments, wheelhouse, root, "conda-forge")


@pytest.fixture
def fresh(conda_environments: CondaEnvironments, wheelhouse: Path, tmp_path: Path) -> Hooked:
    """A hooked environment with conda-forge's pip, for one test."""
    return _hooked(conda_environments, wheelhouse, tmp_path, "conda-forge")


def find_links(hooked: Hooked) -> list[str]:
    return ["--no-index", "--find-links", str(hooked.wheelhouse)]


def installed(prefix: Path, name: str) -> Path | None:
    found = list(site_packages(prefix).glob(f"{name}-*.dist-info"))
    return found[0] if found else None


# --------------------------------------------------------------------------------------------
# Every pip: the tags, an install, pip check and list, and hook remove
# --------------------------------------------------------------------------------------------

SUPPORTED = (
    "from pip._internal.utils.compatibility_tags import get_supported as g; print(*g(), sep='\\n')"
)


@pytest.mark.slow
@pytest.mark.corpus
@pytest.mark.parametrize("flavour", ["conda-forge", "oldest", "newest"])
def test_each_pip_takes_conda_wheels_until_hook_remove(
    flavour: str, conda_environments: CondaEnvironments, wheelhouse: Path, tmp_path: Path
) -> None:
    """conda-forge's pip 24.3.1, pip 22.2 (on Python 3.11) and the newest pip."""
    hooked = _hooked(conda_environments, wheelhouse, tmp_path, flavour)
    prefix = hooked.prefix
    if flavour == "oldest":
        assert hooked.pip_version == "22.2"
    # 1. pip accepts the tags condawheel lists, conda tags first in the same order.
    listed = condawheel(
        "tags", "--prefix", str(prefix), "--system-config", str(hooked.system_config)
    )
    assert listed.returncode == 0, listed.stderr
    supported = run_python(prefix, "-c", SUPPORTED)
    assert (supported.returncode, supported.stderr) == (0, "")
    ours, pips = listed.stdout.split(), supported.stdout.split()
    conda = [tag for tag in ours if "conda" in tag.rsplit("-", 1)[1]]
    assert (
        conda[0]
        == ("cp311" if flavour == "oldest" else "cp312")
        + "-"
        + conda[0].split("-")[1]
        + "-conda_linux_64"
    )
    assert ours[: len(conda)] == conda
    assert pips[: len(conda)] == conda
    # The interpreter's own tags follow: their order is that of each packaging copy (pip's
    # vendored one may be older than condawheel's); the set is the same.
    assert set(pips) == set(ours)
    assert len(pips) == len(ours)
    off = run_python(prefix, "-c", SUPPORTED, extra={"CONDAWHEEL_PIP_HOOK": "0"})
    assert not [tag for tag in off.stdout.split() if "conda" in tag]
    # 2. pip installs conda wheels, through condawheel.
    done = pip(prefix, "install", *find_links(hooked), "tqdm", "idna")
    assert done.returncode == 0, done.stderr
    for name in ("tqdm", "idna"):
        dist_info = installed(prefix, name)
        assert dist_info is not None, name
        assert (dist_info / "INSTALLER").read_text() == "condawheel\n"
        # The installed WHEEL names a tag the interpreter accepts; the sidecar keeps the wheel's.
        assert "Tag: py3-none-any\n" in (dist_info / "WHEEL").read_text()
        origin = json.loads((dist_info / "conda.json").read_text())["installed_from"]
        assert origin["tags"] == ["py3-none-conda"]
        assert_record_true(dist_info)
    assert (installed(prefix, "tqdm") / "REQUESTED").exists()  # type: ignore[operator]
    version = run_checked([str(prefix / "bin" / "tqdm"), "--version"])
    assert version.strip() == "4.67.1"
    # 3. pip check and pip list.
    checked = pip(prefix, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    listed_json = pip(prefix, "list", "--format", "json")
    versions = {item["name"].lower(): item["version"] for item in json.loads(listed_json.stdout)}
    assert (versions["tqdm"], versions["idna"]) == ("4.67.1", "3.10")
    # 4. hook remove: the hook's files go, and pip refuses conda wheels again.
    removed = condawheel("hook", "remove", "--prefix", str(prefix))
    assert removed.returncode == 0, removed.stderr
    assert not list(site_packages(prefix).glob(f"{HOOK}*"))
    assert not list(site_packages(prefix).glob(f"__pycache__/{HOOK}*"))
    after = pip(prefix, "install", "--dry-run", *find_links(hooked), "requests")
    assert after.returncode == 1
    assert "No matching distribution found for requests" in after.stderr
    wheel = next(wheelhouse.glob("requests-*.whl"))
    direct = pip(prefix, "install", "--dry-run", "--no-index", str(wheel))
    assert direct.returncode == 1
    assert "is not a supported wheel on this platform" in direct.stderr


# --------------------------------------------------------------------------------------------
# Fidelity, with conda-forge's pip
# --------------------------------------------------------------------------------------------


def remove_conda_package(prefix: Path, name: str) -> None:
    """Remove a conda package from an environment as conda would: files, then record."""
    record = next((prefix / "conda-meta").glob(f"{name}-[0-9]*.json"))
    for relative in json.loads(record.read_text())["files"]:
        if os.path.lexists(prefix / relative):
            (prefix / relative).unlink()
    record.unlink()


@pytest.mark.slow
@pytest.mark.corpus
def test_pip_relocates_restores_links_and_checks_external(fresh: Hooked) -> None:
    prefix = fresh.prefix
    remove_conda_package(prefix, "libffi")
    refused = pip(prefix, "install", *find_links(fresh), "cffi")
    assert refused.returncode == 1
    [line] = error_lines(refused.stderr)
    assert "requires the conda package 'libffi >=3.4,<4.0a0'" in line
    assert f"conda install --prefix {prefix} 'libffi >=3.4,<4.0a0'" in line
    assert "Traceback" not in refused.stderr
    assert installed(prefix, "cffi") is None
    assert not (site_packages(prefix) / "cffi").exists()
    # The wheel converted from libffi provides it: its text placeholder is relocated, its
    # symbolic links restored; cffi then works.
    done = pip(prefix, "install", *find_links(fresh), "conda-pkg-libffi", "cffi")
    assert done.returncode == 0, done.stderr
    pc = (prefix / "lib/pkgconfig/libffi.pc").read_text()
    assert f"prefix={prefix}\n" in pc
    assert "placehold" not in pc
    assert (prefix / "lib/libffi.so.8").readlink().as_posix() == "libffi.so.8.1.0"
    works = run_python(prefix, "-c", "import _cffi_backend; print(_cffi_backend.__version__)")
    assert works.stdout == "1.17.1\n", works.stderr
    for name in ("conda_pkg_libffi", "cffi"):
        dist_info = installed(prefix, name)
        assert dist_info is not None
        assert_record_true(dist_info)
    cffi_wheel = (installed(prefix, "cffi") / "WHEEL").read_text()  # type: ignore[operator]
    assert "Tag: cp312-cp312-linux_x86_64\n" in cffi_wheel
    checked = pip(prefix, "check")
    assert checked.returncode == 0, checked.stdout


@pytest.mark.slow
@pytest.mark.corpus
def test_pip_never_overwrites_a_file_conda_owns(shared: Hooked, tmp_path: Path) -> None:
    forks = zstd_fork_wheelhouse(tmp_path)
    library = shared.prefix / "lib/libzstd.so.1"
    inode = library.resolve().stat().st_ino
    refused = pip(
        shared.prefix, "install", "--no-index", "--find-links", str(forks), "conda-pkg-zstd-fork"
    )
    assert refused.returncode == 1
    [line] = error_lines(refused.stderr)
    assert "would overwrite lib/libzstd.so.1" in line
    assert f"belongs to the conda package {ZSTD}" in line
    assert library.resolve().stat().st_ino == inode
    assert installed(shared.prefix, "conda_pkg_zstd_fork") is None


@pytest.mark.slow
@pytest.mark.corpus
def test_pip_reads_the_index_url_and_pip_variables(shared: Hooked) -> None:
    index = (shared.wheelhouse / "simple").as_uri()
    by_index = pip(shared.prefix, "install", "--index-url", index, "idna")
    assert by_index.returncode == 0, by_index.stderr
    assert (installed(shared.prefix, "idna") / "INSTALLER").read_text() == "condawheel\n"  # type: ignore[operator]
    # The variables an activation script (or a user) may set.
    variables = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(shared.wheelhouse)}
    by_variables = pip(shared.prefix, "install", "colorama", extra=variables)
    assert by_variables.returncode == 0, by_variables.stderr
    assert installed(shared.prefix, "colorama") is not None
    by_url = pip(shared.prefix, "install", "tqdm", extra={"PIP_INDEX_URL": index})
    assert by_url.returncode == 0, by_url.stderr
    assert (installed(shared.prefix, "tqdm") / "INSTALLER").read_text() == "condawheel\n"  # type: ignore[operator]


@pytest.mark.slow
@pytest.mark.corpus
def test_pip_prefers_conda_builds_as_condawheel_install_does(
    shared: Hooked, tmp_path: Path
) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    conda_certifi = next(shared.wheelhouse.glob("certifi-2024.12.14-*.whl"))
    shutil.copy(conda_certifi, mixed)
    newer = plain_wheel(mixed, "certifi", "2025.1.31")

    def chosen(extra: dict[str, str] | None = None) -> str:
        report = tmp_path / "report.json"
        done = pip(
            shared.prefix, "install", "--dry-run", "--report", str(report),
            "--no-index", "--find-links", str(mixed), "certifi", extra=extra,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        [item] = json.loads(report.read_text())["install"]
        return str(item["download_info"]["url"]).rsplit("/", 1)[-1]

    assert chosen() == conda_certifi.name
    by_condawheel = condawheel(
        "install", "certifi", "--dry-run", "--json", "--prefix", str(shared.prefix),
        "--wheelhouse", str(mixed), "--system-config", str(shared.system_config),
    )  # fmt: skip
    assert by_condawheel.returncode == 0, by_condawheel.stderr
    assert [item["wheel"] for item in json.loads(by_condawheel.stdout)["installed"]] == [
        conda_certifi.name
    ]
    assert chosen({"CONDAWHEEL_PREFER": "newest"}) == newer.name


@pytest.mark.slow
@pytest.mark.corpus
def test_pip_download_wheel_and_the_standalone_packaging(shared: Hooked, tmp_path: Path) -> None:
    downloaded = pip(
        shared.prefix,
        "download",
        *find_links(shared),
        "--no-deps",
        "-d",
        str(tmp_path / "d"),
        "idna",
    )
    assert downloaded.returncode == 0, downloaded.stderr
    assert [path.name for path in (tmp_path / "d").iterdir()] == [
        next(shared.wheelhouse.glob("idna-*.whl")).name
    ]
    built = pip(
        shared.prefix, "wheel", *find_links(shared), "--no-deps", "-w", str(tmp_path / "w"), "idna"
    )
    assert built.returncode == 0, built.stderr
    assert [path.name for path in (tmp_path / "w").iterdir()] == [
        next(shared.wheelhouse.glob("idna-*.whl")).name
    ]
    # A standalone packaging (conda's packaging 24.2) computes the same tags.
    listed = condawheel(
        "tags", "--prefix", str(shared.prefix), "--system-config", str(shared.system_config)
    )
    standalone = run_python(
        shared.prefix, "-c", "from packaging.tags import sys_tags; print(*sys_tags(), sep='\\n')"
    )
    assert standalone.returncode == 0, standalone.stderr
    conda = [tag for tag in listed.stdout.split() if "conda" in tag.rsplit("-", 1)[1]]
    assert standalone.stdout.split()[: len(conda)] == conda
    assert set(standalone.stdout.split()) == set(listed.stdout.split())


FINDER = "import sys; print(any(type(f).__name__ == 'TagsFinder' for f in sys.meta_path))"


# --------------------------------------------------------------------------------------------
# Refusals and failing open
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.corpus
def test_without_its_condawheel_the_hook_refuses_with_a_pointer(fresh: Hooked) -> None:
    data_file = fresh.prefix / "etc/condawheel/pip-hook.json"
    data = json.loads(data_file.read_text())
    data["condawheel_python"] = str(fresh.prefix / "no-such-condawheel" / "python")
    replace_file(data_file, json.dumps(data).encode())
    refused = pip(fresh.prefix, "install", *find_links(fresh), "idna")
    assert refused.returncode == 1
    [line] = error_lines(refused.stderr)
    assert "is gone" in line
    assert f"condawheel install idna --prefix {fresh.prefix}" in line
    assert installed(fresh.prefix, "idna") is None
    target = pip(
        fresh.prefix, "install", *find_links(fresh), "--target", str(fresh.prefix / "t"), "idna"
    )
    assert target.returncode == 1
    [line] = error_lines(target.stderr)
    assert "installs only into the environment itself" in line


# A pip whose install_wheel has another signature than the one the hook knows.
UNKNOWN_PIP = (
    "import sys; import pip._internal.operations.install.wheel as w; "
    "real = w.install_wheel; w.install_wheel = lambda *a, **k: real(*a, **k); "
    "from pip._internal.cli.main import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.mark.slow
@pytest.mark.corpus
def test_a_pip_it_does_not_know_works_as_without_the_hook(fresh: Hooked, tmp_path: Path) -> None:
    plain = make_wheel(
        tmp_path / "plain",
        WheelSpec(
            name="plainpkg", build=None, tag="py3-none-any", files={"plainpkg.py": b"X = 1\n"}
        ),
    )
    links = ["--no-index", "--find-links", str(fresh.wheelhouse), "--find-links", str(plain.parent)]
    refused = run_python(fresh.prefix, "-c", UNKNOWN_PIP, "install", *links, "idna")
    assert refused.returncode == 1
    assert "No matching distribution found for idna" in refused.stderr
    warnings = [
        line for line in refused.stderr.splitlines() if line.startswith("condawheel pip hook:")
    ]
    assert len(warnings) == 1
    assert "is not a pip whose internals this hook knows" in warnings[0]
    assert "Traceback" not in refused.stderr
    done = run_python(fresh.prefix, "-c", UNKNOWN_PIP, "install", *links, "plainpkg")
    assert done.returncode == 0, done.stderr
    assert (installed(fresh.prefix, "plainpkg") / "INSTALLER").read_text() == "pip\n"  # type: ignore[operator]


@pytest.mark.slow
@pytest.mark.corpus
def test_start_up_costs_a_finder_and_a_broken_configuration_fails_open(fresh: Hooked) -> None:
    code = (
        "import sys; "
        "print(any(type(f).__name__ == 'TagsFinder' for f in sys.meta_path), "
        "'_condawheel_pip_hook_patches' in sys.modules, 'packaging.tags' in sys.modules)"
    )
    done = run_python(fresh.prefix, "-c", code)
    assert (done.stdout, done.stderr) == ("True False False\n", "")
    cached = {
        path.name for path in (site_packages(fresh.prefix) / "__pycache__").glob(f"{HOOK}*.pyc")
    }
    assert cached == {f"{HOOK}.cpython-312.pyc", f"{HOOK}_patches.cpython-312.pyc"}
    # Python 3.15 runs the .start file's entry point instead (PEP 829: pkgutil.resolve_name,
    # called without arguments); no 3.15 here, so resolve and call it as site.py would.
    start = (site_packages(fresh.prefix) / f"{HOOK}.start").read_text(encoding="utf-8-sig")
    [entry] = [line for line in start.splitlines() if line.strip() and not line.startswith("#")]
    resolved = run_python(
        fresh.prefix,
        "-S",  # no site.py: nothing ran the .pth line
        "-c",
        "import pkgutil, sys; sys.path.append(sys.argv[2]); "
        "pkgutil.resolve_name(sys.argv[1])(); " + FINDER.split("; ", 1)[1],
        entry,
        str(site_packages(fresh.prefix)),
    )
    assert (resolved.stdout, resolved.stderr) == ("True\n", "")
    off = run_python(fresh.prefix, "-c", FINDER, extra={"CONDAWHEEL_PIP_HOOK": "0"})
    assert off.stdout == "False\n"
    replace_file(fresh.prefix / "binary-compatibility.cfg", b"{broken")
    quiet = run_python(fresh.prefix, "-c", "pass")
    assert (quiet.returncode, quiet.stderr) == (0, "")  # nothing is read at start-up
    refused = pip(fresh.prefix, "install", "--dry-run", *find_links(fresh), "idna")
    assert refused.returncode == 1
    assert "No matching distribution found for idna" in refused.stderr
    [warning] = [line for line in refused.stderr.splitlines() if "condawheel pip hook:" in line]
    assert "binary-compatibility.cfg: cannot be read as JSON" in warning
    assert "Traceback" not in refused.stderr
    assert python_of(fresh.prefix).exists()
