"""The Gradient step page under AppTest: the article's numbers at the defaults, Apply update /
Take 20 steps / Reset, the truth next to the guesses, the log-trick table, every widget."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from app.charts.grid import quiver_segments, trajectory_label
from devtools.app_testing import assert_healthy, chart_specs, page_app, shown_text, sweep_every_widget
from pgcore.grid1d import expected_return_grad, sample_episodes

#: Links that open one section of the page (only the chosen section is drawn).
HILL = {"section": "The hill J(θ)"}
TRICK = {"section": "Log-derivative trick"}
LEARN = {"section": "Watch it learn"}


def show(at, section: dict[str, str]):
    """Switch the page to another section, as the learner does with the section picker."""
    at.segmented_control(key="gs_section").set_value(section["section"]).run()
    assert_healthy(at)
    return at


def latex(at) -> str:
    return "\n".join(el.value for el in at.latex)


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_defaults_show_the_articles_numbers():
    at = page_app("gradient_step")
    text = latex(at)
    assert r"= \frac{1}{1 + e^{-0.0000}} = 0.5000" in text  # π(Right|S1)
    assert r"G_0 = R_1 + \gamma R_2 = 0 + 0.90 \cdot 1 = 0.9000" in text
    assert r"= 0.9000 - 0.5000 = 0.4000" in text  # Â
    assert r"= 0.5000 \cdot 0.5000 = 0.2500" in text  # ∇π(Right)
    assert r"= \frac{0.2500}{0.5000} = 0.5000" in text  # ∇log π(Right)
    assert r"= 0.5000 \cdot 0.4000 = 0.2000" in text  # ĝ
    assert r"= 0.0000 + 0.10 \cdot 0.2000 = 0.0200" in text  # θ update
    assert r"\sigma(0.0200) = 0.5050" in text
    # step 8, the Left alternative: Â = −0.5, ∇log π = −0.5, ĝ = 0.25, θ → 0.025
    assert r"\hat g = (-0.5000) \cdot (-0.5000) = 0.2500" in text
    assert r"0.0000 + 0.10 \cdot 0.2500 = 0.0250" in text


def test_guesses_sit_next_to_the_truth():
    at = page_app("gradient_step")
    text = "\n".join(shown_text(at))
    assert "V̂(S1) = 0.5000 (assumed) | V^π(S1) = **0.2821**" in text
    assert "G₀ = 0.9000 (one episode) | Q^π(S1, Right) = **0.5643**" in text
    assert "ĝ = 0.2000 | ∂J/∂θ₁ = **0.1769**" in text
    assert "1.2539" in latex(at) and "0.1411" in latex(at)  # visits × one visit's gradient


def test_apply_update_reset_and_twenty_steps():
    at = page_app("gradient_step")
    at.button(key="gs_apply").click().run()
    assert_healthy(at)
    assert at.session_state["gs_theta"] == pytest.approx(0.02, abs=1e-12)
    assert metrics(at)["θ₁ now"] == "0.0200"
    assert metrics(at)["π(Right|S1) now"] == "0.5050"
    assert metrics(at)["updates taken"] == "1"

    at.button(key="gs_reset").click().run()
    assert_healthy(at)
    assert at.session_state["gs_theta"] == 0.0
    assert metrics(at)["θ₁ now"] == "0.0000"
    assert metrics(at)["updates taken"] == "0"

    pis = []
    for _ in range(20):
        at.button(key="gs_apply").click().run()
        pis.append(float(metrics(at)["π(Right|S1) now"]))
    assert_healthy(at)
    assert all(b > a for a, b in zip(pis, pis[1:]))
    # twenty article updates θ ← θ + 0.1 · (1 − σ(θ)) · 0.4, in plain floats
    theta = 0.0
    for _ in range(20):
        theta += 0.1 * (1.0 - 1.0 / (1.0 + math.exp(-theta))) * 0.4
    assert at.session_state["gs_theta"] == pytest.approx(theta, abs=1e-9)
    assert pis[-1] == pytest.approx(1 / (1 + math.exp(-theta)), abs=5e-5)  # shown to 4 places
    assert any("Your updates" in spec["layout"]["title"]["text"] for spec in chart_specs(at))
    clicked = at.session_state["gs_theta"]

    at.button(key="gs_reset").click().run()
    at.button(key="gs_apply20").click().run()
    assert_healthy(at)
    assert at.session_state["gs_theta"] == pytest.approx(clicked, abs=1e-12)
    assert metrics(at)["updates taken"] == "20"


def test_moving_theta_by_hand_between_updates_is_not_counted_as_an_update():
    at = page_app("gradient_step")
    at.button(key="gs_apply").click().run()
    at.slider(key="gs_theta").set_value(1.0).run()
    at.button(key="gs_apply").click().run()
    assert_healthy(at)
    assert metrics(at)["updates taken"] == "2"
    assert at.session_state["gs_theta"] == pytest.approx(1.0 + 0.1 * 0.4 * (1 - 1 / (1 + math.exp(-1.0))), abs=1e-12)
    # the history keeps the hand-made jump: 0 → 0.02, then 1.0 → the update from 1.0
    assert [round(h[0], 2) for h in at.session_state["gs_history"]][:3] == [0.0, 0.02, 1.0]


def test_left_update_gives_0025():
    at = page_app("gradient_step")
    at.radio(key="gs_action").set_value("Left").run()
    at.button(key="gs_apply").click().run()
    assert_healthy(at)
    assert at.session_state["gs_theta"] == pytest.approx(0.025, abs=1e-12)


def test_steps_stop_at_the_edge_of_the_range():
    at = page_app("gradient_step")
    at.slider(key="gs_alpha").set_value(2.0)
    at.slider(key="gs_v").set_value(1.0)  # Left: ĝ = (−σ)(0 − 1) ≈ 1, so each step adds ≈ 2
    at.radio(key="gs_action").set_value("Left")
    at.slider(key="gs_theta").set_value(1.0).run()
    at.button(key="gs_apply20").click().run()
    assert_healthy(at)
    assert at.session_state["gs_theta"] == 6.0
    assert any("edge of its range" in t for t in shown_text(at))


def test_resample_moves_the_seed_and_the_estimate_is_unbiased_on_average():
    at = page_app("gradient_step", query=HILL)
    at.button(key="gs_resample").click().run()
    assert_healthy(at)
    assert at.session_state["gs_seed"] == 1
    text = "\n".join(shown_text(at))
    assert "which is the exact gradient 0.1769" in text
    # the episode shown is seed 1's, and its estimate G ∇log P is computed from it
    episode = sample_episodes(0.0, 1, np.random.default_rng(1), theta2=0.0, gamma=0.9)
    k, goal = int(episode.loops[0]), bool(episode.reached_goal[0])
    assert f"Sampled episode (seed 1): {trajectory_label(k, goal)}." in text
    ret, score = float(episode.returns[0]), float(episode.score_theta1[0])
    shown_score = f"({score:.4f})" if score < 0 else f"{score:.4f}"
    assert f"= {ret:.4f} \\cdot {shown_score} = {ret * score + 0.0:.4f}" in latex(at)  # + 0.0: no "-0.0000"
    text = "\n".join(shown_text(show(at, TRICK)))
    # on average: the page's sampled mean of ∇log π estimates is within 4 of its standard
    # errors of the exact ∂J/∂θ₁ (computed here, not read from the page)
    match = re.search(r"the ∇log π average is \*\*(-?[\d.]+) ± ([\d.]+)\*\*", text)
    assert match, text
    mean, standard_error = float(match.group(1)), float(match.group(2))
    assert 0 < standard_error < 0.01
    assert abs(mean - expected_return_grad(0.0, 0.0, 0.9)[0]) < 4 * standard_error + 5e-5  # + rounding


def test_trajectory_table_sums_to_the_exact_gradient():
    at = page_app("gradient_step", query=TRICK)
    at.slider(key="gs_cap").set_value(30).run()
    assert_healthy(at)
    text = latex(at)
    assert r"P\, G\, \nabla_{\theta_1} \log P = 0.176885" in text
    assert r"\frac{\partial J}{\partial \theta_1} = 0.176885" in text
    assert r"\text{probability not listed} = 0.000000" in text
    table = at.dataframe[0].value
    assert len(table) == 62
    assert table["τ"].iloc[0] == "S1 →L ✕"
    assert table["τ"].iloc[3] == "S1 →R S2 →L S1 →R S2 →R S3"


def test_without_dividing_by_pi_the_mean_is_wrong():
    at = page_app("gradient_step", query=TRICK)
    text = latex(at)
    # θ = 0, no baseline: E[G Σ∇π] = σ(0) · ∂J/∂θ₁ = 0.0884, not 0.1769
    assert r"= 0.0884 \neq 0.1769" in text
    assert "misses the gradient by -0.0884" in "\n".join(shown_text(at))


@pytest.mark.parametrize(
    "section", [{"section": name} for name in ("One update", "Watch it learn", "The hill J(θ)", "Log-derivative trick")]
)
def test_gamma_zero_and_extremes_are_healthy(section):
    at = page_app("gradient_step", query=section)
    if section == LEARN:
        at.button(key="gs_step").click().run()
    at.slider(key="gs_gamma").set_value(0.0).run()
    assert_healthy(at)
    at.slider(key="gs_gamma").set_value(1.0)
    at.slider(key="gs_theta").set_value(6.0)
    at.slider(key="gs_theta2").set_value(-6.0).run()
    assert_healthy(at)
    if section == HILL:
        at.radio(key="gs_estimator").set_value("G − V̂").run()
        assert_healthy(at)
    if section == LEARN:
        at.button(key="gs_step").click().run()
        assert_healthy(at)


def test_link_sets_the_controls():
    at = page_app("gradient_step", query={"theta1": "1.5", "action": "Left", "gamma": "7"})
    assert at.slider(key="gs_theta").value == 1.5
    assert at.radio(key="gs_action").value == "Left"
    assert at.slider(key="gs_gamma").value == 0.9  # out of range: default, with a notice
    assert at.info


def test_every_chart_is_titled_with_axes():
    at = page_app("gradient_step")
    specs = chart_specs(at)
    for section in (LEARN, HILL, TRICK):
        specs += chart_specs(show(at, section))
    titles = [spec["layout"]["title"]["text"] for spec in specs]
    # the worked path; the played episode, the climb and the race; J(θ₁) with slopes and the
    # J(θ₁, θ₂) map; the convergence plot
    assert len(specs) == 7, titles
    for spec in specs:
        layout = spec["layout"]
        assert layout["xaxis"]["title"]["text"] and layout["yaxis"]["title"]["text"]


def test_trajectory_labels():
    assert trajectory_label(0, False) == "S1 →L ✕"
    assert trajectory_label(0, True) == "S1 →R S2 →R S3"
    assert trajectory_label(1, False) == "S1 →R S2 →L S1 →L ✕"
    assert trajectory_label(5, True) == "S1 (→R S2 →L S1)×5 →R S2 →R S3"


def test_quiver_segments_shape_and_zero_field():
    xs, ys = quiver_segments([0.0, 1.0], [0.0, 0.0], [1.0, 0.0], [0.0, 2.0], length=1.0)
    assert xs.shape == ys.shape == (14,)
    assert ys[8] == pytest.approx(1.0)  # the longest arrow gets the full length
    assert xs[1] == pytest.approx(0.5**0.5)  # the other shrinks with √|g|
    assert quiver_segments([0.0], [0.0], [0.0], [0.0], 1.0)[0].size == 0


@pytest.mark.slow
@pytest.mark.parametrize("section", [None, LEARN, HILL, TRICK])
def test_every_widget_through_its_extremes(section):
    runs = sweep_every_widget("gradient_step", query=section)
    # the shared controls take 27 runs; each section's own controls add at least 2 more
    assert runs >= 27 + (0 if section is None else 2)


# --- sentences that must hold at every setting (issue: "Every claim true at every setting") ------


def _all_text(at) -> str:
    return "\n".join(shown_text(at))


def test_at_gamma_zero_with_a_baseline_the_page_does_not_claim_every_estimate_is_zero():
    at = page_app("gradient_step", query=HILL)
    at.slider(key="gs_gamma").set_value(0.0)
    at.slider(key="gs_v").set_value(0.5)
    at.radio(key="gs_estimator").set_value("G − V̂").run()
    assert_healthy(at)
    text = _all_text(at)
    assert "every estimate is exactly 0" not in text
    assert "not 0 for one episode" in text and "average to exactly 0" in text
    at.radio(key="gs_estimator").set_value("G").run()
    assert "every estimate is exactly 0" in _all_text(at)  # true without a baseline


def test_the_trajectory_cap_caption_states_what_is_still_unlisted():
    at = page_app("gradient_step", query=TRICK)
    at.slider(key="gs_theta").set_value(6.0)  # loops are likely: q = σ(6)(1 − σ(−6)) ≈ 0.995
    at.slider(key="gs_theta2").set_value(-6.0)
    at.slider(key="gs_gamma").set_value(1.0)
    at.slider(key="gs_cap").set_value(30).run()
    text = _all_text(at)
    assert "raise the cap and it closes" not in text
    match = re.search(r"Even at the longest listing, ([\d.]+) % of the probability", text)
    assert match and float(match.group(1)) > 40.0, text[-600:]
    at.slider(key="gs_theta").set_value(0.0)
    at.slider(key="gs_theta2").set_value(0.0)
    at.slider(key="gs_gamma").set_value(0.9)
    at.slider(key="gs_cap").set_value(30).run()
    assert "Only trajectories left out make the gap" in _all_text(at)


def test_the_map_caption_says_when_the_sampled_arrow_is_shortened():
    at = page_app("gradient_step", query=HILL)
    found = set()
    for theta, seed in [(t, s) for t in (-3.0, 0.0, 3.0) for s in range(0, 30, 3)]:
        at.slider(key="gs_theta").set_value(theta)
        at.slider(key="gs_seed").set_value(seed).run()
        captions = " ".join(c.value for c in at.caption)
        if "drawn shortened to 3×" in captions:
            found.add("shortened")
        if "on the same scale" in captions:
            found.add("same")
        assert not ("drawn shortened" in captions and "on the same scale" in captions)
    assert found == {"shortened", "same"}, (found, captions)


def test_one_update_is_singular_and_the_exact_slope_is_not_drawn_like_the_curve():
    at = page_app("gradient_step")
    at.button(key="gs_apply").click().run()
    assert any(c.value.startswith("1 update: θ₁") for c in at.caption)
    curve = next(s for s in chart_specs(show(at, HILL)) if s["layout"]["title"]["text"].startswith("J(θ₁) and"))
    styles = {
        t["name"].split(":")[0]: (t["line"]["color"], t["line"].get("dash", "solid"))
        for t in curve["data"]
        if "line" in t
    }
    assert styles["J(θ₁), exact"] != styles["exact ∂J/∂θ₁"]


def test_the_history_axes_have_whole_update_numbers_and_short_theta_ticks():
    at = page_app("gradient_step")
    at.button(key="gs_apply").click().run()
    history = next(s for s in chart_specs(at) if s["layout"]["title"]["text"].startswith("Your updates"))
    assert history["layout"]["xaxis"]["tickformat"] == "d" and history["layout"]["xaxis"]["dtick"] == 1
    assert history["layout"]["yaxis2"]["tickformat"] == ".3~f"


# --- watch it learn: Play / Pause / Step ---------------------------------------------------------


def _learned(at) -> list[float]:
    return list(at.session_state["gs_learn"]["sampled"])


def test_step_does_exactly_one_update_from_an_episode_of_the_current_policy():
    from pgcore.grid_learning import sampled_update

    at = page_app("gradient_step", query={**LEARN, "learn_seed": "7", "learn_alpha": "2"})
    assert _learned(at) == [0.0]
    at.button(key="gs_step").click().run()
    assert_healthy(at)
    assert len(_learned(at)) == 2 and at.session_state["gs_learn"]["updates"] == 1
    # the same update, computed here from a generator seeded 7
    want = sampled_update(0.0, np.random.default_rng(7), theta2=0.0, gamma=0.9, step_size=2.0)
    assert _learned(at)[1] == pytest.approx(want.theta1_new, abs=1e-15)
    assert f"\\theta_1: 0.000 \\to {want.theta1_new:.3f}" in latex(at)
    at.run()  # a rerun without a click (another control, a redraw) takes no update
    assert len(_learned(at)) == 2


def test_play_takes_an_update_every_run_until_pause_and_the_seed_replays_the_same_climb():
    at = page_app("gradient_step", query={**LEARN, "learn_seed": "3"})
    at.segmented_control(key="gs_playback").set_value("Play").run()
    assert at.button(key="gs_step").disabled  # one way to advance at a time
    for _ in range(4):  # the browser's timer reruns the fragment; here each run stands for one tick
        at.run()
    assert_healthy(at)
    played = _learned(at)
    assert len(played) == 6  # the click's run and four ticks
    at.segmented_control(key="gs_playback").set_value("Pause").run()
    at.run()
    assert _learned(at) == played
    again = page_app("gradient_step", query={**LEARN, "learn_seed": "3"})
    for _ in range(5):
        again.button(key="gs_step").click().run()
    assert _learned(again) == played


def test_leaving_the_section_pauses_and_reset_starts_at_the_pages_theta():
    at = page_app("gradient_step", query={**LEARN, "theta1": "-1.5"})
    at.segmented_control(key="gs_playback").set_value("Play").run()
    show(at, HILL)
    assert at.session_state["gs_playback"] == "Pause"
    show(at, LEARN)
    at.button(key="gs_learn_reset").click().run()
    assert _learned(at) == [-1.5] and at.session_state["gs_learn"]["updates"] == 0


def test_the_learner_says_whether_its_estimate_is_biased_from_the_numbers():
    from pgcore.grid_learning import expected_estimate

    at = page_app("gradient_step", query={**LEARN, "gamma": "0.5", "learn_estimator": "Σ G_t ∇log π (γᵗ dropped)"})
    at.button(key="gs_step").click().run()
    theta = _learned(at)[-1]
    biased = expected_estimate(theta, 0.0, 0.5, "no_discount")
    exact = expected_estimate(theta, 0.0, 0.5, "return")
    text = _all_text(at)
    assert f"averages to {biased:.4f}, not ∂J/∂θ₁ = {exact:.4f}" in text
    at = page_app("gradient_step", query={**LEARN, "gamma": "1", "learn_estimator": "Σ G_t ∇log π (γᵗ dropped)"})
    at.button(key="gs_step").click().run()
    assert "Dropping γᵗ changes nothing at these settings (γ = 1" in _all_text(at)


def test_the_race_chart_draws_both_learners_and_the_climb_marks_both():
    at = page_app("gradient_step", query=LEARN)
    for _ in range(3):
        at.button(key="gs_step").click().run()
    specs = {s["layout"]["title"]["text"]: s for s in chart_specs(at)}
    race = specs["J(θ) after each update"]
    assert {t["name"] for t in race["data"]} == {"exact gradient ascent", "one sampled episode per update"}
    climb = specs["Where each learner is on J(θ₁)"]
    assert {"sampled learner", "exact gradient ascent"} <= {t["name"] for t in climb["data"]}


def test_only_the_chosen_section_is_drawn():
    at = page_app("gradient_step")
    assert not any(b.key == "gs_resample" for b in at.button)
    assert len(at.get("dataframe")) == 0
    show(at, TRICK)
    assert len(at.get("dataframe")) == 1 and not any(b.key == "gs_apply" for b in at.button)


# --- predict, then check -------------------------------------------------------------------------


def _verdicts(at) -> list[str]:
    return [el.value for el in list(at.success) + list(at.info)]


@pytest.mark.parametrize(("v_hat", "answer"), [("0.5", "raises it"), ("-0.5", "lowers it"), ("0", "leaves it")])
def test_the_left_task_answers_from_the_sign_of_the_step(v_hat, answer):
    at = page_app("gradient_step", query={"action": "Left", "V": v_hat})
    at.segmented_control(key="gs_guess_left").set_value(answer).run()
    assert any(v.startswith(f"**{answer.capitalize()}**, as you predicted") for v in _verdicts(at)), _verdicts(at)


@pytest.mark.parametrize(("gamma", "answer"), [("0.9", "down"), ("1", "up")])
def test_the_guessed_value_task_follows_g_minus_v(gamma, answer):
    # V̂ = 0.95: at γ = 0.9 reaching the goal (G₀ = 0.9) is worse than expected; at γ = 1 it is not
    at = page_app("gradient_step", query={"V": "0.95", "gamma": gamma})
    at.segmented_control(key="gs_guess_v").set_value("nowhere").run()
    assert any(v.startswith(f"Not *nowhere* but **{answer}**") for v in _verdicts(at)), _verdicts(at)
    at = page_app("gradient_step", query={"V": "0.5"})
    at.segmented_control(key="gs_guess_v").set_value("up").run()
    assert not _verdicts(at) and any("Now set V̂(S1) to 0.9 or more" in c.value for c in at.caption)
