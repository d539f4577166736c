"""Staging with pypa/installer: condawheel's destination (links, #!python scripts)."""

from __future__ import annotations

import base64
import hashlib
import io
from typing import TYPE_CHECKING

import pytest
from installer.utils import Scheme

from condawheel.env.paths import LEADS_OUT
from condawheel.env.staging import StagingDestination, staged_path
from condawheel.errors import InstallError
from env_support import MEMORY_FACTS

if TYPE_CHECKING:
    from pathlib import Path

SHEBANG = b"#!/bin/sh\n'''exec' '/my env/bin/python' \"$0\" \"$@\"\n' '''\n"


def destination(staging: Path) -> StagingDestination:
    return StagingDestination(MEMORY_FACTS.paths, MEMORY_FACTS, staging, SHEBANG)


def test_a_python_script_gets_the_decided_first_line(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    body = b"import sys\n" + b"x = 1\n" * 100_000  # longer than one read
    entry = destination(staging).write_file(
        Scheme("scripts"), "tool", io.BytesIO(b"#!python -E\n" + body), is_executable=True
    )
    written = staged_path(staging, MEMORY_FACTS.python.parent / "tool")
    assert written.read_bytes() == SHEBANG + body
    digest = base64.urlsafe_b64encode(hashlib.sha256(SHEBANG + body).digest()).rstrip(b"=")
    assert entry.hash_ is not None
    assert (entry.hash_.value, entry.size) == (digest.decode(), len(SHEBANG + body))
    other = destination(staging).write_file(
        Scheme("scripts"), "other", io.BytesIO(b"#!/bin/sh\necho\n"), is_executable=True
    )
    assert (
        staged_path(staging, MEMORY_FACTS.python.parent / "other").read_bytes()
        == b"#!/bin/sh\necho\n"
    )
    assert other.size == len(b"#!/bin/sh\necho\n")


def test_nothing_is_written_through_a_staged_link_out_of_staging(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    outside = tmp_path / "outside"
    outside.mkdir()
    site = staged_path(staging, MEMORY_FACTS.python.parent.parent / "lib")
    site.parent.mkdir(parents=True)
    site.symlink_to(outside)
    with pytest.raises(InstallError) as caught:
        destination(staging).write_file(
            Scheme("purelib"), "mod.py", io.BytesIO(b"x = 1\n"), is_executable=False
        )
    assert caught.value.reason == LEADS_OUT
    assert list(outside.iterdir()) == []
