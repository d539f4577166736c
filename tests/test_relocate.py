"""Prefix relocation: text, binary NUL padding, long shebangs (conda's portability rules)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from condawheel.env.relocate import (
    RelocationTarget,
    relocate,
    relocate_binary,
    relocate_text,
    shorten_shebang,
)
from condawheel.errors import InstallError

PLACEHOLDER = "/home/conda/feedstock_root/build_artifacts/x_1/_h_env_" + "placehold_" * 20
SHORT = "/opt/env"
LINUX = RelocationTarget(SHORT)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            f"prefix={PLACEHOLDER}\nlibdir=${{prefix}}/lib\nincludedir={PLACEHOLDER}/include\n",
            f"prefix={SHORT}\nlibdir=${{prefix}}/lib\nincludedir={SHORT}/include\n",
            id="pkg-config",
        ),
        pytest.param("no placeholder here\n", "no placeholder here\n", id="untouched"),
        pytest.param(
            f"#!{PLACEHOLDER}/bin/perl -w\nprint 1;\n",
            f"#!{SHORT}/bin/perl -w\nprint 1;\n",
            id="short-shebang-kept",
        ),
    ],
)
def test_text(data: str, expected: str) -> None:
    assert relocate_text(data.encode(), PLACEHOLDER, LINUX) == expected.encode()


def test_text_in_utf16_and_utf32() -> None:
    for encoding in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        data = f"path={PLACEHOLDER};".encode(encoding)
        assert relocate_text(data, PLACEHOLDER, LINUX) == f"path={SHORT};".encode(encoding)


def test_long_shebang_becomes_usr_bin_env() -> None:
    long_prefix = "/very/" + "long/" * 30 + "env"
    data = f"#!{PLACEHOLDER}/bin/python3.12 -E\nimport sys\n".encode()
    result = relocate_text(data, PLACEHOLDER, RelocationTarget(long_prefix))
    assert result == b"#!/usr/bin/env python3.12 -E\nimport sys\n"
    # macOS and the BSDs accept up to 512 bytes: the shebang stays.
    other = relocate_text(data, PLACEHOLDER, RelocationTarget(long_prefix, "other"))
    assert other.startswith(f"#!{long_prefix}/bin/python3.12 -E\n".encode())


def test_prefix_with_spaces_in_shebang_becomes_usr_bin_env() -> None:
    data = f"#!{PLACEHOLDER}/bin/python\nprint('{PLACEHOLDER}')\n".encode()
    result = relocate_text(data, PLACEHOLDER, RelocationTarget("/opt/my env"))
    assert result == b"#!/usr/bin/env python\nprint('/opt/my env')\n"


def test_windows_text_uses_forward_slashes_and_keeps_shebangs() -> None:
    data = f"#!{PLACEHOLDER}/python.exe\nhome={PLACEHOLDER}\n".encode()
    target = RelocationTarget("C:\\Users\\me\\env", "windows")
    assert relocate_text(data, PLACEHOLDER, target) == (
        b"#!C:/Users/me/env/python.exe\nhome=C:/Users/me/env\n"
    )


def test_shorten_shebang_only_touches_a_first_line_shebang() -> None:
    assert shorten_shebang(b"echo hi\n#!/" + b"x" * 200 + b"\n", limit=127).startswith(b"echo")
    assert shorten_shebang(b"#!/bin/sh\n", limit=127) == b"#!/bin/sh\n"
    long = b"#!/" + b"a/" * 80 + b"tool --flag\nrest\n"
    assert shorten_shebang(long, limit=127) == b"#!/usr/bin/env tool --flag\nrest\n"


def test_binary_pads_with_nuls_and_keeps_the_length() -> None:
    data = (
        b"\x7fELF\x00\x01"
        + PLACEHOLDER.encode()
        + b"/lib/terminfo\x00next-string\x00"
        + PLACEHOLDER.encode()
        + b"\x00tail"
    )
    result = relocate_binary(data, PLACEHOLDER, LINUX)
    assert len(result) == len(data)
    padding = len(PLACEHOLDER) - len(SHORT)
    assert result == (
        b"\x7fELF\x00\x01"
        + SHORT.encode()
        + b"/lib/terminfo"
        + b"\x00" * (padding + 1)
        + b"next-string\x00"
        + SHORT.encode()
        + b"\x00" * (padding + 1)
        + b"tail"
    )


def test_binary_with_two_placeholders_in_one_string() -> None:
    data = f"{PLACEHOLDER}/a:{PLACEHOLDER}/b".encode() + b"\x00!"
    result = relocate_binary(data, PLACEHOLDER, LINUX)
    assert (
        result
        == f"{SHORT}/a:{SHORT}/b".encode()
        + b"\x00" * (2 * (len(PLACEHOLDER) - len(SHORT)) + 1)
        + b"!"
    )


def test_binary_refuses_a_prefix_longer_than_the_placeholder() -> None:
    data = b"\x00" + PLACEHOLDER.encode() + b"/lib\x00"
    too_long = "/" + "x" * len(PLACEHOLDER)
    with pytest.raises(InstallError) as caught:
        relocate(data, PLACEHOLDER, "binary", RelocationTarget(too_long), subject="lib/libz.so")
    assert caught.value.subject == "lib/libz.so"
    assert "longer than the placeholder" in caught.value.reason
    assert "shorter environment path" in caught.value.reason


def test_binary_on_windows_is_left_alone() -> None:
    data = b"\x00" + PLACEHOLDER.encode() + b"\x00"
    assert relocate_binary(data, PLACEHOLDER, RelocationTarget("C:\\env", "windows")) == data


def test_relocate_dispatches_on_mode() -> None:
    data = f"x={PLACEHOLDER}\n".encode()
    assert relocate(data, PLACEHOLDER, "text", LINUX) == f"x={SHORT}\n".encode()
    binary = relocate(data + b"\x00", PLACEHOLDER, "binary", LINUX)
    assert len(binary) == len(data) + 1
    assert binary.startswith(f"x={SHORT}\n".encode())


@given(
    before=st.binary(max_size=64),
    after=st.binary(max_size=64),
    prefix=st.text(alphabet="/abcdefgh_", min_size=1, max_size=len(PLACEHOLDER)),
)
def test_binary_relocation_never_changes_the_size(before: bytes, after: bytes, prefix: str) -> None:
    data = before + PLACEHOLDER.encode() + after + b"\x00"
    result = relocate_binary(data, PLACEHOLDER, RelocationTarget(prefix))
    assert len(result) == len(data)
    assert PLACEHOLDER.encode() not in result
