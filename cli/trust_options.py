"""--public-key / --trusted-key: the trust anchors every command that reads bundles takes."""

from __future__ import annotations

from typing import Any

import click


def trust_options(func: Any) -> Any:
    """--public-key / --trusted-key: the anchors of every command that reads bundles."""
    func = click.option(
        "--trusted-key",
        "trusted_keys",
        multiple=True,
        metavar="SHA256",
        help="Trust the key with this SHA-256 fingerprint, received out of band (repeatable);"
        " its PEM may come from keys/ in the bucket.",
    )(func)
    return click.option(
        "--public-key",
        "public_keys",
        multiple=True,
        type=click.Path(dir_okay=False, exists=True),
        help="Trust this public key PEM (repeatable). Also: evidence.trusted_keys,"
        " COMPLIANCE_TRUSTED_KEYS.",
    )(func)
