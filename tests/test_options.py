"""The conversion options are light: parsing them loads neither the planner nor pyelftools."""

from __future__ import annotations

import subprocess
import sys

import pytest

from condawheel.options import PlanOptions, PlatformStamp

HEAVY = (
    "condawheel.convert.plan",
    "condawheel.convert.analysis",
    "condawheel.binaries",
    "elftools",
)


def _imported_modules(*arguments: str) -> set[str]:
    """Return the modules a fresh interpreter imports to run ``arguments``."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", *arguments],
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in completed.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_the_options_module_imports_no_other_condawheel_module() -> None:
    modules = _imported_modules("-c", "import condawheel.options")
    assert {name for name in modules if name.startswith("condawheel.")} == {"condawheel.options"}


@pytest.mark.parametrize(
    "arguments",
    [("-c", "import condawheel.options"), ("-m", "condawheel", "--version")],
    ids=["options", "version"],
)
def test_heavy_modules_stay_unloaded(arguments: tuple[str, ...]) -> None:
    modules = _imported_modules(*arguments)
    loaded = sorted(name for name in modules if name.startswith(HEAVY))
    assert loaded == []


def test_options_are_frozen_values() -> None:
    stamp = PlatformStamp("linux-64", "conda_linux_64_site")
    assert PlanOptions(platform_stamp=stamp) == PlanOptions(
        platform_stamp=PlatformStamp("linux-64", "conda_linux_64_site")
    )
    assert hash(PlanOptions()) == hash(PlanOptions())
