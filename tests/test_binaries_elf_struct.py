"""The struct-only ELF reader agrees with the pyelftools one wherever it answers."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pytest
from elftools.elf.enums import ENUM_E_MACHINE
from hypothesis import given
from hypothesis import strategies as st

from binary_builders import Built, built, corpus_elf_files, elf_image
from condawheel.binaries import BinaryFacts, analyze_binary
from condawheel.binaries.elf import analyze_elf
from condawheel.binaries.elf_struct import read_elf_quickly
from condawheel.binaries.facts import Reader

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["built"]  # a fixture, imported for pytest

_MACHINES = ["EM_X86_64", "EM_386", "EM_AARCH64", "EM_ARM", "EM_S390", "EM_RISCV"]
_MACHINES += ["EM_LOONGARCH", "EM_PPC", "EM_PPC64", "EM_MIPS", "EM_IA_64", "EM_SPARCV9"]


def _both(data: bytes) -> tuple[BinaryFacts | None, BinaryFacts]:
    """Return what the quick reader and the full one make of ``data``."""
    quick = read_elf_quickly(Reader(io.BytesIO(data)))
    full = analyze_elf(Reader(io.BytesIO(data)), data[:8])
    return quick, full


# ------------------------------------------------------------------------ Actual tests


def test_gcc_built_binaries_are_read_quickly_and_alike(built: Built) -> None:
    elves = {path: data for path, data in built.files.items() if data[:4] == b"\x7fELF"}
    assert len(elves) >= 8  # libraries, programs, extension modules
    for path, data in elves.items():
        quick, full = _both(data)
        assert quick is not None, path
        assert quick == full, path
        assert analyze_binary(io.BytesIO(data)) == full, path


@pytest.mark.parametrize("machine", _MACHINES)
@pytest.mark.parametrize("elfclass", [32, 64])
@pytest.mark.parametrize("little_endian", [True, False], ids=["le", "be"])
def test_every_class_byte_order_and_machine(
    machine: str, elfclass: int, *, little_endian: bool
) -> None:
    data = elf_image(
        elfclass=elfclass,
        little_endian=little_endian,
        machine=ENUM_E_MACHINE[machine],
        needed=("liba.so.1", "libb.so.2", "liba.so.1"),
        rpath="/opt/x:$ORIGIN/../lib",
        runpath="$ORIGIN::/usr/lib",
    )
    quick, full = _both(data)
    assert full.error is None
    assert quick == full
    assert quick.needed == ("liba.so.1", "libb.so.2")


@pytest.mark.parametrize(
    ("elf_type", "soname", "interpreter", "kind"),
    [
        (3, "libx.so.1", False, "library"),
        (3, None, True, "executable"),  # a position-independent executable
        (3, None, False, "library"),
        (2, None, True, "executable"),
        (1, None, False, "object"),
        (4, None, False, "other"),  # ET_CORE
        (0xFE01, None, False, "other"),  # an OS-specific type
    ],
)
def test_kinds(elf_type: int, soname: str | None, *, interpreter: bool, kind: str) -> None:
    quick, full = _both(elf_image(elf_type=elf_type, soname=soname, interpreter=interpreter))
    assert quick == full
    assert full.kind == kind


def test_what_it_does_not_know_is_left_to_pyelftools() -> None:
    unknown_machine = elf_image(machine=0x7777)
    assert read_elf_quickly(Reader(io.BytesIO(unknown_machine))) is None
    assert analyze_binary(io.BytesIO(unknown_machine)) == _both(unknown_machine)[1]
    truncated = elf_image()[:100]
    assert read_elf_quickly(Reader(io.BytesIO(truncated))) is None
    facts = analyze_binary(io.BytesIO(truncated))
    assert facts is not None
    assert facts.error is not None


@given(st.data())
def test_mutated_images_are_read_alike_or_left_to_pyelftools(data: st.DataObject) -> None:
    image = bytearray(
        elf_image(
            elfclass=data.draw(st.sampled_from([32, 64])),
            little_endian=data.draw(st.booleans()),
            needed=("liba.so.1", "libb.so.2"),
            rpath=data.draw(st.sampled_from([None, "/opt/lib"])),
            interpreter=data.draw(st.booleans()),
        )
    )
    for position, value in data.draw(
        st.lists(st.tuples(st.integers(0, len(image) - 1), st.integers(0, 255)), max_size=6)
    ):
        image[position] = value
    mutated = bytes(image[: data.draw(st.integers(0, len(image)))])
    if mutated[:4] != b"\x7fELF":
        return
    quick, full = _both(mutated)
    assert quick is None or quick == full


@pytest.mark.corpus
def test_corpus_binaries_are_read_quickly_and_alike(corpus: Path) -> None:
    checked = 0
    for path, data in corpus_elf_files(corpus):
        quick, full = _both(data)
        assert quick is not None, path
        assert quick == full, path
        checked += 1
    assert checked > 100
