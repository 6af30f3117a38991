"""Settings: a `compliance.yaml` file, with the environment winning for storage names.

Each job validates its own section (budgets, retention, redaction, access, …) with its own
schema; this module only finds the file, parses it, and owns the storage settings that
every job shares (names fixed by the evidence-bundle spec).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from tasks.common.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)

CONFIG_ENV = "COMPLIANCE_CONFIG"
TRUSTED_KEYS_ENV = "COMPLIANCE_TRUSTED_KEYS"
FINGERPRINT_RE = re.compile(r"^(?:sha256:)?([0-9a-fA-F]{64})$")  # a pinned public key
DEFAULT_CONFIG_FILE = "compliance.yaml"

# environment variable -> StorageSettings field (the spec's configuration names)
ENV_NAMES = {
    "AWS_ENDPOINT_URL": "endpoint_url",
    "COMPLIANCE_REPORTS_BUCKET": "reports_bucket",
    "COMPLIANCE_DATA_BUCKET": "data_bucket",
    "COMPLIANCE_SIGNING_KEY": "signing_key",
    "COMPLIANCE_RETENTION_DAYS": "retention_days",
    "AWS_DEFAULT_REGION": "region",
}


def positive_int_setting(value: int | str | None, env: str, what: str) -> int | None:
    """A whole number >= 1: the argument, else the environment variable `env`, else None
    (unset); anything else is one ConfigError naming the variable and `what` it counts."""
    raw = value if value is not None else os.environ.get(env, "").strip() or None
    if raw is None:
        return None
    try:
        n = int(raw)
    except (TypeError, ValueError):
        n = 0
    if n < 1:
        raise ConfigError(f"{env}: {what} must be a whole number >= 1")
    return n


def validate_section(
    model: type[ModelT], section: str, raw: dict[str, Any] | None, source: str
) -> ModelT:
    """Validate one config section; the first problem becomes one line naming the key."""
    try:
        return model(**(raw or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join([section, *(str(p) for p in err["loc"])])  # a model-level error: no key
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{source}: {key}: {msg}") from None


class StorageSettings(BaseModel):
    model_config = {"extra": "forbid"}

    endpoint_url: str | None = Field(
        default=None, description="S3 endpoint for MinIO, Ceph RGW or a local server; unset: AWS"
    )
    region: str = Field(
        default="us-east-1", description="AWS region of the buckets and of the KMS key"
    )
    reports_bucket: str | None = Field(
        default=None, description="bucket of the signed evidence bundles (Object Lock on)"
    )
    data_bucket: str | None = Field(
        default=None, description="bucket of raw and derived data (telemetry, task logs, snapshots)"
    )
    signing_key: str | None = Field(
        default=None, description="path of a PEM private key, or kms:<key id or alias>"
    )
    signing_key_password_env: str | None = Field(
        default=None, description="name of an environment variable holding the key password"
    )
    retention_days: int = Field(
        default=2557,
        ge=1,
        le=36500,
        description="Object Lock retention of each bundle, in days (default 7 years)",
    )
    trusted_keys: list[str] = Field(
        default_factory=list,
        description="public keys readers trust: PEM paths (relative to the config file) "
        "or SHA-256 fingerprints; the variable takes them comma-separated",
    )

    @field_validator("trusted_keys", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @property
    def configured(self) -> bool:
        return bool(self.reports_bucket and self.data_bucket)

    def require(self, *fields: str) -> None:
        """One ConfigError naming every missing setting and its variable (one check for
        every job and command, instead of one message per caller)."""
        var = {f: v for v, f in ENV_NAMES.items()}
        missing = [f"{var[f]} (storage.{f})" for f in fields if not getattr(self, f)]
        if missing:
            raise ConfigError(f"{' and '.join(missing)} not set")


class AppConfig(BaseModel):
    storage: StorageSettings
    sections: dict[str, Any] = Field(default_factory=dict)
    source: str | None = None

    def section(self, name: str) -> dict[str, Any]:
        value = self.sections.get(name) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"{self.source or 'config'}: '{name}' must be a mapping")
        return value


def _config_path(explicit: str | Path | None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.exists() else None


def _relative_to(entries: Any, cfg_path: Path | None) -> Any:
    """PEM paths in the config file are relative to it (fingerprints pass unchanged)."""
    if not isinstance(entries, list) or cfg_path is None:
        return entries
    out = []
    for e in entries:
        is_path = isinstance(e, str) and not FINGERPRINT_RE.match(e.strip())
        out.append(str(cfg_path.parent / e) if is_path and not Path(e).is_absolute() else e)
    return out


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> AppConfig:
    """Read the config file (if any) and apply environment overrides. One-line errors."""
    env = dict(os.environ) if env is None else env
    cfg_path = _config_path(path)
    data: dict[str, Any] = {}
    if cfg_path is not None:
        try:
            loaded = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{cfg_path}: config file not found") from None
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{cfg_path}:{where} is not valid YAML") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{cfg_path}: top level must be a mapping")
        data = loaded
    storage_raw = dict(data.get("storage") or {})
    evidence = data.get("evidence") or {}  # readers' trust anchors live beside storage
    if not isinstance(evidence, dict) or set(evidence) - {"trusted_keys"}:
        raise ConfigError(f"{cfg_path}: evidence: only 'trusted_keys' (a list) is allowed")
    if evidence.get("trusted_keys") is not None:
        storage_raw["trusted_keys"] = _relative_to(evidence["trusted_keys"], cfg_path)
    for var, field in ENV_NAMES.items():
        if env.get(var):
            storage_raw[field] = env[var]
    if env.get(TRUSTED_KEYS_ENV):
        storage_raw["trusted_keys"] = env[TRUSTED_KEYS_ENV]
    storage = validate_section(
        StorageSettings, "storage", storage_raw, str(cfg_path or "environment")
    )
    sections = {k: v for k, v in data.items() if k not in ("storage", "evidence")}
    return AppConfig(storage=storage, sections=sections, source=str(cfg_path) if cfg_path else None)
