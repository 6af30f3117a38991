"""Session-wide fixtures: one local S3 server over real HTTP, one Prefect harness."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("COMPLIANCE_RETRY_DELAY_SECONDS", "0")  # retries still run, without the wait
for _k, _v in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "COMPLIANCE_REDACTION_KEY": "test-redaction-key-" + uuid.uuid4().hex,  # required, never derived
}.items():
    os.environ.setdefault(_k, _v)


@pytest.fixture(scope="session")
def s3_server():
    """moto in server mode on 127.0.0.1:<free port>, shared by the session, stopped after."""
    from tasks.common.embedded import EmbeddedS3

    server = EmbeddedS3().start()
    yield server
    server.stop()


@pytest.fixture
def storage_settings(s3_server, tmp_path):
    """Fresh data and reports buckets (names unique per test) on the session server."""
    from tasks.common.settings import StorageSettings

    suffix = uuid.uuid4().hex[:10]
    return StorageSettings(
        endpoint_url=s3_server.endpoint_url,
        data_bucket=f"data-{suffix}",
        reports_bucket=f"reports-{suffix}",
        retention_days=1,
    )


@pytest.fixture
def s3(storage_settings):
    from tasks.common.s3 import s3_client

    return s3_client(storage_settings)


@pytest.fixture
def buckets(s3, storage_settings):
    """Create the data bucket and an Object-Lock reports bucket; return the settings."""
    s3.create_bucket(Bucket=storage_settings.data_bucket)
    s3.create_bucket(Bucket=storage_settings.reports_bucket, ObjectLockEnabledForBucket=True)
    return storage_settings


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test harness (temporary database + server) for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def rgw(tmp_path_factory):
    """One throwaway single-node Ceph RGW per test process (every RGW module shares it;
    they are one xdist group, so one process) on free loopback ports, stopped after the session.

    Without radosgw installed the tests skip locally; with CI=true they fail instead.
    """
    from tests.evidence.rgw import RgwCluster, RgwUnavailable

    in_ci = os.environ.get("CI", "").lower() == "true"
    base = Path(tmp_path_factory.mktemp("rgw"))
    cluster = RgwCluster(base)
    try:
        cluster.start()
    except RgwUnavailable as exc:
        if in_ci:
            pytest.fail(f"RGW could not start in CI: {exc}")
        pytest.skip(f"RGW not available: {exc}")
    except Exception as exc:  # installed but broken: a real failure, never a skip
        cluster.stop()
        pytest.fail(f"RGW failed to start: {exc}")
    yield cluster
    cluster.stop()


# Tests that read the one demo run (tests/reports/conftest.py `demo_out`, a `compliance demo`
# subprocess: the suite's most expensive fixture) share an xdist group, so the demo runs on
# one worker only instead of once per worker.
DEMO_GROUP = "demo"


def _in_group(item: pytest.Item, group: str) -> None:
    """What pytest-xdist's loadgroup does, for pytest 9 too: the group rides on the node id
    (`<nodeid>@<group>`), which the controller splits into scheduling units. xdist 3.8 sets
    `item._nodeid`, which pytest 9 no longer reads (the id is `item._id`, a NodeId), so
    without this every `xdist_group` was silently ignored."""
    new = f"{item.nodeid}@{group}"
    if hasattr(item, "_id"):
        item._id = type(item._id).parse(new)
    else:
        item._nodeid = new


@pytest.hookimpl(trylast=True)  # after xdist's own hook: only ids it left ungrouped change
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group the demo's readers; put `slow` tests first (longest jobs first balances the two
    workers' finishing times; the order within each part is kept); under
    `--dist loadgroup`, make every `xdist_group` mark a scheduling group."""
    for item in items:
        if "demo_out" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group(DEMO_GROUP))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    if not getattr(config.option, "loadgroup", False):  # set in xdist's workers
        return
    for item in items:
        names = {str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                 for m in item.iter_markers("xdist_group")}  # fmt: skip
        group = "_".join(sorted(names))
        if names and not item.nodeid.endswith(f"@{group}"):
            _in_group(item, group)
