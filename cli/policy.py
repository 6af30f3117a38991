"""`compliance policy propose|approve|reject|apply|status`: the signed policy approval chain."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from cli.common import emit_json, get_config, one_line_errors
from tasks.common.errors import InputError
from tasks.evidence.cli_support import aws_errors

KEY_HELP = "Trusted public key PEM (default: our signing key, else keys/ of the bucket)."


def _ctx(public_keys: tuple[str, ...]) -> Any:
    from tasks.policy.steps import policy_context

    return policy_context(get_config(), public_keys)


def _keys_option(func: Any) -> Any:
    return click.option("--public-key", "public_keys", multiple=True,
                        type=click.Path(dir_okay=False, exists=True), help=KEY_HELP)(func)  # fmt: skip


@click.group("policy")
def policy() -> None:
    """Propose, approve, reject and apply changes to the organisation's Roo Code policy."""


@policy.command("propose")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--by", required=True, help="Who proposes the change.")
@click.option("--reason", required=True, help="Why the policy changes.")
@_keys_option
@click.option("--json", "as_json", is_flag=True, help='Print {"proposal", "bundle"}.')
@one_line_errors
@aws_errors
def propose(file: str, by: str, reason: str, public_keys: tuple[str, ...], as_json: bool) -> None:
    """Publish a signed policy-change proposal with its diff against the approved version."""
    from tasks.policy.chain import parse_policy_file
    from tasks.policy.chain import propose as do_propose

    doc = parse_policy_file(Path(file).read_bytes(), file)
    pid, uri = do_propose(_ctx(public_keys), doc, by, reason)
    if as_json:
        emit_json({"proposal": pid, "bundle": uri})
    else:
        click.echo(f"proposal {pid}: {uri}")


def _decision(kind: str):
    @click.argument("proposal_id")
    @click.option("--by", required=True, help="The approver (one of policy.approvers).")
    @_keys_option
    @click.option("--json", "as_json", is_flag=True, help='Print {"proposal", "bundle"}.')
    @one_line_errors
    @aws_errors
    def command(proposal_id: str, by: str, public_keys: tuple[str, ...], as_json: bool) -> None:
        from tasks.policy import chain

        uri = getattr(chain, kind)(_ctx(public_keys), proposal_id, by)
        if as_json:
            emit_json({"proposal": proposal_id, kind: by, "bundle": uri})
        else:
            click.echo(uri)

    return command


policy.command("approve", help="Record a signed approval (never by the proposer).")(
    _decision("approve")
)
policy.command("reject", help="Record a signed rejection; the proposal is closed.")(
    _decision("reject")
)


@policy.command("apply")
@click.argument("proposal_id")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Write the approved policy (JSON) here, to distribute.")  # fmt: skip
@_keys_option
@click.option("--json", "as_json", is_flag=True, help='Print {"bundle", "version"}.')
@one_line_errors
@aws_errors
def apply(proposal_id: str, out: str | None, public_keys: tuple[str, ...], as_json: bool) -> None:
    """Publish the approved version (refused until the proposal is approved)."""
    from tasks.policy.chain import apply as do_apply
    from tasks.policy.chain import canonical

    uri, version, doc = do_apply(_ctx(public_keys), proposal_id)
    if out:
        target = Path(out)
        if target.is_symlink():
            raise InputError(f"{out}: is a symlink, not written")
        target.write_bytes(canonical(doc))
    if as_json:
        emit_json({"bundle": uri, "version": version})
    else:
        click.echo(f"version {version}: {uri}")


@policy.command("status")
@_keys_option
@click.option("--json", "as_json", is_flag=True, help='Print {"version", "proposals", "problems"}.')
@one_line_errors
@aws_errors
def status(public_keys: tuple[str, ...], as_json: bool) -> None:
    """The version in effect and every proposal with its state (from verified bundles only)."""
    from tasks.policy.chain import load_history

    ctx = _ctx(public_keys)
    hist = load_history(ctx.client, ctx.bucket, ctx.trust)
    now = datetime.now(UTC)
    rows = [
        {"proposal": p.id, "by": p.by, "status": p.status(ctx.cfg, now),
         "approvals": p.counted(ctx.cfg), "expires_at": p.expires_at.isoformat()}
        for p in hist.proposals.values()
    ]  # fmt: skip
    if as_json:
        emit_json({"version": hist.version, "proposals": rows, "problems": hist.problems})
        return
    click.echo(f"policy version in effect: {hist.version or 'none'}")
    for r in rows:
        click.echo(f"{r['proposal']}  {r['status']:<8} by {r['by']}  approvals: "
                   f"{', '.join(r['approvals']) or '-'}")  # fmt: skip
