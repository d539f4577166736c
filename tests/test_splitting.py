"""A package holding several Python distributions becomes one wheel per distribution."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
from packaging.metadata import Metadata

from builders import CondaSpec, FileSpec, build_conda, distribution_files, read_wheel
from condawheel.convert import convert, plan_package, plan_packages
from condawheel.convert.names import NameMapping
from condawheel.errors import UnsupportedPackage
from corpus_wheels import install_wheels, make_prefix, python312, run_python

if TYPE_CHECKING:
    from pathlib import Path

SITE = "lib/python3.12/site-packages"
NAMES = NameMapping.from_names({"sip-tools": "sip-tools", "qt-main": None})


def pyqt_like(*, rest: bool = True, overlap: bool = False) -> CondaSpec:
    """Two distributions (pyqt5, pyqt5-sip), and Qt files that no RECORD names."""
    sip_files = {"PyQt5/sip.py": b"SIP = 'sip'\n"}
    files = [
        *distribution_files(
            SITE,
            "PyQt5",
            "5.15.9",
            {"PyQt5/__init__.py": b"", "PyQt5/QtCore.py": b"from PyQt5.sip import SIP\n"},
            ["PyQt5-sip<13,>=12.11", "sip-tools"],
        ),
        *distribution_files(
            SITE, "PyQt5_sip", "12.12.2", sip_files, [], "PyQt5/__init__.py,,\n" if overlap else ""
        ),
    ]
    if rest:
        files += [
            FileSpec("lib/libQt5Core.so.5", b"\x7fELF qt"),
            FileSpec("bin/pyuic5", b"#!/bin/sh\necho uic\n", mode=0o755),
        ]
    return CondaSpec(
        name="pyqt",
        version="5.15.9",
        build="py312h0_0",
        depends=[
            "python >=3.12,<3.13.0a0",
            "python_abi 3.12.* *_cp312",
            "qt-main >=5.15.8,<5.16.0a0",
            "sip-tools",
        ],
        files=files,
    )


def _wheels(spec: CondaSpec, tmp_path: Path) -> dict[str, dict[str, bytes]]:
    result = convert(build_conda(spec, tmp_path), tmp_path / "out", mapping=NAMES)
    return {made.wheel.name: read_wheel(made.wheel) for made in result.wheels}


def _metadata(files: dict[str, bytes]) -> Metadata:
    (data,) = [data for name, data in files.items() if name.endswith(".dist-info/METADATA")]
    return Metadata.from_email(data, validate=True)


def test_one_wheel_per_distribution_and_one_for_the_rest(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    wheels = _wheels(pyqt_like(), tmp_path)
    assert list(wheels) == [
        "pyqt5-5.15.9-0_py312h0_0-cp312-none-conda_linux_64.whl",
        "pyqt5_sip-12.12.2-0_py312h0_0-cp312-none-conda_linux_64.whl",
        "conda_pkg_pyqt-5.15.9-0_py312h0_0-py3-none-conda_linux_64.whl",
    ]
    pyqt = wheels["pyqt5-5.15.9-0_py312h0_0-cp312-none-conda_linux_64.whl"]
    sip = wheels["pyqt5_sip-12.12.2-0_py312h0_0-cp312-none-conda_linux_64.whl"]
    rest = wheels["conda_pkg_pyqt-5.15.9-0_py312h0_0-py3-none-conda_linux_64.whl"]
    # Each wheel holds the files its RECORD names, and nothing twice.
    assert {name for name in pyqt if not name.startswith("pyqt5-")} == {
        "PyQt5/__init__.py",
        "PyQt5/QtCore.py",
    }
    assert {name for name in sip if not name.startswith("pyqt5_sip-")} == {"PyQt5/sip.py"}
    assert {name for name in rest if ".dist-info/" not in name} == {
        "conda_pkg_pyqt-5.15.9.data/data/lib/libQt5Core.so.5",
        "conda_pkg_pyqt-5.15.9.data/scripts/pyuic5",
    }
    # Every distribution wheel requires the rest; dependencies go where METADATA names them.
    assert [str(r) for r in _metadata(pyqt).requires_dist or []] == [
        "PyQt5-sip<13,>=12.11",
        "sip-tools",
        "conda-pkg-pyqt==5.15.9",
    ]
    assert [str(r) for r in _metadata(sip).requires_dist or []] == ["conda-pkg-pyqt==5.15.9"]
    assert _metadata(rest).requires_external == ["qt-main (>=5.15.8,<5.16.0a0)"]
    assert _metadata(pyqt).requires_external is None
    sidecar = json.loads(sip["pyqt5_sip-12.12.2.dist-info/conda.json"])
    assert sidecar["split"] == {"role": "distribution", "requires": "conda-pkg-pyqt==5.15.9"}
    assert json.loads(rest["conda_pkg_pyqt-5.15.9.dist-info/conda.json"])["split"] == {
        "role": "rest",
        "requires": None,
    }


def test_without_other_files_there_is_no_rest_wheel(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    spec = pyqt_like(rest=False)
    # Byte-code that no RECORD names is never shipped: no library wheel for it alone.
    spec.files.append(FileSpec(f"{SITE}/PyQt5/__pycache__/__init__.cpython-312.pyc", b"\0"))
    wheels = _wheels(spec, tmp_path)
    assert len(wheels) == 2
    pyqt = wheels["pyqt5-5.15.9-0_py312h0_0-cp312-none-conda_linux_64.whl"]
    # Without a library wheel, each distribution carries the package's external deps.
    assert _metadata(pyqt).requires_external == ["qt-main (>=5.15.8,<5.16.0a0)"]
    assert "conda-pkg-pyqt==5.15.9" not in [str(r) for r in _metadata(pyqt).requires_dist or []]


def test_a_plan_of_one_wheel_refuses_a_package_that_makes_several(tmp_path: Path) -> None:
    package = build_conda(pyqt_like(rest=False), tmp_path)
    with pytest.raises(UnsupportedPackage) as raised:
        plan_package(package, mapping=NAMES)
    assert str(raised.value) == (
        f"{package}: makes 2 wheels (pyqt5-5.15.9-0_py312h0_0-cp312-none-conda_linux_64.whl, "
        "pyqt5_sip-12.12.2-0_py312h0_0-cp312-none-conda_linux_64.whl), not one"
    )


def test_a_file_two_records_name_cannot_be_split(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedPackage, match="is named by the RECORDs of both"):
        convert(build_conda(pyqt_like(overlap=True), tmp_path), tmp_path, mapping=NAMES)
    assert not list(tmp_path.glob("*.whl"))


@pytest.mark.slow
def test_the_split_wheels_install_and_import_together(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    result = convert(build_conda(pyqt_like(), tmp_path), tmp_path / "out", mapping=NAMES)
    python = python312()
    prefix, scheme = make_prefix(tmp_path / "prefix", python)
    install_wheels([made.wheel for made in result.wheels], scheme, prefix / "bin" / "python")
    done = run_python(prefix / "bin" / "python", "import PyQt5.QtCore as q; print(q.SIP)")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "sip\n"
    assert (prefix / "lib" / "libQt5Core.so.5").read_bytes() == b"\x7fELF qt"


def test_convert_and_inspect_report_every_wheel(tmp_path: Path) -> None:
    package = build_conda(pyqt_like(), tmp_path)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "condawheel", "convert", str(package), "-o", str(out), "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [record["name"] for record in records] == ["PyQt5", "PyQt5_sip", "conda-pkg-pyqt"]
    assert {record["input"] for record in records} == {str(package)}
    assert "3 written, 0 unchanged, 0 failed" in done.stderr
    inspected = subprocess.run(
        [sys.executable, "-m", "condawheel", "inspect", str(package), "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert inspected.returncode == 0, inspected.stderr
    document: Any = json.loads(inspected.stdout)
    assert [plan["name"] for plan in document["wheels"]] == ["PyQt5", "PyQt5_sip", "conda-pkg-pyqt"]
    text = subprocess.run(
        [sys.executable, "-m", "condawheel", "inspect", str(package)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert text.stdout.startswith("3 wheels (one per Python distribution, and the other files):")
    assert len(plan_packages(package, mapping=NAMES)) == 3
