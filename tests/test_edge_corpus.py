"""Every anomaly in the corpus edge cases converts correctly or is refused in one clear line."""

from __future__ import annotations

import zipfile
from typing import TYPE_CHECKING

import pytest
from packaging.metadata import Metadata
from packaging.utils import parse_wheel_filename
from wheel.wheelfile import WheelFile

from condawheel.convert import convert
from condawheel.errors import CondawheelError
from condawheel.names import default_mapping
from conftest import corpus_root

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.corpus

EDGE = corpus_root() / "edge"
ARTIFACTS = sorted(
    str(p.relative_to(EDGE)) for p in EDGE.rglob("*") if p.name.endswith((".conda", ".tar.bz2"))
)

# The verdicts that matter most, checked exactly (the rest must merely be one of the two).
EXPECTED_REFUSALS = {
    "conda+conda-build/another_bad_package.conda": "empty file",
    "conda+conda-build/bad_package.tar.bz2": "not a bzip2-compressed tar",
    "conda+conda-build/6b12fced-nano-2.4.1-0.tar.bz2": "not a bzip2-compressed tar (it is gzip-compressed",
    "conda+conda-build/096466b5-flask-0.11.1-py_0.tar.bz2": "not a bzip2-compressed tar (it is an uncompressed tar)",
    "conda+conda-build/subfolder.tar.bz2": "not a conda package: no info/index.json (every member sits under 'subfolder/'",
    "conda+conda-build/a.tar.bz2": "not a conda package: no info/index.json",
    "conda+conda-build/nano-2.4.1-0.tar.bz2": "info/files lists 48 file(s) the archive does not contain",
    "conda+rattler/info-only-1.0.0-0.conda": "malformed .conda: no pkg-*.tar.zst component",
    "conda+rattler/ca-certificates-2024.7.4-hbcca054_0.conda": "malformed .conda: its components sit in a sub-directory",
    "conda+rattler/zip64-extra-field-test.conda": "'lib/hello.txt': content sha256",
    "conda+conda/zlib-1.2.11-h7b6447c_3.conda": "symlink 'lib/libz.so.1' has an empty target",
    "conda+conda/zlib-1.2.11-h7b6447c_3.tar.bz2": "'lib/libz.so': content sha256",
    "conda+conda-verify/testfile-0.0.20-py36_0.tar.bz2": "info/paths.json has no paths_version",
    "conda+rattler/sparse-test-1.0.0-0.conda": "info/index.json names no platform",
    "jameslamb+pydistcheck/debug-baseballmetrics-0.1.0-macosx-wheel.tar.bz2": "(it looks like an unpacked wheel)",
}
EXPECTED_WHEELS = {
    "conda+conda/18bad928-virtualdep-package-2.0-0.conda": "conda_pkg_virtualdep_package-2.0-0_0-py3-none-conda_osx_fake.whl",
    "KosinskiLab+AlphaPulldown/mock-2.0.0-py37_1000.conda": "mock-2.0.0-1000_py37_1000-cp37-none-conda_osx_64.whl",
    "anaconda+anaconda-client/bcj-cffi-0.5.1-py310h295c915_0.tar.bz2": "bcj_cffi-0.5.1-0_py310h295c915_0-cp310-abi3-conda_linux_64.whl",
    "DanielBok+private-conda-repo/perfana-0.0.6-py_0.tar.bz2": "perfana-0.0.6-0_py_0-py3-none-conda.whl",
    "starrysky1211+starrysky/conda-4.3.13-py27_0.tar.bz2": "conda-4.3.13-0_py27_0-cp27-none-conda_osx_64.whl",
    "mamba-org+mamba/_r-mutex-1.0.1-anacondar_1.tar.bz2": "conda_pkg_r_mutex-1.0.1-1_anacondar_1-py3-none-conda.whl",
}


@pytest.mark.parametrize("relative", ARTIFACTS)
def test_edge_artifact(relative: str, tmp_path: Path) -> None:
    path = EDGE / relative
    try:
        result = convert(path, tmp_path, mapping=default_mapping(), threads=1)
    except CondawheelError as error:  # either outcome is allowed; each is checked
        message = str(error)
        assert message.startswith(f"{path}: "), message
        assert "\n" not in message
        assert relative not in EXPECTED_WHEELS, message
        if relative in EXPECTED_REFUSALS:
            assert EXPECTED_REFUSALS[relative] in error.reason  # noqa: PT017
        assert list(tmp_path.iterdir()) == []  # nothing written, nothing partial
        return
    assert relative not in EXPECTED_REFUSALS, f"converted: {result.wheel.name}"
    if relative in EXPECTED_WHEELS:
        assert result.wheel.name == EXPECTED_WHEELS[relative]
    assert [p.name for p in tmp_path.iterdir()] == [result.wheel.name]
    parse_wheel_filename(result.wheel.name)
    with WheelFile(result.wheel) as wheel:
        for name in wheel.namelist():
            wheel.read(name)
    with zipfile.ZipFile(result.wheel) as archive:
        metadata = archive.read(f"{result.plan.dist_info}/METADATA")
    Metadata.from_email(metadata, validate=True)


def test_the_edge_corpus_is_all_there() -> None:
    assert len(ARTIFACTS) == 115
