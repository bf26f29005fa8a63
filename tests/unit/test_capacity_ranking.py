"""Candidates ranked by their searched capacity (--llm-rank-by=max:capacity): brackets that
overlap tie, a search that held every rate has an open top, and a rule naming a figure no
candidate has says so."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_llmperf.report import markdown
from pytest_llmperf.report.ranking import ranking, table_rows, verdict_lines
from pytest_llmperf.results import CapacityFigures
from pytest_llmperf.settings.parsers import rank_rule

SLO = {"slo_latency_ms": 300.0}


def ranked_record(name: str, held: float | None, failed: float | None) -> dict[str, Any]:
    found = CapacityFigures(0.9, held, failed, False, "precision", (), SLO)
    figures = {"latency_p50_ms": 50.0, "output_tokens": 10.0}
    if held is not None or failed is not None:
        figures |= {"capacity": found.to_json(), "capacity_rps": found.capacity_rps}
    return {
        "test": f"t.py::test_it[{name}]",
        "judged": True,
        "failed": False,
        "candidate": {"id": name, "name": f"./{name}", "figures": figures},
        "verdicts": [{"limit": "min_capacity_rps", "outcome": "pass"}],
    }


def test_candidates_rank_by_capacity_and_brackets_that_overlap_tie() -> None:
    rule = (("max", "capacity"),)
    records = [ranked_record("slow", 10.0, 11.0), ranked_record("fast", 20.0, 21.0)]
    ranked = ranking(records, rule)
    assert ranked["best"] == "fast"
    assert ranked["pareto_optimal"] == ["fast"]
    assert "capacity (requests/s at the SLO)" in table_rows(ranked)[0]
    close = [ranked_record("a", 20.0, 21.0), ranked_record("b", 20.5, 21.5)]
    ranked = ranking(close, (*rule, ("min", "latency")))
    assert ranked["ties"][0]["figure"] == "capacity"
    text = "\n".join(verdict_lines(ranked))
    assert (
        "a and b are tied on capacity (requests/s at the SLO) (the lead is not significant: their search brackets overlap)"
        in text
    )
    assert "capacity (requests/s at the SLO) while search brackets overlap" in text


def test_a_search_that_held_every_rate_ranks_with_an_open_bracket() -> None:
    records = [ranked_record("capped", 40.0, None), ranked_record("known", 30.0, 31.0)]
    ranked = ranking(records, (("max", "capacity"),))
    rows = {row["candidate"]: row for row in ranked["candidates"]}
    assert rows["capped"]["intervals"]["capacity"] == [40.0, None]  # no top: as in JSON
    assert ranked["best"] == "capped"
    close = [ranked_record("capped", 40.0, None), ranked_record("near", 39.0, 41.0)]
    ranked = ranking(close, (("max", "capacity"), ("min", "latency")))
    assert ranked["ties"][0]["candidates"] == ["capped", "near"]
    # The Markdown renders the JSON report's ranking, read back from JSON.
    assert "recommended: capped" in "\n".join(
        markdown.ranking_section(json.loads(json.dumps(ranked)))
    )


def test_ranking_by_capacity_when_none_was_searched_says_why_and_what_to_do() -> None:
    records = [ranked_record("a", None, None), ranked_record("b", None, None)]
    ranked = ranking(records, (("max", "capacity"), ("min", "latency")))
    assert ranked["unmeasured"] == ["max:capacity"]
    text = "\n".join(verdict_lines(ranked))
    assert (
        "--llm-rank-by max:capacity decided nothing, no candidate measured it: no capacity "
        "in requests/s was searched: give generate() capacity=True"
    ) in text
    assert "capacity" not in " ".join(table_rows(ranked)[0])  # no empty column
    default = ranking(records, (("max", "accuracy"), ("min", "cost"), ("min", "latency")))
    assert default["unmeasured"] == []  # the default rule goes unremarked


def test_the_rank_rule_takes_capacity() -> None:
    assert rank_rule("max:capacity,min:cost") == (("max", "capacity"), ("min", "cost"))
    with pytest.raises(ValueError, match=r"FIGURE one of .*capacity"):
        rank_rule("max:capacity_rps")
