"""The collector's local state: what was sent, so a rerun sends only what changed.

One JSON file per user and destination (mode 0600), replaced atomically; it is saved
every few hundred uploads and when a run ends or is interrupted, so a killed run resumes
where it stopped. Per key: local path, size, mtime (ns), SHA-256 and the S3 version id.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import orjson

LEDGER_VERSION = 1


def default_path(user: str, environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "compliance-collect" / f"{user}.json"


class Ledger:
    def __init__(self, path: Path, target: str) -> None:
        self.path, self.target = path, target
        self.files: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, float] = {}  # task id -> first time seen invalid (epoch s)
        self.lock = threading.Lock()
        self.dirty = 0
        self._pending_loaded: dict[str, float] = {}
        self.inputs: dict[str, Any] = {}  # settings inputs' fingerprint and the keys made

    @classmethod
    def load(cls, path: Path, target: str) -> Ledger:
        led = cls(path, target)
        try:
            data = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return led
        except (OSError, orjson.JSONDecodeError):
            return led  # unreadable state: everything is sent again (safe, idempotent)
        if (
            isinstance(data, dict)
            and data.get("version") == LEDGER_VERSION
            and data.get("target") == target
        ):
            led.files = data.get("files") or {}
            led.pending = data.get("pending") or {}
            led._pending_loaded = dict(led.pending)
            led.inputs = data.get("inputs") or {}
        return led

    def same_stat(self, key: str, size: int, mtime_ns: int) -> bool:
        e = self.files.get(key)
        return bool(e) and e.get("size") == size and e.get("mtime_ns") == mtime_ns

    def sha(self, key: str) -> str | None:
        e = self.files.get(key)
        return e.get("sha256") if e else None

    def record(self, key: str, **entry: Any) -> None:
        with self.lock:
            self.files[key] = entry
            self.dirty += 1
            if self.dirty >= 500:
                self._save()

    def set_inputs(self, fingerprint: str, keys: list[str]) -> None:
        with self.lock:
            if self.inputs != {"fingerprint": fingerprint, "keys": keys}:
                self.inputs = {"fingerprint": fingerprint, "keys": keys}
                self.dirty += 1

    def save(self) -> None:
        """Write the state file when anything changed since it was read or last saved."""
        with self.lock:
            if self.dirty or self.pending != self._pending_loaded:
                self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        doc = {
            "version": LEDGER_VERSION,
            "target": self.target,
            "files": self.files,
            "pending": self.pending,
            "inputs": self.inputs,
        }
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(orjson.dumps(doc))
        os.replace(tmp, self.path)
        self.dirty = 0
        self._pending_loaded = dict(self.pending)
