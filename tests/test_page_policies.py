"""The Policies page under AppTest: defaults, the worked numbers, every widget at its extremes."""

from __future__ import annotations

import numpy as np
import pytest

from devtools.app_testing import assert_healthy, chart_specs, page_app, shown_text, sweep_every_widget, trace_arrays

SOFTMAX = {"section": "Softmax · K actions"}
LINEAR = {"section": "Linear features"}


def latex(at) -> str:
    return "\n".join(el.value for el in at.latex)


def test_defaults_show_the_theta_zero_numbers():
    at = page_app("policies")
    text = latex(at)
    # at θ = 0: π = 0.5, 0.5, ∇π = ±0.25, ∇log π = ±0.5, weighted score 0
    assert r"\pi(\text{Right}) &= \sigma(\theta) = \tfrac{1}{1 + e^{-0.00}} = 0.5000" in text
    assert r"\pi(\text{Left}) &= 1 - \sigma(\theta) = 0.5000" in text
    assert r"\nabla_\theta \pi(\text{Right}) &= \sigma(1-\sigma) = 0.2500" in text
    assert r"\nabla_\theta \pi(\text{Left}) &= -\sigma(1-\sigma) = -0.2500" in text
    assert r"1 - \sigma = 0.5000" in text
    assert r"-\sigma = -0.5000" in text
    assert r"&= 0.0000" in text


def test_moving_theta_changes_numbers():
    at = page_app("policies")
    before = latex(at)
    at.slider(key="pol_theta").set_value(2.0).run()
    assert_healthy(at)
    after = latex(at)
    assert before != after
    assert "= 0.8808" in after  # σ(2)


def test_worked_preset_gives_063_023_014():
    at = page_app("policies", query=SOFTMAX)
    at.slider(key="pol_h0").set_value(-1.0).run()
    at.button(key="pol_preset").click().run()
    assert_healthy(at)
    assert at.slider(key="pol_k").value == 3
    assert [at.slider(key=f"pol_h{i}").value for i in range(3)] == [2.0, 1.0, 0.5]
    assert r"= 0.629" in latex(at)
    probabilities = next(
        spec for spec in chart_specs(at) if spec["layout"]["title"]["text"] == "Action probabilities π(a)"
    )
    bars = next(trace_arrays(probabilities["data"][0]))  # the bar heights (x holds the labels)
    np.testing.assert_allclose(bars, [0.63, 0.23, 0.14], atol=0.005)
    exact = np.exp([2.0, 1.0, 0.5]) / np.exp([2.0, 1.0, 0.5]).sum()
    np.testing.assert_allclose(bars, exact, rtol=0, atol=1e-9)  # the worked example, to 1e-9


def test_score_row_is_one_hot_minus_pi():
    at = page_app("policies", query=SOFTMAX)
    at.select_slider(key="pol_action").set_value("a2").run()
    assert_healthy(at)
    # worked preferences: π = (0.629, 0.231, 0.140) → score of a2 = (−0.629, 0.769, −0.140)
    assert r"\left(-0.629, 0.769, -0.140\right)" in latex(at)


def test_shrinking_k_below_chosen_action_is_fine():
    at = page_app("policies", query=SOFTMAX)
    at.slider(key="pol_k").set_value(6).run()
    at.select_slider(key="pol_action").set_value("a6").run()
    at.slider(key="pol_k").set_value(2).run()
    assert_healthy(at)
    assert at.select_slider(key="pol_action").value == "a2"


@pytest.mark.slow
@pytest.mark.parametrize(("query", "at_least"), [(None, 8), (SOFTMAX, 30), (LINEAR, 20)])
def test_every_widget_through_its_extremes(query, at_least):
    """Each section's widgets, one at a time through their probe values (only the chosen section is built)."""
    assert sweep_every_widget("policies", query=query) >= at_least


def test_no_rounding_noise_is_blown_up_and_no_minus_zero_is_shown():
    at = page_app("policies", query=SOFTMAX)
    at.slider(key="pol_k").set_value(2).run()
    at.slider(key="pol_temperature").set_value(0.1)
    at.slider(key="pol_h0").set_value(-5.0)
    at.slider(key="pol_h1").set_value(5.0).run()
    assert_healthy(at)
    for spec in chart_specs(at):
        for trace in spec["data"]:
            for label in trace.get("text") or []:
                assert not str(label).startswith("-0.000"), (spec["layout"]["title"], label)
        y_range = spec["layout"].get("yaxis", {}).get("range")
        if y_range:
            assert max(abs(y_range[0]), abs(y_range[1])) > 1e-6, (spec["layout"]["title"], y_range)
    assert not any("e+00" in text or "e-" in text and "0.0e" in text for text in shown_text(at))


def test_a_shared_link_keeps_the_feature_table():
    at = page_app("policies", query=LINEAR)
    at.number_input(key="pol_phi_2_1").set_value(-3.5).run()
    assert at.query_params.get("phi32") == "-3.5" and at.query_params.get("section") == "Linear features"
    reopened = page_app("policies", query=dict(at.query_params))
    assert reopened.number_input(key="pol_phi_2_1").value == -3.5


# --- predict, then check -------------------------------------------------------------------------


def _verdicts(at) -> list[str]:
    return [el.value for el in list(at.success) + list(at.info)]


def test_a_prediction_is_checked_only_once_the_control_decides_it_and_then_with_the_numbers():
    at = page_app("policies")
    at.segmented_control(key="pol_guess_score").set_value("grows").run()
    assert any("Now drag θ to 3 or more" in c.value for c in at.caption)
    at.slider(key="pol_theta").set_value(4.0).run()
    assert_healthy(at)
    assert any(v.startswith("Not *grows* but **shrinks**") and "0.018" in v for v in _verdicts(at)), _verdicts(at)
    at.segmented_control(key="pol_guess_score").set_value("shrinks").run()
    assert any(v.startswith("**Shrinks**, as you predicted") for v in _verdicts(at))


def test_the_temperature_task_knows_when_every_preference_is_equal():
    at = page_app("policies", query={**SOFTMAX, "h1": "1", "h2": "1", "h3": "1", "T": "0.3"})
    at.segmented_control(key="pol_guess_temperature").set_value("more likely").run()
    assert any("Not *more likely* but **no change**" in v for v in _verdicts(at)), _verdicts(at)
    at = page_app("policies", query={**SOFTMAX, "T": "0.3"})
    at.segmented_control(key="pol_guess_temperature").set_value("more likely").run()
    p = np.exp(np.array([2.0, 1.0, 0.5]) / 0.3)
    assert any(f"π(a1) = {p[0] / p.sum():.3f} at T = 0.30 against 0.629 at T = 1" in v for v in _verdicts(at))


def test_shifting_every_preference_is_checked_as_they_stay():
    at = page_app("policies", query={**SOFTMAX, "shift": "5"})
    at.segmented_control(key="pol_guess_shift").set_value("they stay").run()
    assert any(v.startswith("**They stay**, as you predicted: with c = 5.0") for v in _verdicts(at))


def test_only_the_chosen_section_is_built_and_the_others_keep_their_values():
    """The section picker shows one section; a value set in another survives the switch (and the link)."""
    at = page_app("policies")
    assert [spec["layout"]["title"]["text"] for spec in chart_specs(at)] == ["The sigmoid policy and its gradients"]
    at.slider(key="pol_theta").set_value(1.5).run()
    at.segmented_control(key="pol_section").set_value("Softmax · K actions").run()
    assert_healthy(at)
    assert "Action probabilities π(a)" in [spec["layout"]["title"]["text"] for spec in chart_specs(at)]
    assert not any(s.key == "pol_theta" for s in at.slider)
    assert at.query_params.get("theta") == "1.5"
    at.segmented_control(key="pol_section").set_value("Sigmoid · 2 actions").run()
    assert at.slider(key="pol_theta").value == 1.5
