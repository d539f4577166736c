"""Give every artifact of a sync its identity: the sha256 key, checked where it can be.

A local file's sha256 comes from the state's digest cache when its stamp (size, mtime,
inode) is unchanged, else from hashing it (in threads); repodata and conda-meta records
give the others'. What a record promises (size, sha256, md5) is checked against a local
file's bytes.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from condawheel.io.digests import hash_file
from condawheel.wheelhouse.decisions import Identified
from condawheel.wheelhouse.state import FileDigest

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from condawheel.wheelhouse.artifacts import Artifact

__all__ = ["Identification", "identify"]


def _hash_file(location: str) -> tuple[str, str]:
    digests = hash_file(Path(location), md5=True)
    return digests.sha256, digests.md5 or ""  # md5=True: always computed


def _claimed_key(artifact: Artifact) -> str | None:
    if artifact.sha256:
        return artifact.sha256
    return f"md5:{artifact.md5}" if artifact.md5 else None


def _mismatch(artifact: Artifact, size: int, sha256: str, md5: str) -> str | None:
    problems = []
    if artifact.size is not None and size != artifact.size:
        problems.append(f"size {size} is not the {artifact.size} that repodata.json promises")
    if artifact.sha256 and sha256 != artifact.sha256:
        problems.append(f"sha256 {sha256} does not match repodata.json's {artifact.sha256}")
    if artifact.md5 and md5 != artifact.md5:
        problems.append(f"md5 {md5} does not match repodata.json's {artifact.md5}")
    return "; ".join(problems) or None


@dataclass(frozen=True)
class Identification:
    """The artifacts with their identity, and the digests hashed anew (for the state)."""

    items: list[Identified]
    new_digests: list[FileDigest]


def identify(
    artifacts: Sequence[Artifact],
    digests: Mapping[str, FileDigest],
    *,
    jobs: int,
) -> Identification:
    """Give every artifact its key; hash only local files whose stamp changed."""
    stamps: dict[int, tuple[int, int, int]] = {}
    known: dict[int, tuple[str, str]] = {}
    problems: dict[int, str] = {}
    to_hash: list[int] = []
    for number, artifact in enumerate(artifacts):
        if artifact.kind != "file":
            continue
        try:
            info = os.stat(artifact.location)  # noqa: PTH116 - the stamp, one syscall
        except OSError as error:
            problems[number] = f"cannot be read: {error.strerror or error}"
            continue
        stamps[number] = (info.st_size, info.st_mtime_ns, info.st_ino)
        cached = digests.get(artifact.location)
        if cached is not None and cached.still_valid(*stamps[number]):
            known[number] = (cached.sha256, cached.md5)
        else:
            to_hash.append(number)
    new_digests: list[FileDigest] = []
    if to_hash:
        hashed_ns = time.time_ns()
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {n: pool.submit(_hash_file, artifacts[n].location) for n in to_hash}
        for number, future in futures.items():
            try:
                known[number] = future.result()
            except OSError as error:
                problems[number] = f"cannot be read: {error.strerror or error}"
                continue
            size, mtime_ns, inode = stamps[number]
            sha256, md5 = known[number]
            location = artifacts[number].location
            new_digests.append(FileDigest(location, size, mtime_ns, inode, sha256, md5, hashed_ns))
    items = []
    for number, artifact in enumerate(artifacts):
        if number in problems:
            items.append(Identified(artifact, None, artifact.size, problems[number]))
        elif artifact.kind == "file":
            sha256, md5 = known[number]
            size = stamps[number][0]
            items.append(Identified(artifact, sha256, size, _mismatch(artifact, size, sha256, md5)))
        else:
            key = _claimed_key(artifact)
            why = None if key else "its record gives no sha256 or md5: it cannot be verified"
            items.append(Identified(artifact, key, artifact.size, why))
    return Identification(items, new_digests)
