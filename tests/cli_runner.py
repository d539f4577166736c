"""Run the command line in-process (typer's runner), so that coverage sees the CLI.

The runner goes through ``Group.main``, the same funnel the console script uses, and
keeps stdout and stderr apart. A real process is for what only one shows (the console
script, ``--version`` without typer, streams that are terminals): see ``run_process``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from typer.testing import CliRunner, Result

from condawheel.cli.app import app

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["Result", "invoke", "run_process"]


def invoke(*args: str | Path, env: Mapping[str, str | None] | None = None) -> Result:
    """Run ``condawheel ARGS`` in this process; a bug raises here rather than hiding."""
    return CliRunner().invoke(app, [str(arg) for arg in args], env=env, catch_exceptions=False)


def run_process(
    *args: str | Path, cwd: Path | None = None, console_script: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``condawheel ARGS`` as users run it: a real process, real streams."""
    env = {key: value for key, value in os.environ.items() if key != "SOURCE_DATE_EPOCH"}
    env["COLUMNS"] = "200"
    command = (
        [os.path.join(os.path.dirname(sys.executable), "condawheel")]  # noqa: PTH118, PTH120 - beside this interpreter
        if console_script
        else [sys.executable, "-m", "condawheel"]
    )
    return subprocess.run(
        [*command, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )
