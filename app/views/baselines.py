"""Page 3 — Baselines & variance: subtracting a baseline keeps the gradient estimate unbiased
and shrinks its spread, measured on the 3-state grid and exact on a bandit."""

from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np
import streamlit as st

from app.charts.baselines import (
    LABELS,
    bandit_arms_chart,
    bandit_offset_chart,
    bandit_parabola,
    cumulative_mean_chart,
    estimate_histograms,
    learning_chart,
    mean_std_chart,
    offset_chart,
    race_chart,
    variance_parabola,
)
from app.format import num, ratio, sig, signed
from app.lessons import bandit_task, learning_note, offset_task, spread_task
from app.state import Param, bind, mirror, show_notices
from app.theme import PLOTLY_CONFIG
from app.ui import drive_learner, is_playing, next_page_link, playback_control, predict_task
from pgcore.bandit import Bandit, shifted
from pgcore.bandit import variance_by_offset as bandit_variance_by_offset
from pgcore.estimators import (
    baseline_arithmetic,
    compare_baselines,
    cumulative_mean,
    empirical_variance_curve,
    episode_terms,
    exact_moments,
    score_samples,
    summarize,
    variance_by_offset,
)
from pgcore.grid1d import expected_return, expected_return_grad, sample_episodes
from pgcore.grid_learning import compare_learning, exact_ascent_step, race_step
from pgcore.policies import sigmoid

THETA_RANGE = (-4.0, 4.0)
GAMMA_RANGE = (0.5, 1.0)
OFFSET_RANGE = (-2.0, 2.0)
B_RANGE = (-2.0, 3.0)
MAX_SAMPLES = 10_000
NAMED = ("none", "mean", "value", "optimal")
LEARNERS = 20
UPDATES = 60
LEARN_START = -2.0
MAX_ARMS = 5
ARM_PREFS = (2.0, 1.0, 0.5, 0.0, -0.5)
ARM_MEANS = (2.0, 0.0, 0.5, 1.0, -1.0)
SECTIONS = ("Five baselines", "Best constant b*", "Why it is free", "By hand", "Learning race", "Bandit, exact")
GRID_SECTIONS = ("Five baselines", "Best constant b*", "Why it is free", "Learning race")
RACE_BASELINES = ("mean", "value", "optimal")
RACE_CHOICES = {LABELS[name]: name for name in RACE_BASELINES}  # what the learner reads → pgcore's name
TICK_SECONDS = 0.25  # Play: four updates a second
RACE_LIMIT = 500  # updates kept for the race chart
SEED_004 = {"bl_g1": 100.0, "bl_g2": 90.0, "bl_s1": 0.5, "bl_s2": -0.3, "bl_cb": 95.0}

PARAMS = {
    "bl_theta1": Param("theta1", 0.0, *THETA_RANGE),
    "bl_theta2": Param("theta2", 0.0, *THETA_RANGE),
    "bl_gamma": Param("gamma", 0.9, *GAMMA_RANGE),
    "bl_n": Param("N", 2000, 100, MAX_SAMPLES),
    "bl_seed": Param("seed", 0, 0, 999),
    "bl_b": Param("b", 0.5, *B_RANGE),
    "bl_offset": Param("c", 0.0, *OFFSET_RANGE),
    "bl_weight": Param("gamma_t", True),
    "bl_alpha": Param("alpha", 3.0, 0.5, 6.0),
    "bl_batch": Param("episodes", 4, 2, 16),
    **{key: Param(key.removeprefix("bl_"), value, -1000.0, 1000.0) for key, value in SEED_004.items()},
    "bl_arms": Param("arms", 3, 2, MAX_ARMS),
    **{f"bl_h{i}": Param(f"h{i + 1}", ARM_PREFS[i], -4.0, 4.0) for i in range(MAX_ARMS)},
    **{f"bl_mu{i}": Param(f"mu{i + 1}", ARM_MEANS[i], -5.0, 5.0) for i in range(MAX_ARMS)},
    "bl_sigma": Param("sigma", 0.5, 0.0, 3.0),
    "bl_bandit_b": Param("bandit_b", 0.0, -15.0, 15.0),
    "bl_bandit_c": Param("bandit_c", 0.0, -10.0, 10.0),
    "bl_section": Param("section", SECTIONS[0], options=SECTIONS),
    "bl_race_baseline": Param("race_baseline", LABELS["value"], options=tuple(RACE_CHOICES)),
    "bl_race_seed": Param("race_seed", 0, 0, 999),
}


def params(*keys: str) -> dict[str, Param]:
    return {key: PARAMS[key] for key in keys}


# Each fragment mirrors its own controls into the URL as it reruns, so a link copied at any
# moment reopens the page as it is.
GRID_PARAMS = params(
    "bl_theta1", "bl_theta2", "bl_gamma", "bl_n", "bl_seed", "bl_b", "bl_offset", "bl_weight", "bl_alpha", "bl_batch"
)
RACE_PARAMS = params("bl_race_baseline", "bl_race_seed")
HAND_PARAMS = params(*SEED_004)
BANDIT_PARAMS = params(
    "bl_arms",
    "bl_sigma",
    "bl_bandit_b",
    "bl_bandit_c",
    *(f"bl_h{i}" for i in range(MAX_ARMS)),
    *(f"bl_mu{i}" for i in range(MAX_ARMS)),
)


# --- cached pure results ------------------------------------------------------------------
@st.cache_data(max_entries=32)
def measured(theta1, theta2, gamma, n, seed, offset, b, weight):
    """Estimates under every baseline from the same N episodes, and their raw (X₀, Y) terms."""
    samples = compare_baselines(
        theta1,
        n,
        np.random.default_rng(seed),
        baselines=("none", b, "mean", "value", "optimal"),
        gamma=gamma,
        theta2=theta2,
        reward_offset=offset,
        discount_weight=weight,
    )
    episodes = sample_episodes(theta1, n, np.random.default_rng(seed), theta2=theta2, gamma=gamma)
    terms = episode_terms(episodes, reward_offset=offset, discount_weight=weight)
    by_name = {
        "none": samples["none"],
        "constant": samples[b],
        "mean": samples["mean"],
        "value": samples["value"],
        "optimal": samples["optimal"],
    }
    return by_name, terms.weighted, terms.score, float(terms.ret.mean())


@st.cache_data(max_entries=32)
def moments(theta1, theta2, gamma, offset, weight):
    return exact_moments(theta1, theta2, gamma, offset, weight)


@st.cache_data(max_entries=16)
def offset_curves(theta1, theta2, gamma, n, weight):
    cs = np.linspace(*OFFSET_RANGE, 41)
    return cs, variance_by_offset(cs, theta1, theta2, gamma, n=n, discount_weight=weight)


@st.cache_data(max_entries=16)
def score_run(theta1, theta2, gamma, n, seed):
    y = score_samples(theta1, n, np.random.default_rng(seed + 1), gamma=gamma, theta2=theta2)
    return cumulative_mean(y, points=300)


@st.cache_data(max_entries=8)
def learning(theta2, gamma, offset, alpha, batch, weight, seed):
    runs = compare_learning(
        NAMED,
        theta1_start=LEARN_START,
        theta2=theta2,
        gamma=gamma,
        reward_offset=offset,
        learners=LEARNERS,
        updates=UPDATES,
        episodes_per_update=batch,
        step_size=alpha,
        discount_weight=weight,
        rng=np.random.default_rng(seed),
    )
    return {b: (run.mean, run.std) for b, run in runs.items()}


@st.cache_data(max_entries=8)
def best_objective(theta2, gamma, offset):
    grid = np.linspace(-20.0, 20.0, 801)
    return float(np.max(expected_return(grid, theta2, gamma, offset)))


def markdown_table(rows: list[dict[str, str]]) -> str:
    """A small table as markdown: far cheaper per rerun than st.dataframe."""
    header = list(rows[0])

    def cell(text: str) -> str:  # "b*" must stay b*, not open an italic run
        return text.replace("*", "\\*")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(row[h]) for h in header) + " |" for row in rows]
    # Wrapped so that a table wider than a phone screen scrolls sideways instead of being cut off.
    return '<div style="overflow-x: auto">\n\n' + "\n".join(lines) + "\n\n</div>"


def use_seed_004() -> None:
    """Button callback: the seed article's two trajectories."""
    for key, value in SEED_004.items():
        st.session_state[key] = value


@dataclass(frozen=True)
class GridSettings:
    """The grid sections' shared controls."""

    theta1: float
    theta2: float
    gamma: float
    n: int
    b: float
    offset: float
    seed: int
    weight: bool


def grid_controls() -> GridSettings:
    """The grid's shared sliders, the estimator's formula and the exact gradient."""
    c1, c2, c3, c4 = st.columns(4)
    theta1 = c1.slider(
        "θ₁ (policy in S1)",
        *THETA_RANGE,
        step=0.1,
        key="bl_theta1",
        help="π(Right|S1) = σ(θ₁). The estimates are of ∂J/∂θ₁.",
    )
    theta2 = c2.slider(
        "θ₂ (policy in S2)",
        *THETA_RANGE,
        step=0.1,
        key="bl_theta2",
        help="π(Right|S2) = σ(θ₂); Left in S2 loops back to S1.",
    )
    gamma = c3.slider("Discount γ", *GAMMA_RANGE, step=0.01, key="bl_gamma")
    n = c4.slider("N episodes", 100, MAX_SAMPLES, step=100, key="bl_n", help="Estimates drawn per baseline.")
    c5, c6, c7, c8 = st.columns(4)
    b_const = c5.slider("Constant baseline b", *B_RANGE, step=0.05, key="bl_b")
    offset = c6.slider("Reward offset c (added to every step)", *OFFSET_RANGE, step=0.1, key="bl_offset")
    seed = c7.number_input("Seed", min_value=0, max_value=999, step=1, key="bl_seed")
    weight = c8.toggle(
        "Weight each term by γᵗ",
        key="bl_weight",
        help="Off: drop the γᵗ factor, as much code does. The estimate is then biased.",
    )
    g = GridSettings(theta1, theta2, gamma, n, b_const, offset, int(seed), bool(weight))
    mom = moments(theta1, theta2, gamma, offset, weight)
    truth = float(expected_return_grad(theta1, theta2, gamma, offset)[0])
    p1 = float(sigmoid(theta1))
    discount = r"\gamma^t" if weight else ""
    # One short line each, so every formula fits a 390 px phone screen.
    formula_col, truth_col = st.columns(2)
    formula_col.latex(
        rf"\begin{{aligned}}\hat g(b) &= \sum_{{t:\,s_t = S_1}} {discount}\,\psi_t\,(G_t - b)\\"
        rf"\psi(\text{{Right}}) &= 1 - p_1 = {num(1 - p1, 4)}\\ \psi(\text{{Left}}) &= -p_1 = {num(-p1, 4)}\end{{aligned}}"
    )
    truth_col.latex(
        rf"\begin{{aligned}}&\frac{{\partial J}}{{\partial \theta_1}} = {num(truth, 4)}\\ &J = V^\pi(S_1) = {num(mom.return_mean, 4)}"
        + (rf"\\ &\mathbb{{E}}[\hat g] = {num(mom.mean, 4)}" if not weight else "")
        + r"\end{aligned}"
    )
    if not weight:
        st.warning(
            f"Without γᵗ every estimator averages {num(mom.mean, 4)}, not the true {num(truth, 4)}: "
            f"a bias of {num(mom.mean - truth, 4)}. Later visits to S1 get full credit instead of γᵗ. "
            "Baselines don't cause or cure this — they only change the spread.",
            icon=":material/warning:",
        )
    return g


def measured_section(g: GridSettings) -> None:
    """N estimates per baseline from the same episodes: histograms, mean ± std, the table."""
    theta1, theta2, gamma, n, b_const, offset, weight = g.theta1, g.theta2, g.gamma, g.n, g.b, g.offset, g.weight
    samples, xs, ys, batch_return = measured(theta1, theta2, gamma, n, g.seed, offset, b_const, weight)
    mom = moments(theta1, theta2, gamma, offset, weight)
    truth = float(expected_return_grad(theta1, theta2, gamma, offset)[0])
    j_c = mom.return_mean
    st.subheader(f"{n:,} episodes, five baselines")
    names = list(samples)
    stats = {name: summarize(x) for name, x in samples.items()}
    exact_var = {
        "none": mom.variance_of("none"),
        "constant": mom.variance_of(b_const),
        "mean": mom.variance_of("mean", n),
        "value": mom.variance_of("value"),
        "optimal": mom.variance_of("optimal"),
    }
    b_used = {"none": 0.0, "constant": b_const, "mean": batch_return, "value": j_c, "optimal": mom.optimal_baseline}
    hist_col, bar_col = st.columns([3, 2], gap="large")
    with hist_col:
        st.plotly_chart(estimate_histograms(samples, truth), config=PLOTLY_CONFIG, key="bl_hist_chart")
    with bar_col:
        st.plotly_chart(
            mean_std_chart(
                names,
                np.array([stats[k].mean for k in names]),
                np.array([stats[k].std for k in names]),
                truth,
                mom.mean,
            ),
            config=PLOTLY_CONFIG,
            key="bl_meanstd_chart",
        )
    plain_var = stats["none"].variance
    rows = []
    for name in names:
        s = stats[name]
        reduction = ratio(plain_var, s.variance)
        rows.append(
            {
                "baseline": LABELS[name],
                "b": ("≈ " if name == "mean" else "") + num(b_used[name], 4),
                "mean": num(s.mean, 4),
                "std": num(s.std, 4),
                "variance": num(s.variance, 5),
                "exact variance": num(exact_var[name], 5),
                "standard error": num(s.standard_error, 5),
                "(mean − exact)/SE": num((s.mean - truth) / s.standard_error, 2) if s.standard_error > 0 else "—",
                "variance reduction": reduction,
            }
        )
    st.markdown(markdown_table(rows), unsafe_allow_html=True)
    st.caption(
        f"Every estimate is one episode's {'Σ γᵗψₜ(Gₜ − b)' if weight else 'Σ ψₜ(Gₜ − b), without γᵗ'}. "
        "The batch mean leaves out the episode's own return, so it adds no bias. Only the decisions made in "
        "S1 depend on θ₁, and every one of them is made in the same state, so at those steps V(sₜ) is the "
        f"single number V(S1) = {num(j_c, 4)}, which the batch mean also estimates. "
        + (
            "Unbiased means |mean − exact| is a few standard errors at most."
            if weight
            else "Without γᵗ the estimates are biased, whichever baseline is used (see the table's last columns)."
        )
    )
    with st.container(border=True):
        st.markdown("**Predict, then check**")
        predict_task(
            1,
            "Which baseline gives the smallest exact variance here: V(S1) or the optimal b\\*?",
            ("V(S1)", "b*", "a tie"),
            "bl_guess_spread",
            lambda: spread_task(exact_var["value"], exact_var["optimal"], j_c, mom.optimal_baseline),
        )


def parabola_section(g: GridSettings) -> None:
    """The exact variance of one estimate against a constant b: its minimum b* is not E[G]."""
    theta1, theta2, gamma, n, b_const, offset, weight = g.theta1, g.theta2, g.gamma, g.n, g.b, g.offset, g.weight
    _, xs, ys, _ = measured(theta1, theta2, gamma, n, g.seed, offset, b_const, weight)
    mom = moments(theta1, theta2, gamma, offset, weight)
    j_c = mom.return_mean
    st.subheader("Which constant is best? Not E[G]")
    # a window around E[G], b* and your b, wherever the rewards move them, so the bottom of the
    # parabola (where they differ) fills the chart instead of a sliver at its foot
    marked = (j_c, mom.optimal_baseline, b_const)
    half = max(0.5, max(marked) - min(marked))
    b_grid = np.linspace(min(marked) - half, max(marked) + half, 201)
    parabola_col, parabola_text = st.columns(2, gap="large")
    with parabola_col:
        marks = [
            (f"{label}: Var {sig(float(mom.variance(b)), 3)}", b, color)
            for label, b, color in (
                ("E[G] = J", j_c, "value"),
                ("optimal b*", mom.optimal_baseline, "optimal"),
                ("your b", b_const, "constant"),
            )
        ]
        st.plotly_chart(
            variance_parabola(b_grid, mom.variance(b_grid), empirical_variance_curve(xs, ys, b_grid), marks),
            config=PLOTLY_CONFIG,
            key="bl_parabola_chart",
        )
    with parabola_text:
        x_name, y_name = (
            (r"\sum_t \gamma^t\psi_t G_t", r"\sum_t \gamma^t\psi_t")
            if weight
            else (r"\sum_t \psi_t G_t", r"\sum_t \psi_t")
        )
        st.latex(rf"\begin{{aligned}}X &= {x_name}\\ Y &= {y_name}\\ \hat g(b) &= X - bY\end{{aligned}}")
        st.latex(
            r"\begin{aligned}\operatorname{Var}(X - bY) &= \operatorname{Var}X - 2b\,\mathbb{E}[XY]\\"
            r"&\quad + b^2\,\mathbb{E}[Y^2]\qquad(\mathbb{E}[Y] = 0)\end{aligned}"
        )
        st.latex(
            rf"b^* = \frac{{\mathbb{{E}}[XY]}}{{\mathbb{{E}}[Y^2]}} = \frac{{{num(mom.weighted_score, 4)}}}"
            rf"{{{num(mom.score_sq, 4)}}} = {num(mom.optimal_baseline, 4)}"
        )
        st.latex(
            rf"\begin{{aligned}}b = \mathbb{{E}}[G_0] = {num(j_c, 4)}&:\quad \operatorname{{Var}} = {num(mom.variance(j_c), 5)}\\"
            rf"b = b^* = {num(mom.optimal_baseline, 4)}&:\quad \operatorname{{Var}} = {num(mom.variance(mom.optimal_baseline), 5)}\end{{aligned}}"
        )
        st.markdown(
            "A popular derivation says the best baseline is E[R]. It drops the score from the variance: "
            "the minimum of Var(X − bY) is the *score-weighted* mean of returns, "
            "b\\* = E[ψ²G]/E[ψ²] for one decision. Episodes with big |ψ| (here, long ones that loop "
            "and often reach the goal) count more. E[G] is right only when |ψ| doesn't depend on "
            "the outcome — see the section *Bandit, exact*."
        )


def free_section(g: GridSettings) -> None:
    """E[∇log π] = 0, and what a reward offset does with and without a baseline."""
    theta1, theta2, gamma, n, b_const, offset, weight = g.theta1, g.theta2, g.gamma, g.n, g.b, g.offset, g.weight
    seed = g.seed
    samples, _, _, _ = measured(theta1, theta2, gamma, n, seed, offset, b_const, weight)
    stats = {name: summarize(x) for name, x in samples.items()}
    mom = moments(theta1, theta2, gamma, offset, weight)
    truth = float(expected_return_grad(theta1, theta2, gamma, offset)[0])
    j_c = mom.return_mean
    p1 = float(sigmoid(theta1))
    exact_var = {"none": mom.variance_of("none"), "optimal": mom.variance_of("optimal")}
    st.subheader("Why a baseline is free: E[∇log π] = 0")
    lemma_col, lemma_chart = st.columns(2, gap="large")
    with lemma_col:
        st.latex(
            rf"\begin{{aligned}}\mathbb{{E}}_a[\psi] &= p_1(1 - p_1) + (1 - p_1)(-p_1)\\ &= {num(p1, 4)} \cdot {num(1 - p1, 4)}"
            rf" - {num(1 - p1, 4)} \cdot {num(p1, 4)}\\ &= 0\end{{aligned}}"
        )
        st.latex(rf"\mathbb{{E}}[bY] = b\,\mathbb{{E}}[Y] = b \cdot {num(mom.score_mean, 6)} = 0")
        st.markdown(
            "At every visit the score averages to zero over the action, whatever happened before. "
            "So b·Y averages to zero for any b that doesn't peek at the action: subtracting it moves "
            "single estimates, never their mean."
        )
    with lemma_chart:
        count, running = score_run(theta1, theta2, gamma, n, int(seed))
        score_std = float(np.sqrt(moments(theta1, theta2, gamma, 0.0, False).score_sq))
        st.plotly_chart(cumulative_mean_chart(count, running, score_std), config=PLOTLY_CONFIG, key="bl_lemma_chart")

    st.subheader("Shift every reward by c")
    cs, curves = offset_curves(theta1, theta2, gamma, n, weight)
    offset_col, offset_text = st.columns([3, 2], gap="large")
    with offset_col:
        here = {name: stats[name].variance for name in NAMED}
        st.plotly_chart(offset_chart(cs, curves, offset, here), config=PLOTLY_CONFIG, key="bl_offset_chart")
    with offset_text:
        st.latex(rf"J_c = \frac{{c(1 + \gamma p_1) + \gamma p_1 p_2}}{{1 - \gamma^2 p_1 (1 - p_2)}} = {num(j_c, 4)}")
        st.latex(rf"\frac{{\partial J_c}}{{\partial \theta_1}} = {num(truth, 4)}\qquad(c = {num(offset, 1)})")
        st.latex(
            rf"\frac{{\operatorname{{Var}}_{{\text{{none}}}}}}{{\operatorname{{Var}}_{{b^*}}}} = "
            rf"\frac{{{sig(exact_var['none'])}}}{{{sig(exact_var['optimal'])}}} = "
            rf"\text{{{ratio(exact_var['none'], exact_var['optimal'])}}}"
        )
        st.markdown(
            "Without a baseline every return carries c·(episode length) into the estimate, and the "
            "variance grows like c². "
            + (
                r"Every estimator stays unbiased at every c — its mean just follows $\partial J_c / \partial \theta_1$. "
                if weight
                else "With γᵗ switched off every estimator is biased at every c (it estimates a different sum). "
            )
            + "Careful: adding c to every step of an **episodic** task changes the task (longer "
            "episodes collect more c), so J, the gradient and the baselined variance move too. A pure shift "
            "of the return leaves the baselined variance exactly flat: see the section *Bandit, exact*."
        )
    at_zero = moments(theta1, theta2, gamma, 0.0, weight).variance_of("none")
    with st.container(border=True):
        st.markdown("**Predict, then check**")
        predict_task(
            2,
            "Push the reward offset c to 1.5 or more. Without a baseline, does the variance grow or shrink?",
            ("grows", "shrinks"),
            "bl_guess_offset",
            lambda: offset_task(offset, exact_var["none"], at_zero),
        )


def grid_section(section: str) -> None:
    """One grid section under the shared grid controls: a single fragment, so moving θ₁ reruns
    this section, not the title, the picker or the other sections."""
    body = {
        "Five baselines": measured_section,
        "Best constant b*": parabola_section,
        "Why it is free": free_section,
        "Learning race": learning_section,
    }[section]
    body(grid_controls())
    mirror(GRID_PARAMS)


def hand_section() -> None:
    """Seed article 004's two trajectories, by hand."""
    st.subheader("Two trajectories by hand")
    st.button(
        "Use the article's numbers (100, 90; 0.5, −0.3; b = 95)",
        on_click=use_seed_004,
        key="bl_seed004",
        icon=":material/restart_alt:",
    )
    i1, i2, i3, i4, i5 = st.columns(5)
    g1 = i1.number_input("Return G₁", -1000.0, 1000.0, step=1.0, key="bl_g1")
    g2 = i2.number_input("Return G₂", -1000.0, 1000.0, step=1.0, key="bl_g2")
    s1 = i3.number_input("Score ψ₁", -1000.0, 1000.0, step=0.1, key="bl_s1")
    s2 = i4.number_input("Score ψ₂", -1000.0, 1000.0, step=0.1, key="bl_s2")
    cb = i5.number_input("Baseline b", -1000.0, 1000.0, step=1.0, key="bl_cb")
    calc = baseline_arithmetic([g1, g2], [s1, s2], cb)
    st.latex(
        rf"\begin{{aligned}}\psi_1 G_1 &= {signed(s1, 2)} \cdot {signed(g1, 2)} = {num(calc.plain[0], 2)}\\"
        rf"\psi_2 G_2 &= {signed(s2, 2)} \cdot {signed(g2, 2)} = {num(calc.plain[1], 2)}\\"
        rf"\psi_1 (G_1 - b) &= {signed(s1, 2)} \cdot {signed(g1 - cb, 2)} = {num(calc.with_baseline[0], 2)}\\"
        rf"\psi_2 (G_2 - b) &= {signed(s2, 2)} \cdot {signed(g2 - cb, 2)} = {num(calc.with_baseline[1], 2)}\\"
        rf"\text{{mean}} &: {num(calc.plain_mean, 2)} \;\to\; {num(calc.with_baseline_mean, 2)}\\"
        rf"\text{{difference}} &= b\,\bar\psi = {signed(cb, 2)} \cdot {signed(calc.mean_score, 3)}\\ &= {num(calc.shift, 2)}\end{{aligned}}"
    )
    st.caption(
        "The two contributions get much closer together, which is the point of a baseline. But this is an "
        "illustration, not a proof: two scores don't average to zero (here ψ̄ = "
        f"{num(calc.mean_score, 3)}), so with two samples the baseline also moved the average, by b·ψ̄. "
        "Only over many episodes does ψ̄ → 0, and the baseline's effect on the mean vanish."
    )
    mirror(HAND_PARAMS)


def learning_section(g: GridSettings) -> None:
    """Twenty learners per baseline (bands), then two learners racing on the same episodes."""
    theta2, gamma, offset, weight, seed = g.theta2, g.gamma, g.offset, g.weight, g.seed
    st.subheader("Lower variance, faster learning")
    l1, l2 = st.columns(2)
    alpha = l1.slider("Step size α", 0.5, 6.0, step=0.5, key="bl_alpha")
    batch = l2.slider("Episodes per update", 2, 16, key="bl_batch")
    curves_by_baseline = learning(theta2, gamma, offset, alpha, batch, weight, seed)
    best = best_objective(theta2, gamma, offset)
    st.plotly_chart(
        learning_chart(np.arange(UPDATES + 1, dtype=float), curves_by_baseline, best),
        config=PLOTLY_CONFIG,
        key="bl_learning_chart",
    )
    st.caption(
        f"{LEARNERS} independent learners per baseline all start at θ₁ = {num(LEARN_START, 1)} and take "
        f"{UPDATES} steps θ₁ ← θ₁ + α·(mean of {batch} estimates), with θ₂, γ and c from above. "
        "Same seed for every baseline. A narrow band is a steady learner; the dotted line is the best $J_c$."
    )
    st.markdown(learning_note(curves_by_baseline, LABELS).replace("*", "\\*"))  # "b*" is not italics
    # its own fragment: Play, Step, Reset and the race's pickers rerun the race only, not the bands
    st.fragment(race_section)(RaceGrid(theta2, gamma, offset, weight, int(batch), float(alpha)))


@dataclass(frozen=True)
class RaceGrid:
    """The settings the race takes from the controls above it (passed in: a fragment run sees only its own)."""

    theta2: float
    gamma: float
    offset: float
    weight: bool
    batch: int
    alpha: float


@dataclass(frozen=True)
class RaceSettings:
    """Everything that defines a race: the same settings and seed give the same race."""

    grid: RaceGrid
    baseline: str
    seed: int


def race_settings(grid: RaceGrid) -> RaceSettings:
    ss = st.session_state
    return RaceSettings(grid, RACE_CHOICES[ss["bl_race_baseline"]], int(ss["bl_race_seed"]))


def race_reset(settings: RaceSettings) -> None:
    """Both learners (and the exact one) back at the start, the generator back at the seed."""
    st.session_state["bl_race"] = dict(
        settings=settings,
        theta=[(LEARN_START, LEARN_START)],
        exact=[LEARN_START],
        updates=0,
        last=None,
        exact_gradient=None,
        rng=np.random.default_rng(settings.seed),
    )


def current_race(settings: RaceSettings) -> dict:
    """The race in progress, restarted if any setting that defines it has changed."""
    race = st.session_state.get("bl_race")
    # compared as plain tuples: each run of the page defines RaceSettings anew, and instances of
    # two definitions of a dataclass never compare equal
    if race is None or astuple(race["settings"]) != astuple(settings):
        race_reset(settings)
    return st.session_state["bl_race"]


def race_advance(settings: RaceSettings) -> None:
    """One update: both sampled learners on the same episodes (race_step), the exact one by ∂J/∂θ₁."""
    race, s = current_race(settings), settings.grid
    step = race_step(
        race["theta"][-1],
        race["rng"],
        baseline=settings.baseline,
        theta2=s.theta2,
        gamma=s.gamma,
        reward_offset=s.offset,
        episodes_per_update=s.batch,
        step_size=s.alpha,
        discount_weight=s.weight,
    )
    exact_before = race["exact"][-1]
    exact = exact_ascent_step(exact_before, theta2=s.theta2, gamma=s.gamma, reward_offset=s.offset, step_size=s.alpha)
    race["theta"].append((float(step.theta[0]), float(step.theta[1])))
    race["exact"].append(float(exact))
    del race["theta"][:-RACE_LIMIT], race["exact"][:-RACE_LIMIT]
    race["last"] = step
    race["exact_gradient"] = float(expected_return_grad(exact_before, s.theta2, s.gamma, s.offset)[0])
    race["updates"] += 1


def race_section(grid: RaceGrid) -> None:
    """The race's controls; the race itself is drawn below them, on a timer while playing."""
    st.subheader("A race you can watch")
    st.markdown(
        "Two learners start at θ₁ = −2 and see **the same episodes** at every update; only the baseline "
        "differs. The dashed line steps with the exact gradient instead. Press **Play** or **Step**."
    )
    r1, r2, r3, r4, r5 = st.columns([1.4, 1, 1, 2, 1], vertical_alignment="bottom")
    with r1:
        playing = playback_control("bl_playback")
    step = r2.button("Step", key="bl_step", icon=":material/skip_next:", width="stretch", disabled=playing)
    reset = r3.button("Reset", key="bl_race_reset", icon=":material/restart_alt:", width="stretch")
    r4.selectbox("Racing against no baseline", tuple(RACE_CHOICES), key="bl_race_baseline")
    r5.number_input("Race seed", 0, 999, key="bl_race_seed", help="The same seed replays the same episodes.")
    settings = race_settings(grid)
    drive_learner(
        settings,
        playing=playing,
        step=step,
        reset=reset,
        on_reset=race_reset,
        on_step=race_advance,
        view=race_view,
        tick_seconds=TICK_SECONDS,
    )
    mirror(RACE_PARAMS)


def race_view(settings: RaceSettings) -> None:
    """The race so far; while playing, each run first takes one update."""
    if is_playing("bl_playback"):
        race_advance(settings)
    race, s = current_race(settings), settings.grid
    thetas = np.column_stack([np.asarray(race["theta"]), race["exact"]])  # (points, 3): none, baseline, exact
    objective = expected_return(thetas, s.theta2, s.gamma, s.offset)
    updates = np.arange(race["updates"] - len(thetas) + 1, race["updates"] + 1, dtype=float)
    best = best_objective(s.theta2, s.gamma, s.offset)
    st.plotly_chart(
        race_chart(updates, objective[:, :2], settings.baseline, best, exact=objective[:, 2]),
        config=PLOTLY_CONFIG,
        key="bl_race_chart",
    )
    last = race["last"]
    if last is None:
        st.caption(
            f"All three start at θ₁ = {num(LEARN_START, 1)}, J = {num(objective[-1, 0], 4)}. "
            f"Each update will average {s.batch} episodes and step α = {num(s.alpha, 1)}."
        )
        return
    label = LABELS[settings.baseline]
    rows = [
        {
            "learner": LABELS["none"],
            "θ₁": num(thetas[-1, 0], 3),
            "J": num(objective[-1, 0], 4),
            "last step's gradient": num(last.estimate[0], 4) + " (sampled)",
        },
        {
            "learner": label,
            "θ₁": num(thetas[-1, 1], 3),
            "J": num(objective[-1, 1], 4),
            "last step's gradient": num(last.estimate[1], 4) + " (sampled)",
        },
        {
            "learner": "exact gradient",
            "θ₁": num(thetas[-1, 2], 3),
            "J": num(objective[-1, 2], 4),
            "last step's gradient": num(race["exact_gradient"], 4) + " (exact)",
        },
    ]
    st.markdown(markdown_table(rows), unsafe_allow_html=True)
    st.caption(
        f"After {race['updates']} update{'s' if race['updates'] != 1 else ''}, each one the mean of {s.batch} "
        f"episodes' estimates, stepped with α = {num(s.alpha, 1)}. The dotted line is the best J. "
        "Changing a setting restarts the race."
    )


def bandit_intro() -> None:
    """What the bandit section computes: text and formulas with no numbers in them, drawn once
    by the page run (outside the section's fragment, so no bandit control redraws them)."""
    text_col, formula_col = st.columns([3, 2], gap="large")
    text_col.markdown(
        "One step, K arms: pick A ~ π = softmax(h), get R ~ N(μ_A, σ²). The estimate "
        "ĝ = ∇_h log π(A)·(R − b) has a closed-form mean and variance, so nothing here is sampled "
        "except the check at the bottom."
    )
    formula_col.latex(
        r"\begin{aligned}\operatorname{Var}\hat g_j(b) &= \textstyle\sum_a \pi_a\,\psi_j(a)^2\,w_a(b) - (\nabla_j J)^2\\"
        r"w_a(b) &= (\mu_a - b)^2 + \sigma^2\\ \psi(a) &= e_a - \pi\end{aligned}"
    )


def bandit_section(n: int, seed: int) -> None:
    """The K-armed bandit: every mean and variance in closed form. N and the seed of the check
    are the grid's, passed in from the page run: the grid's sliders are not drawn here, so after
    a visit to a grid section their keys are gone from session_state by the time this reruns."""
    controls, results = st.columns([1, 2], gap="large")
    with controls:
        arms = st.slider("Arms K", 2, MAX_ARMS, key="bl_arms")
        prefs = np.array([st.slider(f"Preference h{i + 1}", -4.0, 4.0, step=0.1, key=f"bl_h{i}") for i in range(arms)])
        means = np.array(
            [st.slider(f"Mean reward μ{i + 1}", -5.0, 5.0, step=0.1, key=f"bl_mu{i}") for i in range(arms)]
        )
        sigma = st.slider("Reward noise σ", 0.0, 3.0, step=0.1, key="bl_sigma")
        bandit_c = st.slider("Reward offset c (added to every arm)", -10.0, 10.0, step=0.5, key="bl_bandit_c")
    base = Bandit(prefs, means, sigma)
    bandit = shifted(base, bandit_c)
    labels = [f"a{i + 1}" for i in range(arms)]
    with results:
        st.plotly_chart(
            bandit_arms_chart(labels, bandit.probs, bandit.means, bandit.gradient),
            config=PLOTLY_CONFIG,
            key="bl_arms_chart",
        )
        st.latex(
            rf"\begin{{aligned}}J &= \textstyle\sum_a \pi_a \mu_a = {num(bandit.expected_reward, 4)}\\"
            rf"\nabla_h J &= \pi \odot (\mu - J)\\ &= \left({', '.join(num(g, 4) for g in bandit.gradient)}\right)\end{{aligned}}"
        )
        st.latex(
            rf"\begin{{aligned}}b^* &= \frac{{\sum_a \pi_a |\psi(a)|^2 \mu_a}}{{\sum_a \pi_a |\psi(a)|^2}}\\ &= "
            rf"{num(bandit.optimal_baseline, 4)}\quad\text{{vs}}\quad \mathbb{{E}}[R] = {num(bandit.expected_reward, 4)}\end{{aligned}}"
        )
    if bandit.total_variance(bandit.expected_reward) > bandit.total_variance(0.0):
        st.info(
            "With these arms b = E[R] is even *worse* than no baseline: it sits farther from b\\* than 0 does.",
            icon=":material/info:",
        )
    offset_col, offset_text = st.columns(2, gap="large")
    with offset_col:
        offsets = np.linspace(-10.0, 10.0, 81)
        st.plotly_chart(
            bandit_offset_chart(offsets, bandit_variance_by_offset(base, offsets), bandit_c),
            config=PLOTLY_CONFIG,
            key="bl_bandit_offset",
        )
    offset_text.markdown(
        "Each arm counts in b\\* with weight π_a|ψ(a)|², and |ψ(a)|² = 1 − 2π_a + Σπ² is **largest for "
        "unlikely arms**, and it is an affine function of π_a. So b\\* = E[R] exactly when "
        f"Cov_π(π_a, μ_a) = 0 — here it is {num(bandit.probability_reward_covariance, 4)} — for instance when all "
        "preferences are equal or all arms pay the same. With two arms b\\* = π₂μ₁ + π₁μ₂: each arm weighted by the "
        "*other* one's probability. Noise σ adds the same amount at every b and never moves b\\*. "
        "Shifting every reward by c leaves ∇J unchanged, makes b = 0 grow like c², and leaves b = E[R] and "
        "b = b\\* exactly flat."
    )
    # its own fragment: moving b redraws the parabola and the table, not the arms and the offset chart
    st.fragment(bandit_baseline_section)(bandit, n, seed)
    with st.container(border=True):
        st.markdown("**Predict, then check**")
        predict_task(
            3,
            "Make every preference equal. Is b\\* then equal to E[R], or different?",
            ("equal", "different"),
            "bl_guess_bandit",
            lambda: bandit_task(prefs, bandit.optimal_baseline, bandit.expected_reward),
        )
    mirror(BANDIT_PARAMS)


def bandit_baseline_section(bandit: Bandit, n: int, seed: int) -> None:
    """Your constant b on the bandit: the exact total variance against b, and a sampled check."""
    st.subheader("Your baseline b")
    bandit_b = st.slider("Your baseline b", -15.0, 15.0, step=0.1, key="bl_bandit_b")
    span = max(6.0, abs(bandit.optimal_baseline) + 3.0, abs(bandit_b) + 1.0)
    b_axis = np.linspace(bandit.optimal_baseline - span, bandit.optimal_baseline + span, 241)
    parabola_col, variance_col = st.columns(2, gap="large")
    with parabola_col:
        st.plotly_chart(
            bandit_parabola(
                b_axis,
                bandit.total_variance(b_axis),
                [
                    ("E[R]", bandit.expected_reward, "value"),
                    ("b*", bandit.optimal_baseline, "optimal"),
                    ("your b", bandit_b, "constant"),
                ],
            ),
            config=PLOTLY_CONFIG,
            key="bl_bandit_parabola",
        )
    variance_col.latex(
        rf"\begin{{aligned}}\textstyle\sum_j \operatorname{{Var}}\hat g_j &= {num(bandit.total_variance(bandit_b), 4)}"
        rf" &&\text{{at }} b = {num(bandit_b, 2)}\\"
        rf"&= {num(bandit.total_variance(bandit.expected_reward), 4)} &&\text{{at }} b = \mathbb{{E}}[R]\\"
        rf"&= {num(bandit.total_variance(bandit.optimal_baseline), 4)} &&\text{{at }} b = b^*\end{{aligned}}"
    )
    per_param = bandit.optimal_baselines
    var_now = bandit.variance(bandit_b)
    check = bandit.sample(n, np.random.default_rng(int(seed)), b=bandit_b).estimates
    rows = [
        {
            "parameter": f"h{j + 1}",
            "exact ∂J/∂h": num(bandit.gradient[j], 4),
            "sampled mean": num(check[:, j].mean(), 4),
            "exact Var at b": num(var_now[j], 4),
            "sampled Var at b": num(check[:, j].var(ddof=1), 4),
            "b*ⱼ (this parameter)": num(per_param[j], 4),
        }
        for j in range(len(bandit.gradient))
    ]
    variance_col.markdown(markdown_table(rows), unsafe_allow_html=True)
    variance_col.caption(
        f"The check: {n:,} sampled estimates at your b (seed and N from the grid sections). Each parameter has "
        "its own best constant b\\*ⱼ = E[ψⱼ²R]/E[ψⱼ²]; one shared b\\* minimizes their total."
    )
    mirror(params("bl_bandit_b"))


# --- the page ----------------------------------------------------------------------------------
notices = bind(PARAMS)

st.title("Baselines & variance")
st.markdown(
    "A policy-gradient estimate from one episode is right **on average** but noisy. Subtracting a "
    "baseline b from the return keeps the average exactly where it was and can shrink the noise a lot. "
    "Here you measure it on the same 3-state grid as the previous page, then check every claim "
    "exactly on a bandit."
)
show_notices(notices)
st.caption(
    "Each section ends with a task: predict, move the control, and the page checks it with the numbers. "
    "In *Learning race*, press **Play**."
)

# Only the chosen section is computed and sent: a control redraws one section, not six.
section = st.segmented_control("Section", SECTIONS, key="bl_section", required=True, label_visibility="collapsed")
if section != "Learning race":
    st.session_state["bl_playback"] = "Pause"  # a hidden race does not keep playing
if section in GRID_SECTIONS:
    st.fragment(grid_section)(section)
elif section == "By hand":
    st.fragment(hand_section)()
else:
    bandit_intro()
    st.fragment(bandit_section)(int(st.session_state["bl_n"]), int(st.session_state["bl_seed"]))

mirror(PARAMS)
next_page_link("baselines")
