"""The decorator every job flow shares."""

from __future__ import annotations

from typing import Any

from prefect import flow

from tasks.common.notify import flow_failure_hook


def job_flow(name: str, **options: Any) -> Any:
    """@flow named by the job's slug, with its result persisted (so `compliance run
    --via-server` can read it) and a webhook notice when a run fails or crashes."""
    return flow(
        name=name,
        persist_result=True,
        on_failure=[flow_failure_hook],
        on_crashed=[flow_failure_hook],
        **options,
    )
