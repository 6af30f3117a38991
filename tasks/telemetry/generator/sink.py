"""Where generated files go: a local folder, or an S3 prefix uploaded by a thread pool."""

from __future__ import annotations

import base64
import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from tasks.common.errors import StorageError
from tasks.common.s3 import S3Uri, is_s3


class Sink:
    """Writes `key -> bytes` under a root; counts files and bytes; close() waits for all."""

    def __init__(self, out: str, s3_client=None, workers: int = 16):
        self.files = 0
        self.bytes = 0
        self._dirs: set[Path] = set()
        self._futures: list[Future] = []
        if is_s3(out):
            if s3_client is None:
                raise ValueError(f"{out}: an s3:// output needs an s3 client")
            uri = S3Uri.parse(out)
            prefix = uri.key.strip("/")
            # s3://bucket/ and s3://bucket/raw/ both mean the data bucket's root layout.
            if prefix == "raw" or prefix.endswith("/raw"):
                prefix = prefix[: -len("raw")].rstrip("/")
            self.bucket, self.prefix = uri.bucket, (prefix + "/" if prefix else "")
            self.client = s3_client
            self.pool: ThreadPoolExecutor | None = ThreadPoolExecutor(max_workers=workers)
            self.root: Path | None = None
            self.location = f"s3://{self.bucket}/{self.prefix}"
        else:
            self.root = Path(out)
            self.root.mkdir(parents=True, exist_ok=True)
            self.pool = None
            self.location = str(self.root)

    def put(self, key: str, data: bytes) -> None:
        self.files += 1
        self.bytes += len(data)
        if self.root is not None:
            path = self.root / key
            if path.parent not in self._dirs:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._dirs.add(path.parent)
            path.write_bytes(data)
            return
        assert self.pool is not None
        self._futures.append(self.pool.submit(self._upload, self.prefix + key, data))
        if len(self._futures) > 256:  # surface errors early and keep memory bounded
            self._drain(keep=64)

    def _upload(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentMD5=_md5(data))
        except (BotoCoreError, ClientError) as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
            raise StorageError(f"s3://{self.bucket}/{key}: upload failed ({code})") from None

    def _drain(self, keep: int = 0) -> None:
        while len(self._futures) > keep:
            self._futures.pop(0).result()

    def close(self) -> None:
        if self.pool is not None:
            try:
                self._drain()
            finally:
                self.pool.shutdown(wait=True, cancel_futures=True)


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
