"""A Dask worker preload for the tests: converting one named artifact kills the worker.

It stands for an artifact that crashes its converter every time (a segfault in a native
library, the out-of-memory killer): the worker process dies by SIGKILL in the middle of
the task, as it would then. ``CONDAWHEEL_TEST_POISON`` names the artifact's file.
"""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING

from condawheel.wheelhouse import cluster, workers

if TYPE_CHECKING:
    from distributed import Worker

    from condawheel.convert.names import NameMapping
    from condawheel.wheelhouse.workers import ConversionJob, JobResult


def _crashing(job: ConversionJob, names: NameMapping, *, folder: str | None = None) -> JobResult:
    if job.artifact.filename == os.environ.get("CONDAWHEEL_TEST_POISON"):
        os.kill(os.getpid(), signal.SIGKILL)
    return workers.run_job(job, names, folder=folder)


def dask_setup(worker: Worker) -> None:  # noqa: ARG001 - distributed's preload hook
    # The name the task calls, in the module that calls it.
    cluster.__dict__["run_job"] = _crashing
