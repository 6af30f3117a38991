"""The roster from the identity provider: SCIM 2.0 /Users (RFC 7644) or an IdP CSV export.

Writes `raw/org/roster.csv` with the columns the access review reads
(tasks/access/sources.ROSTER_COLUMNS): user, email, team, manager, status, aws_user.
Status is `active` (the only value the checks treat as active), `inactive` (SCIM
active=false: suspended or deprovisioned; or disabled/suspended in a CSV) or `terminated`
(a CSV saying terminated/deleted/offboarded). A record without a usable user name, or
a second record for the same user, is skipped with one line (never its attributes).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tasks.common.csvsafe import SafeDictWriter
from tasks.common.safepath import key_problem

COLUMNS = ["user", "email", "team", "manager", "status", "aws_user"]
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCIM_JSON = "application/scim+json"
ACTIVE = {"active", "enabled", "true", "yes", "1"}
TERMINATED = {"terminated", "deleted", "deprovisioned", "offboarded", "left"}
INACTIVE = {"inactive", "suspended", "disabled", "false", "no", "0", "locked", "leave"}


class RosterError(Exception):
    """A roster source that cannot be read (one line, no token, no attribute values)."""


@dataclass
class Roster:
    rows: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: int = 0

    def counts(self) -> dict[str, int]:
        out = {"rows": len(self.rows), "skipped": self.skipped}
        for r in self.rows:
            out[r["status"]] = out.get(r["status"], 0) + 1
        return out

    def csv_bytes(self) -> bytes:
        buf = io.StringIO()
        w = SafeDictWriter(buf, COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(sorted(self.rows, key=lambda r: r["user"]))
        return buf.getvalue().encode()

    def add(self, row: dict[str, str], where: str) -> None:
        user = row["user"]
        problem = key_problem(user) if user else "no user name"
        if problem or "/" in user:
            self.skipped += 1
            self.notes.append(f"{where}: skipped ({problem or 'slash in user name'})")
        elif any(r["user"] == user for r in self.rows):
            self.skipped += 1
            self.notes.append(f"{where}: skipped (user {user!r} appears twice)")
        else:
            self.rows.append(row)


def status_of(value: Any) -> str:
    v = str(value).strip().lower() if value is not None else ""
    if v in ACTIVE:
        return "active"
    if v in TERMINATED:
        return "terminated"
    return "inactive" if v in INACTIVE or not v else v


def _user_name(raw: str, attr: str) -> str:
    raw = raw.strip()
    return raw.split("@", 1)[0] if attr == "emailLocal" and "@" in raw else raw


# --- SCIM ---------------------------------------------------------------------------------


def scim_pages(base: str, token: str, page_size: int = 100, http=None) -> Iterator[dict]:
    """Every SCIM User resource, page by page (startIndex/count); urllib3 retries 429/5xx."""
    import urllib3

    pool = http or urllib3.PoolManager(
        retries=urllib3.Retry(
            total=5,
            backoff_factor=0.5,
            status_forcelist=(429, 500, 502, 503, 504),
            respect_retry_after_header=True,
        ),
        timeout=urllib3.Timeout(connect=5, read=30),
    )
    url = base.rstrip("/") + ("" if base.rstrip("/").endswith("/Users") else "/Users")
    start = 1
    while True:
        try:
            resp = pool.request(
                "GET",
                url,
                fields={"startIndex": str(start), "count": str(page_size)},
                headers={"Authorization": f"Bearer {token}", "Accept": SCIM_JSON},
            )
        except urllib3.exceptions.HTTPError as exc:
            raise RosterError(f"{url}: request failed ({type(exc).__name__})") from None
        if resp.status != 200:
            raise RosterError(f"{url}: HTTP {resp.status} at startIndex={start}")
        try:
            page = json.loads(resp.data)
        except ValueError:
            raise RosterError(f"{url}: not JSON at startIndex={start}") from None
        if not isinstance(page, dict):
            raise RosterError(f"{url}: not a SCIM list response at startIndex={start}")
        resources = page.get("Resources") or []
        resources = resources if isinstance(resources, list) else []
        yield from (r for r in resources if isinstance(r, dict))
        try:
            total = int(page.get("totalResults") or 0)
        except (TypeError, ValueError):
            raise RosterError(f"{url}: totalResults is not a number") from None
        start += len(resources)
        if not resources or start > total:
            return


def from_scim(
    resources: Iterator[dict], user_attr: str = "emailLocal", aws: str = "user"
) -> Roster:
    roster = Roster()
    by_id: dict[str, str] = {}
    managers: list[tuple[dict[str, str], str]] = []
    for n, res in enumerate(resources, start=1):
        ext = res.get(ENTERPRISE) or {}
        email = _primary_email(res)
        raw = str(res.get("userName") or email or "")
        user = _user_name(raw, user_attr)
        row = {
            "user": user,
            "email": email,
            "team": str(ext.get("department") or ""),
            "manager": "",
            "status": "active" if res.get("active", True) is True else "inactive",
            "aws_user": _aws(res, user, aws),
        }
        before = len(roster.rows)
        roster.add(row, f"SCIM user #{n} (id {str(res.get('id', '?'))[:64]})")
        if len(roster.rows) > before:
            by_id[str(res.get("id"))] = user
            mgr = ext.get("manager")
            if isinstance(mgr, dict) and mgr.get("value"):
                managers.append((row, str(mgr["value"])))
    for row, mid in managers:  # the manager's SCIM id -> their roster user
        row["manager"] = by_id.get(mid, "")
        if not row["manager"]:
            roster.notes.append(
                f"user {row['user']!r}: manager id {mid[:64]!r} not among the users"
            )
    return roster


def _primary_email(res: dict) -> str:
    emails = [e for e in res.get("emails") or [] if isinstance(e, dict) and e.get("value")]
    primary = [e for e in emails if e.get("primary") is True]
    chosen = (primary or emails or [{}])[0].get("value") or ""
    if not chosen and "@" in str(res.get("userName") or ""):
        chosen = str(res["userName"])
    return str(chosen)


def _aws(res: dict, user: str, aws: str) -> str:
    if aws == "user":
        return user
    if aws == "none":
        return ""
    node: Any = res
    for part in aws.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return str(node) if isinstance(node, str | int) else ""


# --- CSV export --------------------------------------------------------------------------


def parse_map(spec: str) -> dict[str, str]:
    """`user=Login,email=Mail,…` -> {roster column: export column}."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        col, sep, src = part.partition("=")
        if not sep or col.strip() not in COLUMNS or not src.strip():
            raise RosterError(f"--map {part!r}: expected COLUMN=HEADER with COLUMN in {COLUMNS}")
        out[col.strip()] = src.strip()
    return out


def from_csv(text: str, mapping: dict[str, str], source: str, user_attr: str = "user") -> Roster:
    reader = csv.DictReader(io.StringIO(text))
    headers = set(reader.fieldnames or [])
    cols = {c: mapping.get(c, c) for c in COLUMNS}
    missing = [h for c, h in cols.items() if c in mapping and h not in headers]
    if missing or cols["user"] not in headers:
        raise RosterError(f"{source}: missing columns {missing or [cols['user']]}")
    roster = Roster()
    for lineno, rec in enumerate(reader, start=2):
        row = {c: str(rec.get(h) or "").strip() for c, h in cols.items()}
        row["user"] = _user_name(row["user"], user_attr)
        row["status"] = status_of(row["status"] or "active")
        if row["status"] not in ("active", "inactive", "terminated"):
            roster.notes.append(
                f"{source}:{lineno}: status {row['status'][:32]!r} kept; not active"
            )
        roster.add(row, f"{source}:{lineno}")
    emails = {r["email"].lower(): r["user"] for r in roster.rows if r["email"]}
    for r in roster.rows:  # a manager given by e-mail -> their roster user
        r["manager"] = emails.get(r["manager"].lower(), r["manager"])
    return roster
