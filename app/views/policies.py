"""Page 1 — Policies: how parameters become action probabilities, and their gradients."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app.charts.policies import action_bars, sigmoid_curves
from app.format import num, sig, signed
from app.lessons import score_task, shift_task, temperature_task
from app.state import Param, bind, mirror, show_notices
from app.theme import PLOTLY_CONFIG
from app.ui import next_page_link, predict_task
from pgcore.policies import linear_softmax_policy, sigmoid, softmax_policy, two_action_policy

MAX_ACTIONS = 6
WORKED_PREFERENCES = (2.0, 1.0, 0.5)
THETA_RANGE = (-6.0, 6.0)
PREF_RANGE = (-5.0, 5.0)
N_FEATURES = 2
LINEAR_ACTIONS = 3
DEFAULT_FEATURES = ((1.0, 0.0), (0.0, 1.0), (0.5, 0.5))

SECTIONS = ("Sigmoid · 2 actions", "Softmax · K actions", "Linear features")

PARAMS = {
    "pol_section": Param("section", SECTIONS[0], options=SECTIONS),
    "pol_theta": Param("theta", 0.0, *THETA_RANGE),
    "pol_k": Param("k", 3, 2, MAX_ACTIONS),
    "pol_temperature": Param("T", 1.0, 0.1, 5.0),
    "pol_action": Param("a", "a1", options=tuple(f"a{i + 1}" for i in range(MAX_ACTIONS))),
    "pol_shift": Param("shift", 0.0, -10.0, 10.0),
    **{
        f"pol_h{i}": Param(f"h{i + 1}", (WORKED_PREFERENCES + (0.0,) * MAX_ACTIONS)[i], *PREF_RANGE)
        for i in range(MAX_ACTIONS)
    },
    "pol_lin_temperature": Param("lin_T", 1.0, 0.1, 5.0),
    **{f"pol_lin_theta{j}": Param(f"w{j + 1}", (0.5, -0.5)[j], -3.0, 3.0) for j in range(N_FEATURES)},
}
PHI_KEYS = {(a, j): f"pol_phi_{a}_{j}" for a in range(LINEAR_ACTIONS) for j in range(N_FEATURES)}
# The feature table travels in the link too (phi12 = φ₂(s, a₁)): a shared link reopens it as it was.
PARAMS.update(
    {key: Param(f"phi{a + 1}{j + 1}", float(DEFAULT_FEATURES[a][j]), -5.0, 5.0) for (a, j), key in PHI_KEYS.items()}
)


def use_worked_preset() -> None:
    """Button callback: the seed article's preferences (2.0, 1.0, 0.5) at T = 1."""
    st.session_state["pol_k"] = 3
    st.session_state["pol_temperature"] = 1.0
    for i, h in enumerate(WORKED_PREFERENCES):
        st.session_state[f"pol_h{i}"] = h


SIGMOID_KEYS = ("pol_theta",)
SOFTMAX_KEYS = ("pol_k", "pol_temperature", "pol_action", "pol_shift", *(f"pol_h{i}" for i in range(MAX_ACTIONS)))
LINEAR_KEYS = ("pol_lin_temperature", *(f"pol_lin_theta{j}" for j in range(N_FEATURES)), *PHI_KEYS.values())


def mirror_keys(keys) -> None:
    """Write one section's controls into the link (a fragment rerun skips the page's mirror)."""
    mirror({key: PARAMS[key] for key in keys})


@st.fragment
def sigmoid_section() -> None:
    """π, ∇π and ∇log π of the one-parameter sigmoid policy (a fragment: θ redraws only this)."""
    theta = st.slider(
        "θ", *THETA_RANGE, step=0.01, key="pol_theta", help="The policy's single parameter. π(Right) = σ(θ)."
    )
    now = two_action_policy(theta)
    curve = two_action_policy(np.linspace(*THETA_RANGE, 121))
    s, t = float(now.pi_right), num(theta, 2)

    chart_col, math_col = st.columns([1, 1], gap="large")
    with chart_col:
        st.plotly_chart(sigmoid_curves(curve, now), config=PLOTLY_CONFIG, key="pol_sigmoid_chart")
        st.caption(
            "∇log π(Right) = 1 − σ is exactly π(Left), and ∇log π(Left) = −π(Right): "
            "those curves lie on top of each other."
        )
    with math_col:
        st.latex(
            r"\begin{aligned}"
            rf"\pi(\text{{Right}}) &= \sigma(\theta) = \tfrac{{1}}{{1 + e^{{-{signed(theta, 2)}}}}} = {num(s, 4)} \\"
            rf"\pi(\text{{Left}}) &= 1 - \sigma(\theta) = {num(now.pi_left, 4)} \\[4pt]"
            rf"\nabla_\theta \pi(\text{{Right}}) &= \sigma(1-\sigma) = {num(now.grad_pi_right, 4)} \\"
            rf"\nabla_\theta \pi(\text{{Left}}) &= -\sigma(1-\sigma) = {num(now.grad_pi_left, 4)} \\[4pt]"
            rf"\nabla_\theta \log \pi(\text{{Right}}) &= \tfrac{{\nabla \pi}}{{\pi}} = 1 - \sigma = {num(now.score_right, 4)} \\"
            rf"\nabla_\theta \log \pi(\text{{Left}}) &= \tfrac{{\nabla \pi}}{{\pi}} = -\sigma = {num(now.score_left, 4)}"
            r"\end{aligned}"
        )
        st.markdown("**The average score is zero**, at every θ:")
        st.latex(
            r"\begin{aligned}"
            r"\textstyle\sum_a \pi(a)\,\nabla\log\pi(a) "
            rf"&= {num(s, 4)} \cdot {signed(now.score_right, 4)} \\ &\quad + {num(now.pi_left, 4)} \cdot {signed(now.score_left, 4)} \\"
            rf"&= {num(now.mean_score, 4)}"
            r"\end{aligned}"
        )
        st.caption(
            f"At θ = {t} the score of Right is {num(now.score_right, 3)}: one unit of θ adds "
            f"{num(now.score_right, 3)} to log π(Right). Sampling actions from π, "
            "these pushes cancel on average — the fact that makes baselines free (page 3)."
        )
    with st.container(border=True):
        st.markdown("**Predict, then check**")
        predict_task(
            1,
            "Drag θ past 3. Does the score ∇log π(Right) grow or shrink?",
            ("grows", "shrinks"),
            "pol_guess_score",
            lambda: score_task(theta, float(now.score_right)),
        )
    mirror_keys(SIGMOID_KEYS)


@st.fragment
def softmax_section() -> None:
    """The softmax over K preferences with a temperature, its score and the shift invariance."""
    controls, plots = st.columns([1, 2], gap="large")
    with controls:
        st.button(
            "Use the worked example (2.0, 1.0, 0.5)",
            on_click=use_worked_preset,
            key="pol_preset",
            icon=":material/restart_alt:",
        )
        k = st.slider("Number of actions K", 2, MAX_ACTIONS, key="pol_k")
        temperature = st.slider(
            "Temperature T",
            0.1,
            5.0,
            step=0.05,
            key="pol_temperature",
            help="π(a) ∝ exp(h(a)/T). Small T: near-greedy; large T: near-uniform.",
        )
        prefs = np.array(
            [st.slider(f"Preference h(a{i + 1})", *PREF_RANGE, step=0.1, key=f"pol_h{i}") for i in range(k)]
        )
    labels = [f"a{i + 1}" for i in range(k)]
    policy = softmax_policy(prefs, temperature)

    with plots:
        st.plotly_chart(
            action_bars(labels, policy.probs, "Action probabilities π(a)", "π(a)", y_range=(0, 1.12)),
            config=PLOTLY_CONFIG,
            key="pol_probs_chart",
        )
        exps = " + ".join(f"e^{{{num(h / temperature, 2)}}}" for h in prefs)
        st.latex(
            rf"\pi(a_1) = \frac{{e^{{h_1/T}}}}{{\sum_b e^{{h_b/T}}}} = \frac{{e^{{{num(prefs[0] / temperature, 2)}}}}}{{{exps}}}"
            rf" = {num(policy.probs[0], 3)}"
        )

    st.subheader("The score with respect to the preferences")
    if st.session_state["pol_action"] not in labels:  # K shrank below the chosen action
        st.session_state["pol_action"] = labels[-1]
    action_label = st.select_slider("Action taken", options=labels, key="pol_action")
    index = labels.index(action_label)
    action = index + 1
    score = policy.score[index]
    score_col, zero_col = st.columns(2, gap="large")
    with score_col:
        st.plotly_chart(
            action_bars(labels, score, f"∂ log π(a{action}) / ∂h(b)", "score", highlight=index),
            config=PLOTLY_CONFIG,
            key="pol_score_chart",
        )
        st.latex(
            rf"\begin{{aligned}}\frac{{\partial \log \pi(a_{action})}}{{\partial h_b}} &= \frac{{\mathbb{{1}}[b = {action}] - \pi(b)}}{{T}}"
            rf" \\ &= \left({', '.join(num(v, 3) for v in score)}\right)\end{{aligned}}"
        )
        st.caption(
            "One-hot minus π, divided by T: taking a raises its own preference and lowers every other in proportion to its probability."
        )
    with zero_col:
        st.markdown("**Weighted by π, the scores cancel:**")
        st.latex(
            rf"\textstyle\sum_a \pi(a)\, \nabla_h \log\pi(a) = \left({', '.join(num(v, 4) for v in policy.mean_score)}\right)"
        )
        shift = st.slider("Add a constant c to every preference", -10.0, 10.0, step=0.5, key="pol_shift")
        shifted = softmax_policy(prefs + shift, temperature)
        change = float(np.max(np.abs(shifted.probs - policy.probs)))
        st.latex(rf"\max_a \left|\pi_{{h + {signed(shift, 1)}}}(a) - \pi_h(a)\right| = {sig(change, 2)}")
        st.caption("Only differences between preferences matter: adding c to all of them leaves π unchanged.")
        two = softmax_policy(prefs[:2], temperature)
        as_sigmoid = float(sigmoid((prefs[0] - prefs[1]) / temperature))
        st.markdown("**Two actions are a sigmoid.** With only a1 and a2:")
        st.latex(
            rf"\begin{{aligned}}\frac{{e^{{h_1/T}}}}{{e^{{h_1/T}} + e^{{h_2/T}}}} &= {num(two.probs[0], 4)} \\"
            rf"\sigma\!\left(\frac{{h_1 - h_2}}{{T}}\right) &= \sigma({num((prefs[0] - prefs[1]) / temperature, 3)}) = {num(as_sigmoid, 4)}\end{{aligned}}"
        )
    best = None if np.ptp(prefs) == 0 else int(np.argmax(prefs))
    at_one = softmax_policy(prefs, 1.0)
    with st.container(border=True):
        st.markdown("**Predict, then check**")
        predict_task(
            2,
            "Add a constant c to every preference. Do the probabilities move?",
            ("they move", "they stay"),
            "pol_guess_shift",
            lambda: shift_task(shift, change),
        )
        predict_task(
            3,
            "Lower the temperature T to 0.5 or less. Does the action with the largest preference get "
            "more or less likely?",
            ("more likely", "less likely", "no change"),
            "pol_guess_temperature",
            lambda: temperature_task(
                temperature,
                None if best is None else labels[best],
                float(policy.probs[best or 0]),
                float(at_one.probs[best or 0]),
            ),
        )
    mirror_keys(SOFTMAX_KEYS)


@st.fragment
def linear_section() -> None:
    """Preferences from features, h(a) = θ·φ(s, a), and the score φ − E_π[φ]."""
    st.markdown(
        "In a real problem preferences come from features: h(a) = θ · φ(s, a). "
        "Edit the weights θ and the feature table φ for one state."
    )
    weights_col, table_col = st.columns([1, 2], gap="large")
    with weights_col:
        weights = np.array(
            [st.slider(f"θ{j + 1}", -3.0, 3.0, step=0.1, key=f"pol_lin_theta{j}") for j in range(N_FEATURES)]
        )
    with table_col:
        features = np.zeros((LINEAR_ACTIONS, N_FEATURES))
        # one row per action, labels on every field: the row still reads right when a
        # phone stacks the columns
        for a in range(LINEAR_ACTIONS):
            row = st.columns(N_FEATURES)
            for j in range(N_FEATURES):
                features[a, j] = row[j].number_input(
                    f"φ{j + 1}(s, a{a + 1})",
                    min_value=-5.0,
                    max_value=5.0,
                    step=0.5,
                    key=PHI_KEYS[(a, j)],
                )
        temperature = st.slider(
            "Temperature T",
            0.1,
            5.0,
            step=0.05,
            key="pol_lin_temperature",
            help="π(a) ∝ exp(h(a)/T), as on the Softmax tab.",
        )
    linear = linear_softmax_policy(weights, features, temperature)
    lin_labels = [f"a{a + 1}" for a in range(LINEAR_ACTIONS)]
    st.latex(
        r"\begin{aligned}"
        r"h(a) &= \theta \cdot \phi(s, a) = \left(" + ", ".join(num(h, 2) for h in linear.preferences) + r"\right) \\"
        r"\pi &= \left(" + ", ".join(num(p, 3) for p in linear.probs) + r"\right)"
        r"\end{aligned}"
    )
    st.caption(f"π = softmax(h / T) with T = {num(linear.temperature, 2)}.")
    prob_col, grad_col = st.columns(2, gap="large")
    with prob_col:
        st.plotly_chart(
            action_bars(lin_labels, linear.probs, "π(a) from linear preferences", "π(a)", y_range=(0, 1.12)),
            config=PLOTLY_CONFIG,
            key="pol_linear_chart",
        )
    with grad_col:
        st.latex(r"\nabla_\theta \log \pi(a) = \frac{\phi(s,a) - \sum_b \pi(b)\,\phi(s,b)}{T}")
        vector = lambda row: "(" + ", ".join(num(v, 3) for v in row) + ")"  # noqa: E731
        lines = ["| action | π(a) | ∇θ log π(a) | ∇θ π(a) |", "|---|---|---|---|"]
        for a in range(LINEAR_ACTIONS):
            lines.append(
                f"| {lin_labels[a]} | {num(linear.probs[a], 4)} | {vector(linear.score[a])} "
                f"| {vector(linear.grad_pi[a])} |"
            )
        st.markdown("\n".join(lines))  # a markdown table: no dataframe conversion on every rerun
        st.caption(
            "The score is the action's features minus the policy's average features: "
            "a step along it moves θ towards what is special about the action taken."
        )
    mirror_keys(LINEAR_KEYS)


notices = bind(PARAMS)

st.title("Policies")
st.markdown(
    "A policy turns parameters θ into action probabilities $\\pi_\\theta(a \\mid s)$. Policy-gradient "
    "learning needs two things from it: how π changes with θ (∇π) and the **score** ∇log π, "
    "which says how to make the action you took more likely."
)
show_notices(notices)
st.caption(
    "Each section ends with a task: predict what will happen, move the control, and the page checks "
    "your prediction with the numbers."
)

# Only the chosen section is built and sent, as on the other lesson pages. Tabs would build all
# three, and their panels re-scan their whole content for a focusable element after every redraw
# (measured in Chromium: θ answered ~30 ms sooner without them).
section = st.segmented_control("Section", SECTIONS, key="pol_section", required=True, label_visibility="collapsed")
if section == SECTIONS[0]:
    sigmoid_section()
elif section == SECTIONS[1]:
    softmax_section()
else:
    linear_section()


mirror(PARAMS)
next_page_link("policies")
