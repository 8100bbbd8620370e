"""pgcore.cartpole.curves: bands over seeds, per-algorithm summaries, and reading the
reference curves that scripts/make_reference_curves.py writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pgcore.cartpole.config import ALGOS
from pgcore.cartpole.curves import parse_reference_curves, seed_band, summarize_by_algo
from tests.test_cartpole_runs import make_run

# --- comparisons ---------------------------------------------------------------------------


def test_seed_band_of_identical_runs_has_zero_width():
    a, b = make_run([100.0] * 30, name="a"), make_run([100.0] * 30, name="b")
    band = seed_band([a, b], points=50)
    assert band is not None and band.runs == 2
    np.testing.assert_allclose(band.mean, 100.0)
    np.testing.assert_allclose(band.high - band.low, 0.0, atol=1e-12)


def test_seed_band_is_mean_plus_minus_std_within_the_runs_range():
    a, b = make_run([100.0] * 30, name="a"), make_run([300.0] * 30, name="b")
    band = seed_band([a, b], points=20)
    # at step 3000 both runs are past their first episode (ends at 100 and 300)
    np.testing.assert_allclose(band.mean, 200.0)
    np.testing.assert_allclose(band.low, 100.0)  # mean − std = 100 exactly
    np.testing.assert_allclose(band.high, 300.0)
    assert seed_band([a]) is None


def test_summary_counts_solved_runs_and_medians():
    solved_fast = make_run([500.0] * 20, name="s1", steps_to_solve=10_000, eval_mean_return=490.0)
    solved_slow = make_run([100.0] * 10 + [500.0] * 25, name="s2", steps_to_solve=13_000, eval_mean_return=480.0)
    window_only = make_run([500.0] * 20, name="w", eval_mean_return=300.0)  # the check failed
    unsolved = make_run([100.0] * 30, name="u")
    other = make_run([50.0] * 5, algo="actor_critic", name="ac")
    summary = summarize_by_algo([solved_fast, solved_slow, window_only, unsolved, other])
    assert [s.algo for s in summary] == ["reinforce", "actor_critic"]
    r = summary[0]
    assert window_only.window_solved_at == 10_000 and not window_only.solved
    assert (r.runs, r.solved) == (4, 2)
    assert r.median_steps_to_solve == pytest.approx(11_500)
    assert r.min_steps_to_solve == 10_000
    assert summary[1].solved == 0 and summary[1].median_steps_to_solve is None


# --- reference curves --------------------------------------------------------------------------


def test_reference_curves_read_the_format_the_script_writes():
    entry = {
        "name": "reinforce (fast)",
        "algo": "reinforce",
        "preset": "fast",
        "normalized": False,
        "seeds": [0, 1, 2],
        "max_env_steps": 150_000,
        "env_steps": [0, 1, 2],
        "mean": [1, 2, 3],
        "low": [0, 1, 2],
        "high": [2, 3, 4],
        "steps_to_solve": [40_000, None, 2.5e4],
        "window_solved_at": [39_000, 70_000, 25_000],
    }
    curves, notes = parse_reference_curves(json.dumps({"description": "…", "curves": [entry], "runs": []}))
    assert len(curves) == 1 and not notes, notes
    curve = curves[0]
    assert (curve.name, curve.algo, curve.preset, curve.normalized) == ("reinforce (fast)", "reinforce", "fast", False)
    assert curve.note == "3 seeds" and curve.max_env_steps == 150_000
    assert curve.steps_to_solve == (40_000, None, 25_000)
    np.testing.assert_array_equal(curve.mean, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(curve.high - curve.low, [2.0, 2.0, 2.0])
    # band optional; an algo the project does not have is kept as a curve with no algo
    bare = {"name": "x", "algo": "ppo", "env_steps": [0, 1], "mean": [5, 6]}
    curves, notes = parse_reference_curves(json.dumps({"curves": [bare]}))
    assert not notes and curves[0].algo is None and curves[0].low is None and curves[0].note == ""


def test_reference_curves_in_other_layouts_are_refused_with_a_note():
    """One format is read, the one scripts/make_reference_curves.py writes; the synonyms a
    hand-written file might use (a mapping instead of a list, steps/x, y/mean_return) are not."""
    layouts = [
        {"curves": {"reinforce": {"env_steps": [0, 1, 2], "mean": [1, 2, 3]}}},
        {"algos": {"actor_critic": {"steps": [0, 1], "mean_return": [5, 6]}}},
        {"curves": [{"algo": "reinforce_value", "x": [0, 1], "y": [1, 1], "seeds": 10}]},
    ]
    for layout in layouts:
        curves, notes = parse_reference_curves(json.dumps(layout))
        assert curves == [] and len(notes) == 1, (layout, notes)


def test_reference_curves_skip_what_is_broken_and_say_so():
    data = {
        "curves": [
            {"name": "reinforce", "env_steps": [0, 1], "mean": [1]},
            {"name": "b", "foo": 1},
            {"name": "reinforce_value", "algo": "reinforce_value", "env_steps": [0, 1], "mean": [1, 2]},
            "not an entry",
        ]
    }
    curves, notes = parse_reference_curves(json.dumps(data))
    assert [c.name for c in curves] == ["reinforce_value"]
    assert len(notes) == 3
    for garbage in (b"\xff\xfe", b"[1]", b'{"curves": 3}', b"NaN"):
        curves, notes = parse_reference_curves(garbage)
        assert curves == [] and notes


def test_the_shipped_reference_file_is_read_completely():
    path = Path(__file__).resolve().parents[1] / "data" / "reference_curves.json"
    assert path.exists(), (
        "data/reference_curves.json is shipped with the app; regenerate it with scripts/make_reference_curves.py"
    )
    curves, notes = parse_reference_curves(path.read_bytes())
    assert curves and not notes
    assert {c.algo for c in curves} <= set(ALGOS) and all(c.algo for c in curves)
    assert all(c.low is not None and c.high is not None and c.steps_to_solve for c in curves)
    assert all(np.all(np.diff(c.env_steps) >= 0) for c in curves)
