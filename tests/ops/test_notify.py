from types import SimpleNamespace

from tasks.common.notify import flow_failure_hook, notify_failure, notify_result, webhook_url
from tests.ops.webhook import WebhookListener


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


def test_failure_hook_posts_first_line_of_error(monkeypatch):
    with WebhookListener() as hook:
        monkeypatch.setenv("COMPLIANCE_WEBHOOK_URL", hook.url)
        state = SimpleNamespace(
            message="S3 endpoint unreachable\ntraceback…", type=SimpleNamespace(value="FAILED")
        )
        flow_failure_hook(SimpleNamespace(name="audit-trail"), SimpleNamespace(id="fr-1"), state)
        assert hook.event.wait(5)
    assert hook.received[0] == {
        "event": "run.failed",
        "job": "audit-trail",
        "flow_run_id": "fr-1",
        "error": "S3 endpoint unreachable",
    }


def test_webhook_url_env_wins(monkeypatch):
    monkeypatch.setenv("COMPLIANCE_WEBHOOK_URL", "http://env/")
    assert webhook_url({"notifications": {"webhook_url": "http://file/"}}) == "http://env/"
    monkeypatch.delenv("COMPLIANCE_WEBHOOK_URL")
    assert webhook_url({"notifications": {"webhook_url": "http://file/"}}) == "http://file/"
