"""generate_fleet: users x days of Roo Code data, planted incidents, and the ground truth."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tasks.telemetry.generator import recipes, sensitive
from tasks.telemetry.generator.catalog import EXPENSIVE, MODELS, iso_ms, uuid4, uuid7
from tasks.telemetry.generator.emit import TaskEmitter
from tasks.telemetry.generator.incidents import (
    ORG,
    PLANTABLE,
    Plan,
    apply_settings,
    make_plan,
    plan_outage,
    plant_outage,
)
from tasks.telemetry.generator.people import (
    User,
    make_users,
    org_settings,
    roster_csv,
    settings_files,
)
from tasks.telemetry.generator.sink import Sink
from tasks.telemetry.generator.task import TaskBuilder

DEFAULT_START = date(2026, 11, 1)
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
UI_MALFORMED = ("not_json", "missing_ts", "not_utf8", "bad_type")
DRIFT_FACTOR = 1.25
DRIFT_MODEL = "openrouter:anthropic/claude-sonnet-4.5"


def generate_fleet(
    out: str,
    users: int,
    days: int,
    seed: int,
    start: date | None = None,
    clean: bool = False,
    s3_client=None,
    plant: tuple[str, ...] = (),
    drift_factor: float = 0.0,
    drift_from_day: int = 0,
) -> dict[str, Any]:
    """Write a synthetic fleet under `out` (folder or s3:// prefix); return the ground truth.

    Planting options: `plant` adds opt-in incidents (incidents.PLANTABLE), even to a clean
    fleet; `drift_factor` (default DRIFT_FACTOR) scales the drifting user's reported costs;
    `drift_from_day` starts the drift that many days into the fleet (a provider that starts
    overcharging mid-period: earlier tasks of the same profile are honest)."""
    if users < 1 or days < 1:
        raise ValueError(f"users and days must be >= 1 (got users={users}, days={days})")
    unknown = sorted(set(plant) - set(PLANTABLE))
    if unknown:
        raise ValueError(f"cannot plant {', '.join(unknown)} (known: {', '.join(PLANTABLE)})")
    sink = Sink(out, s3_client)
    try:
        fleet = _Fleet(seed, users, days, start or DEFAULT_START, clean, sink)
        fleet.plant = tuple(plant)
        fleet.drift_factor, fleet.drift_from_day = drift_factor or DRIFT_FACTOR, drift_from_day
        truth = fleet.run()
        truth["stats"] = {**truth["stats"], "files": sink.files, "bytes": sink.bytes}
        sink.put("ground_truth.json", json.dumps(truth, indent=1, sort_keys=True).encode())
    finally:
        sink.close()
    return truth


class _Fleet:
    def __init__(self, seed: int, n_users: int, days: int, start: date, clean: bool, sink: Sink):
        self.seed, self.n_users, self.days, self.start, self.clean = (
            seed,
            n_users,
            days,
            start,
            clean,
        )
        self.rng = random.Random(f"compliance-fleet:{seed}")
        self.drift_factor, self.drift_from_day = DRIFT_FACTOR, 0
        self.drifted: set[str] = set()
        self.em = TaskEmitter(sink)
        self.incidents: list[dict[str, Any]] = []
        self.plant: tuple[str, ...] = ()
        self.outage = None

    def incident(
        self,
        kind: str,
        user: User | None,
        details: dict[str, Any],
        task_id: str | None = None,
        day: int | None = None,
    ) -> None:
        inc: dict[str, Any] = {
            "id": f"inc-{len(self.incidents) + 1:03d}",
            "kind": kind,
            "user": user.name if user else None,
            "team": user.team if user else None,
        }
        if task_id:
            inc["task_id"] = task_id
        if day is not None:
            inc["day"] = (self.start + timedelta(days=day)).isoformat()
        inc["details"] = details
        self.incidents.append(inc)

    def run(self) -> dict[str, Any]:
        fleet, extra = make_users(self.rng, self.n_users)
        by_name = {u.name: u for u in fleet}
        plan = Plan() if self.clean else make_plan(self.rng, fleet, self.days)
        if "provider_outage" in self.plant:  # its own rng: the rest of the fleet is unchanged
            self.outage = plan_outage(random.Random(f"outage:{self.seed}"), fleet, self.days)
            self.outage_tasks: list[str] = []
        if "provider_cost_drift" in plan.activity:
            _use_model(by_name[plan.activity["provider_cost_drift"][0]], DRIFT_MODEL)
        settings_secrets: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for kind, name in plan.settings.items():
            details, planted = apply_settings(self.rng, kind, by_name[name])
            if kind == "god_mode_settings":
                details["implies"] = ["broad_allowed_command"]  # "*" allows everything
            self.incident(kind, by_name[name], details)
            settings_secrets[name] += planted
        if plan.terminated:
            by_name[plan.terminated].status = "terminated"
        snippets, malformed = self._slots(fleet)
        for user in fleet:
            self._user(user, plan, snippets, malformed)
            files = {
                f"raw/roo/{user.name}/settings/{k}": v for k, v in settings_files(user).items()
            }
            self.em.put_scanned(files, settings_secrets[user.name], [])
        self._org(plan)
        if self.outage:
            self._outage_incident()
        self.em.sink.put("raw/org/roster.csv", roster_csv(fleet + extra))
        self._derived_incidents(plan, by_name)
        return self.em.truth(self, fleet + extra)

    # --- planning ---------------------------------------------------------------------

    def _slots(
        self, fleet: list[User]
    ) -> tuple[dict[tuple[str, int], list[str]], dict[tuple[str, int], list[str]]]:
        """Where planted snippets and malformed-record carriers go: (user, day index)."""
        rng = self.rng
        snippets: dict[tuple[str, int], list[str]] = defaultdict(list)
        k = max(1, (self.n_users * self.days) // 12)
        names = list(sensitive.DECOY_SNIPPETS) * k
        if not self.clean:
            names += list(sensitive.SECRET_SNIPPETS) * k
        for name in names:
            snippets[(rng.choice(fleet).name, rng.randrange(self.days))].append(name)
        malformed: dict[tuple[str, int], list[str]] = defaultdict(list)
        if not self.clean:
            for reason in UI_MALFORMED:
                malformed[(rng.choice(fleet).name, rng.randrange(self.days))].append(reason)
        return snippets, malformed

    # --- one user ---------------------------------------------------------------------

    def _user(self, user: User, plan: Plan, snippets, malformed) -> None:
        rng = random.Random(f"{self.seed}:{user.name}")
        em = self.em
        em.begin_user(user, rng)
        heavy = user.team == plan.over_team
        drift = plan.on("provider_cost_drift", user.name)
        start_ms = int(datetime(*self.start.timetuple()[:3], tzinfo=UTC).timestamp() * 1000)
        drift_from_ms = start_ms + self.drift_from_day * DAY_MS

        def builder(
            ts: int, mode: str, parent: TaskBuilder | None = None, model_key: str | None = None
        ) -> TaskBuilder:
            flags = user.ctx.flags
            tid = uuid7(rng, ts) if flags.uuid7 else uuid4(rng)
            profile = (
                "architect" if mode == "architect" and "architect" in user.profiles else "default"
            )
            model = MODELS[model_key or user.profiles[profile]]
            b = TaskBuilder(
                rng,
                user.ctx,
                tid,
                ts,
                model,
                mode,
                f"{user.ctx.home}/src/{rng.choice(user.projects)}",
                api_config=profile,
            )
            if parent is not None:
                b.parent_id, b.root_id, b.workspace = (
                    parent.task_id,
                    parent.root_id or parent.task_id,
                    parent.workspace,
                )
            if drift and model.reports_cost and ts >= drift_from_ms:
                b.reported_factor = self.drift_factor
                self.drifted.add(tid)
            return b

        def new_child(parent: TaskBuilder, mode: str) -> TaskBuilder:
            child = builder(parent.ts + 1_000, mode, parent)
            parent.new_task(child.task_id, mode, "Implement the first part of the plan.")
            recipes.ordinary(child, [], new_child)
            em.finish(child)
            parent.ts = child.ts + 1_000
            return child

        for d in range(self.days):
            day = self.start + timedelta(days=d)
            base = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
            n = rng.randint(0, 1) if day.weekday() >= 5 else rng.randint(2, 6)
            extras = snippets.get((user.name, d), [])
            carriers = malformed.get((user.name, d), [])
            n = max(n, 1 if extras else 0) * (2 if heavy else 1)
            t = base + 8 * HOUR_MS + rng.randint(0, 90) * 60_000
            for i in range(n):
                mode = recipes.pick_mode(rng)
                b = builder(t, "code" if extras and i == 0 else mode)  # snippets need a code task
                recipes.ordinary(b, extras if i == 0 else [], new_child, size=2.5 if heavy else 1.0)
                em.finish(b)
                t = b.ts + rng.randint(5, 50) * 60_000
            for carrier in carriers:
                b = builder(t, "ask")
                recipes.readonly(b)
                em.finish(b, malformed=carrier)
                t = b.ts + rng.randint(5, 50) * 60_000
                if carrier == "bad_type":
                    em.telemetry_malformed.add(day)  # a bad line and a wrong-typed field
            self._activity(user, plan, d, base, builder)
        em.end_user()

    def _activity(self, user: User, plan: Plan, d: int, base: int, builder) -> None:
        em = self.em
        if self.outage and self.outage.hits(user.name, d):
            self.outage_tasks += plant_outage(self.outage, user.name, base, builder, em.finish)
        if plan.on("spend_spike", user.name, d):
            ids, t = [], base + 12 * HOUR_MS
            for _ in range(12):
                b = builder(t, "code", model_key=EXPENSIVE)
                recipes.expensive(b)
                em.finish(b)
                ids.append(b.task_id)
                t = b.ts + 120_000
            self.incident(
                "spend_spike",
                user,
                {"task_ids": ids, "tasks": len(ids), "model": MODELS[EXPENSIVE].model_id},
                day=d,
            )
        if plan.on("auth_failure_burst", user.name, d):
            ids, codes, t = [], defaultdict(int), base + 14 * HOUR_MS + 5 * 60_000
            for _ in range(3):
                b = builder(t, "code")
                for c in recipes.auth_failures(b, 4):
                    codes[c] += 1
                em.finish(b)
                ids.append(b.task_id)
                t += 17 * 60_000
            hour = iso_ms(base + 14 * HOUR_MS)
            self.incident(
                "auth_failure_burst",
                user,
                {
                    "hour": hour,
                    "count": sum(codes.values()),
                    "codes": dict(sorted(codes.items())),
                    "task_ids": ids,
                },
                day=d,
            )
        for kind, hour in (
            ("command_timeout_burst", 10),
            ("rollback_burst", 16),
            ("write_outside_workspace", 11),
            ("write_burst", 15),
        ):
            if not plan.on(kind, user.name, d):
                continue
            b = builder(base + hour * HOUR_MS + 30 * 60_000, "code")
            if kind == "command_timeout_burst":
                details: dict[str, Any] = {"commands": recipes.command_timeouts(b, 8)}
                details["count"] = len(details["commands"])
            elif kind == "rollback_burst":
                recipes.rollbacks(b, 10)
                details = {"count": 10}
            elif kind == "write_outside_workspace":
                details = {"paths": recipes.outside_writes(b), "workspace": b.workspace}
            else:
                details = recipes.write_burst(b, 60)
            details["start"], details["end"] = (
                iso_ms(base + hour * HOUR_MS + 30 * 60_000),
                iso_ms(b.ts),
            )
            em.finish(b)
            self.incident(kind, user, details, task_id=b.task_id, day=d)

    # --- organisation and derived incidents --------------------------------------------

    def _outage_incident(self) -> None:
        o = self.outage
        base = int(datetime.combine(self.start, datetime.min.time(), UTC).timestamp() * 1000)
        start = base + o.day * DAY_MS + o.offset_ms
        model = MODELS[o.model_key]
        self.incident(
            "provider_outage",
            None,
            {"provider": model.provider, "model": model.model_id,
             "start": iso_ms(start), "end": iso_ms(start + o.minutes * 60_000),
             "users": sorted(o.failures), "failures": dict(sorted(o.failures.items())),
             "task_ids": self.outage_tasks},
            day=o.day,
        )  # fmt: skip

    def _org(self, plan: Plan) -> None:
        allow_all = not self.clean
        public = not self.clean
        body = org_settings(allow_all=allow_all, public_sharing=public)
        self.em.sink.put("raw/org/organization-settings.json", json.dumps(body, indent=2).encode())
        if not self.clean:
            for kind in ORG:
                key = (
                    "allowList.allowAll"
                    if kind == "org_allow_all"
                    else "cloudSettings.allowPublicTaskSharing"
                )
                self.incident(
                    kind,
                    None,
                    {"file": "raw/org/organization-settings.json", "setting": key, "value": True},
                )

    def _derived_incidents(self, plan: Plan, by_name: dict[str, User]) -> None:
        tasks = self.em.tasks
        if plan.terminated:
            u = by_name[plan.terminated]
            mine = [t for t in tasks if t["user"] == u.name]
            self.incident(
                "terminated_user_access",
                u,
                {
                    "status": "terminated",
                    "tasks": len(mine),
                    "last_task_at": max(t["ended_at"] for t in mine) if mine else None,
                    "settings_file": f"raw/roo/{u.name}/settings/roo-code-settings.json",
                },
            )
        if plan.over_team:
            spend: dict[str, float] = defaultdict(float)
            for t in tasks:
                spend[by_name[t["user"]].team] += t["total_cost"]
            heads = defaultdict(int)
            for u in by_name.values():
                heads[u.team] += 1
            per_head = {team: spend[team] / heads[team] for team in heads}
            others = [v for team, v in per_head.items() if team != plan.over_team]
            self.incident(
                "over_budget_team",
                None,
                {
                    "team_cost": round(spend[plan.over_team], 4),
                    "team_cost_per_user": round(per_head[plan.over_team], 4),
                    "other_teams_cost_per_user_max": round(max(others), 4),
                    "team_costs": {k: round(v, 4) for k, v in sorted(spend.items())},
                },
            )
            self.incidents[-1]["team"] = plan.over_team
        if "provider_cost_drift" in plan.activity:
            u = by_name[plan.activity["provider_cost_drift"][0]]
            drifted = [t for t in tasks if t["task_id"] in self.drifted and t["api_requests"]]
            self.incident(
                "provider_cost_drift",
                u,
                {
                    "factor": self.drift_factor,
                    "task_ids": [t["task_id"] for t in drifted],
                    "reported_cost": round(sum(t["total_cost"] for t in drifted), 6),
                    "formula_cost": round(sum(t["formula_cost"] for t in drifted), 6),
                },
            )
        spikes = [i for i in self.incidents if i["kind"] == "spend_spike"]
        for inc in spikes:
            ids = set(inc["details"]["task_ids"])
            inc["details"]["cost"] = round(
                sum(t["total_cost"] for t in tasks if t["task_id"] in ids), 4
            )
            other_days = defaultdict(float)
            for t in tasks:
                if t["user"] == inc["user"] and t["task_id"] not in ids:
                    other_days[t["started_at"][:10]] += t["total_cost"]
            inc["details"]["baseline_daily_cost_max"] = round(
                max(other_days.values(), default=0.0), 4
            )


def _use_model(user: User, key: str) -> None:
    """Point the user's default profile at another model (keeps the profile id)."""
    user.profiles["default"] = key
    m = MODELS[key]
    cfg = user.settings["providerProfiles"]["apiConfigs"]["default"]
    keep = {"id": cfg["id"], "apiProvider": m.provider}
    keep["openRouterModelId" if m.provider == "openrouter" else "apiModelId"] = m.model_id
    user.settings["providerProfiles"]["apiConfigs"]["default"] = keep
