"""Task runner choice: threads on one machine, a Dask cluster (prefect-dask) beyond it.

`COMPLIANCE_TASK_RUNNER` (or `runner:` in compliance.yaml, read by the CLI) selects it:
  threads            ThreadPoolTaskRunner (default)
  dask-local[:N]     a local Dask cluster of N worker processes on 127.0.0.1 (default 2)
  tcp://host:port    an existing Dask scheduler
It is read when a flow module is imported, so workers started with the variable set
run the chunked work (ingest, redaction) on Dask without changing the deployment.
"""

from __future__ import annotations

import os
from typing import Any

RUNNER_ENV = "COMPLIANCE_TASK_RUNNER"


def make_task_runner(spec: str | None = None, max_workers: int = 4) -> Any:
    from prefect.task_runners import ThreadPoolTaskRunner

    spec = (spec if spec is not None else os.environ.get(RUNNER_ENV, "threads")).strip()
    if spec in ("", "threads"):
        return ThreadPoolTaskRunner(max_workers=max_workers)
    from prefect_dask import DaskTaskRunner

    if spec.startswith("dask-local"):
        _, _, n = spec.partition(":")
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": int(n or 2),
                "threads_per_worker": 1,
                "processes": True,
                "host": "127.0.0.1",
                "dashboard_address": None,
            }
        )
    if spec.startswith("tcp://"):
        return DaskTaskRunner(address=spec)
    raise ValueError(
        f"{RUNNER_ENV}: unknown task runner '{spec}' (threads, dask-local[:N], tcp://host:port)"
    )
