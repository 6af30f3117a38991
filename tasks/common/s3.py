"""boto3 plumbing: one client factory (injected everywhere) and s3:// URIs. Reading,
listing and writing objects is tasks/common/storage.py's.

Retries use botocore's own retry modes (standard: 500/503/SlowDown/throttling and
connection errors with exponential backoff), never hand-written loops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from tasks.common.settings import StorageSettings


def client_config(
    max_attempts: int = 8, connect_timeout: float = 5, read_timeout: float = 30
) -> Config:
    return Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        s3={"addressing_style": "path"},
        max_pool_connections=32,
        # Checksums only when an operation requires them or we ask (e.g. SHA256 on puts).
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


def make_session(settings: StorageSettings | None = None) -> boto3.session.Session:
    region = settings.region if settings else None
    return boto3.session.Session(region_name=region or "us-east-1")


def s3_client(
    settings: StorageSettings | None = None,
    session: boto3.session.Session | None = None,
    **cfg: Any,
):
    session = session or make_session(settings)
    endpoint = settings.endpoint_url if settings else None
    return session.client("s3", endpoint_url=endpoint, config=client_config(**cfg))


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Uri:
        if not uri.startswith("s3://"):
            raise ValueError(f"not an s3:// URI: {uri}")
        bucket, _, key = uri[5:].partition("/")
        if not bucket:
            raise ValueError(f"s3 URI has no bucket: {uri}")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def is_s3(path: str) -> bool:
    return str(path).startswith("s3://")
