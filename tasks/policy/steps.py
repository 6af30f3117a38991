"""The policy approval steps as the CLI and the on-demand flows both run them: the chain's
context from a config (bucket, signer, trust, the roster's active users)."""

from __future__ import annotations

from typing import Any

from tasks.common.errors import InputError
from tasks.common.settings import AppConfig
from tasks.policy.chain import Ctx


def policy_context(app: AppConfig, public_keys: list[str] | tuple[str, ...] = ()) -> Ctx:
    from tasks.access.previous import trusted_keys
    from tasks.common.s3 import s3_client
    from tasks.common.storage import S3Store
    from tasks.evidence.cli_support import reports_bucket, signer_from
    from tasks.evidence.verify_target import resolve_trust
    from tasks.policy.config import parse_policy_config

    cfg = parse_policy_config(app.section("policy"), app.source or "environment")
    settings = app.storage
    client, bucket = s3_client(settings), reports_bucket(settings)
    trust, _ = resolve_trust(S3Store(client, bucket), trusted_keys(settings, list(public_keys)))
    ctx = Ctx(client, bucket, signer_from(settings), trust, settings.retention_days, cfg)
    ctx.active_users = active_users(client, settings.data_bucket)
    return ctx


def active_users(client: Any, data_bucket: str | None) -> set[str]:
    """Approvers and proposers must be active roster users (raw/org/roster.csv)."""
    from tasks.access.sources import collect_roster
    from tasks.common.storage import S3Store

    if not data_bucket:
        raise InputError("COMPLIANCE_DATA_BUCKET (storage.data_bucket) is not set: no roster")
    roster, errors = collect_roster(S3Store(client, data_bucket))
    if roster is None:
        raise InputError(f"{errors[0].source}: {errors[0].problem} (the roster names approvers)")
    return {u for u, entry in roster.items() if entry.active}
