"""The one table of conda subdirs, as channels and MatchSpecs use it."""

from __future__ import annotations

import re

from condawheel.conda.matchspec import parse_matchspec
from condawheel.conda.subdirs import KNOWN_SUBDIRS


def test_the_table_is_conda_s_and_every_name_follows_cep_26() -> None:
    assert KNOWN_SUBDIRS[0] == "noarch"
    assert len(set(KNOWN_SUBDIRS)) == len(KNOWN_SUBDIRS) == 19
    # CEP 26: noarch, or <platform>-<architecture> in lower-case letters and digits.
    platform = re.compile(r"[a-z0-9]+-[a-z0-9]+")
    assert all(platform.fullmatch(name) for name in KNOWN_SUBDIRS[1:])


def test_a_known_subdir_at_the_end_of_a_channel_is_its_subdir() -> None:
    for subdir in KNOWN_SUBDIRS:
        assert parse_matchspec(f"conda-forge/{subdir}::zstd").subdir == subdir
    assert parse_matchspec("conda-forge/linux-65::zstd").subdir is None
