"""The README's table of checks, rendered from each check's metadata."""

from __future__ import annotations

from tasks.access.registry import discover


def render_checks_markdown() -> str:
    rows = [
        "| check | category | severity | title | CIS AWS | SOC 2 |",
        "|---|---|---|---|---|---|",
    ]
    for check_id, cls in sorted(
        discover().items(), key=lambda kv: (kv[1].metadata.category, kv[0])
    ):
        m = cls.metadata
        cis = ", ".join(m.mappings.cis_aws) or "—"
        rows.append(
            f"| `{check_id}` | {m.category} | {m.severity.value} | {m.title} | {cis} | {', '.join(m.mappings.soc2)} |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(render_checks_markdown(), end="")
