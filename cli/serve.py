"""`compliance serve`: every deployment served from one process (small installs)."""

from __future__ import annotations

import click

from flows.registry import DEPLOYABLE


def build_deployments(schedules: dict[str, str] | None = None, timezone: str = "UTC") -> list:
    """One RunnerDeployment per job, with its cron (config `schedules:` overrides), and
    one per on-demand flow, with no schedule."""
    from prefect.schedules import Cron

    deployments = []
    for slug, job in DEPLOYABLE.items():
        default = [] if job.schedule is None else [(schedules or {}).get(slug, job.schedule)]
        crons = [*default, *job.extra_schedules]
        flow = job.load_flow()
        deployments.append(
            flow.to_deployment(
                name=slug,
                schedules=[Cron(cron, timezone=timezone) for cron in crons],
                tags=["compliance-jobs"],
                description=job.description,
            )
        )
    return deployments


@click.command("serve")
@click.option("--limit", type=int, default=None, help="At most this many runs at once.")
def serve(limit: int | None) -> None:
    """Serve every deployment (jobs with their schedule, on-demand flows without) until stopped."""
    from prefect import serve as prefect_serve

    from cli.common import get_config

    section = get_config().section("schedules")
    deployments = build_deployments(
        {k: v for k, v in section.items() if k != "timezone"}, section.get("timezone", "UTC")
    )
    prefect_serve(*deployments, limit=limit)
