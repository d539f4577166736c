"""Every anomaly in the corpus edge cases converts correctly or is refused in one clear line."""

from __future__ import annotations

import zipfile
from typing import TYPE_CHECKING

import pytest
from packaging.metadata import Metadata
from packaging.utils import parse_wheel_filename
from wheel.wheelfile import WheelFile

from condawheel.convert import convert
from condawheel.convert.names import default_mapping
from condawheel.errors import CondawheelError
from conftest import corpus_root

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.corpus

EDGE = corpus_root() / "edge"
ARTIFACTS = sorted(
    str(p.relative_to(EDGE)) for p in EDGE.rglob("*") if p.name.endswith((".conda", ".tar.bz2"))
)

# Every artifact's verdict, pinned: refused (with the start of its one-line reason) or
# converted (into exactly this wheel). A change of verdict must be a decision.
EXPECTED_REFUSALS = {
    "conda+conda/zlib-1.2.11-h1de35cc_3.conda": "symlink 'lib/libz.1.dylib' has an empty target",
    "conda+conda/zlib-1.2.11-h1de35cc_3.tar.bz2": "'lib/libz.1.dylib': content sha256 e3b0c44298fc... does not match",
    "conda+conda/zlib-1.2.11-h7b6447c_3.conda": "symlink 'lib/libz.so.1' has an empty target",
    "conda+conda/zlib-1.2.11-h7b6447c_3.tar.bz2": "'lib/libz.so': content sha256 e3b0c44298fc... does not match info/paths.json",
    "conda+conda-build/096466b5-flask-0.11.1-py_0.tar.bz2": "not a bzip2-compressed tar (it is an uncompressed tar)",
    "conda+conda-build/296bffd0-test_index_of_removed_pkg-1.0-1.tar.bz2": "not a bzip2-compressed tar (it is an uncompressed tar)",
    "conda+conda-build/4449263c-spiffy-test-app-0.5-pyh6afbcc8_0.tar.bz2": "not a bzip2-compressed tar (it is an uncompressed tar)",
    "conda+conda-build/476bd26c-nano-2.4.1-0.tar.bz2": "not a bzip2-compressed tar (it is an uncompressed tar)",
    "conda+conda-build/6b12fced-nano-2.4.1-0.tar.bz2": "not a bzip2-compressed tar (it is gzip-compressed: a mislabelled .tar.gz?)",
    "conda+conda-build/a.tar.bz2": "not a conda package: no info/index.json",
    "conda+conda-build/another_bad_package.conda": "empty file",
    "conda+conda-build/b.tar.bz2": "not a conda package: no info/index.json",
    "conda+conda-build/bad_package.tar.bz2": "not a bzip2-compressed tar",
    "conda+conda-build/c12fdca1-fly-2.5.2-0.tar.bz2": "not a bzip2-compressed tar (it is an uncompressed tar)",
    "conda+conda-build/flask-0.11.1-py_0.tar.bz2": "info/files lists 28 file(s) the archive does not contain:",
    "conda+conda-build/fly-2.5.2-0.tar.bz2": "info/files lists 1 file(s) the archive does not contain: 'bin/fly'",
    "conda+conda-build/nano-2.4.1-0.tar.bz2": "info/files lists 48 file(s) the archive does not contain: 'bin/nano',",
    "conda+conda-build/spiffy-test-app-0.5-pyh6afbcc8_0.tar.bz2": "info/paths.json lists 8 file(s) the archive does not contain:",
    "conda+conda-build/subfolder.tar.bz2": "not a conda package: no info/index.json (every member sits under 'subfolder/'",
    "conda+conda-build/subfolder2.tar.bz2": "not a conda package: no info/index.json (every member sits under 'subfolder2/'",
    "conda+conda-package-handling/pkg_with_unicode.conda": "not a conda package: no info/index.json",
    "conda+conda-package-handling/pkg_with_unicode.tar.bz2": "not a conda package: no info/index.json",
    "conda+conda-package-handling/unicode-files.tar.bz2": "not a conda package: no info/index.json (every member sits under",
    "conda+conda-verify/test_-file.tar.bz2": "not a bzip2-compressed tar",
    "conda+conda-verify/testfile-0.0.20-py36_0.tar.bz2": "info/paths.json has no paths_version (conda requires 1)",
    "conda+conda-verify/testfile-0.0.21-py36_0.tar.bz2": "info/paths.json has no paths_version (conda requires 1)",
    "conda+conda-verify/testfile-0.0.22-py36_0.tar.bz2": "info/paths.json has no paths_version (conda requires 1)",
    "conda+conda-verify/testfile-0.0.23-py36_0.tar.bz2": "info/paths.json has no paths_version (conda requires 1)",
    "conda+conda-verify/testfile-0.0.24-py36_0.tar.bz2": "info/paths.json has no paths_version (conda requires 1)",
    "conda+rattler/ca-certificates-2024.7.4-hbcca054_0.conda": "malformed .conda: its components sit in a sub-directory",
    "conda+rattler/dotslash-test-1.0.0-0.conda": "info/index.json names no platform (no 'subdir', 'platform' or 'arch')",
    "conda+rattler/info-only-1.0.0-0.conda": "malformed .conda: no pkg-*.tar.zst component",
    "conda+rattler/sparse-test-1.0.0-0.conda": "info/index.json names no platform (no 'subdir', 'platform' or 'arch')",
    "conda+rattler/symlink-test-1.0.0-0.conda": "info/index.json names no platform (no 'subdir', 'platform' or 'arch')",
    "conda+rattler/zip64-extra-field-test.conda": "'lib/hello.txt': content sha256 a948904f2f0f... does not match info/paths.json",
    "conda+rattler/zip64-test-1.0.0-0.conda": "info/index.json names no platform (no 'subdir', 'platform' or 'arch')",
    "conda-incubator+conda-press/test-deps-0.0.1-py_0.conda": "not a conda package: no info/index.json (every member sits under",
    "jameslamb+pydistcheck/debug-baseballmetrics-0.1.0-macosx-wheel.tar.bz2": "not a conda package: no info/index.json (it looks like an unpacked wheel)",
}
EXPECTED_WHEELS = {
    "DanielBok+private-conda-repo/perfana-0.0.6-py_0.tar.bz2": "perfana-0.0.6-0_py_0-py3-none-conda.whl",
    "KosinskiLab+AlphaPulldown/cph_test_data-0.0.1-0.tar.bz2": "conda_pkg_cph_test_data-0.0.1-0_0-py3-none-conda.whl",
    "KosinskiLab+AlphaPulldown/mock-2.0.0-py37_1000.conda": "mock-2.0.0-1000_py37_1000-cp37-none-conda_osx_64.whl",
    "KosinskiLab+AlphaPulldown/mock-2.0.0-py37_1000.tar.bz2": "mock-2.0.0-1000_py37_1000-cp37-none-conda_osx_64.whl",
    "Quantco+pixi-pack/my-webserver-0.1.0-pyh4616a5c_0.conda": "my_webserver-0.1.0-0_pyh4616a5c_0-py3-none-conda.whl",
    "Quantco+pixi-pack/my-webserver-0.1.0-pyh4616a5c_0.tar.bz2": "my_webserver-0.1.0-0_pyh4616a5c_0-py3-none-conda.whl",
    "Quantco+pixi-pack/my-webserver-broken-0.1.0-pyh4616a5c_0.conda": "my_webserver-0.1.0-0_pyh4616a5c_0-py3-none-conda.whl",
    "anaconda+anaconda-client/bcj-cffi-0.5.1-py310h295c915_0.tar.bz2": "bcj_cffi-0.5.1-0_py310h295c915_0-cp310-abi3-conda_linux_64.whl",
    "anaconda+anaconda-client/conda_gc_test-1.2.1-py27_3.tar.bz2": "conda_pkg_conda_gc_test-1.2.1-3_py27_3-py3-none-conda_osx_64.whl",
    "anaconda+anaconda-client/conda_gc_test-2.2.1-py27_3.conda": "conda_pkg_conda_gc_test-2.2.1-3_py27_3-py3-none-conda_linux_64.whl",
    "anaconda+anaconda-client/conda_gc_test-2.2.1-py27_3.tar.bz2": "conda_pkg_conda_gc_test-2.2.1-3_py27_3-py3-none-conda_linux_64.whl",
    "anaconda+anaconda-client/test-app-package-icon-0.1-0.tar.bz2": "conda_pkg_test_app_package_icon-0.1-0_0-py3-none-conda_linux_64.whl",
    "conda+conda/10363f6c-zlib-1.2.11-h62dcd97_3.tar.bz2": "conda_pkg_zlib-1.2.11-3_h62dcd97_3-py3-none-conda_win_64.whl",
    "conda+conda/18bad928-virtualdep-package-2.0-0.conda": "conda_pkg_virtualdep_package-2.0-0_0-py3-none-conda_osx_fake.whl",
    "conda+conda/2fb5900c-zlib-1.2.11-h62dcd97_3.conda": "conda_pkg_zlib-1.2.11-3_h62dcd97_3-py3-none-conda_win_64.whl",
    "conda+conda/31c284b9-virtualdep-package-2.0-0.conda": "conda_pkg_virtualdep_package-2.0-0_0-py3-none-conda_win_fake.whl",
    "conda+conda/activate_deactivate_package-1.0-0.conda": "conda_pkg_activate_deactivate_package-1.0-0_0-py3-none-conda.whl",
    "conda+conda/clobber-a-1.0-0.conda": "conda_pkg_clobber_a-1.0-0_0-py3-none-conda.whl",
    "conda+conda/feature-1.0-track_feature1_0.conda": "conda_pkg_feature-1.0-0_track_feature1_0-py3-none-conda.whl",
    "conda+conda/moto-1.3.7-py_0.tar.bz2": "moto-1.3.7-0_py_0-py3-none-conda.whl",
    "conda+conda/post_link-b-1.0-0.conda": "conda_pkg_post_link_b-1.0-0_0-py3-none-conda.whl",
    "conda+conda/pre_link_messages_package-1.0-0.conda": "conda_pkg_pre_link_messages_package-1.0-0_0-py3-none-conda.whl",
    "conda+conda/python-3.99.99-0.conda": "conda_pkg_python-3.99.99-0_0-py3-none-conda.whl",
    "conda+conda/run_constrained-1.0-0.conda": "conda_pkg_run_constrained-1.0-0_0-py3-none-conda.whl",
    "conda+conda/sample_noarch_python-1.0-py_0.conda": "sample_noarch_python-1.0-0_py_0-py3-none-conda.whl",
    "conda+conda/small-executable-1.0-0.conda": "conda_pkg_small_executable-1.0-0_0-py3-none-conda.whl",
    "conda+conda/test-package-1.0.0-0.tar.bz2": "conda_pkg_test_package-1.0.0-0_0-py3-none-conda.whl",
    "conda+conda/virtualdep-package-2.0-0.conda": "conda_pkg_virtualdep_package-2.0-0_0-py3-none-conda_linux_fake.whl",
    "conda+conda/zlib-1.2.11-h62dcd97_3.conda": "conda_pkg_zlib-1.2.11-3_h62dcd97_3-py3-none-conda_win_32.whl",
    "conda+conda/zlib-1.2.11-h62dcd97_3.tar.bz2": "conda_pkg_zlib-1.2.11-3_h62dcd97_3-py3-none-conda_win_32.whl",
    "conda+conda-build/conda-forge-repodata-patches-20180828-0.tar.bz2": "conda_pkg_conda_forge_repodata_patches-20180828-0_0-py3-none-conda.whl",
    "conda+conda-build/conda-index-pkg-a-1.0-py27h5e241af_0.conda": "conda_index_pkg_a-1.0-0_py27h5e241af_0-cp27-none-conda_osx_64.whl",
    "conda+conda-build/conda-index-pkg-a-1.0-py27h5e241af_0.tar.bz2": "conda_index_pkg_a-1.0-0_py27h5e241af_0-cp27-none-conda_osx_64.whl",
    "conda+conda-build/conda-index-pkg-a-1.0-pyhed9eced_1.tar.bz2": "conda_index_pkg_a-1.0-1_pyhed9eced_1-py3-none-conda.whl",
    "conda+conda-build/depends-run_exports-lib-1.0-h12879c4_0.conda": "conda_pkg_depends_run_exports_lib-1.0-0_h12879c4_0-py3-none-conda_win_64.whl",
    "conda+conda-build/depends-run_exports-lib-1.0-h2754481_0.conda": "conda_pkg_depends_run_exports_lib-1.0-0_h2754481_0-py3-none-conda_osx_arm64.whl",
    "conda+conda-build/depends-run_exports-lib-1.0-h9f3fcab_0.conda": "conda_pkg_depends_run_exports_lib-1.0-0_h9f3fcab_0-py3-none-conda_linux_64.whl",
    "conda+conda-build/depends-run_exports-lib-1.0-haac991e_0.conda": "conda_pkg_depends_run_exports_lib-1.0-0_haac991e_0-py3-none-conda_win_64.whl",
    "conda+conda-build/depends-run_exports-lib-1.0-hc32fd6f_0.conda": "conda_pkg_depends_run_exports_lib-1.0-0_hc32fd6f_0-py3-none-conda_linux_64.whl",
    "conda+conda-build/depends-run_exports-lib-1.0-hf0f569a_0.conda": "conda_pkg_depends_run_exports_lib-1.0-0_hf0f569a_0-py3-none-conda_osx_arm64.whl",
    "conda+conda-build/dummy-package-1.0-0.tar.bz2": "conda_pkg_dummy_package-1.0-0_0-py3-none-conda_osx_64.whl",
    "conda+conda-build/dummy-package-2.0-0.tar.bz2": "conda_pkg_dummy_package-2.0-0_0-py3-none-conda_osx_64.whl",
    "conda+conda-build/remove_test-1.0-0.conda": "conda_pkg_remove_test-1.0-0_0-py3-none-conda_osx_64.whl",
    "conda+conda-build/remove_test-1.0-0.tar.bz2": "conda_pkg_remove_test-1.0-0_0-py3-none-conda_osx_64.whl",
    "conda+conda-build/run_exports-lib-1.0-0.conda": "conda_pkg_run_exports_lib-1.0-0_0-py3-none-conda.whl",
    "conda+conda-build/run_exports_versions-1.0-he35c369_0.tar.bz2": "conda_pkg_run_exports_versions-1.0-0_he35c369_0-py3-none-conda.whl",
    "conda+conda-build/run_exports_versions-2.0-h39de5ba_0.tar.bz2": "conda_pkg_run_exports_versions-2.0-0_h39de5ba_0-py3-none-conda.whl",
    "conda+conda-build/small-executable-1.0.0-0.conda": "conda_pkg_small_executable-1.0.0-0_0-py3-none-conda.whl",
    "conda+conda-build/test_debug_pkg-1.0-0.tar.bz2": "conda_pkg_test_debug_pkg-1.0-0_0-py3-none-conda.whl",
    "conda+conda-build/test_index_of_removed_pkg-1.0-1.tar.bz2": "conda_pkg_test_index_of_removed_pkg-1.0-1_1-py3-none-conda_osx_64.whl",
    "conda+menuinst/package_1-0.1-0.tar.bz2": "conda_pkg_package_1-0.1-0_0-py3-none-conda.whl",
    "conda+rattler/andes-1.8.3-pyhd8ed1ab_0.conda": "andes-1.8.3-0_pyhd8ed1ab_0-py3-none-conda.whl",
    "conda+rattler/clobber-pynoarch-1-0.1.0-pyh4616a5c_0.tar.bz2": "clobber_pynoarch_1-0.1.0-0_pyh4616a5c_0-py3-none-conda.whl",
    "conda+rattler/clobber-python-0.1.0-cpython.conda": "conda_pkg_clobber_python-0.1.0-0_cpython-py3-none-conda.whl",
    "conda+rattler/clobber-python-0.1.0-pypy.conda": "conda_pkg_clobber_python-0.1.0-0_pypy-py3-none-conda.whl",
    "conda+rattler/clobber-with-symlink-a-0.1.0-h4616a5c_0.conda": "conda_pkg_clobber_with_symlink_a-0.1.0-0_h4616a5c_0-py3-none-conda.whl",
    "conda+rattler/clobber-with-symlink-b-0.1.0-h4616a5c_0.conda": "conda_pkg_clobber_with_symlink_b-0.1.0-0_h4616a5c_0-py3-none-conda.whl",
    "conda+rattler/empty-0.1.0-h4616a5c_0.conda": "conda_pkg_empty-0.1.0-0_h4616a5c_0-py3-none-conda.whl",
    "conda+rattler/link-scripts-0.1.0-h4616a5c_0.conda": "conda_pkg_link_scripts-0.1.0-0_h4616a5c_0-py3-none-conda.whl",
    "conda+rattler/link-scripts-0.1.0-h4616a5c_0.tar.bz2": "conda_pkg_link_scripts-0.1.0-0_h4616a5c_0-py3-none-conda.whl",
    "conda+rattler/with-info-0.1.0-h4616a5c_0.conda": "conda_pkg_with_info-0.1.0-0_h4616a5c_0-py3-none-conda.whl",
    "conda-incubator+conda-press/test-deps-0.0.1-py_0.tar.bz2": "test_deps-0.0.1-0_py_0-py3-none-conda.whl",
    "jameslamb+pydistcheck/baseballmetrics-0.1.0-0.tar.bz2": "conda_pkg_baseballmetrics-0.1.0-0_0-py3-none-conda_osx_64.whl",
    "jameslamb+pydistcheck/debug-baseballmetrics-0.1.0-0.tar.bz2": "conda_pkg_debug_baseballmetrics-0.1.0-0_0-py3-none-conda_osx_64.whl",
    "jameslamb+pydistcheck/osx-64-baseballmetrics-0.1.0-0.conda": "baseballmetrics-0.1.0-0_0-cp39-none-conda_osx_64.whl",
    "jameslamb+pydistcheck/osx-64-baseballmetrics-0.1.0-0.tar.bz2": "baseballmetrics-0.1.0-0_0-cp39-none-conda_osx_64.whl",
    "jameslamb+pydistcheck/osx-64-debug-baseballmetrics-0.1.0-0.conda": "baseballmetrics-0.1.0-0_0-cp39-none-conda_osx_64.whl",
    "jameslamb+pydistcheck/osx-64-debug-baseballmetrics-0.1.0-0.tar.bz2": "baseballmetrics-0.1.0-0_0-cp39-none-conda_osx_64.whl",
    "jameslamb+pydistcheck/osx-arm64-baseballmetrics-0.1.0-0.conda": "baseballmetrics-0.1.0-0_0-cp312-none-conda_osx_arm64.whl",
    "jameslamb+pydistcheck/osx-arm64-baseballmetrics-0.1.0-0.tar.bz2": "baseballmetrics-0.1.0-0_0-cp312-none-conda_osx_arm64.whl",
    "jameslamb+pydistcheck/osx-arm64-debug-baseballmetrics-0.1.0-0.conda": "baseballmetrics-0.1.0-0_0-cp312-none-conda_osx_arm64.whl",
    "jameslamb+pydistcheck/osx-arm64-debug-baseballmetrics-0.1.0-0.tar.bz2": "baseballmetrics-0.1.0-0_0-cp312-none-conda_osx_arm64.whl",
    "mamba-org+mamba/_r-mutex-1.0.1-anacondar_1.tar.bz2": "conda_pkg_r_mutex-1.0.1-1_anacondar_1-py3-none-conda.whl",
    "mamba-org+quetz/other-package-0.2-0.conda": "conda_pkg_other_package-0.2-0_0-py3-none-conda_linux_64.whl",
    "mamba-org+quetz/other-package-0.2-0.tar.bz2": "conda_pkg_other_package-0.2-0_0-py3-none-conda_linux_64.whl",
    "mamba-org+quetz/xtensor-io-0.10.3-hb585cf6_0.tar.bz2": "conda_pkg_xtensor_io-0.10.3-0_hb585cf6_0-py3-none-conda_linux_64.whl",
    "starrysky1211+starrysky/conda-4.3.13-py27_0.tar.bz2": "conda-4.3.13-0_py27_0-cp27-none-conda_osx_64.whl",
}


@pytest.mark.parametrize("relative", ARTIFACTS)
def test_edge_artifact(relative: str, tmp_path: Path) -> None:
    path = EDGE / relative
    try:
        result = convert(path, tmp_path, mapping=default_mapping(), threads=1)
    except CondawheelError as error:
        message = str(error)
        assert message.startswith(f"{path}: "), message
        assert "\n" not in message
        assert relative in EXPECTED_REFUSALS, message
        assert error.reason.startswith(EXPECTED_REFUSALS[relative]), message  # noqa: PT017
        assert list(tmp_path.iterdir()) == []  # nothing written, nothing partial
        return
    assert relative in EXPECTED_WHEELS, f"converted: {result.wheel.name}"
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
    assert sorted([*EXPECTED_REFUSALS, *EXPECTED_WHEELS]) == ARTIFACTS
