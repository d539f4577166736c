"""``condawheel build`` end to end: real sdists compiled with gcc in a py-rattler environment.

One module-wide run builds four sdists the test writes (a C extension linking the
environment's conda libzstd, one linking only a system library, a pure one, and one that
does not compile) into a wheelhouse, then deletes the build environment. The wheels are
then checked, installed into other environments and offered to the system Python's pip.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from binary_builders import facts_of
from conda_envs import CondaEnvironments, conda_environments, find_python312
from condawheel.build import (
    BuildError,
    BuildOptions,
    BuildOutcome,
    BuildReport,
    Destination,
    PipOptions,
    build_sources,
)
from condawheel.build.compiling import pip_wheel
from condawheel.env.install import install_requirements
from condawheel.env.resolve import PackageSource
from condawheel.errors import ExternalDependencyError
from env_support import assert_record_true

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["conda_environments"]  # a fixture, imported for pytest

SITE = "lib/python3.12/site-packages"
BUILD_SPECS = ("python 3.12.*", "zstd", "setuptools", "wheel", "pip")
NO_INDEX = BuildOptions(pip=PipOptions(no_index=True), system_config=None)

ZSTD_C = """\
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <zstd.h>
static PyObject *version(PyObject *self, PyObject *args) {
    return PyUnicode_FromString(ZSTD_versionString());
}
static PyMethodDef methods[] = {{"zstd_version", version, METH_NOARGS, NULL}, {NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_zdemo", NULL, -1, methods};
PyMODINIT_FUNC PyInit__zdemo(void) { return PyModule_Create(&module); }
"""
MATH_C = """\
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
static PyObject *root(PyObject *self, PyObject *arg) {
    return PyFloat_FromDouble(sqrt(PyFloat_AsDouble(arg)));
}
static PyMethodDef methods[] = {{"root", root, METH_O, NULL}, {NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_mdemo", NULL, -1, methods};
PyMODINIT_FUNC PyInit__mdemo(void) { return PyModule_Create(&module); }
"""
BROKEN_C = '#include <Python.h>\n#include "no_such_header.h"\n'


def write_sdist(folder: Path, name: str, files: dict[str, str], extension: str = "") -> Path:
    """Write ``<name>-1.0.tar.gz``: setuptools project files plus ``files``."""
    setup = "from setuptools import setup\nsetup()\n"
    if extension:
        setup = (
            "from setuptools import Extension, setup\n"
            f"setup(ext_modules=[Extension({extension})])\n"
        )
    project = {
        "pyproject.toml": (
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
            f'[project]\nname = "{name}"\nversion = "1.0"\n'
        ),
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        "setup.py": setup,
        **files,
    }
    path = folder / f"{name}-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for relative, text in sorted(project.items()):
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-1.0/{relative}")
            info.size = len(data)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return path


@dataclass(frozen=True)
class Built:
    """The module's one build run, after its environment was deleted."""

    build_prefix: Path
    sdists: dict[str, Path]
    wheelhouse: Path
    report: BuildReport
    pip_built: Path
    """zdemo as ``pip wheel`` made it in the environment (a wheel source)."""
    from_wheel: tuple[Path, Path]
    """That wheel given to ``build`` twice, into two folders."""

    def outcome(self, name: str) -> BuildOutcome:
        return next(o for o in self.report.outcomes if o.source == str(self.sdists[name]))

    def wheel(self, name: str) -> Path:
        wheel = self.outcome(name).wheel
        assert wheel is not None, self.outcome(name).error
        return wheel


@pytest.fixture(scope="module")
def built(conda_environments: CondaEnvironments, tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("build")
    prefix = conda_environments.create(root / "build-env", BUILD_SPECS)
    sources = root / "sources"
    sources.mkdir()
    sdists = {
        "zdemo": write_sdist(
            sources,
            "zdemo",
            {
                "zdemo/__init__.py": "from zdemo._zdemo import zstd_version\n",
                "zdemo/_zdemo.c": ZSTD_C,
            },
            '"zdemo._zdemo", ["zdemo/_zdemo.c"], libraries=["zstd"]',
        ),
        "mdemo": write_sdist(
            sources,
            "mdemo",
            {"mdemo/__init__.py": "", "mdemo/_mdemo.c": MATH_C},
            '"mdemo._mdemo", ["mdemo/_mdemo.c"], libraries=["m"]',
        ),
        "puredemo": write_sdist(sources, "puredemo", {"puredemo/__init__.py": "VALUE = 1\n"}),
        "broken": write_sdist(
            sources,
            "broken",
            {"broken/__init__.py": "", "broken/_broken.c": BROKEN_C},
            '"broken._broken", ["broken/_broken.c"]',
        ),
    }
    wheelhouse = root / "wheelhouse"
    report = build_sources([str(path) for path in sdists.values()], prefix,
                           Destination(wheelhouse, wheelhouse=True), NO_INDEX)  # fmt: skip
    # The same C extension as pip builds it in the environment, given to build as a wheel.
    work = root / "pip-work"
    work.mkdir()
    pip_built = pip_wheel(
        prefix / "bin" / "python", str(prefix), str(sdists["zdemo"]), work, PipOptions(no_index=True),
        subject="zdemo", inherited=dict(os.environ),
    )  # fmt: skip
    kept = root / pip_built.name
    shutil.copyfile(pip_built, kept)
    outputs = []
    for folder in ("first", "second"):
        again = build_sources([str(kept)], prefix, Destination(root / folder, wheelhouse=False),
                              NO_INDEX)  # fmt: skip
        (outcome,) = again.outcomes
        assert outcome.wheel is not None, outcome.error
        outputs.append(outcome.wheel)
    shutil.rmtree(prefix)  # installs below must not depend on it
    return Built(prefix, sdists, wheelhouse, report, kept, (outputs[0], outputs[1]))


def members(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def run(
    *command: str | Path, extra: dict[str, str] | None = None, configured: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run a command without pip's variables; without its configuration files unless asked."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    if not configured:  # os.devnull: pip reads no file at all, not even the site one
        environment["PIP_CONFIG_FILE"] = os.devnull
    environment.update(extra or {})
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, check=False,
        env=environment,
    )  # fmt: skip


# ------------------------------------------------------------------ what was built


@pytest.mark.corpus
@pytest.mark.slow
def test_the_zstd_extension_becomes_a_conda_wheel(built: Built) -> None:
    outcome = built.outcome("zdemo")
    wheel = built.wheel("zdemo")
    assert wheel == built.wheelhouse / "zdemo-1.0-cp312-cp312-conda_linux_64.whl"
    files = members(wheel)
    metadata = files["zdemo-1.0.dist-info/METADATA"].decode()
    assert "Requires-External: zstd (>=1.5.6,<1.6.0a0)\n" in metadata
    assert outcome.requires_external == ("zstd (>=1.5.6,<1.6.0a0)",)
    wheel_file = files["zdemo-1.0.dist-info/WHEEL"].decode()
    assert "Tag: cp312-cp312-conda_linux_64\n" in wheel_file
    assert "linux_x86_64" not in wheel_file
    (extension,) = [name for name in files if name.endswith(".so")]
    facts = facts_of(files[extension])
    # Relative to the installed file (lib/python3.12/site-packages/zdemo/ -> lib/); the
    # build's absolute run paths (the environment's, the interpreter's own) are gone.
    assert (facts.runpaths or facts.rpaths) == ("$ORIGIN/../../..",)
    assert "libzstd.so.1" in facts.needed
    assert str(built.build_prefix).encode() + b"/lib/." not in files[extension]


@pytest.mark.corpus
@pytest.mark.slow
def test_the_sidecar_records_the_provenance(built: Built) -> None:
    sidecar = json.loads(members(built.wheel("zdemo"))["zdemo-1.0.dist-info/conda.json"])
    sdist = built.sdists["zdemo"]
    assert sidecar["origin"] == "build"
    assert sidecar["source"]["filename"] == sdist.name
    assert sidecar["source"]["sha256"] == hashlib.sha256(sdist.read_bytes()).hexdigest()
    python = sidecar["environment"]["python"]
    assert python["conda_package"] == {
        "name": "python",
        "version": "3.12.4",
        "build": "h194c7f8_0_cpython",
    }
    assert python["version"].startswith("3.12.")
    assert sidecar["linked_packages"] == [{
        "name": "zstd", "version": "1.5.6", "build": "ha6fb4c9_0",
        "requires_external": "zstd (>=1.5.6,<1.6.0a0)", "rule": "run_exports",
    }]  # fmt: skip
    (binary,) = sidecar["external_libraries"]["binaries"]
    zstd = next(item for item in binary["libraries"] if item["name"] == "libzstd.so.1")
    assert (zstd["kind"], zstd["package"]) == ("dependency", "zstd")


@pytest.mark.corpus
@pytest.mark.slow
def test_the_records_are_true_and_the_wheel_is_indexed(built: Built, tmp_path: Path) -> None:
    wheel = built.wheel("zdemo")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path)  # noqa: S202 - our own wheel
    assert_record_true(tmp_path / "zdemo-1.0.dist-info")
    index = (built.wheelhouse / "simple" / "zdemo" / "index.html").read_text()
    assert wheel.name in index
    assert (built.wheelhouse / f"{wheel.name}.metadata").read_bytes() == members(wheel)[
        "zdemo-1.0.dist-info/METADATA"
    ]


@pytest.mark.corpus
@pytest.mark.slow
def test_a_system_library_only_extension_declares_nothing(built: Built) -> None:
    wheel = built.wheel("mdemo")
    assert wheel.name == "mdemo-1.0-cp312-cp312-conda_linux_64.whl"
    files = members(wheel)
    assert "Requires-External" not in files["mdemo-1.0.dist-info/METADATA"].decode()
    sidecar = json.loads(files["mdemo-1.0.dist-info/conda.json"])
    assert sidecar["linked_packages"] == []
    kinds = {
        library["name"]: library["kind"]
        for binary in sidecar["external_libraries"]["binaries"]
        for library in binary["libraries"]
    }
    assert set(kinds.values()) == {"system"}


@pytest.mark.corpus
@pytest.mark.slow
def test_a_pure_sdist_stays_as_built(built: Built) -> None:
    outcome = built.outcome("puredemo")
    assert (outcome.status, outcome.kept_as_built) == ("written", True)
    assert built.wheel("puredemo").name == "puredemo-1.0-py3-none-any.whl"
    files = members(built.wheel("puredemo"))
    assert "puredemo-1.0.dist-info/conda.json" not in files
    assert "Tag: py3-none-any\n" in files["puredemo-1.0.dist-info/WHEEL"].decode()


@pytest.mark.corpus
@pytest.mark.slow
def test_a_failing_build_is_one_line_and_publishes_nothing(built: Built) -> None:
    outcome = built.outcome("broken")
    assert outcome.status == "failed"
    error = outcome.error
    assert isinstance(error, BuildError)
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"{built.sdists['broken']}: pip wheel failed (exit 1): ")
    assert "no_such_header.h" in message
    assert any("no_such_header.h" in line for line in error.log_tail)
    assert not list(built.wheelhouse.glob("broken*"))
    assert not (built.wheelhouse / "simple" / "broken").exists()
    assert built.report.failed
    # The others of the batch went on.
    assert sorted(p.name for p in built.wheelhouse.glob("*.whl")) == [
        "mdemo-1.0-cp312-cp312-conda_linux_64.whl",
        "puredemo-1.0-py3-none-any.whl",
        "zdemo-1.0-cp312-cp312-conda_linux_64.whl",
    ]
    assert [path for path in built.wheelhouse.iterdir() if "tmp" in path.name] == []


@pytest.mark.corpus
@pytest.mark.slow
def test_a_built_wheel_as_source_is_retagged_deterministically(built: Built) -> None:
    assert built.pip_built.name == "zdemo-1.0-cp312-cp312-linux_x86_64.whl"
    first, second = built.from_wheel
    assert first.name == "zdemo-1.0-cp312-cp312-conda_linux_64.whl"
    assert first.read_bytes() == second.read_bytes()
    sidecar = json.loads(members(first)["zdemo-1.0.dist-info/conda.json"])
    assert sidecar["source"]["kind"] == "wheel"
    assert sidecar["source"]["filename"] == built.pip_built.name


# ------------------------------------------------------------------ afterwards


@pytest.fixture(scope="module")
def tools(conda_environments: CondaEnvironments, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An environment with Python, pip and setuptools, and no C library."""
    root = tmp_path_factory.mktemp("tools")
    return conda_environments.create(root / "env", ("python 3.12.*", "pip", "setuptools"))


@pytest.mark.corpus
@pytest.mark.slow
def test_installed_elsewhere_it_loads_that_environments_libzstd(
    built: Built, conda_environments: CondaEnvironments, tmp_path: Path
) -> None:
    assert not built.build_prefix.exists()
    target = conda_environments.create(tmp_path / "other", ("python 3.12.*", "zstd"))
    result = install_requirements(
        ["zdemo"], prefix=target, source=PackageSource(wheelhouse=built.wheelhouse),
        system_config=None,
    )  # fmt: skip
    assert [item.contents.filename for item in result.installation.installs] == [
        "zdemo-1.0-cp312-cp312-conda_linux_64.whl"
    ]
    code = (
        "import zdemo; print(zdemo.zstd_version()); "
        "print(*sorted({l.split()[-1] for l in open('/proc/self/maps') if 'libzstd' in l}))"
    )
    done = run(target / "bin" / "python", "-c", code)
    assert done.returncode == 0, done.stderr
    version, loaded = done.stdout.splitlines()
    assert version == "1.5.6"
    assert os.path.realpath(loaded) == os.path.realpath(target / "lib" / "libzstd.so.1.5.6")


@pytest.mark.corpus
@pytest.mark.slow
def test_an_environment_without_zstd_is_refused(
    built: Built, conda_environments: CondaEnvironments, tmp_path: Path
) -> None:
    target = conda_environments.create(tmp_path / "no-zstd", ("python 3.12.*",))
    with pytest.raises(ExternalDependencyError) as caught:
        install_requirements(
            ["zdemo"], prefix=target, source=PackageSource(wheelhouse=built.wheelhouse),
            system_config=None,
        )  # fmt: skip
    assert "requires the conda package 'zstd >=1.5.6,<1.6.0a0'" in str(caught.value)
    assert not (target / SITE / "zdemo").exists()


@pytest.mark.corpus
@pytest.mark.slow
def test_the_system_pythons_pip_refuses_it(built: Built, tmp_path: Path) -> None:
    wheel = built.wheel("zdemo")
    done = run(find_python312(), "-m", "pip", "install", "--dry-run", "--no-deps", "--no-index",
               "--target", tmp_path / "target", wheel)  # fmt: skip
    assert done.returncode != 0
    assert "is not a supported wheel on this platform" in done.stderr


@pytest.mark.corpus
@pytest.mark.slow
def test_a_hooked_environments_pip_caches_its_builds_apart(
    built: Built, tools: Path, tmp_path: Path
) -> None:
    prefix = tools
    hooked = run(sys.executable, "-m", "condawheel", "hook", "install", "--prefix", prefix,
                 "--wheelhouse", tmp_path / "wheelhouse", "--system-config", tmp_path / "none")  # fmt: skip
    assert hooked.returncode == 0, hooked.stderr
    home = tmp_path / "home"
    home.mkdir()
    variables = {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    python = prefix / "bin" / "python"
    cache = run(python, "-m", "pip", "cache", "dir", extra=variables, configured=True)
    assert cache.stdout.strip() == str(prefix / "var" / "cache" / "pip"), cache.stderr
    # pip caches the wheel it builds from a local sdist: in the environment's own cache.
    installed = run(python, "-m", "pip", "install", "--no-index", "--no-build-isolation",
                    built.sdists["puredemo"], extra=variables, configured=True)  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    assert [p.name for p in (prefix / "var/cache/pip/wheels").rglob("*.whl")] == [
        "puredemo-1.0-py3-none-any.whl"
    ]
    system = run(find_python312(), "-m", "pip", "cache", "list", extra=variables, configured=True)
    assert "No locally built wheels cached." in system.stdout
    assert not list(home.rglob("*.whl"))


@pytest.mark.corpus
@pytest.mark.slow
def test_the_command_line(built: Built, tools: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run(
        sys.executable, "-m", "condawheel", "build", built.sdists["broken"], "puredemo==1.0",
        "--prefix", tools, "-o", out, "--no-index", "--find-links", built.sdists["broken"].parent,
        "--system-config", tmp_path / "none", "-v",
    )  # fmt: skip
    assert done.returncode == 1
    # The requirement was resolved from the links, downloaded as an sdist and built.
    assert done.stdout == f"{out / 'puredemo-1.0-py3-none-any.whl'}\n"
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith(f"error: {built.sdists['broken']}: pip wheel failed (exit 1): ")
    assert "no_such_header.h" in errors[0]
    assert len(done.stderr.splitlines()) > 2  # the log's last lines, under -v
    assert sorted(path.name for path in out.iterdir()) == ["puredemo-1.0-py3-none-any.whl"]
    usage = run(sys.executable, "-m", "condawheel", "build", "x", "--prefix", tools)
    assert usage.returncode == 2
    assert "exactly one of --wheelhouse and --output" in usage.stderr
