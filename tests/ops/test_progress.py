import asyncio

import pytest
from prefect import flow

from tasks.common.progress import RunProgress


def test_outside_a_run_progress_is_a_no_op():
    progress = RunProgress("k", "doing", 10)
    assert not progress.active
    progress.update(5, force=True)  # nothing to call, nothing raised


@pytest.mark.prefect
def test_progress_artifact_reaches_100_percent(prefect_harness):
    @flow
    def long_step() -> str:
        progress = RunProgress("unit-progress", "copying", 4, every_s=0)
        for done in range(1, 5):
            progress.update(done)
        return str(progress._artifact_id)

    artifact_id = long_step()

    async def read():
        from prefect.client.orchestration import get_client

        async with get_client() as client:
            return await client.read_artifacts()

    artifacts = {str(a.id): a for a in asyncio.run(read())}
    artifact = artifacts[artifact_id]
    assert artifact.type == "progress" and artifact.data == 100.0
    assert artifact.description == "copying: 4/4"
