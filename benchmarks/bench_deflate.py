"""Deflate libraries side by side on the bodies of the two synthetic packages.

Each candidate compresses every sample the way condawheel does (1 MiB blocks, each primed
with the 32 KiB before it and closed with a sync flush; see ``condawheel.convert.spool``), in one
thread; the figure is the CPU time of the fastest of three runs (``time.process_time``,
so the other users of a shared machine do not count). zlib at level 6 is the reference,
both for speed and for size. libdeflate (``deflate``) has no streaming interface and no
preset dictionary: each block is compressed alone into a complete stream, which is what
it could do at best; its output could not be joined into one zip entry as it is.

zlib-ng is a dependency; ISA-L (``isal``) and libdeflate (``deflate``) are measured when
installed (``pip install --group bench``).
"""

from __future__ import annotations

import random
import sys
import time
import zlib
from typing import TYPE_CHECKING

from common import mixed_package, synthetic_package
from conda_package_streaming.package_streaming import stream_conda_component

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

BLOCK, WINDOW = 1 << 20, 32 << 10


def _bodies(package: Path, kinds: dict[str, str], limit: int) -> dict[str, bytes]:
    """Return up to ``limit`` bytes of the bodies whose names end with each suffix."""
    found: dict[str, list[bytes]] = {}
    for tar, member in stream_conda_component(str(package), component="pkg"):
        for label, suffix in kinds.items():
            taken = sum(len(body) for body in found.get(label, []))
            if member.isfile() and member.name.endswith(suffix) and taken < limit:
                body = tar.extractfile(member)
                assert body is not None
                found.setdefault(label, []).append(body.read()[: limit - taken])
    return {label: b"".join(parts) for label, parts in found.items()}


def samples(*, quick: bool) -> dict[str, bytes]:
    """The bodies of both synthetic packages, by kind."""
    limit = (2 if quick else 24) << 20
    mixed = _bodies(
        mixed_package(15 if quick else 150),
        {"binary, random and zero runs": ".so.1", "tab-separated text": ".tsv", "python": ".py"},
        limit,
    )
    synthetic = _bodies(
        synthetic_package(20 if quick else 200),
        {"text": ".txt", "binary, bytes interleaved with zeros": ".so"},
        limit,
    )
    noise = {"random bytes": random.Random(1).randbytes(limit // 3)}  # noqa: S311
    return {**mixed, **synthetic, **noise}


def _blocks(module: object, level: int) -> Callable[[bytes], bytes]:
    def run(data: bytes) -> bytes:
        out = []
        for start in range(0, len(data), BLOCK):
            window = data[max(0, start - WINDOW) : start]
            args = (level, 8, -15, 8, 0, window) if window else (level, 8, -15)
            deflater = module.compressobj(*args)  # type: ignore[attr-defined]
            final = start + BLOCK >= len(data)
            out.append(deflater.compress(data[start : start + BLOCK]))
            out.append(deflater.flush(4 if final else 2))  # Z_FINISH / Z_SYNC_FLUSH
        return b"".join(out)

    return run


def candidates() -> list[tuple[str, Callable[[bytes], bytes]]]:
    """Every compressor and level to measure, zlib 6 first."""
    found: list[tuple[str, Callable[[bytes], bytes]]] = [
        ("zlib 6 (reference)", _blocks(zlib, 6)),
        ("zlib 1", _blocks(zlib, 1)),
    ]
    from zlib_ng import zlib_ng  # noqa: PLC0415

    found += [(f"zlib-ng {level}", _blocks(zlib_ng, level)) for level in (1, 4, 6, 9)]
    try:
        from isal import isal_zlib  # noqa: PLC0415
    except ImportError:
        print("  (isal not installed: skipped)", file=sys.stderr)
    else:
        found += [(f"isal {level}", _blocks(isal_zlib, level)) for level in (1, 2, 3)]
    try:
        import deflate  # noqa: PLC0415
    except ImportError:
        print("  (deflate not installed: skipped)", file=sys.stderr)
    else:
        for level in (1, 6, 9):
            found.append(
                (
                    f"libdeflate {level} (blocks alone)",
                    lambda data, level=level: b"".join(
                        deflate.deflate_compress(data[start : start + BLOCK], level)
                        for start in range(0, len(data), BLOCK)
                    ),
                )
            )
    return found


def run(*, quick: bool) -> list[dict[str, object]]:
    """Measure every candidate on every sample; return table rows."""
    rows: list[dict[str, object]] = []
    bodies = samples(quick=quick)
    for label, data in bodies.items():
        reference: tuple[float, int] | None = None
        for name, compress in candidates():
            best, packed = float("inf"), b""
            for _ in range(1 if quick else 3):
                start = time.process_time()
                packed = compress(data)
                best = min(best, time.process_time() - start)
            if reference is None:
                reference = (best, len(packed))
            rows.append(
                {
                    "what": f"deflate {label} ({len(data) / 1e6:.1f} MB): {name}",
                    "cpu_s": round(best, 3),
                    "mb_per_s": round(len(data) / 1e6 / best) if best else None,
                    "speed_vs_zlib6": round(reference[0] / best, 2) if best else None,
                    "size_ratio": round(len(packed) / len(data), 3),
                    "size_vs_zlib6": round(len(packed) / reference[1], 3),
                }
            )
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
