"""S3 dies in the middle of publishing a bundle: the run fails cleanly (Failed state, a
run.failed webhook, no attestation committed), and once S3 is back the next run publishes
and the job's chain still verifies."""

from __future__ import annotations

import pytest

from tasks.common.embedded import EmbeddedS3
from tasks.common.s3 import s3_client
from tasks.common.storage import iter_objects
from tests.ops.envsetup import STORAGE_ENV, make_env
from tests.ops.webhook import WebhookListener

JOB = "access-review"


@pytest.fixture
def own_s3():
    """An S3 endpoint of this test's own, to be stopped and restarted on the same port.

    moto keeps its state in this process, so a server restarted on the port sees the
    buckets and objects written before the outage, as a real store would.
    """
    servers = [EmbeddedS3().start()]
    yield servers
    servers[-1].stop()


def _run_prefixes(client, bucket: str) -> dict[str, set[str]]:
    """Bundle prefix -> file names, for every run of the job (chain claims aside)."""
    runs: dict[str, set[str]] = {}
    for obj in iter_objects(client, bucket, f"reports/{JOB}/"):
        if "/_chain/" not in obj["Key"]:
            prefix, _, name = obj["Key"].rpartition("/")
            runs.setdefault(prefix, set()).add(name)
    return runs


@pytest.mark.slow
def test_outage_mid_publish_fails_cleanly_and_the_chain_survives(
    prefect_harness, own_s3, tmp_path, monkeypatch
):
    import tasks.evidence.writer as writer
    from flows.jobs import access_review
    from tasks.evidence import verify_target

    for var in STORAGE_ENV:
        monkeypatch.delenv(var, raising=False)
    env = make_env(own_s3[0].endpoint_url, tmp_path, users=2, days=1, seed=9)
    client = s3_client(env.settings)
    reports = env.settings.reports_bucket
    config = str(env.config)

    first = access_review(config_path=config)  # a committed link before the outage
    assert first["bundle"]

    # The outage: after the first bundle file of the next run is written, S3 goes away.
    real_put = writer.put_locked
    written: list[str] = []

    def put_then_outage(client, bucket, key, *args, **kwargs):
        created = real_put(client, bucket, key, *args, **kwargs)
        written.append(key)
        if len(written) == 1:
            own_s3[0].stop()
        return created

    monkeypatch.setattr(writer, "put_locked", put_then_outage)
    with WebhookListener() as hook:
        monkeypatch.setenv("COMPLIANCE_WEBHOOK_URL", hook.url)
        state = access_review(config_path=config, return_state=True)
        assert hook.event.wait(10), "no webhook notice for the failed run"
    monkeypatch.delenv("COMPLIANCE_WEBHOOK_URL")
    monkeypatch.setattr(writer, "put_locked", real_put)
    assert state.is_failed(), state
    assert len(written) == 1  # it died mid-publish, not before it
    notice = hook.received[0]
    assert notice["event"] == "run.failed" and notice["job"] == JOB
    assert notice["flow_run_id"] == str(state.state_details.flow_run_id)
    assert "connect" in notice["error"].lower()  # it failed because S3 went away
    assert "testing" not in str(notice)  # no credential in the notice

    own_s3.append(EmbeddedS3(port=own_s3[0].port).start())  # S3 is back, same data
    runs = _run_prefixes(client, reports)
    committed = {p for p, names in runs.items() if "attestation.dsse.json" in names}
    partial = {p for p in runs if p not in committed}
    assert len(committed) == 1 and first["bundle"].startswith(f"s3://{reports}/{committed.pop()}/")
    assert len(partial) == 1  # the dead run's files: an incomplete folder, never a report
    assert written[0].startswith(partial.pop() + "/")

    second = access_review(config_path=config)
    assert second["bundle"] and second["status"] in ("pass", "warn", "fail")
    report = verify_target(f"s3://{reports}/reports/{JOB}/", client=client, public_keys=env.public_keys())  # fmt: skip
    assert report.ok, [f.line() for f in report.failures]
    assert len(report.chain) == 2 and len(report.incomplete) == 1
    newest = next(b for b in report.bundles if b.prefix == report.chain[-1])
    assert newest.predicate["previous"]["uri"] == first["bundle"]  # linked past the dead run
