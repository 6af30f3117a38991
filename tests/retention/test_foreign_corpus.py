"""Recall and false positives on strings nobody here wrote: gitleaks' and Nosey Parker's own
rule tests, planted in Roo Code task logs in every carrier (scripts/build_foreign_corpus.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.retention.config import RedactionConfig
from tasks.retention.redact_io import redact_path
from tests.retention.foreign import CORPUS, load, score

# The targets: recall >= 0.95 (tuned half and held-out half), <= 2% benign destroyed.
RECALL_FLOOR = 0.95
HOLDOUT_FLOOR = 0.95
FP_CEILING = 0.02


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("foreign-red")
    redact_path(str(CORPUS / "tasks"), str(out / "tasks"), RedactionConfig(), b"k", workers=1)
    return score(out)


def test_every_string_has_provenance() -> None:
    strings, plants = load()
    assert len(strings) > 1500 and len(plants) == 5 * len(strings)
    for s in strings:
        assert s["source"] in ("gitleaks/gitleaks", "praetorian-inc/noseyparker")
        assert len(s["commit"]) == 40 and s["path"] and s["licence"] in ("MIT", "Apache-2.0")
        assert s["label"] == "negative" or s["value"] in s["text"]
    assert len({(s["source"], s["rule"]) for s in strings}) > 350


def test_unredacted_corpus_scores_zero(tmp_path: Path) -> None:
    """The scorer can fail: on the raw corpus nothing is removed and nothing destroyed."""
    raw = score(CORPUS)
    assert raw["recall"] == 0 and raw["destroyed"] == 0 and raw["structure_broken"] == 0


def test_recall_on_foreign_corpus(scored) -> None:
    assert scored["recall"] >= RECALL_FLOOR, scored["missed_rules"]
    assert scored["recall_dev"] >= RECALL_FLOOR
    assert scored["recall_holdout"] >= HOLDOUT_FLOOR


def test_benign_negatives_kept(scored) -> None:
    assert scored["fp_rate"] <= FP_CEILING


def test_every_carrier_and_json_shape(scored) -> None:
    assert set(scored["by_carrier"]) == {"command_output", "tool_json", "mcp_arguments", "api_history", "command_file"}  # fmt: skip
    assert scored["structure_broken"] == 0


def test_rules_load_from_the_installed_source_and_are_recorded(tmp_path: Path) -> None:
    import importlib.metadata as md

    from tasks.retention.sources import loaded_rules

    rules = loaded_rules()
    assert len(rules) > 100
    assert {r.source for r in rules} == {f"credsweeper=={md.version('credsweeper')}"}
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("key ya29.a0AfB_byC8Zq3vLm2Pw7rT4yKbN9sD1fXc5YgH6jQ0\n")
    summary = redact_path(str(tmp_path / "in"), str(tmp_path / "out"), RedactionConfig(), b"k", workers=1)  # fmt: skip
    sources = {s["source"]: s for s in summary["rule_sources"]}
    assert sources["credsweeper"]["version"] == md.version("credsweeper")
    assert summary["redactions"] == 1
