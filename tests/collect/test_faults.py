"""Faults on the way to S3: retried by botocore's standard mode; a cut run resumes."""

from __future__ import annotations

from botocore.exceptions import EndpointConnectionError

from tasks.collect.run import collect
from tasks.common.s3 import S3Uri, s3_client
from tests.collect.helpers import bucket_objects, machine
from tests.evidence.faultproxy import FaultProxy

KEY = b"k"


def test_collect_through_a_faulty_proxy_lands_everything(
    tmp_path, fleet, fleet_users, s3_server, s3, buckets
):
    home = tmp_path / "home"
    storage = machine(home, "vscode", "linux", fleet[0] / "raw/roo" / fleet_users[0])
    proxy = FaultProxy(s3_server.endpoint_url, rate=0.25, seed=5).start()
    try:
        faulty = s3_client(buckets.model_copy(update={"endpoint_url": proxy.url}))
        res = collect(
            home, "f1", S3Uri(buckets.data_bucket, "raw/"), faulty, tmp_path / "l.json", key=KEY
        )
    finally:
        proxy.stop()
    assert proxy.fault_share > 0.1
    assert res.errors == 0, res.notes
    got = bucket_objects(s3, buckets.data_bucket, "raw/roo/f1/")
    for p in (storage / "tasks").rglob("*"):
        if p.is_file():
            assert got[p.relative_to(storage).as_posix()] == p.read_bytes()


class CutAfter:
    """A real client whose connection drops for good after `n` puts (a laptop going offline)."""

    def __init__(self, client, n: int) -> None:
        self.client, self.n = client, n

    def __getattr__(self, name):
        return getattr(self.client, name)

    def put_object(self, **kw):
        if self.n <= 0:
            raise EndpointConnectionError(endpoint_url="http://offline")
        self.n -= 1
        return self.client.put_object(**kw)


def test_a_cut_run_resumes_where_it_stopped(tmp_path, fleet, fleet_users, s3, buckets):
    home = tmp_path / "home"
    machine(home, "cursor", "linux", fleet[0] / "raw/roo" / fleet_users[1])
    target, ledger = S3Uri(buckets.data_bucket, "raw/"), tmp_path / "l.json"
    cut = collect(home, "r1", target, CutAfter(s3, 7), ledger, key=KEY, workers=1)
    assert cut.uploaded == 7 and cut.errors > 0
    assert all("EndpointConnectionError" in n for n in cut.notes if "not sent" in n)
    rest = collect(home, "r1", target, s3, ledger, key=KEY)
    assert rest.errors == 0 and rest.uploaded == cut.errors  # only what was missing
    assert rest.unchanged == 7
    assert len(bucket_objects(s3, buckets.data_bucket, "raw/roo/r1/")) == 7 + rest.uploaded
