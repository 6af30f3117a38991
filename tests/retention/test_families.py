"""The families issue 14 lists as leaking, the encodings it names, and the look-alikes it
lists as destroyed: each in text and inside a Roo Code tool message (JSON in JSON)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import orjson
import pytest

from tasks.retention.engine import Redactor

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAq7BFUpkGp3+LQmlQ9Yd2b1YbnRtcOYmDGc3Aw0Pq1kG6rIcs\nx2Y7vR0E4j8t6mJ5dQvW3zYbH1nLpXkA9fT2sR8uC4eG7iK0oM3qN6wV1yZ5aB2c\n-----END RSA PRIVATE KEY-----"  # fmt: skip
DOCKER = json.dumps({"auths": {"registry.corp.example": {"auth": base64.b64encode(b"deploy:Wq8#zP2vLm4t").decode()}}})  # fmt: skip
K8S = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  username: YWRtaW4=\n  password: " + base64.b64encode(b"S3cr3t-Pa55w0rd!").decode() + "\n"  # fmt: skip

# (text carrying it, the value that must go)
LEAKS = [
    ("aws_access_key_id: ASIAY34FZKBOKMUTVV7A", "ASIAY34FZKBOKMUTVV7A"),
    ("id ABIA4PQZ7XKFN2MBDT5R issued", "ABIA4PQZ7XKFN2MBDT5R"),
    (
        "secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8M3LpQ2v",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8M3LpQ2v",
    ),
    (
        "aws_session_token = IQoJb3JpZ2luX2VjEHkaCXVzLWVhc3QtMSJHMEUCIQDd8pZ2",
        "IQoJb3JpZ2luX2VjEHkaCXVzLWVhc3QtMSJHMEUCIQDd8pZ2",
    ),  # fmt: skip
    (
        "storage key: 3Yq9W7jL2mN5pR8tV1xZ4cF6hJ0kM3nQ7sU9wY2aB5dE8gH1jL4nP7rT0vX3zC6fI9kM2oQ5sU8wZ1bD4gJ7lA==",
        "3Yq9W7jL2mN5pR8tV1xZ4cF6hJ0kM3nQ7sU9wY2aB5dE8gH1jL4nP7rT0vX3zC6fI9kM2oQ5sU8wZ1bD4gJ7lA==",
    ),  # fmt: skip
    (
        "twine upload -p pypi-AgENdGVzdC5weXBpLm9yZwIkN2Y2ZTQ5ZmItNjE4Mi00ZDQ4LWI3ZDEtZjA2N2M1ZjE0ZDM1AAIqWzMsIjk",
        "pypi-AgENdGVzdC5weXBpLm9yZwIkN2Y2ZTQ5ZmItNjE4Mi00ZDQ4LWI3ZDEtZjA2N2M1ZjE0ZDM1AAIqWzMsIjk",
    ),  # fmt: skip
    (
        "gitlab-runner register --registration-token GR1348941zXq8vLm2Pw7rT4yKb",
        "GR1348941zXq8vLm2Pw7rT4yKb",
    ),
    (
        "agent token glagent-Zq8rT2mWx9Lk4Pv7Ns3Bh6JdQ1fXc5Yg",
        "glagent-Zq8rT2mWx9Lk4Pv7Ns3Bh6JdQ1fXc5Yg",
    ),
    (
        "tls.key: " + base64.b64encode(PEM.encode()).decode(),
        base64.b64encode(PEM.encode()).decode()[:40],
    ),  # fmt: skip
    (
        "Authorization: Basic " + base64.b64encode(b"admin:Tr0ub4dor&3").decode(),
        base64.b64encode(b"admin:Tr0ub4dor&3").decode(),
    ),  # fmt: skip
    ("curl -u admin:P@ssw0rd2024 https://api.corp.example/v1", "P@ssw0rd2024"),
    (
        "token ya29.a0AfB_byC8Zq3vLm2Pw7rT4yKbN9sD1fXc5YgH6jQ0",
        "ya29.a0AfB_byC8Zq3vLm2Pw7rT4yKbN9sD1fXc5YgH6jQ0",
    ),
    (
        "client_secret=Zq8~Q~rT2mWx9Lk4Pv7Ns3Bh6JdQ1fXc5Yg.aB",
        "Zq8~Q~rT2mWx9Lk4Pv7Ns3Bh6JdQ1fXc5Yg.aB",
    ),
    (DOCKER, base64.b64encode(b"deploy:Wq8#zP2vLm4t").decode()),
    (K8S, base64.b64encode(b"S3cr3t-Pa55w0rd!").decode()),
    ("password: hunter2-Correct", "hunter2-Correct"),
    (
        "DATABASE_URL=postgres://app:" + quote("p@ss/w0rd:9", safe="") + "@db:5432/x",
        quote("p@ss/w0rd:9", safe=""),
    ),  # fmt: skip
    # classes added for the foreign corpus (strings written here, not taken from it)
    (
        "hook https://contoso.webhook.office.com/webhookb2/3f2a9c1e-7b4d-4e8a-9c2f-1a2b3c4d5e6f@"
        "8e7d6c5b-4a39-4281-9f0e-d1c2b3a4f5e6/IncomingWebhook/9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d/"
        "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
        "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
    ),
    (
        "Unseal Key 1: q7Rk2LmW9xTz4Bn8Vc3Yh6Jd1Fs5Gp0Ae2Ku7Nw4Hz9P",
        "q7Rk2LmW9xTz4Bn8Vc3Yh6Jd1Fs5Gp0Ae2Ku7Nw4Hz9P",
    ),  # fmt: skip
    ("Server=db1;Database=app;User Id=svc;Password=Kq7-Lm2z;Encrypt=True;", "Kq7-Lm2z"),
    (
        "EZAK" + "q7Rk2LmW9xTz4Bn8Vc3Yh6Jd1Fs5Gp0Ae2Ku7Nw4Hz9Pq7Rk2LmW9x",
        "q7Rk2LmW9xTz4Bn8Vc3Yh6Jd1Fs5",
    ),
]
KEPT = [
    # masked for display, a placeholder naming itself, a manual's documentation address,
    # a shell variable in an unquoted value, a short typed run
    "token: xoxb-284751039284-918273645102-############",
    "SLACK_TOKEN=xoxb-1-PasteYourBotTokenHere",
    "psql postgresql://admin:Wq8zP2vLm4t@[2001:db8::7]/app",
    "password = build$SUFFIX",
    "ACCESS_KEY: AbCdEf123",
    'export const API_KEY = process.env.OPENAI_API_KEY ?? "";',
    "SUMO_ACCESS_KEY=${SUMO_ACCESS_KEY:=$2}",
    "GITLAB_TOKEN=glptt-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "api_key: your-api-key",
    "password: <token>",
    "token: ${{ secrets.NPM_TOKEN }}",
    "key = os.environ['STRIPE_KEY']",
    "Using pip==23.0.1.2, chrome version 120.0.6099.109, node@18.17.1.0 and v4.2.0.1",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    "integrity sha512-Zq8rT2mWx9Lk4Pv7Ns3Bh6JdQ1fXc5Yg+aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY/z==",
]


@pytest.fixture(scope="module")
def red() -> Redactor:
    return Redactor(key=b"families")


def _tool_message(text: str) -> bytes:
    tool = {"tool": "newFileCreated", "path": "x", "content": text}
    return orjson.dumps([{"ts": 1, "type": "ask", "ask": "tool", "text": orjson.dumps(tool).decode()}])  # fmt: skip


def _decoded(out: bytes) -> str:
    return orjson.loads(orjson.loads(out)[0]["text"])["content"]


@pytest.mark.parametrize(("text", "value"), LEAKS, ids=[v[:16] for _, v in LEAKS])
def test_listed_family_is_removed(red: Redactor, text: str, value: str) -> None:
    assert value.encode() not in red.redact_text(text.encode())
    assert value not in _decoded(red.redact_json(_tool_message(text)))


@pytest.mark.parametrize("text", KEPT)
def test_listed_look_alike_is_kept(red: Redactor, text: str) -> None:
    assert red.redact_text(text.encode()) == text.encode()
    assert _decoded(red.redact_json(_tool_message(text))) == text


def test_secret_split_by_json_escapes(red: Redactor) -> None:
    secret = "ghp_Zq8rT2mWx9Lk4Pv7Ns3Bh6JdQ1fXc5YgH6jQ"
    escaped = "".join(f"\\u{ord(c):04x}" for c in secret[:6]) + secret[6:]
    doc = ('{"a": "token \\/ ' + escaped + '"}').encode()
    assert secret not in orjson.loads(red.redact_json(doc))["a"]
