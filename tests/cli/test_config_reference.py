"""The README's configuration reference is the one rendered from the config models."""

from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from cli.config import KNOWN_SECTIONS
from flows.registry import SECTIONS
from tasks.common import config_docs

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_reference_is_the_rendered_one():
    text = README.read_text(encoding="utf-8")
    assert config_docs.START in text and config_docs.END in text
    assert config_docs.current_block(text) == config_docs.render(), (
        "README's configuration reference is stale: run "
        "`python -m tasks.common.config_docs --write README.md`"
    )


def test_every_section_and_model_is_documented():
    rendered = config_docs.render()
    for section in KNOWN_SECTIONS:
        assert f"`{section}." in rendered, f"section {section!r} has no key in the reference"
    documented = {f"{m}:{n}" for _, m, n, _ in config_docs.sections()}
    assert {s.model for s in SECTIONS.values()} <= documented


def test_a_field_without_description_fails_the_render():
    class Bad(BaseModel):
        good: int = Field(default=1, description="described")
        bare: int = 2

    with pytest.raises(ValueError, match="Bad.bare has no Field description"):
        list(config_docs.rows(Bad, "x"))


def test_rows_flatten_nested_and_list_models():
    class Inner(BaseModel):
        n: int = Field(ge=1, description="a count")

    class Outer(BaseModel):
        one: Inner = Field(default_factory=lambda: Inner(n=1), description="one inner")
        many: list[Inner] = Field(default_factory=list, description="inners")
        kind: str | None = Field(default=None, description="a | b")

    rows = list(config_docs.rows(Outer, "s"))
    assert rows == [
        "| `s.one` | mapping | see below | One inner |",
        "| `s.one.n` | int (≥ 1) | required | A count |",
        "| `s.many` | list of mapping | `[]` | Inners |",
        "| `s.many[].n` | int (≥ 1) | required | A count |",
        "| `s.kind` | string | unset | A \\| b |",
    ]


def test_replace_block_is_idempotent():
    text = f"a\n{config_docs.START}\nold\n{config_docs.END}\nb\n"
    once = config_docs.replace_block(text, "new\n")
    assert once == f"a\n{config_docs.START}\nnew\n{config_docs.END}\nb\n"
    assert config_docs.replace_block(once, "new\n") == once
    assert config_docs.current_block(once) == "new\n"
