"""Evidence-store fixtures: a key pair, a signer, trusted keys, a publishing helper, and the
session-wide Ceph RGW server (real Object Lock) for tests marked `rgw`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tasks.common.models import Period


@pytest.fixture(scope="session")
def keypair(tmp_path_factory):
    from tasks.evidence.signer import generate_key_files

    priv, pub, fp = generate_key_files(tmp_path_factory.mktemp("keys"))
    return priv, pub, fp


@pytest.fixture(scope="session")
def signer(keypair):
    from tasks.evidence import load_signer

    return load_signer(str(keypair[0]))


@pytest.fixture(scope="session")
def trust(keypair):
    from tasks.evidence.verify import Trust

    return Trust.from_pems([("test", keypair[1].read_bytes())])


T0 = datetime(2026, 11, 1, 6, 0, 0, tzinfo=UTC)


def day_period(i: int) -> Period:
    start = T0.replace(hour=0) + timedelta(days=i - 1)
    return Period(start=start, end=start + timedelta(days=1))


@pytest.fixture
def publish_daily(signer):
    """publish(client, bucket, job, i): bundle i of a daily job (run at 06:00 on day i)."""
    from tasks.evidence import publish_bundle

    def publish(client, bucket, job, i, **kw):
        files = kw.pop("files", None) or {
            "report.json": b'{"job": "%s", "i": %d}\n' % (job.encode(), i),
            "report.html": b"<html><body>report %d</body></html>\n" % i,
            "findings.csv": b"id,check\n%d,x\n" % i,
        }
        return publish_bundle(
            client,
            bucket,
            job,
            files,
            signer=kw.pop("signer", signer),
            period=day_period(i),
            status="pass",
            counts={"findings": i},
            retention_days=1,
            generated_at=T0 + timedelta(days=i),
            **kw,
        )

    return publish
