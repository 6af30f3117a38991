"""A new job is one module and one registry entry: a tiny job registered in a temporary
registry runs through the template (a real Prefect flow run) to a bundle that verifies,
its config section validated up front and documented with the others."""

from __future__ import annotations

import json

import pytest
import yaml

from flows import registry
from flows.registry import Job
from tasks.common.contract import Section
from tasks.common.errors import ConfigError
from tasks.common.s3 import s3_client
from tasks.common.storage import get_bytes
from tasks.evidence.signer import generate_key_files
from tasks.evidence.store import S3Store
from tasks.evidence.verify import Trust, verify_bundle

TINY = Job("tiny", "tests.contract.tiny_job", "0 3 * * *", "count the tiny objects",
           sections=("tiny",))  # fmt: skip
SECTION = Section("tiny", "tests.contract.tiny_job:TinyConfig", None, "tiny: what it counts.")


@pytest.fixture
def tiny_registry(monkeypatch):
    monkeypatch.setitem(registry.SECTIONS, "tiny", SECTION)
    monkeypatch.setitem(registry.JOBS, "tiny", TINY)
    monkeypatch.setitem(registry.DEPLOYABLE, "tiny", TINY)
    return TINY


def _config(tmp_path, buckets, tiny):
    priv, pub, _ = generate_key_files(tmp_path / "keys")
    storage = buckets.model_dump(exclude_none=True) | {"signing_key": str(priv)}
    cfg = tmp_path / "compliance.yaml"
    cfg.write_text(yaml.safe_dump({"storage": storage, "tiny": tiny}))
    return str(cfg), pub.read_bytes()


def test_a_registered_job_runs_through_the_template_to_a_verified_bundle(
    prefect_harness, tiny_registry, buckets, tmp_path
):
    s3 = s3_client(buckets)
    for i in range(3):
        s3.put_object(Bucket=buckets.data_bucket, Key=f"tiny/o{i}", Body=b"x" * i)
    config, pub = _config(tmp_path, buckets, {"at_least": 4})
    out = registry.get_job("tiny").load_flow()(config_path=config)
    assert out["job"] == "tiny" and out["status"] == "warn" and out["counts"]["medium"] == 1
    prefix = out["bundle"].split("/", 3)[3].removesuffix("attestation.dsse.json")
    info, failures = verify_bundle(
        S3Store(s3, buckets.reports_bucket), prefix, Trust.from_pems([("k", pub)])
    )
    assert failures == []
    report = json.loads(get_bytes(s3, buckets.reports_bucket, prefix + "report.json"))
    assert report["summary"]["objects"] == 3
    listed = get_bytes(s3, buckets.reports_bucket, prefix + "objects.txt").decode().split()
    assert listed == [f"s3://{buckets.data_bucket}/tiny/o{i}" for i in range(3)]


def test_its_config_is_validated_before_any_work_and_documented(tiny_registry, buckets, tmp_path):
    from tasks.common import config_docs
    from tasks.common.contract import Steps, run
    from tasks.common.settings import load_config

    class Refuse(Steps):
        def collect(self, *args):  # the run must stop before it reads anything
            raise AssertionError("collect ran with a bad config")

    config, _ = _config(tmp_path, buckets, {"at_least": -1})
    with pytest.raises(ConfigError, match=r"compliance.yaml: tiny.at_least: .*greater than or equal to 0"):  # fmt: skip
        run(TINY, load_config(config), steps=Refuse())
    rendered = config_docs.render()
    assert "#### `tiny`" in rendered and "| `tiny.at_least` | int (≥ 0) | `1` |" in rendered
    assert "| `schedules.tiny` | cron | `0 3 * * *` |" in rendered


def test_the_run_notifies_with_its_own_config_read_once(tiny_registry, buckets, tmp_path, monkeypatch):  # fmt: skip
    """Was: finish_job read the config again after publishing (the default one outside a
    flow run), so a run given its config file notified no one. Here the file is gone by
    the time the run publishes: the notice still goes where the run's config said."""
    from tasks.common.contract import Steps, run
    from tasks.common.settings import load_config
    from tests.ops.webhook import WebhookListener

    monkeypatch.delenv("COMPLIANCE_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("COMPLIANCE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no compliance.yaml here
    with WebhookListener() as hook:
        storage = buckets.model_dump(exclude_none=True)
        cfg = tmp_path / "run.yaml"
        cfg.write_text(yaml.safe_dump({"storage": storage, "notifications": {"webhook_url": hook.url}}))  # fmt: skip

        class Forget(Steps):
            def evaluate(self, module, inputs, config):
                cfg.unlink()  # nothing after the preamble may read the file again
                result = super().evaluate(module, inputs, config)
                result.status = "fail"  # run notices go out for failed runs
                return result

        out = run(TINY, load_config(str(cfg)), dry_run=True, steps=Forget())
        assert out["status"] == "fail" and hook.event.wait(5)
    assert hook.received[0]["event"] == "run.status.fail" and hook.received[0]["job"] == "tiny"
