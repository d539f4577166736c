"""Single conversions against the floor: decompress + hash + recompress, nothing else.

(a) the floor: stream the payload out of the conda archive and write every member into a
    zip with deflate and sha256, no conversion logic, one thread;
(b) ``condawheel.convert.convert`` of the same package (default threads).
For ``.tar.bz2`` the reference is decompressing the archive alone with the standard
library's bz2, one stream on one core; condawheel decodes its blocks on every core.
Three synthetic packages of different mixes are measured in both formats: few large
bodies, a mix of sizes, and many small files (where per-file costs show).

Both sides run in this process, after a warm-up run: imports, the name mapping and the
page cache are paid before timing, so the ratios compare the work of converting, not
start-up (the ``cli`` group measures that). Rows also give the CPU time of the process,
every thread included: the floor uses one core, condawheel every core it is given.
"""

from __future__ import annotations

import bz2
import hashlib
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from common import (
    corpus,
    incompressible_files_package,
    many_files_package,
    measure_pair,
    mixed_package,
    synthetic_package,
    tiny_files_package,
    transmuted_tar_bz2,
)
from conda_package_streaming.package_streaming import stream_conda_component

from condawheel.convert import convert
from condawheel.convert.names import default_mapping

LARGE_CORPUS = [
    "linux-64/libstdcxx-14.2.0-hc0a3c3a_1.conda",
    "linux-64/tk-8.6.13-noxft_h4845f30_101.conda",
    "linux-64/openssl-3.4.0-h7b32b05_1.conda",
    "linux-64/libmamba-1.5.12-h49b8a8d_0.conda",
    "linux-64/krb5-1.21.3-h659f571_0.conda",
    "linux-64/conda-24.11.3-py312h7900ff3_0.conda",
    "noarch/pip-24.3.1-pyh8b19718_2.conda",
]


def floor(package: Path, out: Path) -> None:
    """Stream the payload into a deflated zip with a sha256 per member; nothing more."""
    digests = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        # For .tar.bz2 the "pkg" stream is the whole tarball (info/ members are skipped).
        for tar, member in stream_conda_component(str(package), component="pkg"):
            if not member.isfile() or member.name.startswith("info/"):
                continue
            body = tar.extractfile(member)
            assert body is not None
            data = body.read()
            digests.append(hashlib.sha256(data).hexdigest())
            archive.writestr(member.name, data)


def bz2_alone(package: Path) -> None:
    """Decompress a ``.tar.bz2`` and throw the bytes away."""
    with bz2.open(package, "rb") as stream:
        while stream.read(1 << 20):
            pass


def condawheel(package: Path, out: Path) -> None:
    """Convert with condawheel into an empty directory."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    convert(package, out, mapping=MAPPING)


MAPPING = default_mapping()


def run(*, runs: int, quick: bool, smoke: bool = False) -> list[dict[str, object]]:
    """Measure every package; return table rows."""
    rows: list[dict[str, object]] = []
    work = Path(tempfile.mkdtemp(prefix="condawheel-bench-"))
    try:
        chosen = LARGE_CORPUS[:1] if smoke else (LARGE_CORPUS[:2] if quick else LARGE_CORPUS)
        packages = [corpus() / "channel" / name for name in chosen]
        synthetic = [
            synthetic_package(2 if smoke else (20 if quick else 200)),
            mixed_package(2 if smoke else (15 if quick else 150)),
            many_files_package(2 if smoke else (10 if quick else 100)),
            tiny_files_package(600 if smoke else (6_000 if quick else 60_000)),
            incompressible_files_package(200 if smoke else (2_000 if quick else 20_000)),
        ]
        for package in [*packages, *synthetic]:
            n = max(1 if smoke else 3, runs // 2) if package in synthetic else runs
            base, ours = measure_pair(
                (f"floor: {package.name}", lambda p=package: floor(p, work / "floor.zip")),
                (f"condawheel: {package.name}", lambda p=package: condawheel(p, work / "out")),
                runs=n,
            )
            rows += [base.row(), ours.row(base, "<= 0.5")]
            print(
                f"  {package.name}: floor {base.median:.3f}s, condawheel {ours.median:.3f}s",
                file=sys.stderr,
            )
        for package in synthetic:
            tar_bz2 = transmuted_tar_bz2(package)
            reference, ours = measure_pair(
                (f"bz2 decompress alone: {tar_bz2.name}", lambda t=tar_bz2: bz2_alone(t)),
                (f"condawheel: {tar_bz2.name}", lambda t=tar_bz2: condawheel(t, work / "out")),
                runs=1 if smoke else runs,
            )
            rows += [reference.row(), ours.row(reference, "<= 0.9")]
            print(
                f"  {tar_bz2.name}: bz2 {reference.median:.3f}s, condawheel {ours.median:.3f}s",
                file=sys.stderr,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


if __name__ == "__main__":
    import json

    print(json.dumps(run(runs=5, quick="--quick" in sys.argv), indent=1))
