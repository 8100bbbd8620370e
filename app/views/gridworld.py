"""GridWorld: REINFORCE → PPO → GRPO on the source article's 5×5 grid, where J(θ), ∇J and every
expectation are exact, so each sampled number has its true value beside it."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from app.charts.gridworld import (
    advantages_chart,
    cell_heat,
    clip_chart,
    clipped_objective,
    compare_chart,
    policy_grid,
    training_chart,
)
from app.format import num, sig, signed
from app.lessons import grpo_weight_task, ppo_clip_task
from app.state import Param, bind, mirror, show_notices
from app.theme import PLOTLY_CONFIG
from app.ui import drive_learner, is_playing, next_page_link, playback_control, predict_task
from pgcore.gridworld import ACTIONS, GridWorld
from pgcore.gridworld_algos import ReinforceConfig, TrainState, UpdateInfo, init_state, target_return
from pgcore.gridworld_compare import (
    COMPARE_BUDGET,
    COMPARE_SEEDS,
    DEFAULT_LEARNERS,
    Comparison,
    LearningCurve,
    compare,
    learning_curve,
    load_curves,
)
from pgcore.gridworld_grpo import GRPOConfig, expected_grpo_update, group_advantages
from pgcore.gridworld_ppo import PPOConfig
from pgcore.gridworld_sampling import sample_episodes

ENV = GridWorld()  # the article's grid: 5×5, −10 a step, +1 for entering the goal, at most 50 actions
SECTIONS = ("The grid", "Train", "Compare", "PPO clip", "GRPO groups")
POLICIES = ("random (θ = 0)", "the article's example", "near-optimal (margin m)")
ALGORITHMS = ("REINFORCE", "PPO", "GRPO")
BASELINES = {"batch mean (leave-one-out)": "mean", "none": "none", "exact V (oracle)": "value"}
ADVANTAGES = {"GAE (λ = 0.95)": "gae", "reward-to-go − V(s)": "rtg"}
MAX_GROUP = 8
GROUP_RETURNS = (-69.0, -89.0, -149.0, -500.0, -79.0, -109.0, -229.0, -319.0)
TICK_SECONDS = 0.2  # Play: five updates a second
HISTORY_LIMIT = 2000  # updates kept for the training chart
TARGET_GAP = 0.01  # "reached": J within 1 % of the optimum
COMPARE_POINTS = 201
#: The article's example policy: π at (0, 0) and at (4, 3); uniform elsewhere.
ARTICLE_PI = {0: (0.02, 0.60, 0.35, 0.03), 23: (0.01, 0.95, 0.02, 0.02)}
ARROWS = ("↑", "→", "↓", "←")

PARAMS = {
    "gw_section": Param("section", SECTIONS[0], options=SECTIONS),
    # the grid
    "gw_policy": Param("policy", POLICIES[1], options=POLICIES),
    "gw_margin": Param("margin", 2.0, 0.0, 8.0),
    "gw_episode_seed": Param("episode_seed", 0, 0, 999),
    # train
    "gw_algo": Param("algo", ALGORITHMS[0], options=ALGORITHMS),
    "gw_seed": Param("seed", 0, 0, 999),
    "gw_r_lr": Param("r_lr", 0.05, 0.005, 0.5),
    "gw_r_n": Param("r_episodes", 8, 1, 64),
    "gw_r_baseline": Param("r_baseline", next(iter(BASELINES)), options=tuple(BASELINES)),
    "gw_p_lr": Param("p_lr", 1.0, 0.05, 5.0),
    "gw_p_n": Param("p_episodes", 16, 2, 64),
    "gw_p_eps": Param("p_eps", 0.2, 0.05, 1.0),
    "gw_p_epochs": Param("p_epochs", 4, 1, 10),
    "gw_p_adv": Param("p_advantage", next(iter(ADVANTAGES)), options=tuple(ADVANTAGES)),
    "gw_g_lr": Param("g_lr", 4.0, 0.01, 10.0),
    "gw_g_m": Param("g_prompts", 4, 1, 8),
    "gw_g_g": Param("g_group", 8, 2, 32),
    "gw_g_eps": Param("g_eps", 0.2, 0.05, 1.0),
    "gw_g_beta": Param("g_beta", 0.0, 0.0, 1.0),
    "gw_g_loo": Param("g_loo", False),
    "gw_g_std": Param("g_std", True),
    # compare
    "gw_cmp_seeds": Param("seeds", 3, 2, COMPARE_SEEDS),
    "gw_cmp_budget": Param("budget", 15_000, 5_000, COMPARE_BUDGET),
    # PPO clip
    "gw_eps": Param("eps", 0.2, 0.05, 0.5),
    "gw_r": Param("r", 1.3, 0.0, 2.5),
    # GRPO groups
    "gw_group": Param("G", 4, 2, MAX_GROUP),
    **{f"gw_R{i}": Param(f"R{i + 1}", GROUP_RETURNS[i], -500.0, 1.0) for i in range(MAX_GROUP)},
    "gw_shift": Param("c", 0.0, -200.0, 200.0),
    "gw_scale": Param("k", 1.0, 0.1, 10.0),
    "gw_loo": Param("loo", False),
    "gw_std": Param("std", True),
    "gw_grpo_margin": Param("grpo_margin", 0.0, 0.0, 6.0),
}


def params(*keys: str) -> dict[str, Param]:
    return {key: PARAMS[key] for key in keys}


GRID_PARAMS = params("gw_policy", "gw_margin", "gw_episode_seed")
ALGO_PARAMS = {
    "REINFORCE": params("gw_r_lr", "gw_r_n", "gw_r_baseline"),
    "PPO": params("gw_p_lr", "gw_p_n", "gw_p_eps", "gw_p_epochs", "gw_p_adv"),
    "GRPO": params("gw_g_lr", "gw_g_m", "gw_g_g", "gw_g_eps", "gw_g_beta", "gw_g_loo", "gw_g_std"),
}
TRAIN_PARAMS = params("gw_algo", "gw_seed")
COMPARE_PARAMS = params("gw_cmp_seeds", "gw_cmp_budget")
CLIP_PARAMS = params("gw_eps", "gw_r")
GROUP_PARAMS = params(
    "gw_group", "gw_shift", "gw_scale", "gw_loo", "gw_std", "gw_grpo_margin", *(f"gw_R{i}" for i in range(MAX_GROUP))
)


# --- policies and cached exact results --------------------------------------------------------
def article_theta() -> np.ndarray:
    """θ = log π for the article's two example rows (softmax of log π is π); θ = 0 elsewhere."""
    theta = ENV.uniform_theta()
    for state, probs in ARTICLE_PI.items():
        theta[state] = np.log(probs)
    return theta


def shown_theta(policy: str, margin: float) -> np.ndarray:
    if policy == POLICIES[1]:
        return article_theta()
    if policy == POLICIES[2]:
        return ENV.greedy_theta(margin)
    return ENV.uniform_theta()


@st.cache_data(max_entries=64)
def exact_view(policy: str, margin: float) -> dict[str, Any]:
    """π, the exact J, expected visits per cell and P(goal) for one of the grid's policies."""
    theta = shown_theta(policy, margin)
    visits = ENV.state_visitation(theta).sum(axis=0)
    return dict(
        pi=ENV.policy(theta),
        J=ENV.expected_return(theta),
        visits=visits,
        length=float(visits.sum()),
        goal=ENV.goal_probability(theta),
    )


@st.cache_data(max_entries=64)
def sampled_episode(policy: str, margin: float, seed: int):
    """One episode under the chosen policy (seeded) and every factor of its probability."""
    theta = shown_theta(policy, margin)
    episodes = sample_episodes(ENV, theta, 1, np.random.default_rng(seed))
    states, actions, _ = episodes.path(0)
    return ENV.trajectory_factors(theta, states, actions), bool(episodes.terminated[0])


@st.cache_data(max_entries=32)
def grpo_expectation(margin: float, group: int, loo: bool, std: bool):
    return expected_grpo_update(ENV, ENV.greedy_theta(margin), group, loo, std)


def tex_number(x: float) -> str:
    """``x`` to 4 significant figures for LaTeX: 3.154 \\times 10^{-23}, not 3.154e-23."""
    text = sig(x, 4)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def cell_name(state: int) -> str:
    row, col = ENV.cell(int(state))
    return f"({row}, {col})"


# --- the sections ---------------------------------------------------------------------------------
def resample() -> None:
    st.session_state["gw_episode_seed"] = (int(st.session_state["gw_episode_seed"]) + 1) % 1000


def grid_section() -> None:
    """π as arrows with the exact visits, J and J*; one sampled episode and its factor table."""
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    policy = c1.selectbox("Policy", POLICIES, key="gw_policy")
    margin = 0.0
    if policy == POLICIES[2]:
        margin = float(
            c2.slider(
                "Margin m",
                0.0,
                8.0,
                step=0.5,
                key="gw_margin",
                help="Logit m on one shortest-path action in every cell, 0 on the others.",
            )
        )
    view = exact_view(policy, margin)
    pi = view["pi"]
    size = ENV.size
    J, J_star = view["J"], ENV.optimal_return()
    L = ENV.shortest_path_length
    grid_col, text_col = st.columns([3, 2], gap="large")
    with grid_col:
        st.plotly_chart(
            policy_grid(pi, size, "π(a|s) as arrows over the expected visits", heat=view["visits"], heat_name="visits"),
            config=PLOTLY_CONFIG,
            key="gw_policy_chart",
        )
    with text_col:
        p0 = pi[0]
        st.latex(
            rf"\pi(\cdot \mid (0,0)) = [{', '.join(num(p, 2) for p in p0)}]"
            r"\;\;(\uparrow \rightarrow \downarrow \leftarrow)"
        )
        st.latex(
            rf"\begin{{aligned}}J(\theta) &= \mathbb{{E}}\Big[\textstyle\sum_{{t<T}} r_t\Big] = {num(J, 3)}\\"
            rf"J^* &= (L - 1)\,r_\text{{step}} + r_\text{{goal}}\\ &= {L - 1} \cdot ({num(ENV.step_reward, 0)}) + "
            rf"{num(ENV.goal_reward, 0)} = {num(J_star, 0)}\end{{aligned}}"
        )
        st.caption(
            f"J is computed exactly, by backward induction over the T = {ENV.max_steps} actions an episode may "
            f"take; nothing is sampled. The best policy walks a shortest path of L = 2·({size} − 1) = {L} moves: "
            f"{L - 1} steps at −10 and one step into the goal at +1. Under this policy an episode takes "
            f"{num(view['length'], 1)} actions on average and reaches the goal with probability "
            f"{num(view['goal'], 3)}; the heat map counts the expected actions taken in each cell."
        )
    # its own fragment: a new episode redraws the path, its table and its formulas, not the map above
    st.fragment(episode_part)(policy, margin)
    mirror(GRID_PARAMS)


def episode_part(policy: str, margin: float) -> None:
    """One sampled episode under the shown policy: its path, its factor table, P(τ) and ∇log P(τ)."""
    view = exact_view(policy, margin)
    pi, size = view["pi"], ENV.size
    p0 = pi[0]
    st.subheader("One sampled episode and the probability of its path")
    s1, s2 = st.columns([2, 1], vertical_alignment="bottom")
    seed = s1.slider(
        "Episode seed", 0, 999, key="gw_episode_seed", help="Which episode is sampled (a seeded generator)."
    )
    s2.button("Sample another", on_click=resample, key="gw_resample", icon=":material/casino:", width="stretch")
    factors, reached = sampled_episode(policy, margin, seed)
    steps = int(factors.actions.size)
    path_col, table_col = st.columns([1, 1], gap="medium")
    with path_col:
        st.plotly_chart(
            policy_grid(pi, size, f"Episode with seed {seed}: {steps} actions", path=factors.states),
            config=PLOTLY_CONFIG,
            key="gw_path_chart",
        )
    with table_col:
        log_pi = np.log(factors.policy)
        rows = [
            {
                "t": str(t),
                "sₜ": cell_name(int(factors.states[t])),
                "aₜ": f"{ARROWS[a]} {ACTIONS[a]}",
                "π(aₜ|sₜ)": f"{factors.policy[t]:.4f}",
                "P(sₜ₊₁|sₜ,aₜ)": num(float(factors.transition[t]), 0),
                "rₜ": num(float(factors.rewards[t]), 0),
                "log π": f"{log_pi[t]:.4f}",
            }
            for t, a in enumerate(int(a) for a in factors.actions)
        ]
        # A markdown table in a scrolling box (compact: see app/Home.py's style), not a data grid:
        # the browser redraws it for a new episode in a fraction of the grid's time.
        with st.container(height=min(30 * (steps + 1) + 12, 320), border=False, key="gw_factor_table"):
            st.markdown(markdown_table(rows), unsafe_allow_html=True)
        ending = "reached the goal" if reached else f"was cut after T = {ENV.max_steps} actions"
        st.caption(rf"The episode {ending}; its return is $R(\tau) = \sum_t r_t = {num(factors.ret, 0)}$.")
    st.latex(
        rf"\begin{{aligned}}P(\tau \mid \theta) &= p(s_0)\prod_t \pi_\theta(a_t \mid s_t)\,P(s_{{t+1}} \mid s_t, a_t)\\"
        rf"&= {num(factors.start_probability, 0)} \cdot {tex_number(float(np.prod(factors.policy)))} \cdot "
        rf"{num(float(np.prod(factors.transition)), 0)} = {tex_number(factors.probability)}\\"
        rf"\log P(\tau \mid \theta) &= 0 + ({num(float(log_pi.sum()), 3)}) + 0 = {num(factors.log_probability, 3)}"
        r"\end{aligned}"
    )
    start_visits = factors.actions[factors.states[:-1] == ENV.start]
    counts = np.bincount(start_visits, minlength=4)
    score0 = factors.score[ENV.start]
    st.markdown(
        "**The article's closing question: why does the log help?** The log turns the product into a sum, "
        "and $p(s_0)$ and every $P(s_{t+1} \\mid s_t, a_t)$ do not depend on θ, so their gradients vanish. Only the "
        "policy's terms are left:"
    )
    st.latex(
        r"\nabla_\theta \log P(\tau \mid \theta) = \underbrace{\nabla_\theta \log p(s_0)}_{0}"
        r" + \sum_t \nabla_\theta \log \pi_\theta(a_t \mid s_t) + \underbrace{\sum_t \nabla_\theta \log P(s_{t+1} \mid s_t, a_t)}_{0}"
    )
    st.latex(
        rf"\begin{{aligned}}\frac{{\partial \log P(\tau)}}{{\partial \theta_{{(0,0)}}}} &= n_a - n\,\pi(\cdot \mid (0,0))\\"
        rf"&= [{', '.join(str(int(c)) for c in counts)}] - {int(counts.sum())} \cdot [{', '.join(num(p, 2) for p in p0)}]\\"
        rf"&= [{', '.join(num(g, 3) for g in score0)}]\end{{aligned}}"
    )
    st.caption(
        f"This episode acted {int(counts.sum())} time{'s' if counts.sum() != 1 else ''} in the start cell "
        "(counts n_a per action ↑ → ↓ ←). Each cell's row of the gradient is its action counts minus its visits "
        "times π, so every row sums to 0. No model of the grid's moves is needed anywhere."
    )
    mirror(params("gw_episode_seed"))


# --- train: the learner in session_state -------------------------------------------------------
@dataclass(frozen=True)
class TrainSettings:
    """Everything that defines a run: the same settings give the same run."""

    algorithm: str
    config: Any
    seed: int


def train_settings() -> TrainSettings:
    ss = st.session_state
    algorithm = ss["gw_algo"]
    config: Any
    if algorithm == "PPO":
        config = PPOConfig(
            learning_rate=float(ss["gw_p_lr"]),
            episodes_per_update=int(ss["gw_p_n"]),
            clip_eps=float(ss["gw_p_eps"]),
            epochs=int(ss["gw_p_epochs"]),
            advantage=ADVANTAGES[ss["gw_p_adv"]],
        )
    elif algorithm == "GRPO":
        config = GRPOConfig(
            learning_rate=float(ss["gw_g_lr"]),
            prompts=int(ss["gw_g_m"]),
            group_size=int(ss["gw_g_g"]),
            clip_eps=float(ss["gw_g_eps"]),
            beta=float(ss["gw_g_beta"]),
            leave_one_out=bool(ss["gw_g_loo"]),
            scale_by_std=bool(ss["gw_g_std"]),
        )
    else:
        config = ReinforceConfig(
            learning_rate=float(ss["gw_r_lr"]),
            episodes_per_update=int(ss["gw_r_n"]),
            baseline=BASELINES[ss["gw_r_baseline"]],
        )
    return TrainSettings(algorithm, config, int(ss["gw_seed"]))


def _key(settings: TrainSettings) -> tuple:
    # compared as plain tuples: each run of the page defines the dataclasses anew
    return (settings.algorithm, astuple(settings.config), settings.seed)


def train_reset(settings: TrainSettings) -> None:
    state = init_state(ENV, settings.seed)
    st.session_state["gw_run"] = dict(
        key=_key(settings),
        state=state,
        exact=[ENV.expected_return(state.theta)],
        steps=[0],
        sampled=[],
        last=None,
        updates=0,
    )


def current_run(settings: TrainSettings) -> dict:
    """The run in progress, restarted if a setting that defines it has changed."""
    run = st.session_state.get("gw_run")
    if run is None or run["key"] != _key(settings):
        train_reset(settings)
    return st.session_state["gw_run"]


def train_advance(settings: TrainSettings) -> None:
    """One update of the chosen algorithm (its pgcore step function), scored by the exact J."""
    run = current_run(settings)
    state: TrainState = run["state"]
    state, info = settings.config.step(ENV, state)
    run["state"], run["last"] = state, info
    run["exact"].append(ENV.expected_return(state.theta))
    run["steps"].append(state.env_steps)
    run["sampled"].append(info.mean_return)
    run["updates"] += 1
    del run["exact"][:-HISTORY_LIMIT], run["steps"][:-HISTORY_LIMIT], run["sampled"][: -(HISTORY_LIMIT - 1)]


def algorithm_controls(algorithm: str) -> None:
    """The chosen algorithm's own knobs (each algorithm keeps its own values in the link)."""
    bind(ALGO_PARAMS[algorithm])  # restores values a hidden algorithm's widgets lost
    if algorithm == "REINFORCE":
        k1, k2, k3 = st.columns(3)
        k1.slider("Learning rate α", 0.005, 0.5, step=0.005, key="gw_r_lr", format="%.3f")
        k2.slider("Episodes per update N", 1, 64, key="gw_r_n")
        k3.selectbox("Baseline", tuple(BASELINES), key="gw_r_baseline")
    elif algorithm == "PPO":
        k1, k2, k3, k4, k5 = st.columns(5)
        k1.slider("Learning rate α", 0.05, 5.0, step=0.05, key="gw_p_lr")
        k2.slider("Episodes per update N", 2, 64, key="gw_p_n")
        k3.slider("Clip ε", 0.05, 1.0, step=0.05, key="gw_p_eps")
        k4.slider("Epochs K", 1, 10, key="gw_p_epochs")
        k5.selectbox("Advantage", tuple(ADVANTAGES), key="gw_p_adv")
    else:
        k1, k2, k3, k4 = st.columns(4)
        k1.slider("Learning rate α", 0.01, 10.0, step=0.01, key="gw_g_lr")
        k2.slider("Start cells M", 1, 8, key="gw_g_m")
        k3.slider("Group size G", 2, 32, key="gw_g_g")
        k4.slider("Clip ε", 0.05, 1.0, step=0.05, key="gw_g_eps")
        k5, k6, k7 = st.columns(3)
        k5.slider("KL weight β", 0.0, 1.0, step=0.01, key="gw_g_beta")
        k6.checkbox("Leave-one-out mean", key="gw_g_loo")
        k7.checkbox("Divide by the group's std", key="gw_g_std", help="Off: Dr. GRPO.")
    mirror(ALGO_PARAMS[algorithm])


def train_section() -> None:
    """Pick an algorithm and its knobs; Play / Step / Reset; the learner is drawn below."""
    st.markdown(
        "Every update samples fresh episodes, steps θ, and the page scores the new policy with the "
        "**exact** J(θ) from (0, 0): a smooth line where a sampled return would jump around."
    )
    a1, a2 = st.columns([2, 1])
    algorithm = a1.segmented_control("Algorithm", ALGORITHMS, key="gw_algo", required=True)
    a2.number_input("Seed", 0, 999, key="gw_seed", help="The same seed replays the same episodes.")
    algorithm_controls(algorithm)
    settings = train_settings()
    r1, r2, r3 = st.columns([1.4, 1, 1], vertical_alignment="bottom")
    with r1:
        playing = playback_control("gw_playback")
    step = r2.button("Step", key="gw_step", icon=":material/skip_next:", width="stretch", disabled=playing)
    reset = r3.button("Reset", key="gw_reset", icon=":material/restart_alt:", width="stretch")
    drive_learner(
        settings,
        playing=playing,
        step=step,
        reset=reset,
        on_reset=train_reset,
        on_step=train_advance,
        view=train_view,
        tick_seconds=TICK_SECONDS,
    )
    mirror(TRAIN_PARAMS)


DIAGNOSTICS = {
    "entropy": ("entropy", "How random the policy still is where it went: log 4 = 1.386 nats is uniform, 0 certain."),
    "gradient_norm": ("‖ĝ‖", "The size of the first gradient step's direction in this update."),
    "approx_kl": ("approx-KL", "How far this update moved the policy on its own samples (k3 estimate)."),
    "clip_fraction": ("clip fraction", "Share of samples whose ratio r left [1 − ε, 1 + ε]: the clip stopped them."),
    "value_loss": ("value loss", "Squared error of the learned V(s) against its targets, before this fit."),
    "kl_to_reference": ("KL to reference", "How far the policy has drifted from the initial one: what β penalizes."),
    "zero_std_groups": ("zero-std groups", "Share of groups whose returns were all equal: all-zero advantages."),
}
USED = {
    "REINFORCE": ("entropy", "gradient_norm"),
    "PPO": ("entropy", "gradient_norm", "approx_kl", "clip_fraction", "value_loss"),
    "GRPO": ("entropy", "gradient_norm", "approx_kl", "clip_fraction", "kl_to_reference", "zero_std_groups"),
}


def train_view(settings: TrainSettings) -> None:
    """The run so far; while playing, each run first takes one update."""
    if is_playing("gw_playback"):
        train_advance(settings)
    run = current_run(settings)
    state: TrainState = run["state"]
    J_star = ENV.optimal_return()
    target = target_return(ENV, TARGET_GAP)
    exact, steps = run["exact"], run["steps"]
    sampled_name = "mean sampled return (random start cells)" if settings.algorithm == "GRPO" else "mean sampled return"
    curve_col, grid_col = st.columns([3, 2], gap="large")
    with curve_col:
        st.plotly_chart(
            training_chart(
                np.asarray(steps),
                np.asarray(exact),
                np.asarray(run["sampled"]),
                J_star,
                target,
                sampled_name=sampled_name,
            ),
            config=PLOTLY_CONFIG,
            key="gw_train_chart",
        )
    with grid_col:
        st.plotly_chart(
            policy_grid(ENV.policy(state.theta), ENV.size, f"π after {run['updates']} updates", height=340),
            config=PLOTLY_CONFIG,
            key="gw_train_grid",
        )
    last: UpdateInfo | None = run["last"]
    reached = next((i for i, j in enumerate(exact) if j >= target), None)
    if last is None:
        st.caption(
            f"The uniform policy starts at J = {num(exact[-1], 2)}; the optimum is J* = {num(J_star, 0)}. "
            "Press **Play** or **Step**."
        )
        return
    st.latex(
        rf"\text{{update {run['updates']}:}}\quad J(\theta) = {num(exact[-1], 3)},\quad "
        rf"J^* - J = {num(J_star - exact[-1], 3)},\quad \text{{env steps}} = {state.env_steps:,}".replace(",", "{,}")
    )
    if reached is not None:
        first = steps[reached]
        st.caption(
            f"J came within 1 % of the optimum (J ≥ {num(target, 2)}, the dashed line) after {first:,} env steps"
            + (" (among the updates still kept)." if run["updates"] >= HISTORY_LIMIT else ".")
        )
    else:
        st.caption(f"J has not yet come within 1 % of the optimum (J ≥ {num(target, 2)}, the dashed line).")
    if settings.algorithm == "GRPO":
        st.caption(
            "GRPO's episodes start in random cells, so their mean return (grey) is not an estimate of J from (0, 0)."
        )
    rows = [
        {
            "diagnostic": DIAGNOSTICS[field][0],
            "last update": sig(getattr(last, field), 4),
            "what it says": DIAGNOSTICS[field][1],
        }
        for field in USED[settings.algorithm]
    ]
    st.markdown(markdown_table(rows), unsafe_allow_html=True)


def markdown_table(rows: list[dict[str, str]]) -> str:
    """A small table as markdown, wrapped so that it scrolls sideways on a phone."""
    header = list(rows[0])

    def cell(text: object) -> str:
        return str(text).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(row[h]) for h in header) + " |" for row in rows]
    return '<div style="overflow-x: auto">\n\n' + "\n".join(lines) + "\n\n</div>"


# --- compare -------------------------------------------------------------------------------------
CURVES_FILE = Path(__file__).resolve().parents[2] / "data" / "gridworld_curves.npz"


@st.cache_resource(show_spinner=False)
def shipped_curves() -> dict[str, list[LearningCurve]] | None:
    """Every learner's run on seeds 0-9 to the largest budget, from the file that
    scripts/make_gridworld_curves.py writes (None if it was made with other settings)."""
    return load_curves(CURVES_FILE, ENV, DEFAULT_LEARNERS, COMPARE_SEEDS, COMPARE_BUDGET)


@st.cache_data(max_entries=64, show_spinner="Training…")
def trained_curve(name: str, seed: int) -> LearningCurve:
    """One run, trained here: only when the shipped file does not match the defaults."""
    return learning_curve(ENV, DEFAULT_LEARNERS[name], seed, COMPARE_BUDGET)


@st.cache_data(max_entries=64, show_spinner=False)
def compare_runs(seeds: int, budget: int) -> Comparison:
    """Seeds 0 … seeds−1 of each learner cut at ``budget``: a run to a smaller budget is a
    prefix of the run to the largest one (pgcore.gridworld_compare)."""
    curves = shipped_curves()
    if curves is None:
        curves = {name: [trained_curve(name, seed) for seed in range(seeds)] for name in DEFAULT_LEARNERS}
    return compare(ENV, curves, seeds, budget, target_gap=TARGET_GAP, points=COMPARE_POINTS)


def compare_section() -> None:
    """The three algorithms over seeds: mean ± band of the exact J, env steps to 99 % of J*."""
    c1, c2 = st.columns(2)
    seeds = int(c1.slider("Seeds", 2, COMPARE_SEEDS, key="gw_cmp_seeds"))
    budget = int(c2.slider("Env-step budget", 5_000, COMPARE_BUDGET, step=5_000, key="gw_cmp_budget"))
    result = compare_runs(seeds, budget)
    J_star = ENV.optimal_return()
    bands = {name: (result.mean[name], result.std[name]) for name in result.mean}
    st.plotly_chart(
        compare_chart(result.grid, bands, J_star, result.target, seeds),
        config=PLOTLY_CONFIG,
        key="gw_compare_chart",
    )
    rows = []
    for name, hits in result.reached.items():
        got = [h for h in hits if h is not None]
        if got:
            median = f"{float(np.median(got)):,.0f}"
            missing = len(hits) - len(got)
            note = f"; {missing} not reached within {budget:,} steps" if missing else ""
        else:
            median, note = "", f"not reached within {budget:,} steps"
        rows.append(
            {
                "algorithm": name,
                "seeds within 1 % of J*": f"{len(got)} of {len(hits)}",
                "median env steps to get there": median + note,
            }
        )
    st.markdown(markdown_table(rows), unsafe_allow_html=True)
    st.caption(
        f"Each learner uses its default settings ({describe_defaults()}), seeds 0 … {seeds - 1}, "
        f"and trains until it has used {budget:,} env steps. The curves are the exact J after each update, "
        f"held until the next; the dashed line is 1 % below J* = {num(J_star, 0)}. GRPO's groups start "
        "in random cells, so its env steps buy episodes that are often short."
    )
    mirror(COMPARE_PARAMS)


def describe_defaults() -> str:
    r, p, g = DEFAULT_LEARNERS["REINFORCE"], DEFAULT_LEARNERS["PPO"], DEFAULT_LEARNERS["GRPO"]
    return (
        f"REINFORCE α = {r.learning_rate:g}, N = {r.episodes_per_update}, {r.baseline} baseline; "
        f"PPO α = {p.learning_rate:g}, N = {p.episodes_per_update}, K = {p.epochs}, ε = {p.clip_eps:g}; "
        f"GRPO α = {g.learning_rate:g}, M = {g.prompts}, G = {g.group_size}, K = {g.epochs}"
    )


# --- PPO clip --------------------------------------------------------------------------------------
def clip_case(r: float, advantage: float, eps: float) -> tuple[str, bool]:
    """Where r is (below / inside / above the clip range) and whether the clip is the min there."""
    region = "below" if r < 1.0 - eps else "above" if r > 1.0 + eps else "inside"
    clipped = (advantage > 0 and region == "above") or (advantage < 0 and region == "below")
    return region, clipped


CASES = (
    (1.0, "below", "r·A (the clip's value is larger)", "A: push r up, toward 1"),
    (1.0, "inside", "r·A (both agree)", "A: push r up"),
    (1.0, "above", "(1 + ε)·A, clipped", "0: no push past 1 + ε"),
    (-1.0, "below", "(1 − ε)·A, clipped", "0: no push below 1 − ε"),
    (-1.0, "inside", "r·A (both agree)", "A: push r down"),
    (-1.0, "above", "r·A (the clip's value is larger)", "A: push r down, toward 1"),
)


def clip_section() -> None:
    """min(r·A, clip(r, 1−ε, 1+ε)·A) against r for A = +1 and A = −1, and the six cases."""
    c1, c2 = st.columns(2)
    eps = float(c1.slider("Clip ε", 0.05, 0.5, step=0.01, key="gw_eps"))
    r = float(c2.slider("Your ratio r", 0.0, 2.5, step=0.01, key="gw_r"))
    pos_col, neg_col = st.columns(2, gap="large")
    pos_col.plotly_chart(clip_chart(eps, 1.0, r), config=PLOTLY_CONFIG, key="gw_clip_pos")
    neg_col.plotly_chart(clip_chart(eps, -1.0, r), config=PLOTLY_CONFIG, key="gw_clip_neg")
    values = {a: float(clipped_objective(np.array([r]), a, eps)[0]) for a in (1.0, -1.0)}
    clip_r = min(max(r, 1.0 - eps), 1.0 + eps)
    st.latex(
        rf"\begin{{aligned}}L(r) &= \min\big(r A,\ \operatorname{{clip}}(r, 1-\varepsilon, 1+\varepsilon) A\big),"
        rf"\quad r = {num(r, 2)},\ \varepsilon = {num(eps, 2)}\\"
        rf"A = +1&:\ \min({num(r, 2)},\ {num(clip_r, 2)}) = {num(values[1.0], 2)}\\"
        rf"A = -1&:\ \min({num(-r, 2)},\ {num(-clip_r, 2)}) = {num(values[-1.0], 2)}\end{{aligned}}"
    )
    rows = []
    for advantage, region, value, gradient in CASES:
        here, _ = clip_case(r, advantage, eps)
        mark = "**→**" if here == region else ""
        span = {"below": f"r < {num(1 - eps, 2)}", "inside": "inside", "above": f"r > {num(1 + eps, 2)}"}[region]
        rows.append(
            {
                "": mark,
                "A": "> 0" if advantage > 0 else "< 0",
                "r": span,
                "the min is": value,
                "slope in r": gradient,
            }
        )
    st.markdown(markdown_table(rows), unsafe_allow_html=True)
    st.caption(
        "r = π_new(a|s)/π_old(a|s) measures how much more likely the sampled action has become during the "
        "update. The clip only ever removes the incentive to move further in the direction the advantage "
        "wants, once r has moved more than ε that way; it never stops a move back toward r = 1. "
        "The arrow marks your r's two cases."
    )
    with st.container(border=True):
        st.markdown("**Predict, then check**")
        predict_task(
            1,
            "With A < 0, move r below 1 − ε. Does the objective still push r further down?",
            ("yes, it pushes", "no, its slope is 0"),
            "gw_guess_clip",
            lambda: ppo_clip_task(r, eps, values[-1.0], -r),
        )
    mirror(CLIP_PARAMS)


# --- GRPO groups -----------------------------------------------------------------------------------
def group_section() -> None:
    """G returns → advantages that sum to 0; shift and scale; the exact expected update on the grid."""
    c1, c2, c3, c4, c5 = st.columns(5)
    group = int(c1.slider("Group size G", 2, MAX_GROUP, key="gw_group"))
    shift = float(c2.slider("Shift c", -200.0, 200.0, step=1.0, key="gw_shift"))
    scale = float(c3.slider("Scale k", 0.1, 10.0, step=0.1, key="gw_scale"))
    loo = bool(c4.checkbox("Leave-one-out mean", key="gw_loo"))
    std = bool(c5.checkbox("Divide by the group's std", key="gw_std", help="Off: Dr. GRPO."))
    cols = st.columns(4)
    returns = np.array(
        [cols[i % 4].slider(f"Return R{i + 1}", -500.0, 1.0, step=1.0, key=f"gw_R{i}") for i in range(group)],
        dtype=float,
    )
    adv = group_advantages(returns[None, :], loo, std)[0]
    moved = group_advantages((scale * returns + shift)[None, :], loo, std)[0]
    labels = [f"R{i + 1}" for i in range(group)]
    chart_col, text_col = st.columns([3, 2], gap="large")
    chart_col.plotly_chart(advantages_chart(labels, adv, moved), config=PLOTLY_CONFIG, key="gw_adv_chart")
    mean, spread = float(returns.mean()), float(returns.std())
    baseline = r"\bar R_{-i}" if loo else r"\bar R"
    with text_col:
        formula = rf"A_i &= \frac{{R_i - {baseline}}}{{\sigma + 10^{{-8}}}}" if std else rf"A_i &= R_i - {baseline}"
        st.latex(
            rf"\begin{{aligned}}{formula}\\ \bar R &= {num(mean, 2)}\\ \sigma &= {num(spread, 2)}\\"
            rf"\textstyle\sum_i A_i &= {num(float(adv.sum()), 6)}\end{{aligned}}"
        )
        change = float(np.max(np.abs(moved - adv)))
        if change <= 1e-9 * max(1.0, float(np.max(np.abs(adv)))):
            verdict = f"R → {num(scale, 1)}·R + {signed(shift, 0)} leaves every advantage as it was."
        elif not std and scale != 1.0:
            verdict = (
                f"R → {num(scale, 1)}·R + {signed(shift, 0)}: the shift cancels in R − mean, but without the std "
                f"the scale multiplies every advantage by k = {num(scale, 1)} (largest change {num(change, 2)})."
            )
        else:
            verdict = f"R → {num(scale, 1)}·R + {signed(shift, 0)} changes the advantages by up to {num(change, 4)}."
        st.markdown(verdict)
        if spread == 0.0:
            st.markdown(
                "All the returns are equal: σ = 0 and every advantage is 0. A group like this teaches nothing "
                "(a *zero-std group*)."
            )
        elif std:
            st.markdown(
                f"Divided by σ = {num(spread, 2)}, the advantages have a spread of "
                f"{num(float(adv.std()), 3)} whatever the returns' scale: a group whose returns differ by "
                "1 gets as large a push as one whose returns differ by 400."
            )
        else:
            st.markdown(
                f"Without σ the advantages keep the returns' units: their spread is {num(float(adv.std()), 2)}."
            )
        st.caption("The advantages sum to 0 with either mean: the leave-one-out one is the plain one times G/(G − 1).")
    # its own fragment: the policy's margin redraws the two cell maps and their text only
    st.fragment(expectation_part)(group, loo, std)
    mirror(GROUP_PARAMS)


def expectation_part(group: int, loo: bool, std: bool) -> None:
    """E[ĝ] of GRPO on this grid, exact, against the true ∇J: the per-cell weights w_c."""
    st.subheader("What the std does to the expected update, exactly")
    margin = float(
        st.slider(
            "Policy: near-optimal margin m (0 = random)",
            0.0,
            6.0,
            step=0.5,
            key="gw_grpo_margin",
            help="Logit m on one shortest-path action in every cell.",
        )
    )
    e = grpo_expectation(margin, group, loo, std)
    size = ENV.size
    stds = np.append(e.stds, 0.0)
    weights = np.append(e.weights, 0.0)
    left, right = st.columns(2, gap="large")
    left.plotly_chart(
        cell_heat(stds, size, "σ_c: spread of the return from each start cell", "σ_c"),
        config=PLOTLY_CONFIG,
        key="gw_sigma_chart",
    )
    right.plotly_chart(
        cell_heat(weights, size, "w_c: each start cell's weight in E[ĝ]", "w_c"),
        config=PLOTLY_CONFIG,
        key="gw_weight_chart",
    )
    kappa = "1" if loo else rf"1 - \tfrac{{1}}{{{group}}}"
    w_formula = rf"w_c = \frac{{{kappa}}}{{\sigma_c + 10^{{-8}}}}" if std else rf"w_c = {kappa}"
    cos_true, cos_prompts = e.cosine_to_true, e.cosine_to_prompts
    st.latex(
        rf"\begin{{aligned}}\mathbb{{E}}[\hat g] &= \tfrac{{1}}{{{e.cells.size}}}\textstyle\sum_c w_c\,\nabla V_c,\quad {w_formula}\\"
        rf"\cos\angle(\mathbb{{E}}[\hat g],\ \nabla J) &= {num(cos_true, 3)}\\"
        rf"\cos\angle(\mathbb{{E}}[\hat g],\ \operatorname{{mean}}_c \nabla V_c) &= {num(cos_prompts, 3)}\end{{aligned}}"
    )
    near = [ENV.state_index(size - 2, size - 1), ENV.state_index(size - 1, size - 2)]
    near_sigma, start_sigma = float(e.stds[near].mean()), float(e.stds[ENV.start])
    low, high = int(np.argmin(e.stds)), int(np.argmax(e.stds))
    if std:
        where = (
            "the cells next to the goal have a **larger** σ than the start, so dividing by σ weights them "
            "**less**, the opposite of the usual story"
            if near_sigma > start_sigma
            else "the cells next to the goal have a **smaller** σ than the start, so dividing by σ weights them **more**"
        )
        st.markdown(
            f"At this policy {where} (σ {num(near_sigma, 1)} next to the goal, {num(start_sigma, 1)} at (0, 0)). "
            f"The steadiest start is {cell_name(low)} (σ = {num(float(e.stds[low]), 1)}, weight "
            f"{sig(float(e.weights[low]), 3)}), the most spread {cell_name(high)} (σ = {num(float(e.stds[high]), 1)}). "
            "Cells whose return hardly varies are pushed hardest."
        )
    else:
        st.markdown("Without the std every start cell has the same weight: the update follows the mean of the ∇V_c.")
    st.caption(
        "GRPO's prompts are start cells drawn uniformly, so even its unweighted update climbs the average over "
        "start cells, not J from (0, 0) alone; the cosines say how far the weighted update turns from each. "
        "Everything here is exact (the std σ_c stands in for the group's sampled std)."
    )
    with st.container(border=True):
        st.markdown("**Predict, then check**")
        near_w, far_w = float(e.weights[near].mean()), float(e.weights[ENV.start])
        predict_task(
            2,
            "Set m = 0, the random policy. Which start cells does the division by σ_c weight most?",
            ("next to the goal", "far from the goal"),
            "gw_guess_grpo",
            lambda: grpo_weight_task(margin, std, near_w, far_w),
        )
    mirror(params("gw_grpo_margin"))


# --- the page --------------------------------------------------------------------------------------
notices = bind(PARAMS)

st.title("GridWorld: REINFORCE → PPO → GRPO")
st.markdown(
    "The source article's world: a 5×5 grid, start at the top left (0, 0), goal at the bottom right (4, 4). "
    "Every step costs −10, the step into the goal pays +1, and an episode stops after 50 actions. "
    "The policy is a table of 25 × 4 logits θ, one softmax per cell. This grid is small enough that "
    "J(θ), its gradient and every expectation are computed exactly, so each sampled number has its "
    "true value beside it."
)
show_notices(notices)

# Only the chosen section is computed and sent: a control redraws one section.
section = st.segmented_control("Section", SECTIONS, key="gw_section", required=True, label_visibility="collapsed")
if section != "Train":
    st.session_state["gw_playback"] = "Pause"  # a hidden learner does not keep playing
body = {
    None: grid_section,  # never: the picker is required; here for the type checker
    "The grid": grid_section,
    "Train": train_section,
    "Compare": compare_section,
    "PPO clip": clip_section,
    "GRPO groups": group_section,
}[section]
st.fragment(body)()

mirror(PARAMS)
next_page_link("gridworld")
