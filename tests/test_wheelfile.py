"""The one wheel reader: members read and verified, every zip failure one InvalidWheel."""

from __future__ import annotations

import zipfile
from typing import TYPE_CHECKING

import pytest

from condawheel.errors import CondawheelError, InvalidWheel
from condawheel.io.wheelfile import open_wheel, wheel_damage
from env_support import WheelSpec, damage_member, deflated_wheel, make_wheel

if TYPE_CHECKING:
    from pathlib import Path

SPEC = WheelSpec(name="demo", files={"demo/__init__.py": b"VALUE = 42\n" * 100})
MODULE = "demo/__init__.py"


def test_members_are_listed_and_read(tmp_path: Path) -> None:
    path = deflated_wheel(tmp_path, SPEC)
    with open_wheel(path) as wheel:
        assert wheel.subject == path.name
        assert MODULE in wheel.files
        assert "demo-1.0.dist-info/WHEEL" in wheel.names
        assert wheel.read(MODULE) == b"VALUE = 42\n" * 100
        wheel.verify()
        assert wheel.damage() is None
    assert wheel_damage(path) is None


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ({"first_byte": 0xFF}, "Error -3 while decompressing data: invalid block type"),
        ({"method": 97}, "That compression method is not supported"),
    ],
    ids=["corrupt-deflate", "unknown-method"],
)
def test_a_member_that_fails_names_the_wheel_and_the_member(
    tmp_path: Path, damage: dict[str, int], reason: str
) -> None:
    path = damage_member(deflated_wheel(tmp_path, SPEC), MODULE, **damage)
    expected = f"{path.name}: damaged: member {MODULE}: {reason}"
    with open_wheel(path) as wheel:
        for check in (lambda: wheel.read(MODULE), wheel.verify):
            with pytest.raises(InvalidWheel) as caught:
                check()
            assert str(caught.value) == expected
        assert wheel.damage() == f"damaged: member {MODULE}: {reason}"
        assert wheel.read("demo-1.0.dist-info/METADATA").startswith(b"Metadata-Version")
    assert wheel_damage(path) == f"damaged: member {MODULE}: {reason}"


def test_a_crc_mismatch_is_found_when_the_member_is_read(tmp_path: Path) -> None:
    path = damage_member(make_wheel(tmp_path, SPEC), MODULE, first_byte=ord("X"))  # stored
    with open_wheel(path) as wheel, pytest.raises(InvalidWheel, match="Bad CRC-32"):
        wheel.verify()


def test_a_file_that_is_no_zip_or_no_wheel(tmp_path: Path) -> None:
    junk = tmp_path / "junk-1.0-py3-none-any.whl"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InvalidWheel) as caught, open_wheel(junk):
        pass
    assert str(caught.value) == f"{junk.name}: not a readable zip archive: File is not a zip file"
    assert isinstance(caught.value, CondawheelError)
    missing = tmp_path / "missing-1.0-py3-none-any.whl"
    assert wheel_damage(missing) == "not a readable zip archive: No such file or directory"
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("a.txt", "a")
    assert wheel_damage(plain) == "damaged: it has no *.dist-info/WHEEL"


def test_reads_are_bounded_and_missing_members_are_said(tmp_path: Path) -> None:
    path = deflated_wheel(tmp_path, SPEC)
    with open_wheel(path, subject="the wheel") as wheel:
        assert len(wheel.read(MODULE, limit=1100)) == 1100
        with pytest.raises(InvalidWheel, match=rf"^the wheel: {MODULE} is larger than 1099 bytes$"):
            wheel.read(MODULE, limit=1099)
        with pytest.raises(InvalidWheel, match=r"^the wheel: has no member nothing\.txt$"):
            wheel.read("nothing.txt")


def test_an_open_file_can_be_read_as_a_wheel(tmp_path: Path) -> None:
    path = deflated_wheel(tmp_path, SPEC)
    with path.open("rb") as handle:
        handle.read()  # hashed first, as the index does
        with open_wheel(handle, subject=path.name) as wheel:
            assert wheel.read(MODULE).startswith(b"VALUE")
