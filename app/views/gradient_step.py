"""Page 2 — Gradient step: the seed's worked update on the 3-state grid, the exact J(θ) it
climbs, and the log-derivative trick that makes one sampled episode right on average."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from app.charts.grid import (
    convergence_chart,
    grid_path,
    history_chart,
    learning_climb,
    learning_race,
    objective_curve,
    objective_map,
    quiver_segments,
    trajectory_label,
)
from app.format import num, signed
from app.lessons import cap_note, estimator_bias_note, guess_task, left_task, sampled_arrow_note
from app.state import Param, bind, mirror, show_notices
from app.theme import COLORS, PLOTLY_CONFIG
from app.ui import is_playing, next_page_link, playback_control, predict_task
from pgcore.grid1d import (
    enumerate_trajectories,
    exact_values,
    expected_return,
    expected_return_grad,
    sample_episodes,
)
from pgcore.grid_learning import SampledUpdate, exact_ascent_step, expected_estimate, sampled_update
from pgcore.logtrick import (
    convergence_curve,
    estimator_stats,
    gradient_estimates,
    pi_gradient_sum_theta1,
    s1_decomposition,
)
from pgcore.policies import sigmoid
from pgcore.worked_step import worked_step, worked_steps

THETA_RANGE = (-6.0, 6.0)
ACTIONS = ("Right", "Left")
ESTIMATORS = ("G", "G − V̂")
HISTORY_LIMIT = 500
MAP_POINTS = 41
FIELD_POINTS = 13
MC_MAX_EPISODES = 50_000
CAP_MAX = 30  # the longest trajectory the table lists, in loops
MC_REPEATS = 4
MC_SEED = 2024
SECTIONS = ("One update", "Watch it learn", "The hill J(θ)", "Log-derivative trick")
#: The learner's estimates, as the page names them → pgcore.grid_learning's names.
LEARN_ESTIMATORS = {
    "G₀ · ∇log P(τ)": "return",
    "Σ γᵗ G_t ∇log π": "reward_to_go",
    "Σ G_t ∇log π (γᵗ dropped)": "no_discount",
}
TICK_SECONDS = 0.2  # Play: one update every 0.2 s, five a second
LEARN_TRAIL = 12  # recent positions drawn on the J curve

PARAMS = {
    "gs_theta": Param("theta1", 0.0, *THETA_RANGE),
    "gs_theta2": Param("theta2", 0.0, *THETA_RANGE),
    "gs_gamma": Param("gamma", 0.9, 0.0, 1.0),
    "gs_v": Param("V", 0.5, -1.0, 1.0),
    "gs_alpha": Param("alpha", 0.1, 0.0, 2.0),
    "gs_action": Param("action", "Right", options=ACTIONS),
    "gs_estimator": Param("estimator", "G", options=ESTIMATORS),
    "gs_seed": Param("seed", 0, 0, 999),
    "gs_cap": Param("cap", 3, 0, 30),
    "gs_section": Param("section", SECTIONS[0], options=SECTIONS),
    "gs_learn_estimator": Param("learn_estimator", next(iter(LEARN_ESTIMATORS)), options=tuple(LEARN_ESTIMATORS)),
    "gs_learn_baseline": Param("learn_baseline", False),
    "gs_learn_alpha": Param("learn_alpha", 1.0, 0.1, 5.0),
    "gs_learn_seed": Param("learn_seed", 0, 0, 999),
}


# --- cached pure results ----------------------------------------------------------------
@st.cache_data(max_entries=64)
def objective_slice(theta2: float, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    grid = np.linspace(*THETA_RANGE, 241)
    return grid, expected_return(grid, theta2, gamma)


@st.cache_data(max_entries=32)
def objective_surface(gamma: float):
    axis = np.linspace(*THETA_RANGE, MAP_POINTS)
    t1, t2 = np.meshgrid(axis, axis)  # rows: θ₂, columns: θ₁
    coarse = np.linspace(THETA_RANGE[0] + 0.5, THETA_RANGE[1] - 0.5, FIELD_POINTS)
    f1, f2 = np.meshgrid(coarse, coarse)
    g1, g2 = expected_return_grad(f1, f2, gamma)
    arrows = quiver_segments(f1, f2, g1, g2, length=0.8 * float(coarse[1] - coarse[0]))
    return axis, expected_return(t1, t2, gamma), arrows


@st.cache_data(max_entries=64)
def monte_carlo(theta1: float, theta2: float, gamma: float, baseline: float):
    return convergence_curve(
        theta1, theta2, gamma, baseline, n_max=MC_MAX_EPISODES, repeats=MC_REPEATS, rng=np.random.default_rng(MC_SEED)
    )


@st.cache_data(max_entries=128)
def single_sample_stats(theta1: float, theta2: float, gamma: float, baseline: float):
    return (
        estimator_stats(theta1, theta2, gamma, baseline),
        estimator_stats(theta1, theta2, gamma, baseline, divide_by_pi=False),
    )


# --- buttons ----------------------------------------------------------------------------
def take_steps(n_steps: int) -> None:
    """Button callback: n worked updates from the current θ₁, recorded in the history."""
    ss = st.session_state
    steps = worked_steps(ss["gs_theta"], n_steps, ss["gs_action"], ss["gs_gamma"], ss["gs_v"], ss["gs_alpha"])
    history = ss.setdefault("gs_history", [])
    if not history or history[-1][0] != ss["gs_theta"]:
        history.append((ss["gs_theta"], steps[0].pi_right))
    ss["gs_clipped"] = False
    theta = ss["gs_theta"]
    for step in steps:
        theta = step.theta_new
        if not THETA_RANGE[0] <= theta <= THETA_RANGE[1]:
            theta = float(np.clip(theta, *THETA_RANGE))
            ss["gs_clipped"] = True
            history.append((theta, worked_step(theta).pi_right))
            ss["gs_updates"] = ss.get("gs_updates", 0) + 1
            break
        history.append((theta, step.pi_right_new))
        ss["gs_updates"] = ss.get("gs_updates", 0) + 1
    del history[:-HISTORY_LIMIT]
    ss["gs_theta"] = theta


def reset() -> None:
    st.session_state["gs_theta"] = 0.0
    st.session_state["gs_history"] = []
    st.session_state["gs_updates"] = 0
    st.session_state["gs_clipped"] = False


def resample() -> None:
    st.session_state["gs_seed"] = (st.session_state["gs_seed"] + 1) % 1000


# --- watch it learn: the state of the played learner --------------------------------------
def learn_reset() -> None:
    """Start both learners at the page's θ₁ with a fresh generator from the learner's seed."""
    ss = st.session_state
    start = float(ss["gs_theta"])
    ss["gs_learn"] = dict(
        sampled=[start],
        exact=[start],
        last=None,
        updates=0,
        rng=np.random.default_rng(int(ss["gs_learn_seed"])),
        clipped=False,
    )
    ss["gs_playback"] = "Pause"


@dataclass(frozen=True)
class LearnSettings:
    """What one played update needs: the page's θ₂, γ, V̂ and the learner's own controls."""

    theta2: float
    gamma: float
    v_hat: float
    estimator: str  #: a pgcore.grid_learning estimator name
    use_baseline: bool
    alpha: float

    @classmethod
    def from_state(cls) -> LearnSettings:
        ss = st.session_state
        return cls(
            float(ss["gs_theta2"]),
            float(ss["gs_gamma"]),
            float(ss["gs_v"]),
            LEARN_ESTIMATORS[ss["gs_learn_estimator"]],
            bool(ss["gs_learn_baseline"]),
            float(ss["gs_learn_alpha"]),
        )


def learn_step(settings: LearnSettings | None = None) -> None:
    """One update of each learner: the sampled one draws an episode from its current policy,
    the exact one follows ∂J/∂θ₁. (Step's callback reads the settings from the widgets; Play's
    ticks get them passed in, since a fragment run only sees its own widgets.)"""
    s = settings or LearnSettings.from_state()
    run = st.session_state["gs_learn"]
    update = sampled_update(
        run["sampled"][-1],
        run["rng"],
        theta2=s.theta2,
        gamma=s.gamma,
        step_size=s.alpha,
        estimator=s.estimator,
        baseline=s.v_hat if s.use_baseline else 0.0,
    )
    run["sampled"].append(update.theta1_new)
    run["exact"].append(float(exact_ascent_step(run["exact"][-1], theta2=s.theta2, gamma=s.gamma, step_size=s.alpha)))
    run["last"] = update
    run["updates"] += 1
    run["clipped"] = run["clipped"] or update.clipped
    del run["sampled"][:-HISTORY_LIMIT], run["exact"][:-HISTORY_LIMIT]


# --- section 1: one update, every number ---------------------------------------------------
def worked_update_section(
    theta: float, theta2: float, gamma: float, v_hat: float, alpha: float, action_name: str
) -> None:
    """The article's hand-worked step at the current settings, the truth beside its guesses,
    and the history of Apply update / Take 20 steps."""
    step = worked_step(theta, action_name, gamma, v_hat, alpha)
    other = worked_step(theta, "Left" if action_name == "Right" else "Right", gamma, v_hat, alpha)
    truth = exact_values(theta, theta2, gamma)
    act, oth = step.action.capitalize(), other.action.capitalize()
    t = num(theta, 4)
    b1, b2, b3, m1, m2, m3 = st.columns([1.5, 1.5, 1, 1, 1, 1], vertical_alignment="center")
    b1.button(
        "Apply update",
        on_click=take_steps,
        args=(1,),
        key="gs_apply",
        type="primary",
        icon=":material/arrow_upward:",
        width="stretch",
    )
    b2.button(
        "Take 20 steps",
        on_click=take_steps,
        args=(20,),
        key="gs_apply20",
        icon=":material/fast_forward:",
        width="stretch",
    )
    b3.button("Reset", on_click=reset, key="gs_reset", icon=":material/restart_alt:", width="stretch")
    m1.metric("θ₁ now", num(theta, 4))
    m2.metric("π(Right|S1) now", num(step.pi_right, 4))
    m3.metric("updates taken", st.session_state.get("gs_updates", 0))
    if st.session_state.get("gs_clipped"):
        st.caption(f"θ₁ reached the edge of its range and was held at {num(theta, 2)}.")

    steps_col, draw_col = st.columns([5, 2], gap="large")  # wide enough for all nine tabs at 1280 px
    with steps_col:
        tabs = st.tabs(
            ["1 Policy", "2 Path", "3 Return", "4 Adv.", "5a ∇π", "5b ∇log π", "6 Gradient", "7 Update", f"8 {oth}"]
        )
        with tabs[0]:
            st.latex(
                rf"\begin{{aligned}}\pi_\theta(\text{{Right}} \mid S_1) &= \sigma(\theta_1)\\ &= \frac{{1}}{{1 + e^{{-{signed(theta, 4)}}}}} = {num(step.pi_right, 4)}\\"
                rf"\pi_\theta(\text{{Left}} \mid S_1) &= 1 - \sigma(\theta_1) = {num(step.pi_left, 4)}\end{{aligned}}"
            )
            st.caption("Two actions, one parameter: the sigmoid policy of the Policies page.")
        with tabs[1]:
            if step.action == "right":
                st.latex(
                    r"\begin{aligned}\tau = (&S_1, \text{Right}, R_1 = 0,\\ &S_2, \text{Right}, R_2 = 1, S_3)\end{aligned}"
                )
                st.caption(
                    "The article lets the robot go Right in S2 as well. That is an assumption: under the "
                    f"current θ₂ it happens with probability π(Right|S2) = σ(θ₂) = {num(sigmoid(theta2), 4)}, "
                    f"and the whole path with probability {num(step.pi_right * sigmoid(theta2), 4)}."
                )
            else:
                st.latex(r"\tau = (S_1, \text{Left}, R_1 = 0, \text{end})")
                st.caption("The article's Left: the robot stays in S1 and the episode ends with nothing earned.")
        with tabs[2]:
            if step.action == "right":
                st.latex(rf"G_0 = R_1 + \gamma R_2 = 0 + {num(gamma, 2)} \cdot 1 = {num(step.ret, 4)}")
            else:
                st.latex(rf"G_0 = R_1 = {num(step.ret, 4)}")
        with tabs[3]:
            st.latex(
                rf"\begin{{aligned}}\hat A(S_1, \text{{{act}}}) &= G_0 - \hat V(S_1)\\ &= {num(step.ret, 4)} - {signed(v_hat, 4)} = {num(step.advantage, 4)}\end{{aligned}}"
            )
            st.caption(
                "One return stands in for Q^π(S1, a), and an assumed number for V^π(S1). "
                "Compare both with the truth below."
            )
        with tabs[4]:
            sign = "" if step.action == "right" else "-"
            st.latex(
                rf"\begin{{aligned}}\nabla_{{\theta_1}} \pi(\text{{{act}}} \mid S_1) &= {sign}\sigma(1-\sigma)\\ &= {sign}{num(step.pi_right, 4)} \cdot {num(step.pi_left, 4)} = {num(step.grad_pi, 4)}\end{{aligned}}"
            )
        with tabs[5]:
            st.latex(
                rf"\begin{{aligned}}\nabla_{{\theta_1}} \log \pi(\text{{{act}}} \mid S_1) &= \frac{{\nabla \pi}}{{\pi}}\\ &= \frac{{{num(step.grad_pi, 4)}}}{{{num(step.pi_action, 4)}}} = {num(step.grad_log_pi, 4)}\end{{aligned}}"
            )
        with tabs[6]:
            st.latex(
                rf"\begin{{aligned}}\hat g &= \nabla_{{\theta_1}} \log \pi(\text{{{act}}} \mid S_1)\, \hat A\\ &= {signed(step.grad_log_pi, 4)} \cdot {signed(step.advantage, 4)} = {num(step.policy_gradient, 4)}\end{{aligned}}"
            )
        with tabs[7]:
            st.latex(
                rf"\begin{{aligned}}\theta_1 &\leftarrow \theta_1 + \alpha \hat g\\ &= {t} + {num(alpha, 2)} \cdot {signed(step.policy_gradient, 4)} = {num(step.theta_new, 4)}\\"
                rf"\pi(\text{{Right}} \mid S_1) &= \sigma({num(step.theta_new, 4)}) = {num(step.pi_right_new, 4)}\end{{aligned}}"
            )
            st.caption("Apply update above does exactly this and carries the new θ₁ forward.")
        with tabs[8]:
            route = (
                r"(S_1, \text{Left}, 0, \text{end})"
                if other.action == "left"
                else r"(S_1, \text{Right}, 0,\\ &\qquad S_2, \text{Right}, 1, S_3)"
            )
            # one quantity per line, so the block fits a phone screen
            st.latex(
                rf"\begin{{aligned}}&\tau = {route}\\ &G_0 = {num(other.ret, 4)}\\ &\hat A = {num(other.ret, 4)} - {signed(v_hat, 4)} = {num(other.advantage, 4)}\\"
                rf"&\nabla \pi = {num(other.grad_pi, 4)}\\ &\nabla \log \pi = \frac{{{num(other.grad_pi, 4)}}}{{{num(other.pi_action, 4)}}} = {num(other.grad_log_pi, 4)}\\"
                rf"&\hat g = {signed(other.grad_log_pi, 4)} \cdot {signed(other.advantage, 4)} = {num(other.policy_gradient, 4)}\\ &\theta_1 \leftarrow {t} + {num(alpha, 2)} \cdot {signed(other.policy_gradient, 4)} = {num(other.theta_new, 4)}\end{{aligned}}"
            )
            st.caption(
                "Both actions usually push θ₁ the same way: a worse-than-expected Left is made "
                "less likely, which makes Right more likely."
            )
    with draw_col:
        st.plotly_chart(
            grid_path(0, step.action == "right", "The worked trajectory", color=COLORS[step.action]),
            config=PLOTLY_CONFIG,
            key="gs_path_chart",
        )
        st.caption(trajectory_label(0, step.action == "right"))

    st.subheader("The article's guesses next to the truth")
    q_true = truth.q_s1_right if step.action == "right" else truth.q_s1_left
    a_true = truth.a_s1_right if step.action == "right" else truth.a_s1_left
    decomp = s1_decomposition(theta, theta2, gamma)
    st.markdown(
        "| | the worked step uses | the truth |\n|---|---|---|\n"
        f"| value of S1 | V̂(S1) = {num(v_hat, 4)} (assumed) | V^π(S1) = **{num(truth.v_s1, 4)}** |\n"
        f"| value of {act} in S1 | G₀ = {num(step.ret, 4)} (one episode) | Q^π(S1, {act}) = **{num(q_true, 4)}** |\n"
        f"| advantage | Â = {num(step.advantage, 4)} | A^π(S1, {act}) = **{num(a_true, 4)}** |\n"
        f"| gradient | ĝ = {num(step.policy_gradient, 4)} | ∂J/∂θ₁ = **{num(decomp.gradient, 4)}** |"
    )
    st.markdown(
        f"The worked step uses a *guessed* V̂(S1) = {num(v_hat, 2)} and a trajectory in which S2 "
        f"happens to go Right. The truth, from the Bellman equations at θ = ({num(theta, 2)}, {num(theta2, 2)}), "
        f"γ = {num(gamma, 2)}, is V^π(S1) = {num(truth.v_s1, 4)}: the guess is "
        f"{'too high' if v_hat > truth.v_s1 else 'too low' if v_hat < truth.v_s1 else 'right'} by "
        f"{num(abs(v_hat - truth.v_s1), 4)}, and a single episode's return stands in for Q^π. The exact "
        "gradient follows from the policy gradient theorem — one visit's gradient, times the "
        "discounted number of visits to S1 (the robot can loop back from S2):"
    )
    st.latex(
        rf"\begin{{aligned}}\frac{{\partial J}}{{\partial \theta_1}} &= \underbrace{{\frac{{1}}{{1 - \gamma^2 \pi(R|S_1)\pi(L|S_2)}}}}_{{{num(decomp.visits, 4)}}}\\"
        rf"&\quad\cdot\underbrace{{\textstyle\sum_a \nabla\pi(a|S_1)\, Q^\pi(S_1, a)}}_{{{num(decomp.one_visit, 4)}}}\\ &= {num(decomp.gradient, 4)}\end{{aligned}}"
    )
    with st.container(border=True):
        st.markdown("**Predict, then check**")
        left = step if step.action == "left" else other
        predict_task(
            1,
            "Switch the action in S1 to **Left**. Does the update raise or lower π(Right|S1)?",
            ("raises it", "lowers it", "leaves it"),
            "gs_guess_left",
            lambda: left_task(
                action_name, theta, left.theta_new, left.advantage, left.grad_log_pi, left.policy_gradient
            ),
        )
        right = step if step.action == "right" else other
        predict_task(
            2,
            "Set V̂(S1) to 0.95 with the action **Right**. Which way does the step push θ₁?",
            ("up", "down", "nowhere"),
            "gs_guess_v",
            lambda: guess_task(action_name, v_hat, right.ret, right.advantage, theta, right.theta_new, truth.v_s1),
        )

    history = st.session_state["gs_history"]
    if len(history) > 1:
        steps_taken, thetas, pis = range(len(history)), [h[0] for h in history], [h[1] for h in history]
        st.plotly_chart(history_chart(list(steps_taken), thetas, pis), config=PLOTLY_CONFIG, key="gs_history_chart")
        taken = st.session_state.get("gs_updates", 0)
        st.caption(
            f"{taken} update{'' if taken == 1 else 's'}: θ₁ {num(thetas[0], 4)} → {num(thetas[-1], 4)}, "
            f"π(Right|S1) {num(pis[0], 4)} → {num(pis[-1], 4)}."
        )
    else:
        st.caption("Press **Apply update** or **Take 20 steps** to start a history of θ₁ and π(Right|S1).")


# --- section 2: watch it learn ---------------------------------------------------------------
def learning_section() -> None:
    """Play / Pause / Step: one sampled episode per update from the current policy, beside
    exact gradient ascent from the same start."""
    st.markdown(
        "The worked step used one fixed trajectory. Here the robot *plays*: every update samples a "
        "fresh episode from the current policy, estimates ∂J/∂θ₁ from it and steps θ₁. The black "
        "diamond starts at the same θ₁ and steps with the exact gradient and the same α: gradient ascent "
        "without the noise."
    )
    if "gs_learn" not in st.session_state:
        learn_reset()
    c1, c2, c3, c4, c5, c6, c7 = st.columns([1.4, 1, 1, 2.2, 1.2, 1.4, 1], vertical_alignment="bottom")
    with c1:
        playing = playback_control("gs_playback")
    c2.button(
        "Step", on_click=learn_step, key="gs_step", icon=":material/skip_next:", width="stretch", disabled=playing
    )
    c3.button(
        "Reset",
        on_click=learn_reset,
        key="gs_learn_reset",
        icon=":material/restart_alt:",
        width="stretch",
        help="Both learners restart at the θ₁ set above, with the seed's episodes.",
    )
    c4.selectbox("Estimate of ∂J/∂θ₁ from one episode", tuple(LEARN_ESTIMATORS), key="gs_learn_estimator")
    c5.checkbox("subtract V̂", key="gs_learn_baseline", help="Use G − V̂ in place of G, with V̂ set above.")
    c6.slider("Step size α", 0.1, 5.0, step=0.1, key="gs_learn_alpha")
    c7.number_input(
        "Seed", 0, 999, key="gs_learn_seed", on_change=learn_reset, help="The same seed replays the same episodes."
    )
    st.fragment(learning_view, run_every=TICK_SECONDS if playing else None)(LearnSettings.from_state())


def learning_view(settings: LearnSettings) -> None:
    """The played learner's state, drawn; while playing, each run first takes one update."""
    ss = st.session_state
    theta2, gamma = settings.theta2, settings.gamma
    if is_playing("gs_playback"):
        learn_step(settings)
    run = ss["gs_learn"]
    grid, j_grid = objective_slice(theta2, gamma)
    sampled, exact = run["sampled"], run["exact"]
    j_sampled = expected_return(np.asarray(sampled), theta2, gamma)
    j_exact = expected_return(np.asarray(exact), theta2, gamma)
    updates = list(range(run["updates"] - len(sampled) + 1, run["updates"] + 1))
    last: SampledUpdate | None = run["last"]
    path_col, climb_col, race_col = st.columns([1, 1.5, 1.5], gap="medium")
    with path_col:
        if last is None:
            st.plotly_chart(
                grid_path(0, True, "No episode yet", color=COLORS["estimate"]),
                config=PLOTLY_CONFIG,
                key="gs_learn_path",
            )
            st.caption("Press **Play** or **Step**.")
        else:
            color = COLORS["right"] if last.reached_goal else COLORS["left"]
            st.plotly_chart(
                grid_path(last.loops, last.reached_goal, f"Episode of update {run['updates']}", color=color),
                config=PLOTLY_CONFIG,
                key="gs_learn_path",
            )
            st.caption(trajectory_label(last.loops, last.reached_goal))
    with climb_col:
        trail = sampled[-LEARN_TRAIL:]
        st.plotly_chart(
            learning_climb(
                grid,
                j_grid,
                (sampled[-1], float(j_sampled[-1])),
                (exact[-1], float(j_exact[-1])),
                trail,
                j_sampled[-LEARN_TRAIL:],
            ),
            config=PLOTLY_CONFIG,
            key="gs_learn_climb",
        )
    with race_col:
        st.plotly_chart(learning_race(updates, j_sampled, j_exact), config=PLOTLY_CONFIG, key="gs_learn_race")
    if last is not None:
        st.latex(
            rf"\text{{update {run['updates']}:}}\quad G_0 = {num(last.ret, 4)},\quad \hat g_1 = {num(last.estimate, 4)},\quad"
            rf"\frac{{\partial J}}{{\partial \theta_1}} = {num(last.exact_gradient, 4)},\quad"
            rf"\theta_1: {num(last.theta1, 3)} \to {num(last.theta1_new, 3)}"
        )
        mean = expected_estimate(last.theta1_new, theta2, gamma, settings.estimator)
        exact_now = float(expected_return_grad(last.theta1_new, theta2, gamma)[0])
        st.caption(estimator_bias_note(settings.estimator, mean, exact_now, gamma))
        if run["clipped"]:
            st.caption("A step went past θ₁ = ±20, where the policy is already certain, and was held there.")
    done = len(sampled) - 1
    if done:
        st.caption(
            f"After {run['updates']} update{'s' if run['updates'] != 1 else ''}: J = {num(j_sampled[-1], 4)} "
            f"for the sampled learner, {num(j_exact[-1], 4)} for exact ascent."
        )


# --- section 3: the hill being climbed -------------------------------------------------------
def objective_section(theta: float, theta2: float, gamma: float, v_hat: float, alpha: float, action_name: str) -> None:
    """J(θ₁) and J(θ₁, θ₂) with the exact gradient and one sampled episode's estimate."""
    st.markdown(
        "J(θ) = V^π(S1), the expected return from the start, in closed form. Its slope is the "
        "exact gradient. One sampled episode gives an estimate of that slope."
    )
    s1, s2, s3 = st.columns([2, 1, 2], vertical_alignment="bottom")
    seed = s1.slider("Episode seed", 0, 999, key="gs_seed", help="Which episode is sampled (a seeded generator).")
    s2.button("Resample", on_click=resample, key="gs_resample", icon=":material/casino:", width="stretch")
    estimator = s3.radio(
        "Sampled estimate uses",
        ESTIMATORS,
        key="gs_estimator",
        horizontal=True,
        help="G: plain REINFORCE. G − V̂: the same with your V̂ as a constant baseline.",
    )
    baseline = v_hat if estimator == "G − V̂" else 0.0
    step = worked_step(theta, action_name, gamma, v_hat, alpha)
    episode = sample_episodes(theta, 1, np.random.default_rng(seed), theta2=theta2, gamma=gamma)
    k, goal = int(episode.loops[0]), bool(episode.reached_goal[0])
    ret, score1 = float(episode.returns[0]), float(episode.score_theta1[0])
    sample_g1, sample_g2 = (float(g[0]) for g in gradient_estimates(episode, baseline))
    exact_g1, exact_g2 = expected_return_grad(theta, theta2, gamma)
    stats, _ = single_sample_stats(theta, theta2, gamma, baseline)
    grid, j_grid = objective_slice(theta2, gamma)
    j_now = float(expected_return(theta, theta2, gamma))

    curve_col, map_col = st.columns(2, gap="large")
    with curve_col:
        slopes = [
            ("exact ∂J/∂θ₁", float(exact_g1), COLORS["exact"], "dash"),  # the curve itself is the solid black line
            ("worked step ĝ", step.policy_gradient, COLORS["highlight"], "dash"),
            ("one sampled episode", sample_g1, COLORS["estimate"], "dot"),
        ]
        st.plotly_chart(objective_curve(grid, j_grid, theta, j_now, slopes), config=PLOTLY_CONFIG, key="gs_curve_chart")
        weight = r"G(\tau)" if baseline == 0.0 else r"\big(G(\tau) - \hat V\big)"
        weight_now = num(ret, 4) if baseline == 0.0 else rf"({num(ret, 4)} - {signed(baseline, 2)})"
        st.latex(
            rf"\begin{{aligned}}\hat g_1 &= {weight}\, \nabla_{{\theta_1}} \log P(\tau)\\ &= {weight_now} \cdot {signed(score1, 4)} = {num(sample_g1, 4)}\\"
            rf"\frac{{\partial J}}{{\partial \theta_1}} &= {num(exact_g1, 4)} \quad \text{{(exact)}}\end{{aligned}}"
        )
        st.caption(f"Sampled episode (seed {seed}): {trajectory_label(k, goal)}.")
    with map_col:
        axis, surface, field = objective_surface(gamma)
        st.plotly_chart(
            objective_map(
                axis, surface, field, (theta, theta2), (float(exact_g1), float(exact_g2)), (sample_g1, sample_g2)
            ),
            config=PLOTLY_CONFIG,
            key="gs_map_chart",
        )
        st.caption(
            "Arrows point uphill. At the current θ: the exact gradient (black) and the one "
            "sampled episode's estimate of it (grey). "
            + sampled_arrow_note((exact_g1, exact_g2), (sample_g1, sample_g2))
        )

    if stats.exact_gradient > 0 or stats.exact_gradient < 0:
        direction = (
            f"points **downhill** with probability {num(100 * stats.wrong_way, 1)} %"
            if stats.wrong_way > 0
            else "never points downhill here"
        )
        st.markdown(
            f"A single episode's estimate is **0 with probability {num(100 * stats.zero, 1)} %** "
            f"(it moves θ₁ not at all), {direction}, and has standard deviation "
            f"{num(stats.std, 4)} around its mean {num(stats.mean, 4)} — which is the exact "
            f"gradient {num(stats.exact_gradient, 4)}. One step can be useless"
            f"{' or point the wrong way' if stats.wrong_way > 0 else ' or far too large'}; "
            "the average over episodes is right."
        )
    elif gamma == 0.0 and baseline == 0.0:
        st.markdown("At γ = 0 every return is 0: J is flat and every estimate is exactly 0.")
    elif gamma == 0.0:
        st.markdown(
            f"At γ = 0 every return is 0, so J is flat and ∂J/∂θ₁ = 0. With V̂ = {num(baseline, 2)} subtracted, "
            f"an estimate is −V̂ · ∇θ₁ log P(τ): not 0 for one episode (standard deviation {num(stats.std, 4)}), "
            f"but the estimates average to exactly 0 ({num(stats.mean, 4)}): the baseline adds noise, no bias."
        )
    else:
        st.markdown(
            "Here the exact gradient is 0 to double precision: the policy is saturated, and every "
            "estimate averages to 0."
        )
    mirror({key: PARAMS[key] for key in ("gs_seed", "gs_estimator")})  # a fragment run skips the page's mirror


# --- section 4: the log-derivative trick -----------------------------------------------------
def log_trick_section(theta: float, theta2: float, gamma: float, v_hat: float) -> None:
    """Why G·∇log P averages to ∇J: the derivation, the enumerated sum, sampling, and the
    estimator that forgets to divide by π."""
    p_right, p_left = float(sigmoid(theta)), float(sigmoid(-theta))
    baseline = v_hat if st.session_state.get("gs_estimator") == "G − V̂" else 0.0
    st.markdown(
        "Why does G(τ)·∇log P(τ) average to ∇J? Write J as a sum over trajectories and use "
        "∇P = P ∇log P, which holds for any positive P:"
    )
    st.latex(
        r"\begin{aligned}\nabla J(\theta) &= \nabla \sum_\tau P(\tau)\, G(\tau)\\ &= \sum_\tau \nabla P(\tau)\, G(\tau)\\"
        r"&= \sum_\tau P(\tau)\, \nabla \log P(\tau)\, G(\tau)\\ &= \mathbb{E}_{\tau \sim \pi_\theta}\big[G(\tau)\, \nabla \log P(\tau)\big]\end{aligned}"
    )
    st.markdown("The probability of a trajectory is a product of policy choices and environment moves:")
    st.latex(
        r"\begin{aligned}\log P(\tau) &= \log \mu(s_0)\\ &\quad + \sum_t \Big(\log \pi_\theta(a_t \mid s_t)\\ &\qquad\quad + \log p(s_{t+1} \mid s_t, a_t)\Big)\\"
        r"\Rightarrow\; \nabla \log P(\tau) &= \sum_t \nabla \log \pi_\theta(a_t \mid s_t)\end{aligned}"
    )
    st.markdown(
        "μ and p do not depend on θ, so their gradients are zero: **you never need a model of "
        "the environment**. On the grid, an episode with k loops has "
        rf"$\nabla_{{\theta_1}} \log P(\tau) = (k + 1)(1 - \sigma(\theta_1)) = (k + 1) \cdot {num(p_left, 4)}$ "
        "if it reaches S3, and "
        rf"$k(1 - \sigma(\theta_1)) - \sigma(\theta_1) = k \cdot {num(p_left, 4)} - {num(p_right, 4)}$ "
        "if it ends by going Left."
    )
    st.fragment(trajectory_table)(theta, theta2, gamma)

    st.subheader("Sampling instead of listing")
    stats, naive_stats = single_sample_stats(theta, theta2, gamma, baseline)
    mc = monte_carlo(theta, theta2, gamma, baseline)
    if stats.exact_gradient > 0 or stats.exact_gradient < 0:
        st.plotly_chart(
            convergence_chart(mc.n, mc.rms_error, mc.predicted, mc.rms_error_naive, mc.predicted_naive, mc.repeats),
            config=PLOTLY_CONFIG,
            key="gs_convergence_chart",
        )
        st.caption(
            f"{mc.repeats} independent runs of up to {MC_MAX_EPISODES:,} episodes (fixed seed {MC_SEED}), estimate "
            f"{'G' if baseline == 0.0 else 'G − V̂'} (as chosen under *The hill J(θ)*). The error of the ∇log π "
            "average falls like 1/√N, a factor 10 for every 100× more episodes."
        )
    else:
        st.info(
            "The exact gradient is 0 here, so there is no error curve to plot: every estimate averages to 0"
            + (" (and without a baseline at γ = 0 each one is exactly 0)." if baseline == 0.0 else "."),
            icon=":material/info:",
        )

    st.subheader("Why ∇log π and not ∇π?")
    st.markdown(
        r"Drop the division by π and use $\sum_t \nabla\pi(a_t \mid s_t)$ in place of the score. Each step "
        r"is then weighted by one extra factor $\pi(a_t \mid s_t)$ — the probability of the very action that was "
        "sampled, counted twice. The average converges, but to the wrong number:"
    )
    st.latex(
        rf"\begin{{aligned}}\mathbb{{E}}\Big[G \textstyle\sum_t \nabla \log \pi\Big] &= {num(stats.mean, 4)} = \dfrac{{\partial J}}{{\partial \theta_1}}\\"
        rf"\mathbb{{E}}\Big[G \textstyle\sum_t \nabla \pi\Big] &= {num(naive_stats.mean, 4)} \neq {num(stats.exact_gradient, 4)}\end{{aligned}}"
    )
    st.markdown(
        f"Sampled, {mc.repeats * MC_MAX_EPISODES:,} episodes: the ∇log π average is "
        f"**{num(mc.mean, 4)} ± {num(mc.standard_error, 4)}** (exact {num(mc.exact_gradient, 4)}); the ∇π "
        f"average is **{num(mc.mean_naive, 4)} ± {num(mc.standard_error_naive, 4)}**, on its own "
        f"expectation {num(mc.naive_expectation, 4)}, which misses the gradient by "
        f"{num(mc.naive_expectation - mc.exact_gradient, 4)} (± is one standard error)."
    )
    st.caption(
        "The article says ∇log π is used because it lowers variance. The real reason is "
        "stronger: without dividing by π the estimate is biased, however many episodes you average."
    )


def trajectory_table(theta: float, theta2: float, gamma: float) -> None:
    """Every trajectory up to the cap: P, G, the score and their product, summed (a fragment:
    moving the cap redraws only this table)."""
    cap = st.slider(
        "Longest trajectory listed (loops k)",
        0,
        CAP_MAX,
        key="gs_cap",
        help="Every trajectory with at most this many S1 → S2 → S1 loops, both endings.",
    )
    table = enumerate_trajectories(theta, theta2, gamma, max_loops=cap)
    eps = table.episodes
    naive_score = pi_gradient_sum_theta1(eps)
    rows = {
        "τ": [trajectory_label(int(kk), bool(gg)) for kk, gg in zip(eps.loops, eps.reached_goal)],
        "P(τ)": table.probability,
        "G(τ)": table.ret,
        "∇θ₁ log P(τ)": table.score_theta1,
        "P·G·∇log P": table.product,
        "Σ ∇θ₁π (no ÷π)": naive_score,
        "P·G·Σ∇π": table.probability * table.ret * naive_score,
    }
    fmt = {name: st.column_config.NumberColumn(format="%.6f") for name in rows if name != "τ"}
    st.dataframe(
        rows, hide_index=True, width="stretch", height=min(36 * (len(eps.loops) + 1) + 3, 330), column_config=fmt
    )
    exact_g1 = float(expected_return_grad(theta, theta2, gamma)[0])
    st.latex(
        rf"\begin{{aligned}}&\sum_{{\text{{listed}}\ \tau}} P\, G\, \nabla_{{\theta_1}} \log P = {num(table.gradient_theta1, 6)}\\"
        rf"&\text{{vs exact}}\quad \frac{{\partial J}}{{\partial \theta_1}} = {num(exact_g1, 6)}\\"
        rf"&\text{{probability not listed}} = {num(table.missing_probability, 6)}\end{{aligned}}"
    )
    st.caption(cap_note(table.missing_probability, cap, CAP_MAX))
    mirror({"gs_cap": PARAMS["gs_cap"]})


# --- the page ----------------------------------------------------------------------------------
notices = bind(PARAMS)
st.session_state.setdefault("gs_history", [])

st.title("Gradient step")
st.markdown(
    "A robot on three cells S1 S2 S3 is rewarded +1 for reaching S3. In S1 it goes Right "
    "with probability σ(θ₁), in S2 with probability σ(θ₂). Take one policy-gradient step by "
    "hand, watch sampled steps climb, see which way the *true* expected return J(θ) slopes, "
    "and find out why one sampled episode is enough to point uphill — on average."
)
show_notices(notices)
st.caption(
    "Press **Apply update** once at the defaults: θ₁ goes 0 → 0.02, the article's number. Then try the "
    "tasks under the worked step, press **Play** in *Watch it learn*, and **Resample** in *The hill J(θ)*: "
    "the grey slope jumps around, but its average is the black tangent."
)

# --- controls shared by every section ---------------------------------------------------------
c1, c2, c3, c4, c5, c6 = st.columns(6)
theta = c1.slider(
    "θ₁ (policy in S1)",
    *THETA_RANGE,
    step=0.01,
    key="gs_theta",
    help="π(Right|S1) = σ(θ₁). Apply update moves it for you.",
)
theta2 = c2.slider(
    "θ₂ (policy in S2)",
    *THETA_RANGE,
    step=0.01,
    key="gs_theta2",
    help="π(Right|S2) = σ(θ₂). The article never changes it; J depends on it.",
)
gamma = c3.slider("Discount γ", 0.0, 1.0, step=0.01, key="gs_gamma")
v_hat = c4.slider(
    "V̂(S1), assumed",
    -1.0,
    1.0,
    step=0.01,
    key="gs_v",
    help="The article's guess of V^π(S1), used as the baseline in the advantage.",
)
alpha = c5.slider("Learning rate α", 0.0, 2.0, step=0.01, key="gs_alpha")
action_name = c6.radio("Action in S1", ACTIONS, key="gs_action", horizontal=True)

# Only the chosen section is computed and sent: a control redraws one section, not four.
section = st.segmented_control("Section", SECTIONS, key="gs_section", required=True, label_visibility="collapsed")
if section != "Watch it learn":
    st.session_state["gs_playback"] = "Pause"  # a hidden learner does not keep playing
if section == "One update":
    worked_update_section(theta, theta2, gamma, v_hat, alpha, action_name)
elif section == "Watch it learn":
    learning_section()
elif section == "The hill J(θ)":
    # a fragment: the seed, Resample and the estimator redraw this section only (a page control
    # reruns the page, which calls it again with the new values)
    st.fragment(objective_section)(theta, theta2, gamma, v_hat, alpha, action_name)
else:
    log_trick_section(theta, theta2, gamma, v_hat)

mirror(PARAMS)
next_page_link("gradient-step")
