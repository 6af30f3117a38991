"""A whole job environment for the operations tests: keys, buckets, a tiny fleet, a config.

The same steps `compliance demo` takes (cli/demo.py), on a given S3 endpoint and fresh
bucket names, so several environments can share one moto server.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from tasks.common.s3 import s3_client
from tasks.common.settings import StorageSettings

# Variables that would override the config file's storage section (settings.ENV_NAMES).
STORAGE_ENV = (
    "AWS_ENDPOINT_URL",
    "COMPLIANCE_REPORTS_BUCKET",
    "COMPLIANCE_DATA_BUCKET",
    "COMPLIANCE_SIGNING_KEY",
    "COMPLIANCE_RETENTION_DAYS",
    "COMPLIANCE_CONFIG",
)


@dataclass(frozen=True)
class JobEnv:
    settings: StorageSettings
    config: Path  # compliance.yaml with the storage section filled in
    public_key: Path
    truth: dict[str, Any]

    def env(self) -> dict[str, str]:
        """The same storage settings as environment variables (for worker processes)."""
        s = self.settings
        return {
            "AWS_ENDPOINT_URL": str(s.endpoint_url),
            "COMPLIANCE_DATA_BUCKET": str(s.data_bucket),
            "COMPLIANCE_REPORTS_BUCKET": str(s.reports_bucket),
            "COMPLIANCE_SIGNING_KEY": str(s.signing_key),
            "COMPLIANCE_RETENTION_DAYS": str(s.retention_days),
            "COMPLIANCE_CONFIG": str(self.config),
        }

    def public_keys(self) -> list[tuple[str, bytes]]:
        return [(str(self.public_key), self.public_key.read_bytes())]


def make_env(
    endpoint_url: str,
    root: Path,
    *,
    users: int = 2,
    days: int = 1,
    seed: int = 11,
    start: date | None = None,
    sections: dict[str, Any] | None = None,
    keys_dir: Path | None = None,
) -> JobEnv:
    """Fresh buckets on `endpoint_url`, a signing key, a generated fleet and a config file."""
    from tasks.evidence import ensure_buckets
    from tasks.evidence.signer import generate_key_files
    from tasks.telemetry.generator import generate_fleet

    root.mkdir(parents=True, exist_ok=True)
    keys = keys_dir or root / "keys"
    if (keys / "signing-key.pem").exists():
        private, public = keys / "signing-key.pem", keys / "signing-key.pub.pem"
    else:
        private, public, _ = generate_key_files(keys)
    suffix = uuid.uuid4().hex[:10]
    settings = StorageSettings(
        endpoint_url=endpoint_url,
        data_bucket=f"ops-data-{suffix}",
        reports_bucket=f"ops-reports-{suffix}",
        signing_key=str(private),
        retention_days=1,
    )
    client = s3_client(settings)
    ensure_buckets(client, settings, public.read_bytes())
    truth = generate_fleet(
        f"s3://{settings.data_bucket}/", users, days, seed, start=start, s3_client=client
    )
    config = root / "compliance.yaml"
    body = {"storage": settings.model_dump(exclude_none=True), **(sections or {})}
    config.write_text(yaml.safe_dump(body, sort_keys=False))
    return JobEnv(settings=settings, config=config, public_key=public, truth=truth)
