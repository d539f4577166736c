"""Requires-External of converted wheels, checked against the conda packages present."""

from __future__ import annotations

import shlex

import pytest

from condawheel.env.external import (
    ExternalProvider,
    ExternalRequirement,
    check_external,
    install_command,
    parse_requires_external,
    version_satisfies,
)


@pytest.mark.parametrize(
    ("text", "name", "spec"),
    [
        ("libffi (>=3.4,<4.0a0)", "libffi", ">=3.4,<4.0a0"),
        ("libgcc", "libgcc", None),
        ("zstd (>=1.5.6,<1.5.7.0a0)", "zstd", ">=1.5.6,<1.5.7.0a0"),
        ("openssl (3.*) ; sys_platform == 'linux'", "openssl", "3.*"),
        ("tzdata ()", "tzdata", None),
    ],
)
def test_parse(text: str, name: str, spec: str | None) -> None:
    parsed = parse_requires_external(text)
    assert parsed is not None
    assert (parsed.name, parsed.version_spec) == (name, spec)


def test_parse_rejects_garbage() -> None:
    assert parse_requires_external("(") is None


@pytest.mark.parametrize(
    ("version", "spec", "expected"),
    [
        ("3.4.2", ">=3.4,<4.0a0", True),
        ("3.3", ">=3.4,<4.0a0", False),
        ("1.5.6", ">=1.5.6,<1.5.7.0a0", True),
        ("1.5.7", ">=1.5.6,<1.5.7.0a0", False),
        ("1.3.1", ">=1.2.13,<1.3.0a0", False),  # the real libzlib pin zstd carries
        ("14.2.0", ">=13", True),
        ("3.0.1", "3.*", True),
        ("2025a", ">=2024a", True),
        ("1.0", None, True),
        ("1.0", "*", True),
        ("1.0", "^1\\.0$", True),  # a regex spec, as conda reads it
        ("1.0.1a1.1", ">=1", True),  # conda orders it: judged on the conda side
        ("1.0", ">=>1", None),  # unreadable spec
    ],
)
def test_version_satisfies(version: str, spec: str | None, expected: bool | None) -> None:
    assert version_satisfies(version, spec) is expected


def _requirement(text: str) -> ExternalRequirement:
    parsed = parse_requires_external(text)
    assert parsed is not None
    return parsed


def test_check_reports_missing_mismatching_and_unchecked() -> None:
    requirements = [
        _requirement("libffi (>=3.4,<4.0a0)"),
        _requirement("libgcc (>=13)"),
        _requirement("libzlib (>=1.2.13,<1.3.0a0)"),
        _requirement("weird (>=>1)"),
    ]
    providers = [
        ExternalProvider("libgcc", "14.2.0", "libgcc-14.2.0-h77fa898_1"),
        ExternalProvider("libzlib", "1.3.1", "libzlib-1.3.1-hb9d3cd8_2"),
        ExternalProvider("weird", "1", "weird-1-0"),
    ]
    problems = check_external("demo 1.0", requirements, providers)
    assert [(p.requirement.name, p.kind) for p in problems] == [
        ("libffi", "missing"),
        ("libzlib", "mismatch"),
        ("weird", "unchecked"),
    ]
    missing = problems[0].describe("/opt/env")
    assert "demo 1.0 requires the conda package 'libffi >=3.4,<4.0a0'" in missing
    assert "conda install --prefix /opt/env 'libffi >=3.4,<4.0a0'" in missing
    mismatch = problems[1].describe("/opt/env")
    assert "has libzlib-1.3.1-hb9d3cd8_2 (installed by conda)" in mismatch


def test_any_matching_provider_satisfies() -> None:
    requirement = _requirement("libffi (>=3.4)")
    providers = [
        ExternalProvider("libffi", "3.2", "libffi-3.2-0"),
        ExternalProvider("libffi", "3.4.2", "libffi-3.4.2-h0", "from the wheel x.whl"),
    ]
    assert check_external("demo", [requirement], providers) == ()


def test_install_command_quotes_for_the_shell() -> None:
    command = install_command("/opt/my env", [_requirement("a (>=1,<2)"), _requirement("b")])
    assert shlex.split(command) == ["conda", "install", "--prefix", "/opt/my env", "a >=1,<2", "b"]
