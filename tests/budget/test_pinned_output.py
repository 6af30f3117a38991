"""The job's output, byte for byte, pinned before the task list became columns and the
price fits were vectorised (tests/budget/pinned.py builds it): findings, summary,
task_costs.csv, inputs, charts and tables on cli/demo.py's fleet with its budgets, and
on a busier generated fleet with every rule kind, in memory and spilled by user."""

from __future__ import annotations

import pytest
from pinned import busy_config, canonical, demo_config, digest, publish_fleet, run_job

from tasks.common.storage import SpooledFile

FLEETS = {
    # name: (users, days, seed, report days, config, no provider or model named)
    "demo": (8, 7, 7, 2, demo_config, False),
    "busy": (6, 10, 3, 4, busy_config, False),
    "unnamed": (8, 7, 7, 3, busy_config, True),
}
PINNED = {
    ("demo", "in-memory"): "d4243c334f52b21c9520ff267011130c92c5bc6c32649ae64133c5ac4ece227e",
    ("demo", "spilled"): "1c40e9512587f80d2648ef5850bcc2f9183d668aba0df2d4176de34341a1dbc9",
    ("busy", "in-memory"): "45f7e9e47415827ee0b736cc40332523a6adec98ac62373cb561527557b90bd4",
    ("busy", "spilled"): "9c22ecc6032f3de46e76d3eb0764d6c9d9116a16980fd82225d1d099aaa0519e",
    ("unnamed", "in-memory"): "15834d3d8fb6fd05aeb27d290f71308b1a198d380ecb42d0f5f66f5060b4c8fd",
    ("unnamed", "spilled"): "1ac311a8618db4880814f9d528387ab87f3fb463b0c9c2c6928ca42d750a5f81",
}


@pytest.mark.parametrize("fleet", sorted(FLEETS))
def test_output_is_byte_for_byte_as_pinned(s3, buckets, monkeypatch, tmp_path, fleet):
    """One published fleet, analysed in memory and spilled (every user bucket to disk, a
    few hundred requests a shard)."""
    from tasks.budget import shards

    users, days, seed, report, config, unnamed = FLEETS[fleet]
    bucket = buckets.data_bucket
    all_days = publish_fleet(s3, bucket, users, days, seed, unnamed)
    changed = []
    for how, spill_rows in (("in-memory", None), ("spilled", 1)):
        if spill_rows:
            monkeypatch.setattr(shards, "SHARD_ROWS", 300)
        result = run_job(s3, bucket, all_days, report, config(), spill_rows)
        csv_file = result.files["task_costs.csv"]
        assert isinstance(csv_file, SpooledFile)  # streamed to the bundle, never held whole
        assert result.findings and bytes(csv_file).count(b"\n") > 5
        body = canonical(result, bucket)
        (tmp_path / f"{fleet}-{how}.json").write_bytes(body)  # to diff when it fails
        if digest(body) != PINNED[(fleet, how)]:
            changed.append(how)
    assert not changed, f"output changed ({', '.join(changed)}): see {tmp_path}"
