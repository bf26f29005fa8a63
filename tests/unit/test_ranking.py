"""The candidates' ranking: which pass every limit, the best by the rule, the Pareto front."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_llmperf.report.markdown import ranking_section
from pytest_llmperf.report.ranking import ranking
from pytest_llmperf.report.terminal import ranking_lines
from pytest_llmperf.settings.parsers import rank_rule

RULE = (("max", "accuracy"), ("min", "cost"))


def record(name: str, accuracy: float, cost: float, latency: float, *outcomes: str) -> dict:
    figures = {
        "accuracy": accuracy,
        "cost_usd": cost,
        "latency_p50_ms": latency,
        "output_tokens": 10.0,
        "peak_memory_mb": 100.0,
    }
    # limit_0 bounds latency at 1.5x a 40 ms baseline, limit_1 accuracy at 0.6 and up.
    limits = [
        {"metric": "latency", "kind": "ratio", "budget": 1.5, "baseline": 40.0},
        {"metric": "accuracy", "kind": "floor", "budget": 0.6, "baseline": None},
    ]
    verdicts = [{"limit": f"limit_{i}", "outcome": o, **limits[i]} for i, o in enumerate(outcomes)]
    return {
        "test": f"t.py::test_it[{name}]",
        "judged": True,
        "failed": "FAIL" in outcomes,
        "candidate": {"id": name, "name": f"./{name}", "figures": figures},
        "verdicts": verdicts,
    }


RECORDS = [
    record("a", 0.8, 2.0, 50.0, "pass", "pass"),
    record("b", 0.8, 1.0, 50.0, "pass", "pass"),
    record("c", 0.9, 3.0, 50.0, "pass", "FAIL"),
    record("d", 0.5, 1.0, 60.0, "pass", "inconclusive"),
]


def test_best_passes_every_limit_and_wins_by_the_rule():
    ranked = ranking(RECORDS, RULE)
    rows = {row["candidate"]: row for row in ranked["candidates"]}
    assert [name for name, row in rows.items() if row["passes_every_limit"]] == ["a", "b"]
    assert ranked["best"] == "b"
    assert rows["c"]["limits"] == {"limit_0": "pass", "limit_1": "FAIL"}


def test_the_rule_decides_which_figure_comes_first():
    assert ranking(RECORDS, (("min", "cost"), ("max", "accuracy")))["best"] == "b"
    slow_but_cheap = [record("x", 0.9, 2.0, 50.0, "pass"), record("y", 0.7, 1.0, 50.0, "pass")]
    assert ranking(slow_but_cheap, RULE)["best"] == "x"
    assert ranking(slow_but_cheap, (("min", "cost"),))["best"] == "y"


def test_pareto_front_names_the_undominated():
    # a is beaten by b (same accuracy, cheaper); d by b; c is the most accurate.
    assert ranking(RECORDS, RULE)["pareto_optimal"] == ["b", "c"]


def test_no_candidate_passing_recommends_none():
    failing = [record("a", 0.8, 1.0, 50.0, "FAIL"), record("b", 0.8, 1.0, 50.0, "FAIL")]
    ranked = ranking(failing, RULE)
    assert ranked["best"] is None
    assert "recommended: none" in "\n".join(ranking_lines(ranked))


def test_not_compared_decides_nothing_and_inconclusive_is_named():
    records = [
        record("a", 0.8, 1.0, 50.0, "pass", "not compared"),
        record("b", 0.9, 1.0, 50.0, "pass", "inconclusive"),
    ]
    ranked = ranking(records, RULE)
    assert ranked["best"] == "a"
    assert "not: limit_1?" in "\n".join(ranking_lines(ranked))
    # Held back by an inconclusive limit alone, b is named after the recommendation too.
    assert list(ranking_lines(ranked))[-1].endswith(
        "no limit failed, some inconclusive (?): b: more questions, not more runs, would "
        "settle them"
    )
    unsure = ranking([records[1], record("c", 0.9, 1.0, 50.0, "FAIL")], RULE)
    assert unsure["best"] is None
    assert "no limit failed, some inconclusive (?): b:" in "\n".join(ranking_lines(unsure))


def test_what_would_settle_an_inconclusive_limit_is_said_per_kind():
    # limit_0 is on latency (more runs settle it), limit_1 on accuracy (more questions do).
    def unsure(*records: dict) -> str:
        ranked = ranking([*records, record("z", 0.9, 1.0, 50.0, "FAIL")], RULE)
        return next(line for line in ranking_lines(ranked) if "inconclusive (?)" in line)

    slow = record("a", 0.8, 1.0, 50.0, "inconclusive", "pass")
    unsure_gain = record("b", 0.8, 1.0, 50.0, "pass", "inconclusive")
    assert unsure(slow).endswith(": a: more runs or a quieter machine would settle them")
    assert unsure(unsure_gain).endswith(": b: more questions, not more runs, would settle them")
    assert unsure(slow, unsure_gain).endswith(
        ": a, b: more runs or a quieter machine would settle limit_0; "
        "more questions, not more runs, would settle limit_1"
    )


def test_one_candidate_has_no_ranking():
    assert ranking(RECORDS[:1], RULE) is None


def test_terminal_and_markdown_say_the_same():
    ranked = ranking(RECORDS, RULE)
    terminal = "\n".join(ranking_lines(ranked))
    markdown = "\n".join(ranking_section(ranked))
    for text in (terminal, markdown):
        assert (
            "recommended: b (of those passing, highest accuracy, then lowest cost/request)" in text
        )
        assert "not: limit_1" in text


@pytest.mark.parametrize("bad", ["fastest", "max:speed", "up:cost", ""])
def test_bad_rank_rule_says_the_valid_figures(bad):
    with pytest.raises(ValueError, match="max:FIGURE or min:FIGURE"):
        rank_rule(bad)


figures = st.floats(min_value=0, max_value=100, allow_nan=False)


@given(st.lists(st.tuples(figures, figures, figures), min_size=2, max_size=6))
def test_the_best_is_pareto_optimal_and_the_front_is_never_empty(points):
    records = [record(f"m{i}", a / 100, c, lat, "pass") for i, (a, c, lat) in enumerate(points)]
    ranked = ranking(records, (("max", "accuracy"), ("min", "cost"), ("min", "latency")))
    assert ranked["pareto_optimal"]
    assert ranked["best"] in ranked["pareto_optimal"]


def test_budget_on_a_figure_turns_ratios_and_drops_into_values():
    from pytest_llmperf.report.ranking_plot import budget_on

    verdicts = [
        {"metric": "latency", "kind": "ratio", "budget": 1.5, "baseline": 40.0},
        {"metric": "latency", "kind": "absolute", "budget": 70.0, "baseline": None},
        {"metric": "accuracy", "kind": "floor", "budget": 0.6, "baseline": None},
        {"metric": "accuracy", "kind": "drop", "budget": 0.05, "baseline": 0.8},
    ]
    assert budget_on([{"verdicts": verdicts}], "latency") == (60.0, None)
    assert budget_on([{"verdicts": verdicts}], "accuracy") == (None, pytest.approx(0.75))
    floor_ratio = {"metric": "throughput_tokens", "kind": "floor_ratio", "budget": 0.9}
    at_baseline = [{"verdicts": [{**floor_ratio, "baseline": 200.0}]}]
    assert budget_on(at_baseline, "throughput_tokens") == (None, pytest.approx(180.0))


def test_the_ranking_plot_colours_by_verdict_and_hides_no_candidate():
    pytest.importorskip("matplotlib")
    from pytest_llmperf.report.ranking_plot import FAILS, PASSES, ranking_figure

    records = [*RECORDS, record("e", 0.8, 1.0, 80.0, "FAIL", "pass")]  # e at b's cost
    figure = ranking_figure(ranking(records, RULE), records)
    latency_panel, cost_panel = figure.axes[:2]
    assert latency_panel.get_title() == "accuracy vs latency p50"
    assert cost_panel.get_title() == "accuracy vs cost/request"
    # The region where the mean figures meet every test's limits: latency up to 1.5 x 40 ms,
    # accuracy from 0.6; cost is limited by no test, so its panel says so and shades nothing.
    (shaded,) = [c for c in latency_panel.collections if "limits" in c.get_label()]
    corners = shaded.get_paths()[0].vertices
    assert corners[:, 0].max() == pytest.approx(60.0)
    assert corners[:, 1].min() == pytest.approx(0.6)
    assert not [c for c in cost_panel.collections if "limits" in c.get_label()]
    assert any("no budget region: cost/request" in t.get_text() for t in cost_panel.texts)
    assert latency_panel.get_xlim()[0] == 0  # no negative latency on the axis
    assert latency_panel.get_ylim()[1] <= 1.05  # accuracy never shown far above 1
    # Candidates at the same point share one label; the recommended one is drawn on top.
    assert {t.get_text() for t in cost_panel.texts} >= {"b, e", "a", "c", "d"}
    best = [c for c in cost_panel.collections if c.get_sizes()[0] == 200]
    assert len(best) == 1 and best[0].get_zorder() > 3
    colours = {tuple(c.get_facecolor()[0]) for c in latency_panel.collections}
    from matplotlib.colors import to_rgba

    assert {to_rgba(PASSES), to_rgba(FAILS)} <= colours
    # The key says which limits failed; money ticks are dollars, with no 1e-5 offset.
    texts = [t.get_text() for axes in figure.axes for t in axes.texts]
    assert "c fails limit_1\nd: limit_1 inconclusive\ne fails limit_0" in texts
    figure.canvas.draw()
    assert cost_panel.xaxis.get_offset_text().get_text() == ""
    ticks = [t.get_text() for t in cost_panel.get_xticklabels() if t.get_text()]
    assert ticks and all(t.startswith("$") for t in ticks)


def test_a_candidate_meeting_every_tests_limit_lies_within_the_budget_region():
    """Two tests, 2x latency budgets at 20 ms and 60 ms baselines: the region is the mean
    of the tests' own bounds (80 ms), so a candidate at 30 and 100 ms (mean 65) that passes
    both lies inside; the smallest bound (40 ms) would have put it outside."""
    from pytest_llmperf.report.ranking_plot import budget_region

    def judged(test: str, candidate: str, latency: float, baseline: float) -> dict:
        verdict = {"limit": "latency_ratio", "metric": "latency", "kind": "ratio"}
        return {
            "test": f"t.py::{test}[{candidate}]",
            "judged": True,
            "candidate": {
                "id": candidate,
                "name": candidate,
                "figures": {"latency_p50_ms": latency},
            },
            "verdicts": [{**verdict, "budget": 2.0, "baseline": baseline, "outcome": "pass"}],
        }

    # Live runs measured the baseline per candidate: 18/20/22 ms, the median (20) counts.
    records = [
        judged("test_a", "x", 30.0, 20.0),
        judged("test_b", "x", 100.0, 60.0),
        judged("test_a", "y", 35.0, 18.0),
        judged("test_b", "y", 110.0, 60.0),
        judged("test_a", "z", 36.0, 22.0),
        judged("test_b", "z", 112.0, 60.0),
    ]
    assert budget_region(records, "latency") == (pytest.approx(80.0), None)
    assert budget_region(records, "latency")[0] > (30.0 + 100.0) / 2
    # A test that sets no limit on the figure leaves it free: no region.
    records[3]["verdicts"][0]["outcome"] = "not compared"  # for one candidate is enough
    assert budget_region(records, "latency") == (None, None)


# --- figures within their noise are equal ---------------------------------------------------


def measured(
    name: str,
    latency_runs: list[list[float]],
    memory: float,
    tokens: float = 10.0,
    accuracy: float = 0.8,
):
    """A passing candidate with per-run latencies (one list of repeats per prompt)."""
    runs = [value for prompt in latency_runs for value in prompt]
    ordered = sorted(runs)
    figures = {
        "accuracy": accuracy,
        "cost_usd": tokens / 10,
        "latency_p50_ms": ordered[len(ordered) // 2],
        "output_tokens": tokens,
        "peak_memory_mb": memory,
        "prompts": len(latency_runs),
        "latencies_ms": runs,
    }
    return {
        "test": f"t.py::test_it[{name}]",
        "judged": True,
        "failed": False,
        "candidate": {"id": name, "name": f"./{name}", "figures": figures},
        "verdicts": [{"limit": "latency_ratio", "outcome": "pass"}],
    }


# Two prompts of different lengths, three repeats each, about 5% apart run to run.
def runs_at(scale: float) -> list[list[float]]:
    return [[v * scale for v in (95.0, 100.0, 105.0)], [v * scale for v in (190.0, 200.0, 210.0)]]


def test_a_memory_peak_within_its_tolerance_makes_no_one_pareto_optimal():
    """The example project's case: verbose, longer and costlier, read 0.191 MB of peak
    memory against short's 0.193 MB; that alone must not put it on the front."""
    short = measured("short", runs_at(1.0), memory=0.193)
    verbose = measured("verbose", runs_at(2.0), memory=0.191, tokens=30.0)
    ranked = ranking([short, verbose], RULE)
    assert ranked["pareto_optimal"] == ["short"]
    assert ranked["best"] == "short"
    assert "peak memory within 2%" in "\n".join(ranking_lines(ranked))


def test_identical_copies_are_tied_on_latency_noise_and_both_pareto_optimal():
    """Two copies of one model: the slower-by-noise one is neither dominated nor passed
    over for its latency; the first judged is named, and the text says why."""
    first = measured("short", runs_at(1.01), memory=100.0)
    copy = measured("copy", runs_at(1.0), memory=100.0)
    ranked = ranking([first, copy], (*RULE, ("min", "latency")))
    assert ranked["pareto_optimal"] == ["short", "copy"]
    assert ranked["best"] == "short"
    assert ranked["ties"] == [
        {"figure": "latency", "candidates": ["short", "copy"], "then": "first judged"}
    ]
    text = "\n".join(ranking_lines(ranked))
    assert (
        "short and copy are tied on latency p50 (within the noise), and no later figure of "
        "the rule tells them apart: short, the first judged, is named"
    ) in text
    assert "figures within their noise count as equal: latency p50 within 5%" in text
    assert "- short and copy are tied on latency p50" in "\n".join(ranking_section(ranked))


def test_a_tie_within_the_noise_hands_the_decision_to_the_next_figure():
    # fast is more accurate, so neither dominates; the rule looks at latency, then cost.
    fast_costly = measured("fast", runs_at(1.0), memory=100.0, tokens=12.0, accuracy=0.9)
    slow_cheap = measured("slow", runs_at(1.02), memory=100.0, tokens=10.0)
    ranked = ranking([fast_costly, slow_cheap], (("min", "latency"), ("min", "cost")))
    assert ranked["best"] == "slow"
    assert (
        "fast and slow are tied on latency p50 (within the noise): the next figure decides"
        in "\n".join(ranking_lines(ranked))
    )
    # Beyond the noise, latency decides alone and no tie is told.
    faster = measured("fast", runs_at(0.5), memory=100.0, tokens=12.0, accuracy=0.9)
    ranked = ranking([faster, slow_cheap], (("min", "latency"), ("min", "cost")))
    assert ranked["best"] == "fast" and ranked["ties"] == []


def test_run_to_run_noise_leaves_the_spread_between_prompts_out():
    from pytest_llmperf.judge.stats import run_to_run_cv

    assert run_to_run_cv([95.0, 100.0, 105.0, 190.0, 200.0, 210.0], 2) == pytest.approx(0.05)
    assert run_to_run_cv([100.0, 200.0], 2) > 0.4  # one run per prompt: only the wide spread


jitter = st.floats(min_value=-0.02, max_value=0.02)  # at most about 4% apart


@given(st.lists(jitter, min_size=2, max_size=5), st.floats(min_value=10, max_value=1000))
def test_copies_within_the_noise_are_never_ranked_apart(jitters, latency):
    """Copies whose latencies differ by less than their 5% run-to-run spread: all are
    Pareto-optimal and the first judged is recommended, whatever the jitter."""
    copies = [
        measured(f"copy{i}", runs_at(latency / 100 * (1 + j)), memory=100.0)
        for i, j in enumerate(jitters)
    ]
    ranked = ranking(copies, (("max", "accuracy"), ("min", "latency")))
    names = [f"copy{i}" for i in range(len(jitters))]
    assert ranked["pareto_optimal"] == names
    assert ranked["best"] == "copy0"


def scored(row: dict, answers: int) -> dict:
    row["candidate"]["figures"]["answers_scored"] = answers
    return row


def test_an_accuracy_lead_within_the_intervals_is_not_significant():
    """0.84 against 0.81 on 100 answers each: the 95% Clopper-Pearson intervals overlap, so
    the cheaper candidate is recommended, saying the lead it passed over is not significant;
    on 5,000 answers each the more accurate one wins."""
    few = [
        scored(record("sharp", 0.84, 2.0, 50.0, "pass"), 100),
        scored(record("cheap", 0.81, 1.0, 50.0, "pass"), 100),
    ]
    ranked = ranking(few, RULE)
    assert ranked["best"] == "cheap"
    lines = list(ranking_lines(ranked))
    assert any(
        "sharp's accuracy lead (0.840 vs 0.810) is not significant: their 95% intervals overlap"
        in line
        for line in lines
    ), lines
    assert any("accuracy while 95% intervals overlap" in line for line in lines)
    many = [scored(row, 5000) for row in few]
    assert ranking(many, RULE)["best"] == "sharp"


def test_several_answers_to_a_question_count_as_one_question_in_the_interval():
    """5,000 answers, but 5 to each of 1,000 questions: the intervals are those of 1,000
    questions, too wide to call a lead of 0.84 against 0.81."""

    def sampled(row: dict) -> dict:
        answers = [{"id": f"q{n // 5}", "score": 1.0, "correct": True} for n in range(5000)]
        row["candidate"]["figures"]["questions"] = answers
        return scored(row, 5000)

    rows = [record("sharp", 0.84, 2.0, 50.0, "pass"), record("cheap", 0.81, 1.0, 50.0, "pass")]
    assert ranking([scored(row, 1000) for row in rows], RULE)["best"] == "cheap"
    assert ranking([sampled(row) for row in rows], RULE)["best"] == "cheap"


def as_baseline(row: dict) -> dict:
    """The record of a candidate that is the --llm-baseline model itself."""
    return {**row, "candidate": {**row["candidate"], "is_baseline": True}}


def test_the_baseline_among_the_candidates_is_named_and_never_recommended():
    # b would win (same accuracy as a, cheaper), but b is the baseline matched by the glob.
    records = [RECORDS[0], as_baseline(RECORDS[1]), *RECORDS[2:]]
    ranked = ranking(records, RULE)
    rows = {row["candidate"]: row for row in ranked["candidates"]}
    assert rows["b"]["is_baseline"] and not rows["a"]["is_baseline"]
    assert ranked["best"] == "a"
    assert ranked["baseline"] == "b"
    terminal = "\n".join(ranking_lines(ranked))
    markdown = "\n".join(ranking_section(ranked))
    for text in (terminal, markdown):
        assert "b (baseline)" in text
        assert "recommended: a " in text
        assert "b is the baseline itself (--llm-baseline)" in text
        assert "recommended: b" not in text


def test_only_the_baseline_passing_recommends_none():
    records = [as_baseline(RECORDS[1]), RECORDS[2]]
    ranked = ranking(records, RULE)
    assert ranked["best"] is None
    assert "recommended: none: no candidate but the baseline passes every limit" in "\n".join(
        ranking_lines(ranked)
    )
