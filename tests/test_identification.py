"""Giving a sync's artifacts their identity: hashing local files once, checking records."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from condawheel.wheelhouse.artifacts import Artifact
from condawheel.wheelhouse.identification import identify

if TYPE_CHECKING:
    from pathlib import Path

DATA = b"the bytes of a conda package"
SHA256 = hashlib.sha256(DATA).hexdigest()
MD5 = hashlib.md5(DATA, usedforsecurity=False).hexdigest()


def _artifact(location: str, kind: str = "file", **changes: Any) -> Artifact:
    fields: dict[str, object] = {
        "source": "/channel",
        "kind": kind,
        "location": location,
        "filename": "demo-1.0-0.conda",
        "subdir": "noarch",
        "name": "demo",
        "version": "1.0",
        "build": "0",
        **changes,
    }
    return Artifact(**fields)  # type: ignore[arg-type]


@pytest.fixture
def package(tmp_path: Path) -> Path:
    path = tmp_path / "demo-1.0-0.conda"
    path.write_bytes(DATA)
    return path


def test_a_local_file_is_hashed_once_then_known_by_its_stamp(package: Path) -> None:
    first = identify([_artifact(str(package))], {}, jobs=1)
    [item] = first.items
    assert (item.key, item.size, item.problem) == (SHA256, len(DATA), None)
    [digest] = first.new_digests
    assert (digest.path, digest.sha256, digest.md5, digest.size) == (
        str(package),
        SHA256,
        MD5,
        len(DATA),
    )

    # Hashed long enough after its last change: the stamp is trusted (a fake digest shows it).
    trusted = replace(digest, sha256="b" * 64, hashed_ns=digest.mtime_ns + 10**10)
    again = identify([_artifact(str(package))], {str(package): trusted}, jobs=1)
    assert (again.items[0].key, again.new_digests) == ("b" * 64, [])

    # A stamp that changed (the file was rewritten) is hashed again.
    stale = replace(trusted, size=trusted.size + 1)
    assert identify([_artifact(str(package))], {str(package): stale}, jobs=1).items[0].key == SHA256


def test_a_digest_taken_too_soon_after_a_change_is_not_trusted(package: Path) -> None:
    [digest] = identify([_artifact(str(package))], {}, jobs=1).new_digests
    racy = replace(digest, sha256="b" * 64, hashed_ns=digest.mtime_ns)
    assert identify([_artifact(str(package))], {str(package): racy}, jobs=1).items[0].key == SHA256


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"size": len(DATA)}, None),
        ({"size": 1}, f"size {len(DATA)} is not the 1 that repodata.json promises"),
        ({"sha256": "c" * 64}, f"sha256 {SHA256} does not match repodata.json's {'c' * 64}"),
        ({"md5": "d" * 32}, f"md5 {MD5} does not match repodata.json's {'d' * 32}"),
        (
            {"size": 1, "md5": "d" * 32},
            (
                f"size {len(DATA)} is not the 1 that repodata.json promises; "
                f"md5 {MD5} does not match repodata.json's {'d' * 32}"
            ),
        ),
    ],
    ids=["as-promised", "size", "sha256", "md5", "both"],
)
def test_a_local_file_is_checked_against_its_record(
    package: Path, record: dict[str, Any], problem: str | None
) -> None:
    [item] = identify([_artifact(str(package), **record)], {}, jobs=1).items
    assert (item.key, item.problem) == (SHA256, problem)


def test_records_give_the_keys_of_what_is_not_local(tmp_path: Path) -> None:
    url = "https://example.invalid/noarch/demo-1.0-0.conda"
    artifacts = [
        _artifact(url, "url", sha256="e" * 64, md5="f" * 32),
        _artifact(url, "url", md5="f" * 32),
        _artifact(url, "url"),
        _artifact(str(tmp_path / "missing.conda")),
    ]
    result = identify(artifacts, {}, jobs=2)

    assert [(item.key, item.problem) for item in result.items] == [
        ("e" * 64, None),
        ("md5:" + "f" * 32, None),
        (None, "its record gives no sha256 or md5: it cannot be verified"),
        (None, "cannot be read: No such file or directory"),
    ]
    assert result.new_digests == []
