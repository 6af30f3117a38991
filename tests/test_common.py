from datetime import UTC, datetime

import pytest

from tasks.common.errors import ConfigError
from tasks.common.models import Finding, Period, Severity, overall_status, severity_counts
from tasks.common.s3 import S3Uri
from tasks.common.settings import load_config
from tasks.common.storage import iter_objects


def test_env_wins_over_file(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("storage: {reports_bucket: from-file, data_bucket: d, retention_days: 30}\n")
    loaded = load_config(cfg, env={"COMPLIANCE_REPORTS_BUCKET": "from-env"})
    assert loaded.storage.reports_bucket == "from-env"
    assert loaded.storage.retention_days == 30
    assert loaded.storage.data_bucket == "d"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("storage: [unclosed\n", "is not valid YAML"),
        ("- a list\n", "top level must be a mapping"),
        ("storage: {retention_days: -3}\n", "storage.retention_days"),
        ("storage: {bogus: 1}\n", "storage.bogus"),
    ],
)
def test_bad_config_is_one_line_naming_file(tmp_path, text, fragment):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(cfg, env={})
    msg = str(err.value)
    assert str(cfg) in msg and fragment in msg and "\n" not in msg


def test_period_rejects_inverted_and_is_half_open():
    p = Period(start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 11, 2, tzinfo=UTC))
    assert p.contains(datetime(2026, 11, 1, 23, 59, tzinfo=UTC))
    assert not p.contains(datetime(2026, 11, 2, tzinfo=UTC))
    assert p.as_json() == {"start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z"}
    with pytest.raises(ValueError):
        Period(start=p.end, end=p.start)


def test_status_and_counts_ignore_passes_and_mutes():
    findings = [
        Finding.make("c1", "critical", "pass", "r", "ok"),
        Finding.make("c2", "high", "fail", "r", "bad", muted=True),
        Finding.make("c3", "low", "fail", "r", "meh"),
    ]
    assert overall_status(findings).value == "warn"
    counts = severity_counts(findings)
    assert counts["findings"] == 2 and counts["critical"] == 0 and counts["low"] == 1
    findings.append(Finding.make("c4", Severity.critical, "error", "r", "could not run"))
    assert overall_status(findings).value == "fail"
    assert (
        Finding.make("c", "low", "fail", "x", "m").id
        == Finding.make("c", "high", "pass", "x", "n").id
    )


def test_s3_uri_parse():
    u = S3Uri.parse("s3://bkt/raw/roo/alice/")
    assert (u.bucket, u.key, str(u)) == ("bkt", "raw/roo/alice/", "s3://bkt/raw/roo/alice/")
    with pytest.raises(ValueError):
        S3Uri.parse("/local/path")


def test_embedded_server_is_real_http_and_lists_pages(s3, buckets):
    assert s3.meta.endpoint_url.startswith("http://127.0.0.1:")
    for i in range(25):
        s3.put_object(Bucket=buckets.data_bucket, Key=f"p/{i:05d}", Body=b"x")
    calls = []
    s3.meta.events.register("before-call.s3.ListObjectsV2", lambda **kw: calls.append(1))
    keys = [o["Key"] for o in iter_objects(s3, buckets.data_bucket, "p/", page_size=10)]
    assert keys == [f"p/{i:05d}" for i in range(25)]
    assert len(calls) == 3  # three pages of at most 10


def test_embedded_server_in_its_own_process_serves_and_stops(monkeypatch):
    import socket

    import boto3

    from tasks.common.embedded import DEMO_CREDENTIALS, EmbeddedS3

    for k, v in DEMO_CREDENTIALS.items():
        monkeypatch.setenv(k, v)
    server = EmbeddedS3(separate_process=True).start()
    try:
        client = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1")
        client.create_bucket(Bucket="own-process")
        client.put_object(Bucket="own-process", Key="k", Body=b"v")
        assert client.get_object(Bucket="own-process", Key="k")["Body"].read() == b"v"
        assert server._proc is not None and server._proc.poll() is None  # not this process
    finally:
        server.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), 1).close()


def test_storage_require_names_every_missing_setting_and_its_variable():
    import pytest

    from tasks.common.errors import ConfigError
    from tasks.common.settings import StorageSettings

    s = StorageSettings(data_bucket="d")
    s.require("data_bucket")
    with pytest.raises(ConfigError) as err:
        s.require("data_bucket", "reports_bucket", "signing_key")
    msg = str(err.value)
    assert "COMPLIANCE_REPORTS_BUCKET (storage.reports_bucket)" in msg
    assert "COMPLIANCE_SIGNING_KEY (storage.signing_key)" in msg and "DATA" not in msg
