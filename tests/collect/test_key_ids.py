"""AWS access key ids stay matchable; their secrets never leave the machine.

AWS documents the access key id as an identifier and the secret access key as the secret
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html): the
collector keeps an id that is exactly `AKIA…`/`ASIA…` verbatim wherever it would put a
marker, so the access review can still attribute it to its IAM user, and replaces every
other credential value (the secret key, the session token) by a marker.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tasks.access.config import parse_access_config
from tasks.access.job import collect_for_settings, tables_for
from tasks.access.run import JOB, review
from tasks.collect.run import collect
from tasks.collect.scrub import Scrubber
from tasks.common.contract import JobResult
from tasks.common.ids import new_run_id
from tasks.common.jobrun import finish_job
from tasks.common.models import Period
from tasks.common.s3 import S3Uri
from tasks.evidence.signer import generate_key_files
from tests.access.conftest import default_account_iam  # noqa: F401 - a fixture
from tests.collect.helpers import age, bucket_objects, machine

KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example pair
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_key_ids_are_kept_and_secrets_are_markers():
    s = Scrubber(b"k" * 32)
    out = s.mcp(
        {
            "mcpServers": {
                "aws": {
                    "command": "uvx",
                    "env": {
                        "AWS_ACCESS_KEY_ID": f" {KEY_ID} ",
                        "AWS_SECRET_ACCESS_KEY": SECRET,
                        "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEHoaCXVzLWVhc3QtMSJHMEUCIQ" * 3,
                        "TEMP_KEY": "ASIAY34FZKBOKMUTVV7A",
                        "GLUED": f"{KEY_ID}:{SECRET}",  # an id inside a longer value is no id
                        "LOWER": KEY_ID.lower(),
                    },
                    "headers": {"X-Amz-Key": KEY_ID},
                }
            }
        }
    )
    env = out["mcpServers"]["aws"]["env"]
    assert env["AWS_ACCESS_KEY_ID"] == KEY_ID and env["TEMP_KEY"] == "ASIAY34FZKBOKMUTVV7A"
    assert out["mcpServers"]["aws"]["headers"]["X-Amz-Key"] == KEY_ID
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GLUED", "LOWER"):
        assert env[name].startswith("[REDACTED:mcp_env:"), name
    assert SECRET not in json.dumps(out)
    state = s.walk({"awsAccessKey": KEY_ID, "awsSecretKey": SECRET, "openAiApiKey": KEY_ID})
    assert state["awsAccessKey"] == KEY_ID and state["awsSecretKey"].startswith("[REDACTED:")
    assert state["openAiApiKey"] == KEY_ID  # still only an identifier, whatever the field


def test_redacted_collect_keeps_the_key_id_attributable_in_access_review(
    buckets,
    s3,
    tmp_path,
    fleet,
    fleet_users,
    default_account_iam,  # noqa: F811 - the imported fixture
):
    iam = default_account_iam
    iam.create_user(UserName="dev-one")
    created = iam.create_access_key(UserName="dev-one")["AccessKey"]
    key_id, secret = created["AccessKeyId"], created["SecretAccessKey"]
    user = fleet_users[0]
    home = tmp_path / "home"
    storage = machine(home, "vscode", "linux", Path(fleet[0]) / "raw/roo" / user)
    mcp_path = storage / "settings" / "mcp_settings.json"
    mcp = json.loads(mcp_path.read_text())
    mcp["mcpServers"]["aws-docs"] = {
        "command": "uvx",
        "args": ["awslabs.aws-documentation-mcp-server@latest"],
        "env": {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret},
    }
    mcp_path.write_text(json.dumps(mcp, indent=2))
    age(home)
    bucket = buckets.data_bucket
    res = collect(
        home, user, S3Uri(bucket, "raw/"), s3, tmp_path / "l.json", key=b"k" * 32, redact=True
    )
    assert res.errors == 0 and res.uploaded > 0, res.notes

    priv, _, _ = generate_key_files(tmp_path / "keys")
    settings = buckets.model_copy(update={"signing_key": str(priv)})
    cfg = parse_access_config({})
    now = datetime.now(UTC)
    run_id = new_run_id(now)
    snapshot, inputs = collect_for_settings(settings, cfg, now)
    result = review(snapshot, cfg, run_id=run_id, now=now)
    job_result = JobResult(result.findings, result.summary, inputs=inputs, files=result.files,
                           tables=tables_for(result))  # fmt: skip
    out = finish_job(JOB, Period.last_days(7), job_result, settings, run_id=run_id)
    found = [
        f
        for f in result.findings
        if f.check == "roo_credentials_in_settings" and "aws-docs.env" in f.resource
    ]
    by_name = {f.resource.rsplit(".", 1)[1]: f.details for f in found}
    assert by_name["AWS_ACCESS_KEY_ID"].get("iam_user") == "dev-one", by_name
    assert "iam_user" not in by_name["AWS_SECRET_ACCESS_KEY"]  # a marker: stored, not matched
    assert out["bundle"]
    data = b"".join(bucket_objects(s3, bucket, "").values())
    reports = b"".join(bucket_objects(s3, buckets.reports_bucket, "").values())
    assert key_id.encode() in data and secret.encode() not in data
    assert secret.encode() not in reports
