"""Run notices and routed alerts, against real receivers on loopback.

Slack, Teams (Power Automate workflow) and PagerDuty are reached over HTTPS through a local
CONNECT proxy that terminates TLS (tests/ops/webhook.py), so the real hosts, paths and payloads
Apprise sends are checked; email goes to a real SMTP server (aiosmtpd).
"""

import json
import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from tasks.common.alerts import dispatch, emit_events, load_state
from tasks.common.errors import ComplianceError
from tasks.common.models import Finding, Period
from tasks.common.notify import (
    flow_failure_hook,
    notify_failure,
    notify_result,
    parse_notifications,
    webhook_url,
)
from tests.ops.webhook import SmtpSink, TlsWebhookProxy, WebhookListener

SLACK_TOKEN = "TIiajkdnlazkcOXrIdevi7"
PD_KEY = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
TEAMS_SIG = "sigSECRETsig0123456789"
NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)
RESULT = {"job": "telemetry-quality", "run_id": "r1", "status": "fail", "bundle": "s3://r/b/a.json"}


def test_fail_status_notifies_without_report_content():
    with WebhookListener() as hook:
        result = {
            "job": "cost-budget",
            "run_id": "20261121T070000Z-0a1b2c3d",
            "status": "fail",
            "bundle": "s3://r/x/attestation.dsse.json",
            "counts": {"findings": 2, "critical": 1},
            "summary": {"secret": "sk-ant-api03-should-never-leave"},
        }
        assert notify_result(result, hook.url) is True
        assert hook.event.wait(5)
    sent = hook.received[0]
    assert sent["event"] == "run.status.fail" and sent["counts"]["critical"] == 1
    assert "summary" not in sent and "sk-ant" not in str(sent)


def test_pass_and_warn_do_not_notify():
    with WebhookListener() as hook:
        assert notify_result({"status": "pass"}, hook.url) is False
        assert notify_result({"status": "warn"}, hook.url) is False
    assert hook.received == []


def test_unreachable_webhook_is_logged_not_raised():
    assert notify_failure("x", None, "boom", "http://127.0.0.1:9/none") is False


def _state(message="S3 endpoint unreachable\ntraceback…"):
    return SimpleNamespace(message=message, type=SimpleNamespace(value="FAILED"))


def test_failure_hook_posts_first_line_of_error(monkeypatch):
    with WebhookListener() as hook:
        monkeypatch.setenv("COMPLIANCE_WEBHOOK_URL", hook.url)
        flow_failure_hook(SimpleNamespace(name="audit-trail"), SimpleNamespace(id="fr-1"), _state())
        assert hook.event.wait(5)
    assert hook.received[0] == {
        "event": "run.failed",
        "job": "audit-trail",
        "flow_run_id": "fr-1",
        "error": "S3 endpoint unreachable",
    }


def test_failure_hook_reads_the_flows_own_config_path(monkeypatch, tmp_path):
    """Was: the hook reloaded the default config, so a flow's config_path webhook never heard."""
    monkeypatch.delenv("COMPLIANCE_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("COMPLIANCE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no compliance.yaml here: the default config has no webhook
    with WebhookListener() as hook:
        cfg = tmp_path / "elsewhere.yaml"
        cfg.write_text(f"notifications:\n  webhook_url: {hook.url}\n")
        run = SimpleNamespace(id="fr-2", parameters={"config_path": str(cfg), "since": None})
        flow_failure_hook(SimpleNamespace(name="policy-drift"), run, _state("boom"))
        assert hook.event.wait(5)
    assert hook.received[0]["flow_run_id"] == "fr-2" and hook.received[0]["error"] == "boom"


def test_finish_job_uses_the_configs_webhook_url(monkeypatch, tmp_path, storage_settings):
    """Was: finish_job read only COMPLIANCE_WEBHOOK_URL, never notifications.webhook_url."""
    from tasks.common.contract import JobResult
    from tasks.common.jobrun import finish_job

    monkeypatch.delenv("COMPLIANCE_WEBHOOK_URL", raising=False)
    with WebhookListener() as hook:
        cfg = tmp_path / "compliance.yaml"
        cfg.write_text(f"notifications:\n  webhook_url: {hook.url}\n")
        monkeypatch.setenv("COMPLIANCE_CONFIG", str(cfg))
        finding = Finding.make("x.check", "high", "fail", "user/a", "bad")
        period = Period.last_days(1, NOW)
        out = finish_job("audit-trail", period, JobResult([finding], {}), storage_settings,
                         dry_run=True)  # fmt: skip
        assert out["status"] == "fail" and hook.event.wait(5)
    assert hook.received[0]["event"] == "run.status.fail"


def test_webhook_url_env_wins(monkeypatch):
    monkeypatch.setenv("COMPLIANCE_WEBHOOK_URL", "http://env/")
    assert webhook_url({"notifications": {"webhook_url": "http://file/"}}) == "http://env/"
    monkeypatch.delenv("COMPLIANCE_WEBHOOK_URL")
    assert webhook_url({"notifications": {"webhook_url": "http://file/"}}) == "http://file/"


# -- routed alerts -----------------------------------------------------------------------


def _f(check, severity, resource, **details):
    return Finding.make(check, severity, "fail", resource, f"{check} on {resource}", **details)


FINDINGS = [
    _f("quality.signal.provider_degradation", "high", "provider/anthropic/claude",
       runbook="provider-degradation"),
    _f("quality.signal.rollback_burst", "medium", "user/bob/2026-11-30"),
    _f("quality.signal.auth_failure_spike", "low", "user/eve/2026-11-30"),
    Finding.make("quality.suite", "high", "pass", "suite/tasks", "ok"),
]  # fmt: skip


def _routes(smtp_port, json_url, verify="verify=no"):
    return {
        "cooldown_hours": 12,
        "routes": [
            {"name": "oncall", "match": {"job": "telemetry-quality", "severity": "high"},
             "urls": [f"slack://T1JJ3T3L2/A1BRTD4JD/{SLACK_TOKEN}?{verify}",
                      f"pagerduty://{PD_KEY}@apikeySECRET42?{verify}&source=compliance-jobs"]},
            {"name": "team", "match": {"check": ["quality.signal.*"], "severity": "medium"},
             "urls": [f"workflows://teams.example.org/WF0123456789/{TEAMS_SIG}/?{verify}",
                      f"mailto://127.0.0.1:{smtp_port}?from=alerts@example.org"
                      "&to=oncall@example.org&mode=insecure", json_url]},
            {"name": "other-job", "match": {"job": "cost-budget"}, "urls": [json_url]},
        ],
    }  # fmt: skip


@pytest.fixture
def receivers(monkeypatch):
    with TlsWebhookProxy() as proxy, SmtpSink() as smtp, WebhookListener() as hook:
        for var in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "https_proxy"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("HTTPS_PROXY", proxy.proxy_url)
        yield proxy, smtp, hook


def _by_host(proxy):
    return {r["host"]: r for r in proxy.received}


def test_routes_deliver_each_service_its_own_payload(receivers, s3, buckets):
    proxy, smtp, hook = receivers
    cfg = parse_notifications(_routes(smtp.port, hook.url + "/T0KEN"), "test.yaml")
    out = dispatch("telemetry-quality", RESULT, FINDINGS, cfg, s3, buckets.data_bucket, NOW)
    assert out == {"sent": 2, "suppressed": 0, "events": 0}
    got = _by_host(proxy)
    assert set(got) == {"hooks.slack.com", "events.pagerduty.com", "teams.example.org"}
    # Slack incoming webhook: POST /services/T/B/token with text in attachments (mrkdwn)
    slack = got["hooks.slack.com"]
    assert slack["path"] == f"/services/T1JJ3T3L2/A1BRTD4JD/{SLACK_TOKEN}"
    att = slack["json"]["attachments"][0]
    assert att["title"].startswith("[compliance] telemetry-quality: 1 new alert")
    assert "provider_degradation" in att["text"] and "runbook: provider-degradation" in att["text"]
    assert "rollback_burst" not in att["text"]  # below the oncall route's floor
    # PagerDuty Events API v2: routing_key, event_action, payload.summary/source/severity
    pd = got["events.pagerduty.com"]
    assert pd["path"] == "/v2/enqueue"
    body = pd["json"]
    assert body["routing_key"] == PD_KEY and body["event_action"] == "trigger"
    assert body["payload"]["severity"] == "critical" and body["payload"]["source"]
    assert body["payload"]["summary"].startswith("[compliance] telemetry-quality")
    # Teams via a Power Automate workflow: a message with one Adaptive Card attachment
    teams = got["teams.example.org"]
    assert teams["path"] == "/workflows/WF0123456789/triggers/manual/paths/invoke"
    assert f"sig={TEAMS_SIG}" in teams["query"]
    card = teams["json"]["attachments"][0]
    assert teams["json"]["type"] == "message"
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = [b.get("text", "") for b in card["content"]["body"]]
    assert card["content"]["type"] == "AdaptiveCard" and any("2 new alert" in t for t in texts)
    # email over real SMTP
    (mail_from, rcpts, msg) = smtp.messages[0]
    assert mail_from == "alerts@example.org" and rcpts == ["oncall@example.org"]
    assert "2 new alert(s), worst high" in msg["Subject"]
    assert "rollback_burst" in msg.get_body(("plain",)).get_content()
    # the generic JSON webhook: one digest, worst first; the low one is under every floor
    assert len(hook.received) == 1
    alerts = hook.received[0]["alerts"]
    assert [a["check"] for a in alerts] == [
        "quality.signal.provider_degradation", "quality.signal.rollback_burst"
    ] and alerts[0]["runbook"] == "provider-degradation"  # fmt: skip
    assert hook.received[0]["run_id"] == "r1" and hook.received[0]["suppressed_by_cooldown"] == 0


def test_cooldown_dedupes_across_runs_with_state_in_the_data_bucket(receivers, s3, buckets):
    proxy, smtp, hook = receivers
    cfg = parse_notifications(_routes(smtp.port, hook.url), "test.yaml")
    bucket = buckets.data_bucket
    dispatch("telemetry-quality", RESULT, FINDINGS, cfg, s3, bucket, NOW)
    n_http, n_mail, n_hook = len(proxy.received), len(smtp.messages), len(hook.received)
    state = load_state(s3, bucket, "telemetry-quality")
    assert set(state["sent"]) == {"oncall#0", "oncall#1", "team#0", "team#1", "team#2"}
    # 2 hours later: the same findings are not sent again, anywhere
    again = dispatch(
        "telemetry-quality", RESULT, FINDINGS, cfg, s3, bucket, NOW + timedelta(hours=2)
    )
    assert again == {"sent": 0, "suppressed": 2, "events": 0}
    assert (len(proxy.received), len(smtp.messages), len(hook.received)) == (n_http, n_mail, n_hook)
    # a new finding goes out alone, and the digest says what is still open
    new = _f("quality.signal.write_burst", "medium", "user/zed/2026-11-30")
    third = dispatch("telemetry-quality", RESULT, [*FINDINGS, new], cfg, s3, bucket,
                     NOW + timedelta(hours=3))  # fmt: skip
    assert third["sent"] == 1 and len(proxy.received) == n_http + 1  # Teams only, not oncall
    assert [a["check"] for a in hook.received[-1]["alerts"]] == ["quality.signal.write_burst"]
    assert hook.received[-1]["suppressed_by_cooldown"] == 2
    # after the cooldown (12 h) everything open alerts again
    late = dispatch(
        "telemetry-quality", RESULT, FINDINGS, cfg, s3, bucket, NOW + timedelta(hours=13)
    )
    assert late["sent"] == 2


def test_a_failed_destination_is_retried_and_no_secret_reaches_logs(receivers, s3, buckets, caplog):
    proxy, smtp, hook = receivers
    proxy.status = 500  # Slack, PagerDuty and Teams all refuse
    dead_json = "http://127.0.0.1:9/hooks/JSONSECRET0099"
    cfg = parse_notifications(_routes(smtp.port, dead_json), "test.yaml")
    caplog.set_level(logging.DEBUG)
    out = dispatch("telemetry-quality", RESULT, FINDINGS, cfg, s3, buckets.data_bucket, NOW)
    assert out["sent"] == 2  # email still got through
    assert sorted(out["errors"]) == [
        "route oncall url #0: slack refused or unreachable",
        "route oncall url #1: pagerduty refused or unreachable",
        "route team url #0: workflows refused or unreachable",
        "route team url #2: json-webhook: StorageError",
    ]  # other-job's route does not take telemetry-quality: nothing tried there
    text = caplog.text + json.dumps(out)
    for secret in (SLACK_TOKEN, PD_KEY, "apikeySECRET42", TEAMS_SIG, "JSONSECRET0099"):
        assert secret not in text, secret
    assert "hooks.slack.com" in caplog.text  # Apprise did log its debug lines, scrubbed
    # nothing failed was recorded: the next run tries those destinations again
    proxy.status = 200
    retry = dispatch("telemetry-quality", RESULT, FINDINGS, cfg, s3, buckets.data_bucket, NOW)
    assert {r["host"] for r in proxy.received if r["json"]} >= {"hooks.slack.com"}
    assert "route oncall" not in str(retry.get("errors"))


def test_bad_route_config_is_one_line_without_the_url():
    with pytest.raises(ComplianceError) as err:
        parse_notifications(
            {"routes": [{"name": "x", "urls": ["slack://ok/ok/ok", "gopher://u:TOPSECRET@h/"]}]},
            "c.yaml",
        )
    assert str(err.value).startswith("c.yaml: notifications.routes.0.urls: urls[1]: not an")
    assert "TOPSECRET" not in str(err.value)
    with pytest.raises(ComplianceError, match="repeated: a"):
        parse_notifications({"routes": [{"name": "a", "urls": ["json://h/x"]}] * 2}, "c.yaml")
    with pytest.raises(ComplianceError, match=r"routes.0.match.severity"):
        parse_notifications({"routes": [{"name": "a", "match": {"severity": "loud"},
                                         "urls": ["json://h/x"]}]}, "c.yaml")  # fmt: skip


def test_budget_webhook_url_becomes_a_cost_budget_route():
    cfg = parse_notifications(
        {}, "c.yaml", {"webhook_url": "https://h.example/x", "cooldown_hours": 6}
    )
    (route,) = cfg.routes
    assert route.name == "budget.webhook_url" and cfg.cooldown(route) == 6
    assert route.match.takes("cost-budget", "budget.spend", route.match.severity)
    assert not route.match.takes("audit-trail", "budget.spend", route.match.severity)


def test_each_alert_is_a_prefect_event(monkeypatch):
    """The events as Prefect's own Event model accepts them (no worker thread in a unit test;
    tests/budget/test_budget_flow.py emits them for real to the Prefect test server)."""
    import prefect.events
    from prefect.events import Event

    events: list[Event] = []

    def record(**kwargs):
        events.append(Event(**kwargs))
        return events[-1]

    monkeypatch.setattr(prefect.events, "emit_event", record)
    assert emit_events("telemetry-quality", RESULT, FINDINGS[:2]) == 2
    names = sorted(e.event for e in events)
    assert names == [
        "compliance.alert.quality.signal.provider_degradation",
        "compliance.alert.quality.signal.rollback_burst",
    ]
    ev = next(e for e in events if "provider" in e.event)
    assert ev.resource["compliance.job"] == "telemetry-quality"
    assert (
        ev.payload["runbook"] == "provider-degradation"
        and ev.payload["bundle"] == "s3://r/b/a.json"
    )
    assert ev.related[0]["prefect.resource.id"] == "compliance.run.r1"


def test_json_webhook_errors_name_the_status_never_the_url():
    from tasks.common.alerts import post_json

    with WebhookListener() as hook:
        post_json(hook.url + "/SECRET-TOKEN-123", {"a": 1})
        hook.status = 500
        with pytest.raises(ComplianceError) as err:
            post_json(hook.url + "/SECRET-TOKEN-123", {"a": 1})
    assert str(err.value) == "webhook POST failed: HTTP 500" and "SECRET" not in str(err.value)
    assert hook.received == [{"a": 1}, {"a": 1}]
    with pytest.raises(ValueError):
        post_json("file:///etc/passwd", {})


def test_tokens_carried_as_the_url_host_are_scrubbed_too():
    from tasks.common.alerts import secret_parts

    parts = secret_parts("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/12345678")
    assert "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" in parts
    assert "o.gn5kj6nfhv736I7jC3cj3QLRiyhgl98b" in secret_parts(
        "pbul://o.gn5kj6nfhv736I7jC3cj3QLRiyhgl98b"
    )
