"""Campaign reviewers hear of their items and due date, against a real SMTP server (aiosmtpd)
and a local HTTP receiver: one message per reviewer, reminders as the due date nears, the
alerts' dedupe state and cooldown respected, no grant detail or URL token in any message."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

from tasks.access.campaign import CampaignItem
from tasks.access.campaign_notices import notify_reviewers, reviewer_notices_for_run, stage_of
from tasks.access.snapshot import RosterEntry
from tasks.common.alerts import load_state
from tasks.common.notify import parse_notifications
from tests.ops.webhook import SmtpSink, WebhookListener

T0 = datetime(2026, 12, 1, 6, tzinfo=UTC)
DUE = "2026-12-15T06:00:00Z"
SECRET = "AKIA" + "Z7Q4" * 4  # what a grant's detail may carry: never in a message
HOOK_TOKEN = "HOOKsecret0123456789"
ROSTER = {
    "ann": RosterEntry(user="ann", email="ann@example.org", team="platform"),
    "ben": RosterEntry(user="ben", email="Ben@Example.org", team="data"),
    "cid": RosterEntry(user="cid", email="", team="data"),
    "dev1": RosterEntry(user="dev1", email="dev1@example.org", manager="ann@example.org"),
}


def _item(n, reviewer, subject="dev1", due=DUE):
    return CampaignItem(
        item_id=f"item{n}", campaign_id="c1", grant_id=f"g{n}", kind="iam_access_key",
        resource=f"arn:aws:iam::123456789012:user/{subject}#key{n}", subject=subject,
        aws_user=subject, team="platform", reviewer=reviewer, reviewer_source="manager", due=due,
        detail=json.dumps({"access_key_id": SECRET}),
    )  # fmt: skip


ITEMS = [_item(1, "ann"), _item(2, "ann"), _item(3, "ann"), _item(4, "ben"), _item(5, "cid"),
         _item(6, "")]  # fmt: skip


def _cfg(smtp, hook, **extra):
    return parse_notifications({"cooldown_hours": 12, "reviewers": {
        "email_url": f"mailto://127.0.0.1:{smtp.port}?from=access@example.org&mode=insecure"
                     "&to=someone-else@example.org",
        "urls": [f"{hook.url}/{HOOK_TOKEN}"], **extra}}, "test.yaml")  # fmt: skip


def _mail(smtp):
    return {rcpt[0].lower(): msg for _, rcpt, msg in smtp.messages}


def test_one_message_per_reviewer_then_reminders_as_the_due_date_nears(s3, buckets, caplog):
    caplog.set_level(logging.DEBUG)
    bucket = buckets.data_bucket
    with SmtpSink() as smtp, WebhookListener() as hook:
        cfg = _cfg(smtp, hook)
        out = notify_reviewers(ITEMS, set(), ROSTER, cfg, s3, bucket, T0)
        assert out == {"reviewers": 3, "items": 5, "suppressed": 0, "no_address": ["cid"]}
        mail = _mail(smtp)
        assert set(mail) == {"ann@example.org", "ben@example.org"}  # the roster's, not the URL's
        assert len(smtp.messages) == 2
        body = mail["ann@example.org"].get_body(("plain",)).get_content()
        assert "3 item(s) for ann, due 2026-12-15T06:00:00Z" in mail["ann@example.org"]["Subject"]
        assert all(f"item item{n}" in body for n in (1, 2, 3)) and "item4" not in body
        assert "by 2026-12-15T06:00:00Z" in body
        # the shared URL gets each reviewer's message as JSON (cid has no e-mail: only here)
        assert [p["reviewer"] for p in hook.received] == ["ann", "ben", "cid"]
        assert [i["item_id"] for i in hook.received[0]["items"]] == ["item1", "item2", "item3"]
        assert {i["stage"] for i in hook.received[0]["items"]} == {"assigned"}
        text = json.dumps(hook.received) + "".join(m.as_string() for _, _, m in smtp.messages)
        assert SECRET not in text and "access_key_id" not in text  # no grant detail

        # two hours later: nothing new to say, nothing sent
        again = notify_reviewers(ITEMS, set(), ROSTER, cfg, s3, bucket, T0 + timedelta(hours=2))
        assert again["reviewers"] == 0 and len(smtp.messages) == 2 and len(hook.received) == 3

        # 2.5 days before the due date, item2 decided: one reminder each, open items only
        when = T0 + timedelta(days=11, hours=12)
        rem = notify_reviewers(ITEMS, {"item2"}, ROSTER, cfg, s3, bucket, when)
        assert rem["reviewers"] == 3 and rem["items"] == 4
        ann = [m for _, r, m in smtp.messages[2:] if r == ["ann@example.org"]][0]
        body = ann.get_body(("plain",)).get_content()
        assert "item item1 (due in 3d)" in body and "item3" in body and "item2" not in body
        # a new item for ann the same hour waits for the cooldown (12 h), then goes alone
        more = [*ITEMS, _item(7, "ann")]
        held = notify_reviewers(more, {"item2"}, ROSTER, cfg, s3, bucket, when + timedelta(hours=1))
        assert held["reviewers"] == 0 and held["suppressed"] == 1
        later = notify_reviewers(
            more, {"item2"}, ROSTER, cfg, s3, bucket, when + timedelta(hours=13)
        )
        assert later["items"] == 1 and "item7" in json.dumps(hook.received[-1])
        # the day before, the 1-day reminder; after the due date, one overdue notice
        notify_reviewers(more, {"item2"}, ROSTER, cfg, s3, bucket, T0 + timedelta(days=13, hours=8))
        assert {i["stage"] for i in hook.received[-1]["items"]} == {"due-in-1d"}
        late = notify_reviewers(more, {"item2"}, ROSTER, cfg, s3, bucket, T0 + timedelta(days=15))
        assert late["reviewers"] == 3
        assert {i["stage"] for i in hook.received[-1]["items"]} == {"overdue"}
    state = load_state(s3, bucket, "access-review")
    assert "reviewer:ann#email" in state["sent"] and "reviewer:cid#0" in state["sent"]
    assert HOOK_TOKEN not in caplog.text and HOOK_TOKEN not in json.dumps(state)


def test_a_failed_destination_is_retried_next_run_and_named_without_its_url(s3, buckets, caplog):
    with SmtpSink() as smtp, WebhookListener() as hook:
        hook.status = 500
        cfg = _cfg(smtp, hook)
        out = notify_reviewers(ITEMS[:1], set(), ROSTER, cfg, s3, buckets.data_bucket, T0)
        assert out["errors"] == ["reviewer ann 0: json-webhook: StorageError"]
        assert out["items"] == 1  # the e-mail went
        hook.status = 204
        retry = notify_reviewers(ITEMS[:1], set(), ROSTER, cfg, s3, buckets.data_bucket,
                                 T0 + timedelta(minutes=5))  # fmt: skip
        assert "errors" not in retry and len(hook.received) == 2 and len(smtp.messages) == 1
    assert HOOK_TOKEN not in caplog.text + json.dumps(out)


def test_nothing_configured_sends_nothing_and_touches_no_state(s3, buckets):
    cfg = parse_notifications({}, "test.yaml")
    out = notify_reviewers(ITEMS, set(), ROSTER, cfg, s3, buckets.data_bucket, T0)
    assert out["reviewers"] == 0
    assert "Contents" not in s3.list_objects_v2(Bucket=buckets.data_bucket, Prefix="state/")


def test_stages():
    due = datetime(2026, 12, 15, tzinfo=UTC)
    assert stage_of(due, due - timedelta(days=5), [3, 1]) == "assigned"
    assert stage_of(due, due - timedelta(days=3), [3, 1]) == "due-in-3d"
    assert stage_of(due, due - timedelta(hours=20), [3, 1]) == "due-in-1d"
    assert stage_of(due, due + timedelta(seconds=1), [3, 1]) == "overdue"


def test_the_flow_step_never_raises_when_storage_is_down(buckets):
    with SmtpSink() as smtp, WebhookListener() as hook:
        cfg = _cfg(smtp, hook)
        down = buckets.model_copy(update={"endpoint_url": "http://127.0.0.1:9"})
        out = reviewer_notices_for_run(ITEMS, set(), ROSTER, down, cfg, T0)
        assert out["reviewers"] == 0 and len(out["errors"]) == 1 and "\n" not in out["errors"][0]
        assert smtp.messages == [] and hook.received == []


def test_reminders_between_reviews_read_the_latest_verified_campaign(s3, buckets, tmp_path):
    from tasks.access.campaign import campaign_csv_bytes
    from tasks.access.campaign_notices import remind_latest_campaign
    from tasks.access.config import AccessConfig
    from tasks.common.models import Period
    from tasks.evidence import load_signer, publish_bundle
    from tasks.evidence.signer import generate_key_files

    private, _, _ = generate_key_files(tmp_path / "keys")
    settings = buckets.model_copy(update={"signing_key": str(private)})
    roster = "user,email,team,manager,status,aws_user\nann,ann@example.org,platform,,active,\n"
    s3.put_object(Bucket=settings.data_bucket, Key="raw/org/roster.csv", Body=roster.encode())
    assert remind_latest_campaign(settings, AccessConfig())["problem"]  # nothing published yet
    publish_bundle(s3, settings.reports_bucket, "access-review",
                   {"report.json": b"{}\n", "campaign.csv": campaign_csv_bytes(ITEMS[:2])},
                   signer=load_signer(str(private)), period=Period(start=T0 - timedelta(days=7), end=T0),
                   status="pass", counts={"findings": 0}, retention_days=1, generated_at=T0)  # fmt: skip
    with SmtpSink() as smtp, WebhookListener() as hook:
        out = remind_latest_campaign(settings, AccessConfig(), _cfg(smtp, hook),
                                     T0 + timedelta(days=12))  # fmt: skip
        assert out["reviewers"] == 1 and out["items"] == 2
        assert [r for _, r, _ in smtp.messages] == [["ann@example.org"]]
        assert {i["stage"] for i in hook.received[0]["items"]} == {"due-in-3d"}


def test_an_item_with_a_bad_due_date_is_counted_not_dropped_silently(s3, buckets):
    with SmtpSink() as smtp, WebhookListener() as hook:
        bad = [_item(8, "ann", due="next tuesday"), _item(9, "ann", due="")]
        out = notify_reviewers([*bad, ITEMS[0]], set(), ROSTER, _cfg(smtp, hook), s3,
                               buckets.data_bucket, T0)  # fmt: skip
        assert out["items"] == 1 and out["bad_due"] == ["item8", "item9"]
