"""Roster import from a SCIM 2.0 server the test starts on loopback, and from a CSV export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tasks.access.sources import parse_roster
from tasks.collect.roster import ENTERPRISE, from_csv, parse_map

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scim-test-token-0123456789"


def scim_user(uid, user_name, active=True, dept="", manager=None, primary=True):
    """Shaped like Okta's and Entra ID's SCIM 2.0 User (RFC 7643 §4.1, §4.3)."""
    res = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": uid,
        "externalId": f"ext-{uid}",
        "userName": user_name,
        "name": {"givenName": user_name.split(".")[0], "familyName": "X"},
        "active": active,
        "emails": [
            {"value": f"alt-{user_name}", "type": "other", "primary": False},
            {"value": user_name, "type": "work", "primary": primary},
        ],
        "meta": {"resourceType": "User", "created": "2026-01-01T00:00:00Z"},
        ENTERPRISE: {"department": dept, "employeeNumber": f"E{uid}"},
    }
    if manager:
        res[ENTERPRISE]["manager"] = {
            "value": manager,
            "$ref": f"../Users/{manager}",
            "displayName": "Boss",
        }
    return res


USERS = [
    scim_user("u1", "ana.lee@example.com", dept="platform"),
    scim_user("u2", "ben.kim@example.com", dept="platform", manager="u1"),
    scim_user("u3", "cy.ross@example.com", active=False, dept="web", manager="u1"),
    scim_user("u4", "../evil@example.com", dept="web"),
    scim_user("u5", "dee.fox@example.com", dept="web", manager="u9"),
]


class Handler(BaseHTTPRequestHandler):
    fail_once = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        parts = urlsplit(self.path)
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(
                401, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "401"}
            )
        if parts.path != "/scim/v2/Users":
            return self._send(404, {})
        if Handler.fail_once:  # one transient error: the client retries
            Handler.fail_once = False
            return self._send(503, {})
        q = parse_qs(parts.query)
        start, count = int(q["startIndex"][0]), min(int(q["count"][0]), 2)  # server caps pages
        page = USERS[start - 1 : start - 1 + count]
        self.server.pages += 1
        self._send(
            200,
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": len(USERS),
                "startIndex": start,
                "itemsPerPage": len(page),
                "Resources": page,
            },
        )

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/scim+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def scim_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.pages = 0
    Handler.fail_once = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}/scim/v2"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def cli(args, tmp_path, **env):
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "roster", "import", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=tmp_path,
        timeout=120,
    )


def test_scim_import_pages_maps_and_lands_in_the_bucket(scim_server, tmp_path, s3, buckets):
    server, url = scim_server
    to = f"s3://{buckets.data_bucket}/raw/"
    out = cli(
        ["--scim", url, "--token-env", "IDP_TOKEN", "--to", to, "--json"],
        tmp_path,
        IDP_TOKEN=TOKEN,
        AWS_ENDPOINT_URL=buckets.endpoint_url,
    )
    assert out.returncode == 0, out.stderr
    assert TOKEN not in out.stdout + out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["rows"] == 4 and summary["skipped"] == 1 and summary["inactive"] == 1
    assert server.pages == 3  # 5 users, 2 per page
    body = s3.get_object(Bucket=buckets.data_bucket, Key="raw/org/roster.csv")["Body"].read()
    rows, errors = parse_roster(body, "roster.csv")
    assert errors == []
    assert rows["ben.kim"].manager == "ana.lee" and rows["ben.kim"].team == "platform"
    assert rows["ben.kim"].email == "ben.kim@example.com"  # the primary e-mail
    assert rows["cy.ross"].status == "inactive" and not rows["cy.ross"].active
    assert rows["ana.lee"].aws_user == "ana.lee"
    assert rows["dee.fox"].manager == ""
    assert "manager id 'u9' not among the users" in out.stderr
    assert "skipped" in out.stderr and "evil" not in out.stderr.split("skipped")[1][:40]


def test_scim_wrong_token_is_one_line_without_the_token(scim_server, tmp_path):
    _, url = scim_server
    out = cli(
        ["--scim", url, "--token-env", "IDP_TOKEN", "--out", str(tmp_path / "r.csv")],
        tmp_path,
        IDP_TOKEN="wrong-token-value",
    )
    assert out.returncode != 0 and "HTTP 401" in out.stderr
    assert out.stderr.count("\n") == 1 and "wrong-token-value" not in out.stderr
    assert not (tmp_path / "r.csv").exists()


def test_csv_export_with_mapping_statuses_and_formula_cells(tmp_path):
    export = (
        "Login,Mail,Dept,Boss,State,Iam\n"
        "ana,ana@x.io,platform,,Active,ana-iam\n"
        'ben,ben@x.io,=HYPERLINK("http://evil"),ana@x.io,Terminated,\n'
        "cy,cy@x.io,web,ana,Suspended,cy-iam\n"
        ",nobody@x.io,web,,Active,\n"
        "ana,dup@x.io,web,,Active,\n"
    )
    roster = from_csv(
        export,
        parse_map("user=Login,email=Mail,team=Dept,manager=Boss,status=State,aws_user=Iam"),
        "idp.csv",
    )
    rows, errors = parse_roster(roster.csv_bytes(), "roster.csv")
    assert errors == [] and set(rows) == {"ana", "ben", "cy"}
    assert rows["ben"].status == "terminated" and rows["ben"].manager == "ana"
    assert rows["cy"].status == "inactive" and rows["ana"].status == "active"
    assert rows["ben"].team.startswith("'=")  # a spreadsheet will not run it
    assert roster.skipped == 2 and len(roster.notes) == 2


def test_bad_map_and_missing_columns_are_one_line(tmp_path):
    src = tmp_path / "idp.csv"
    src.write_text("Login,Mail\nana,ana@x.io\n")
    out = cli(
        [
            "--csv",
            str(src),
            "--map",
            "user=Login,team=Department",
            "--out",
            str(tmp_path / "r.csv"),
        ],
        tmp_path,
    )
    assert out.returncode != 0 and "missing columns ['Department']" in out.stderr
    out = cli(
        ["--csv", str(src), "--map", "nosuch=Login", "--out", str(tmp_path / "r.csv")], tmp_path
    )
    assert out.returncode != 0 and out.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "page", [b"[]", b'{"Resources": [{"userName": "a"}], "totalResults": "lots"}', b'"x"']
)
def test_malformed_scim_pages_are_one_roster_error(page):
    """An IdP (or something posing as one) answering with a list, a string or a
    non-number totalResults: one RosterError, never an AttributeError/ValueError."""
    from types import SimpleNamespace

    from tasks.collect.roster import RosterError, scim_pages

    class Pool:
        def request(self, *args, **kwargs):
            return SimpleNamespace(status=200, data=page)

    with pytest.raises(RosterError):
        list(scim_pages("http://idp.invalid/scim/v2", "t", http=Pool()))
