"""A conda plugin: after ``conda install/update/remove/create``, sync the environment.

conda loads this module through the ``conda`` entry point group (``pyproject.toml``) when
condawheel is installed into the environment that runs ``conda`` (usually ``base``). Its
``conda_post_commands`` hook runs after a command that succeeded; the action syncs
conda's target prefix (``-n``/``-p``, else the active environment) into
``$CONDAWHEEL_WHEELHOUSE``, as ``condawheel sync <prefix> --wheelhouse W`` would, and
does nothing when that variable is not set (``condawheel hook install`` sets it in the
environments it hooks). It never makes conda's command fail: the command is done when
the hook runs, so a failed sync is reported on stderr and conda exits as it would have.

conda loads every plugin on every command, ``conda activate`` included: this module
imports only conda's plugin types; condawheel's sync is imported when it runs. mamba,
micromamba and pixi do not load conda plugins.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from conda import plugins

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from condawheel.wheelhouse.outcomes import SyncReport

WHEELHOUSE_VARIABLE: Final = "CONDAWHEEL_WHEELHOUSE"
# The commands that change an environment's packages (``uninstall`` and ``upgrade`` reach
# the hook as "remove" and "update"). ``conda env create/update`` reach it as "env_create"
# and "env_update", whose prefix can come from the environment file's ``name:``, which
# conda's context does not know: they are not among them.
SYNCED_COMMANDS: Final = frozenset({"install", "update", "remove", "create"})


def wheelhouse_to_feed(environ: Mapping[str, str]) -> Path | None:
    """Return the wheelhouse the plugin syncs into, or None when it is not configured."""
    configured = environ.get(WHEELHOUSE_VARIABLE, "")
    return Path(configured) if configured else None


def report_lines(prefix: str, report: SyncReport) -> list[str]:
    """Return what the plugin prints on stderr: each problem, then the summary."""
    lines = [
        f"condawheel: {'conflict' if o.status == 'conflict' else 'error'}: {o.location}: {o.reason}"
        for o in report.outcomes
        if o.status in {"failed", "conflict"}
    ]
    lines.append(f"condawheel: synced {prefix} into {report.wheelhouse}: {report.summary()}")
    return lines


def sync_target_prefix(command: str) -> None:
    """Sync conda's target prefix into the configured wheelhouse (the post-command action)."""
    del command  # run_for already chose the commands
    wheelhouse = wheelhouse_to_feed(os.environ)
    if wheelhouse is None:
        return
    from conda.base.context import context  # noqa: PLC0415 - only when it runs

    prefix = str(context.target_prefix)
    if not (Path(prefix) / "conda-meta").is_dir():
        return  # `conda remove --all` removed the environment: nothing left to sync
    from condawheel.errors import CondawheelError  # noqa: PLC0415 - keep conda's start fast
    from condawheel.wheelhouse.sync import sync  # noqa: PLC0415

    try:
        report = sync([prefix], wheelhouse)
    except CondawheelError as error:
        print(f"condawheel: sync of {prefix} failed: {error}", file=sys.stderr)  # noqa: T201
        return
    except Exception as error:  # noqa: BLE001 - conda's command succeeded; say why, go on
        print(  # noqa: T201
            f"condawheel: sync of {prefix} failed ({type(error).__name__}): {error}",
            file=sys.stderr,
        )
        return
    for line in report_lines(prefix, report):
        print(line, file=sys.stderr)  # noqa: T201


# conda is not installed where mypy runs: its decorator is untyped (code "misc" before mypy 1.19).
@plugins.hookimpl  # type: ignore[untyped-decorator,misc,unused-ignore]
def conda_post_commands() -> Iterator[plugins.CondaPostCommand]:
    """Register :func:`sync_target_prefix` for the commands that change an environment."""
    yield plugins.CondaPostCommand(
        name="condawheel-sync",
        action=sync_target_prefix,
        run_for=set(SYNCED_COMMANDS),
    )
