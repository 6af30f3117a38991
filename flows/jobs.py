"""Every scheduled job's flow, as deployment entrypoints: `flows.jobs:<slug with
underscores>` (e.g. flows.jobs:telemetry_quality), built from the registry by the template."""

from __future__ import annotations

from typing import Any

from flows.registry import JOBS


def __getattr__(name: str) -> Any:
    for job in JOBS.values():
        if job.flow_name == name:
            return job.load_flow()
    raise AttributeError(f"module 'flows.jobs' has no flow {name!r}")


def __dir__() -> list[str]:
    return [job.flow_name for job in JOBS.values()]
