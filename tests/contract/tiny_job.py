"""A job written only against the contract (tasks/common/contract.py): it counts the
objects under a prefix of the data bucket. Registered by test_new_job.py, never in the
product's registry."""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, Field

from tasks.common.contract import JobResult, Scope
from tasks.common.models import Finding, Period
from tasks.common.settings import StorageSettings


class TinyConfig(BaseModel):
    model_config = {"extra": "forbid"}

    prefix: str = Field(default="tiny/", description="where the objects it counts live")
    at_least: int = Field(default=1, ge=0, description="fewer objects than this is a finding")


def collect(settings: StorageSettings, cfg: Any, period: Period, scope: Scope) -> dict[str, str]:
    from tasks.common.s3 import s3_client
    from tasks.common.storage import get_bytes, iter_objects

    client = s3_client(settings)
    keys = [o["Key"] for o in iter_objects(client, settings.data_bucket, cfg.tiny.prefix)]
    return {
        f"s3://{settings.data_bucket}/{k}": hashlib.sha256(
            get_bytes(client, settings.data_bucket, k)
        ).hexdigest()
        for k in keys
    }


def evaluate(inputs: dict[str, str], cfg: Any) -> JobResult:
    findings = []
    if len(inputs) < cfg.tiny.at_least:
        findings.append(
            Finding.make(
                "tiny.too_few",
                "medium",
                "fail",
                cfg.tiny.prefix,
                f"{len(inputs)} objects, fewer than {cfg.tiny.at_least}",
            )  # fmt: skip
        )
    return JobResult(
        findings,
        {"objects": len(inputs)},
        inputs=[{"uri": u, "digest": {"sha256": d}} for u, d in sorted(inputs.items())],
        files={"objects.txt": "".join(f"{u}\n" for u in sorted(inputs)).encode()},
    )
