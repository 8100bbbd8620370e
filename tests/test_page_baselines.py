"""The Baselines & variance page under AppTest: defaults, seed 004's arithmetic, the γᵗ
toggle, the bandit's b* = E[R] case, and every widget at its extremes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from devtools.app_testing import assert_healthy, chart_specs, page_app, shown_text, sweep_every_widget
from pgcore.bandit import Bandit
from pgcore.estimators import exact_moments
from pgcore.grid1d import expected_return_grad


def latex(at) -> str:
    return "\n".join(el.value for el in at.latex)


def markdown(at) -> str:
    return "\n".join(el.value for el in at.markdown)


def section(name: str) -> dict[str, str]:
    """A link that opens one section of the page (only the chosen section is drawn)."""
    return {"section": name}


SECTIONS = ("Five baselines", "Best constant b*", "Why it is free", "By hand", "Learning race", "Bandit, exact")


def every_section(at):
    """Each section in turn, as the learner opens them with the picker."""
    for name in SECTIONS:
        at.segmented_control(key="bl_section").set_value(name).run()
        assert_healthy(at)
        yield name


def test_defaults_show_exact_gradient_and_true_b_star():
    at = page_app("baselines", query=section("Best constant b*"))
    text = latex(at)
    mom = exact_moments(0.0)
    assert rf"\frac{{\partial J}}{{\partial \theta_1}} = {expected_return_grad(0.0)[0]:.4f}" in text
    assert f"= {mom.optimal_baseline:.4f}" in text  # b* = 0.4091, not E[G] = 0.2821
    assert f"{mom.return_mean:.4f}" in text
    titles = [spec["layout"]["title"]["text"] for _ in every_section(at) for spec in chart_specs(at)]
    # histograms, mean ± std; the parabola; the lemma, the offset; the bands, the race; 3 bandit charts
    assert len(titles) == 10 and len(set(titles)) == 10, titles


def test_table_is_unbiased_within_four_standard_errors():
    at = page_app("baselines")
    table = markdown(at)
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| baseline |")]
    z_scores = [float(line.split("|")[8]) for line in rows[:5]]
    assert len(z_scores) == 5
    assert all(abs(z) < 4 for z in z_scores), z_scores


def test_seed_004_arithmetic_and_its_reset():
    at = page_app("baselines", query=section("By hand"))
    text = latex(at)
    for piece in ("= 50.00", "= -27.00", "= 2.50", "= 1.50", r"11.50 \;\to\; 2.00", "= 9.50"):
        assert piece in text, piece
    at.number_input(key="bl_cb").set_value(0.0).run()
    assert_healthy(at)
    assert "= 2.50" not in latex(at)
    at.button(key="bl_seed004").click().run()
    assert_healthy(at)
    assert "= 2.50" in latex(at)


def test_dropping_gamma_t_shows_the_bias():
    at = page_app("baselines")
    assert not at.warning
    at.toggle(key="bl_weight").set_value(False).run()
    assert_healthy(at)
    assert at.warning and "bias" in at.warning[0].value
    biased = exact_moments(0.0, discount_weight=False).mean
    assert rf"\mathbb{{E}}[\hat g] = {biased:.4f}" in latex(at)


def test_offset_moves_the_gradient_and_keeps_the_page_healthy():
    at = page_app("baselines")
    at.slider(key="bl_offset").set_value(2.0).run()
    assert_healthy(at)
    assert f"= {expected_return_grad(0.0, 0.0, 0.9, 2.0)[0]:.4f}" in latex(at)


def test_bandit_b_star_equals_expected_reward_for_equal_preferences():
    at = page_app("baselines", query=section("Bandit, exact"))
    for i in range(3):
        at.slider(key=f"bl_h{i}").set_value(1.0)
    at.run()
    assert_healthy(at)
    match = re.search(r"= (-?[\d.]+)\\quad\\text\{vs\}\\quad \\mathbb\{E\}\[R\] = (-?[\d.]+)", latex(at))
    assert match and match.group(1) == match.group(2)
    # default skewed arms: they differ, and b = E[R] is worse than no baseline
    for i, h in enumerate((2.0, 1.0, 0.5)):
        at.slider(key=f"bl_h{i}").set_value(h)
    at.run()
    bandit = Bandit((2.0, 1.0, 0.5), (2.0, 0.0, 0.5), 0.5)
    assert f"{bandit.optimal_baseline:.4f}" in latex(at)
    assert at.info and "worse" in at.info[0].value


def test_large_n_and_extreme_policy():
    at = page_app("baselines")
    at.slider(key="bl_n").set_value(10_000)
    at.slider(key="bl_theta1").set_value(4.0)
    at.slider(key="bl_theta2").set_value(-4.0)
    at.slider(key="bl_gamma").set_value(1.0)
    at.slider(key="bl_offset").set_value(-2.0)
    at.run()
    assert_healthy(at)
    assert len(list(every_section(at))) == len(SECTIONS)  # each checked healthy at these settings


@pytest.mark.slow
@pytest.mark.parametrize("name", SECTIONS)
def test_every_widget_through_its_extremes(name):
    runs = sweep_every_widget("baselines", timeout=120, query=section(name))
    assert runs > 10  # the section picker and the section's own controls, at their extremes and between


@pytest.mark.parametrize("name", ["Five baselines", "Best constant b*", "Why it is free"])
def test_extreme_settings_show_honest_ratios_and_keep_every_mark_on_the_parabola(name):
    at = page_app("baselines", query=section(name))
    at.slider(key="bl_theta1").set_value(-4.0)
    at.slider(key="bl_theta2").set_value(4.0)
    at.slider(key="bl_gamma").set_value(0.5)
    at.slider(key="bl_n").set_value(100)
    at.slider(key="bl_offset").set_value(2.0).run()
    assert_healthy(at)
    text = "\n".join(shown_text(at))
    assert not re.search(r"\d{7,}(\.\d)?×", text), "a ratio of rounding noise is shown as a measurement"
    assert not re.search(r"/\s*0\.0000\b|\{0\.0000\}", text)
    if name != "Best constant b*":
        return
    parabola = next(
        s
        for s in chart_specs(at)
        if "parabola" in s["layout"]["title"]["text"].lower()
        or "variance of one estimate" in s["layout"]["title"]["text"].lower()
    )
    from devtools.app_testing import trace_arrays

    xs = next(trace_arrays(parabola["data"][0]))
    lines = [shape["x0"] for shape in parabola["layout"].get("shapes", [])]
    assert lines and xs.min() <= min(lines) and max(lines) <= xs.max(), (lines, xs.min(), xs.max())


def test_markdown_never_turns_b_star_into_italics():
    at = page_app("baselines")
    for _ in every_section(at):
        for block in at.markdown:
            assert not re.search(r"(?<!\\)b\*[^\\]", block.value.replace("b\\*", "")), block.value[:200]


def test_the_learning_note_says_whether_the_baselines_made_a_difference():
    at = page_app("baselines", query=section("Learning race"))
    note = next(m.value for m in at.markdown if m.value.startswith("Averaged over the updates"))
    assert "nearly coincide" in note  # at the defaults (c = 0) they do, and the page says so
    at.slider(key="bl_offset").set_value(1.0).run()
    note = next(m.value for m in at.markdown if m.value.startswith("Averaged over the updates"))
    assert "Clearly steadier here: batch mean, V(S1), optimal b\\*" in note


def test_the_learning_note_is_worded_from_the_spreads():
    import numpy as np

    from app.lessons import learning_note

    flat = np.zeros(3)
    labels = {"mean": "batch mean", "optimal": "optimal b*"}
    same = learning_note({"none": (flat, np.full(3, 0.1)), "mean": (flat, np.full(3, 0.09))}, labels)
    assert "nearly coincide" in same and "0.100 without a baseline, 0.090 with batch mean" in same
    apart = learning_note({"none": (flat, np.full(3, 0.3)), "optimal": (flat, np.full(3, 0.1))}, labels)
    assert "Clearly steadier here: optimal b*." in apart


def test_the_parabola_is_zoomed_on_the_marks_and_names_their_variances():
    at = page_app("baselines", query=section("Best constant b*"))
    parabola = next(s for s in chart_specs(at) if s["layout"]["title"]["text"].startswith("Variance of one estimate"))
    from devtools.app_testing import trace_arrays

    xs = next(trace_arrays(parabola["data"][0]))  # the exact curve's b values
    lines = [shape["x0"] for shape in parabola["layout"]["shapes"]]
    # before: a fixed b range of 5 wide, the marks 0.2 apart in it (4 %)
    assert (max(lines) - min(lines)) / (xs.max() - xs.min()) >= 0.15, "the marks are squeezed into a corner"
    names = [t.get("name", "") for t in parabola["data"]]
    assert any(n.startswith("optimal b*: Var ") for n in names), names


# --- the race and the tasks --------------------------------------------------------------------


def test_step_races_both_learners_once_on_the_same_episodes():
    from pgcore.grid_learning import race_step

    at = page_app("baselines", query={**section("Learning race"), "race_seed": "5", "race_baseline": "optimal b*"})
    at.button(key="bl_step").click().run()
    assert_healthy(at)
    race = at.session_state["bl_race"]
    want = race_step(
        [-2.0, -2.0],
        np.random.default_rng(5),
        baseline="optimal",
        theta2=0.0,
        gamma=0.9,
        episodes_per_update=4,
        step_size=3.0,
    )
    assert race["updates"] == 1 and race["theta"][1] == pytest.approx(tuple(want.theta), abs=1e-15)
    at.run()  # a rerun without a click takes no update
    assert at.session_state["bl_race"]["updates"] == 1
    race_spec = next(s for s in chart_specs(at) if s["layout"]["title"]["text"].startswith("The race"))
    assert [t["name"] for t in race_spec["data"]] == ["no baseline", "optimal b*"]


def test_play_runs_the_race_until_pause_and_leaving_the_section_pauses_it():
    at = page_app("baselines", query=section("Learning race"))
    at.segmented_control(key="bl_playback").set_value("Play").run()
    for _ in range(3):
        at.run()  # each run stands for one tick of the browser's timer
    assert at.session_state["bl_race"]["updates"] == 4
    at.segmented_control(key="bl_playback").set_value("Pause").run()
    at.run()
    assert at.session_state["bl_race"]["updates"] == 4 and at.session_state["bl_playback"] == "Pause"
    at.segmented_control(key="bl_playback").set_value("Play").run()
    at.segmented_control(key="bl_section").set_value("By hand").run()
    assert at.session_state["bl_playback"] == "Pause"


def _verdicts(at) -> list[str]:
    return [el.value for el in list(at.success) + list(at.info)]


def test_the_spread_task_names_b_star_with_both_variances():
    at = page_app("baselines")
    at.segmented_control(key="bl_guess_spread").set_value("V(S1)").run()
    mom = exact_moments(0.0)
    verdict = next(v for v in _verdicts(at) if v.startswith("Not *V(S1)* but **b*"))
    assert f"b\\* = {mom.optimal_baseline:.4f}" in verdict and f"V(S1) = {mom.return_mean:.4f}" in verdict


def test_the_offset_task_waits_for_c_and_then_answers_from_the_variances():
    at = page_app("baselines", query=section("Why it is free"))
    at.segmented_control(key="bl_guess_offset").set_value("grows").run()
    assert any("Now push the reward offset c to 1.5" in c.value for c in at.caption)
    at.slider(key="bl_offset").set_value(2.0).run()
    assert any(v.startswith("**Grows**, as you predicted") for v in _verdicts(at)), _verdicts(at)


def test_the_bandit_task_checks_equal_preferences():
    at = page_app("baselines", query={**section("Bandit, exact"), "h1": "1", "h2": "1", "h3": "1"})
    at.segmented_control(key="bl_guess_bandit").set_value("different").run()
    assert any(v.startswith("Not *different* but **equal**") for v in _verdicts(at)), _verdicts(at)


# --- the race: one update per Step, kept across runs, exact learner, reproducible -------------


def test_step_takes_exactly_one_update_of_all_three_learners_and_the_race_persists():
    from pgcore.grid_learning import exact_ascent_step, race_step

    at = page_app("baselines", query={**section("Learning race"), "race_seed": "7"})
    assert at.session_state["bl_race"]["updates"] == 0
    rng = np.random.default_rng(7)
    theta, exact = np.array([-2.0, -2.0]), -2.0
    settings = dict(theta2=0.0, gamma=0.9, reward_offset=0.0, step_size=3.0)
    for update in range(1, 4):
        at.button(key="bl_step").click().run()
        assert_healthy(at)
        race = at.session_state["bl_race"]
        want = race_step(theta, rng, baseline="value", episodes_per_update=4, **settings)
        theta, exact = want.theta, exact_ascent_step(exact, **settings)
        assert race["updates"] == update and len(race["theta"]) == update + 1
        assert race["theta"][-1] == pytest.approx(tuple(theta), abs=1e-12)
        assert race["exact"][-1] == pytest.approx(exact, abs=1e-12)
    for _ in range(2):  # reruns, a grid-section detour and back: no update, nothing lost
        at.run()
    at.segmented_control(key="bl_section").set_value("Five baselines").run()
    at.segmented_control(key="bl_section").set_value("Learning race").run()
    assert_healthy(at)
    assert at.session_state["bl_race"]["updates"] == 3
    table = markdown(at)
    assert "| exact gradient |" in table and f"| {exact:.3f} |" in table
    race_spec = next(s for s in chart_specs(at) if s["layout"]["title"]["text"].startswith("The race"))
    path = next(s for s in race_spec["layout"]["shapes"] if s.get("type") == "path")
    assert path["name"] == "exact gradient" and path["path"].count("L") == 3  # four points: start + 3 updates


def test_the_same_seed_replays_the_same_race_and_reset_starts_it_again():
    at = page_app("baselines", query=section("Learning race"))
    for _ in range(3):
        at.button(key="bl_step").click().run()
    first = list(at.session_state["bl_race"]["theta"])
    at.button(key="bl_race_reset").click().run()
    assert at.session_state["bl_race"]["updates"] == 0
    for _ in range(3):
        at.button(key="bl_step").click().run()
    assert at.session_state["bl_race"]["theta"] == first
    at.number_input(key="bl_race_seed").set_value(1).run()  # a new seed is a new race
    assert at.session_state["bl_race"]["updates"] == 0
    for _ in range(3):
        at.button(key="bl_step").click().run()
    assert at.session_state["bl_race"]["theta"] != first


@pytest.mark.parametrize(
    "query",
    [
        {"theta2": "-4", "gamma": "0.5", "c": "-2", "alpha": "6", "episodes": "2", "race_baseline": "batch mean"},
        {"theta2": "4", "gamma": "1", "c": "2", "alpha": "6", "episodes": "16", "gamma_t": "0"},
        {"theta2": "4", "gamma": "1", "c": "-2", "alpha": "0.5", "episodes": "2", "race_baseline": "optimal b*"},
    ],
)
def test_the_race_at_extreme_settings_stays_finite(query):
    at = page_app("baselines", query={**section("Learning race"), **query})
    for _ in range(25):
        at.button(key="bl_step").click().run()
    assert_healthy(at)  # no exception, NaN or inf anywhere on the page or in its charts
    race = at.session_state["bl_race"]
    assert race["updates"] == 25 and np.all(np.isfinite(race["theta"])) and np.all(np.isfinite(race["exact"]))


def test_a_setting_change_while_playing_restarts_the_race_and_keeps_playing():
    at = page_app("baselines", query=section("Learning race"))
    at.segmented_control(key="bl_playback").set_value("Play").run()
    at.run()
    assert at.session_state["bl_race"]["updates"] == 2
    at.slider(key="bl_alpha").set_value(1.0).run()  # a new α: a new race, still playing
    assert at.session_state["bl_playback"] == "Play" and at.session_state["bl_race"]["updates"] == 1
    assert at.query_params["alpha"] == "1"  # mirrored into the link


# --- a real server: a control reruns its own section's fragment only ----------------------------


@pytest.fixture(scope="module")
def server():
    from devtools.streamlit_client import ServerProcess

    with ServerProcess() as running:
        yield running


def _widget(session, label: str):
    found = [w for w in session.widgets.values() if w.label == label]
    assert len(found) == 1, sorted(w.label for w in session.widgets.values())
    return found[0]


@pytest.mark.slow
def test_race_controls_rerun_the_race_only_and_pause_stops_the_timer(server):
    from devtools.streamlit_client import Session

    with Session(server.url, timeout=120) as session:
        page = session.open("baselines", "section=Learning+race")
        assert page.finished and page.errors == [] and page.charts == 2  # the bands and the race
        step = session.set_widget(_widget(session, "Step"), True)
        assert step.finished and step.errors == []
        assert step.charts == 1 and step.elements < page.elements / 2  # the race, not the bands
        assert any("After 1 update," in text for text in step.texts)
        played = session.set_widget(_widget(session, "Play or pause"), ["Play"])
        assert played.finished and played.errors == [] and played.charts == 1
        assert len(session.auto_reruns) == 1 and next(iter(session.auto_reruns.values())) <= 0.25
        tick = session.auto_rerun(next(iter(session.auto_reruns)))
        assert tick.finished and tick.errors == []
        assert tick.charts == 1 and tick.elements < step.elements  # the race's chart and numbers only
        assert any("After 3 updates," in text for text in tick.texts)
        paused = session.set_widget(_widget(session, "Play or pause"), ["Pause"])
        assert paused.finished and not session.auto_reruns


@pytest.mark.slow
def test_grid_and_bandit_controls_rerun_their_own_section_only(server):
    from devtools.streamlit_client import Session

    with Session(server.url, timeout=120) as session:
        page = session.open("baselines", "")
        assert page.finished and page.errors == [] and page.charts == 2
        theta = _widget(session, "θ₁ (policy in S1)")
        assert theta.fragment_id, "the grid sliders are not inside the section's fragment"
        moved = session.set_widget(theta, 1.0)
        assert moved.finished and moved.errors == [] and moved.charts == 2
        assert moved.elements < page.elements  # not the title, the intro or the picker
        assert not any(text.startswith("A policy-gradient estimate") for text in moved.texts)
        # to the bandit with the picker (the grid's sliders leave the page), then a bandit control
        bandit = session.set_widget(_widget(session, "Section"), ["Bandit, exact"])
        assert bandit.finished and bandit.errors == [] and bandit.charts == 3
        b = session.set_widget(_widget(session, "Your baseline b"), 1.0)
        assert b.finished and b.errors == [], b.errors
        assert b.charts == 1 and b.elements < bandit.elements / 2  # the parabola and the table only
