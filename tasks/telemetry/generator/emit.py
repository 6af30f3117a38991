"""Serialise finished tasks and telemetry, plant malformed records, and record the truth.

Secrets and decoys are located by searching the bytes actually written, so the truth
names every file a value ended up in, with the encoding it appears under there.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from tasks.telemetry.generator.catalog import iso_ms
from tasks.telemetry.generator.sink import Sink
from tasks.telemetry.generator.task import TaskBuilder, dumps

if TYPE_CHECKING:
    from tasks.telemetry.generator.people import User


def _esc(s: str) -> str:
    return dumps(s)[1:-1]


def encodings(value: str) -> list[tuple[str, bytes]]:
    """The byte forms a value can take in our files: raw, inside one or two JSON strings."""
    once = _esc(value)
    return [("raw", value.encode()), ("json", once.encode()), ("json2", _esc(once).encode())]


def find(files: dict[str, bytes], items: list[tuple[str, str]]) -> list[dict[str, str]]:
    found = []
    for kind, value in items:
        for key, data in files.items():
            for enc, form in encodings(value):
                if form in data:
                    found.append({"kind": kind, "value": value, "file": key, "encoding": enc})
                    break
    return found


class TaskEmitter:
    def __init__(self, sink: Sink):
        self.sink = sink
        self.tasks: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []
        self.secrets: list[dict[str, str]] = []
        self.decoys: list[dict[str, str]] = []
        self.malformed: list[dict[str, str]] = []
        self.planted_secrets: set[tuple[str, str]] = set()
        self.events_total = 0
        self.telemetry_malformed: set[date] = set()

    def put_scanned(
        self, files: dict[str, bytes], secrets: list[tuple[str, str]], decoys: list[tuple[str, str]]
    ) -> None:
        for key, data in files.items():
            self.sink.put(key, data)
        self.secrets += find(files, secrets)
        self.decoys += find(files, decoys)
        self.planted_secrets.update(secrets)

    # --- per user -------------------------------------------------------------------

    def begin_user(self, user: User, rng: random.Random) -> None:
        self.user, self.rng = user, rng
        self.events: list[tuple[int, int, str, dict[str, Any]]] = []
        self.index: list[dict[str, Any]] = []
        self.user_secrets: list[tuple[str, str]] = []
        self.user_decoys: list[tuple[str, str]] = []
        self.telemetry_malformed = set()

    def finish(self, b: TaskBuilder, malformed: str | None = None) -> None:
        base = f"raw/roo/{self.user.name}/tasks/{b.task_id}/"
        ui, bad = self._ui_bytes(b, malformed)
        files = {
            base + "ui_messages.json": ui,
            base + "api_conversation_history.json": dumps(b.history).encode(),
            base + "task_metadata.json": dumps(
                {"files_in_context": list(b.files_in_context.values())}
            ).encode(),
        }
        for name, text in b.extra_files.items():
            files[base + name] = text.encode()
        if b.user.flags.history_files:
            item = b.history_item(sum(len(v) for v in files.values()))
            files[base + "history_item.json"] = dumps(item).encode()
            self.index.append(item)
        if bad:
            self.malformed.append({"file": base + "ui_messages.json", **bad})
        self.put_scanned(files, b.secrets, b.decoys)
        self.user_secrets += b.secrets
        self.user_decoys += b.decoys
        for seq, (ts, name, props) in enumerate(b.events):
            self.events.append((ts, len(self.events) + seq, name, props))
        self.actions += b.actions
        t = b.totals
        self.tasks.append(
            {
                "user": self.user.name,
                "team": self.user.team,
                "task_id": b.task_id,
                "parent_task_id": b.parent_id,
                "root_task_id": b.root_id,
                "child_ids": list(b.child_ids),
                "started_at": iso_ms(b.msgs[0]["ts"]),
                "ended_at": iso_ms(b.msgs[-1]["ts"]),
                "status": b.status,
                "mode": b.events[0][2]["mode"],
                "final_mode": b.mode,
                "workspace": b.workspace,
                "provider": b.model.provider,
                "model": b.model.model_id,
                "app_version": b.user.flags.version,
                "api_protocol": b.model.protocol,
                "tokens_in": t["tokens_in"],
                "tokens_out": t["tokens_out"],
                "cache_writes": t["cache_writes"],
                "cache_reads": t["cache_reads"],
                "total_cost": t["cost"],
                "formula_cost": t["formula_cost"],
                "context_tokens": b.context_tokens(),
                "api_requests": t["api_requests"],
                "api_failures": b.counts["failures"],
                "writes": b.counts["writes"],
                "commands": b.counts["commands"],
                "mcp_calls": b.counts["mcp"],
                "checkpoint_restores": b.counts["restores"],
                "malformed": malformed,
            }
        )

    def _ui_bytes(
        self, b: TaskBuilder, malformed: str | None
    ) -> tuple[bytes, dict[str, str] | None]:
        if malformed is None:
            return dumps(b.msgs).encode(), None
        idx = max(i for i, m in enumerate(b.msgs) if m.get("say") == "text")  # the answer text
        msgs = [dict(m) for m in b.msgs]
        if malformed == "missing_ts":
            del msgs[idx]["ts"]
            return dumps(msgs).encode(), {"reason": "missing_ts", "position": f"message {idx}"}
        if malformed == "bad_type":
            msgs[idx]["ts"] = str(msgs[idx]["ts"])
            return dumps(msgs).encode(), {
                "reason": "bad_type",
                "position": f"message {idx}",
                "field": "ts",
            }
        data = dumps(msgs).encode()
        if malformed == "not_json":
            cut = int(len(data) * 0.6)
            return data[:cut], {"reason": "not_json", "position": f"byte {cut}"}
        pos = data.index(b"Validation happens") + len(b"Validation")
        bad = {"reason": "not_utf8", "position": f"byte {pos}", "message": f"message {idx}"}
        return data[:pos] + b"\xff" + data[pos:], bad

    def end_user(self) -> None:
        user, rng = self.user, self.rng
        by_day: dict[date, list[bytes]] = defaultdict(list)
        llm_line: dict[date, int] = {}
        for ts, _seq, name, props in sorted(self.events, key=lambda e: (e[0], e[1])):
            day = datetime.fromtimestamp(ts / 1000, UTC).date()
            if name == "LLM Completion" and day in self.telemetry_malformed and day not in llm_line:
                props = {**props, "cost": str(props["cost"])}  # planted wrong type
                llm_line[day] = len(by_day[day])
            env = {
                "v": 1,
                "user": user.name,
                "received_at": iso_ms(ts + rng.randint(150, 4_000)),
                "event": {"type": name, "properties": props},
            }
            by_day[day].append(dumps(env).encode())
        files: dict[str, bytes] = {}
        for day, lines in sorted(by_day.items()):
            key = f"raw/events/{day:%Y/%m/%d}/{user.name}.jsonl"
            if day in self.telemetry_malformed and day in llm_line:
                at = len(lines) // 2
                cut = lines[at][: len(lines[at]) // 2]
                lines.insert(at, cut)
                wrong = llm_line[day] + (1 if llm_line[day] >= at else 0)
                self.malformed.append(
                    {"file": key, "reason": "not_json", "position": f"line {at + 1}"}
                )
                self.malformed.append(
                    {
                        "file": key,
                        "reason": "bad_type",
                        "position": f"line {wrong + 1}",
                        "field": "event.properties.cost",
                    }
                )
            self.events_total += len(lines)
            files[key] = b"\n".join(lines) + b"\n"
        if user.ctx.flags.history_files and self.index:
            entries = sorted(self.index, key=lambda i: i["ts"])
            index = {"version": 1, "updatedAt": entries[-1]["ts"], "entries": entries}
            files[f"raw/roo/{user.name}/tasks/_index.json"] = dumps(index).encode()
        self.put_scanned(files, self.user_secrets, self.user_decoys)

    # --- the ground truth ----------------------------------------------------------------

    def truth(self, fleet: Any, roster: list[User]) -> dict[str, Any]:
        found = {(s["kind"], s["value"]) for s in self.secrets}
        missing = self.planted_secrets - found
        if missing:  # a generator bug, never data-dependent
            raise RuntimeError(f"{len(missing)} planted secrets were not written to any file")
        actions = sorted(self.actions, key=lambda a: (a["ts"], a["user"], a["task_id"]))
        by_kind: dict[str, int] = defaultdict(int)
        for a in actions:
            by_kind[a["kind"]] += 1
        return {
            "generator_version": 1,
            "seed": fleet.seed,
            "start": fleet.start.isoformat(),
            "days": fleet.days,
            "clean": fleet.clean,
            "users": [
                u.roster_row() | {"app_version": u.ctx.flags.version, "has_data": u.has_data}
                for u in sorted(roster, key=lambda u: u.name)
            ],
            "incidents": fleet.incidents,
            "secrets": self.secrets,
            "decoys": self.decoys,
            "malformed": self.malformed,
            "mutating_actions": {"count": len(actions), "by_kind": dict(sorted(by_kind.items()))},
            "mutating_action_list": actions,
            "tasks": self.tasks,
            "stats": {"tasks": len(self.tasks), "events": self.events_total},
        }
