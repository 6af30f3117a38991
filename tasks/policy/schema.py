"""The policy file: what `compliance policy propose` accepts and policy-drift compares against.

    version: 1
    baseline:        # Roo Code's settings export shape, the file distributed through
      providerProfiles: {...}      # roo-cline.autoImportSettingsPath
      globalSettings: {...}
    organization:    # Roo Code's organisation settings (raw/org/organization-settings.json)
      version: 7
      allowList: {allowAll: false, providers: {anthropic: {allowAll: false, models: [...]}}}
      mcps: [...]  hiddenMcps: [...]  cloudSettings: {...}  defaultSettings: {...}
    rules:
      allowedModes: [code, ask]                # null/absent: any mode
      commands: {allow: [git status], deny: [rm -rf]}   # Roo Code prefix semantics
      mcpServers: [github, context7]           # null/absent: any server
      autoApprove:
        allowedMaxRequests: 100                # users' cap must be set and at most this
        allowedMaxCost: 10
        execute: false                         # may alwaysAllowExecute be on at all
        write: true
        writeOutsideWorkspace: false
        mcp: true

Every level forbids unknown keys (a typo must not silently weaken a rule) except the
contents of Roo Code's own free-form objects (globalSettings, cloudSettings, …), whose
governed keys are type-checked. A policy also has to obey itself: a baseline that
auto-approves what the rules forbid, or names a model the allow-list refuses, is refused.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tasks.common.errors import InputError

FORMAT_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ProviderAllow(_Strict):
    allowAll: bool
    models: list[str] | None = None


class AllowList(_Strict):
    """Roo Code's organizationAllowListSchema."""

    allowAll: bool
    providers: dict[str, ProviderAllow] = Field(default_factory=dict)

    def permits(self, provider: str | None, model: str | None) -> bool:
        if self.allowAll:
            return True
        entry = self.providers.get(provider or "")
        if entry is None:
            return False
        return entry.allowAll or (model is not None and model in (entry.models or []))


class Organization(_Strict):
    """Roo Code's organizationSettingsSchema (packages/types/src/cloud.ts)."""

    version: int | None = None
    allowList: AllowList
    cloudSettings: dict[str, Any] = Field(default_factory=dict)
    defaultSettings: dict[str, Any] = Field(default_factory=dict)
    mcps: list[dict[str, Any]] = Field(default_factory=list)
    hiddenMcps: list[str] = Field(default_factory=list)
    hideMarketplaceMcps: bool | None = None
    features: dict[str, Any] = Field(default_factory=dict)
    providerProfiles: dict[str, dict[str, Any]] | None = None  # organisation-provided profiles


# Governed globalSettings keys and their types (Roo Code's globalSettingsSchema).
_BOOL_KEYS = ("autoApprovalEnabled", "alwaysAllowExecute", "alwaysAllowWrite",
              "alwaysAllowWriteOutsideWorkspace", "alwaysAllowMcp", "alwaysAllowReadOnly")  # fmt: skip
_LIST_KEYS = ("allowedCommands", "deniedCommands")
_NUM_KEYS = ("allowedMaxRequests", "allowedMaxCost")


class Baseline(_Strict):
    providerProfiles: dict[str, Any] = Field(default_factory=dict)
    globalSettings: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _governed_types(self) -> Baseline:
        g = self.globalSettings
        for k in _BOOL_KEYS:
            if k in g and not isinstance(g[k], bool):
                raise ValueError(f"globalSettings.{k} must be true or false")
        for k in _LIST_KEYS:
            if k in g and not (isinstance(g[k], list) and all(isinstance(c, str) for c in g[k])):
                raise ValueError(f"globalSettings.{k} must be a list of strings")
        for k in _NUM_KEYS:
            v = g.get(k)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0):
                raise ValueError(f"globalSettings.{k} must be a positive number or null")
        configs = self.providerProfiles.get("apiConfigs", {})
        if not isinstance(configs, dict) or not all(isinstance(c, dict) for c in configs.values()):
            raise ValueError("providerProfiles.apiConfigs must map profile names to objects")
        return self


class CommandRules(_Strict):
    allow: list[str] | None = None  # None: any command may be auto-approved
    deny: list[str] = Field(default_factory=list)


class AutoApproveRules(_Strict):
    allowedMaxRequests: int | None = Field(default=None, ge=1)
    allowedMaxCost: float | None = Field(default=None, gt=0)
    execute: bool = True
    write: bool = True
    writeOutsideWorkspace: bool = True
    mcp: bool = True

    @model_validator(mode="before")
    @classmethod
    def _int_cost(cls, data: Any) -> Any:  # strict mode refuses 10 for a float
        if isinstance(data, dict) and type(data.get("allowedMaxCost")) is int:
            data = {**data, "allowedMaxCost": float(data["allowedMaxCost"])}
        return data


class Rules(_Strict):
    allowedModes: list[str] | None = None
    commands: CommandRules = Field(default_factory=CommandRules)
    mcpServers: list[str] | None = None
    autoApprove: AutoApproveRules = Field(default_factory=AutoApproveRules)


class PolicyDoc(_Strict):
    version: int = FORMAT_VERSION
    baseline: Baseline | None = None
    organization: Organization | None = None
    rules: Rules = Field(default_factory=Rules)

    @model_validator(mode="after")
    def _obeys_itself(self) -> PolicyDoc:
        if self.version != FORMAT_VERSION:
            raise ValueError(f"version {self.version}: only version {FORMAT_VERSION} is known")
        if self.baseline is None:
            return self
        problems = baseline_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def profile_model(cfg: dict[str, Any]) -> tuple[str | None, str | None]:
    """(provider, model) of one Roo Code provider profile."""
    model = next((cfg[k] for k in ("apiModelId", "openRouterModelId", "openAiModelId",
                                   "ollamaModelId", "lmStudioModelId") if cfg.get(k)), None)  # fmt: skip
    return cfg.get("apiProvider"), model


def baseline_problems(doc: PolicyDoc) -> list[str]:
    """Where the baseline contradicts the rules or the organisation's allow-list."""
    assert doc.baseline is not None
    g, aa, out = doc.baseline.globalSettings, doc.rules.autoApprove, []
    auto = g.get("autoApprovalEnabled", False)
    for key, allowed in (("alwaysAllowExecute", aa.execute), ("alwaysAllowWrite", aa.write),
                         ("alwaysAllowWriteOutsideWorkspace", aa.writeOutsideWorkspace),
                         ("alwaysAllowMcp", aa.mcp)):  # fmt: skip
        if auto and g.get(key) and not allowed:
            out.append(f"baseline.globalSettings.{key} is on but rules.autoApprove forbids it")
    for key in _NUM_KEYS:
        cap = getattr(aa, key)
        if auto and cap is not None and (g.get(key) is None or g[key] > cap):
            out.append(
                f"baseline.globalSettings.{key} {g.get(key)} exceeds rules.autoApprove.{key} {cap}"
            )
    missing = [d for d in doc.rules.commands.deny if d not in g.get("deniedCommands", [])]
    if missing and "deniedCommands" in g:
        out.append(f"baseline.globalSettings.deniedCommands lacks {missing}")
    if doc.organization is not None:
        for name, cfg in (doc.baseline.providerProfiles.get("apiConfigs") or {}).items():
            provider, model = profile_model(cfg)
            if not doc.organization.allowList.permits(provider, model):
                out.append(f"baseline profile {name!r} uses {provider}/{model}, not in allowList")
    return out


def validate_policy(doc: dict[str, Any], source: str) -> PolicyDoc:
    """The parsed policy, or InputError with one line per problem, each naming the key."""
    try:
        return PolicyDoc.model_validate(doc)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            # never echo the input: a baseline may hold an API key
            lines.append(f"{source}: {key}: {err['msg'].removeprefix('Value error, ')}")
        raise InputError("\n".join(lines)) from None
