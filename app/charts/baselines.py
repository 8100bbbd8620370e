"""Figures for the Baselines & variance page: pure functions, data in, go.Figure out."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from app.theme import COLORS, hline, make_figure, vline

Array = npt.NDArray[np.float64]

#: Display name and colour of each baseline, the same on every chart of the page.
LABELS = {
    "none": "no baseline",
    "constant": "constant b",
    "mean": "batch mean",
    "value": "V(S1)",
    "optimal": "optimal b*",
}
HIST_BINS = 60


def _marker_line(x: float, label: str, color: str, dash: str = "dash") -> tuple[dict, dict]:
    """A vertical line shape plus an invisible-ish legend entry naming it."""
    legend = dict(
        type="scatter",
        x=[x],
        y=[None],
        mode="lines",
        name=label,
        line=dict(color=color, dash=dash, width=1.5),
        hoverinfo="skip",
    )
    return vline(x, color=color, dash=dash), legend


def estimate_histograms(samples: Mapping[str, Array], exact_gradient: float) -> go.Figure:
    """Histogram (as density step lines, shared bins) of each baseline's estimates."""
    pooled = np.concatenate([np.asarray(x) for x in samples.values()])
    lo, hi = np.percentile(pooled, [0.5, 99.5])
    lo, hi = min(lo, exact_gradient), max(hi, exact_gradient)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, HIST_BINS + 1)
    width = edges[1] - edges[0]
    traces = []
    for name, x in samples.items():
        counts, _ = np.histogram(np.clip(x, lo, hi), bins=edges)
        share = counts / max(len(x), 1)
        traces.append(
            dict(
                type="scatter",
                x=(edges[:-1] + width / 2).tolist(),
                y=share.tolist(),
                name=LABELS[name],
                mode="lines",
                line=dict(color=COLORS[name], shape="hvh", width=2),
                hovertemplate=f"{LABELS[name]}: %{{y:.1%}} of estimates near %{{x:.3f}}<extra></extra>",
            )
        )
    shape, legend = _marker_line(exact_gradient, "exact ∂J/∂θ₁", COLORS["exact"])
    return make_figure(
        traces + [legend],
        "Where the per-episode estimates fall",
        "estimate of ∂J/∂θ₁ (one episode)",
        "share of estimates",
        height=360,
        shapes=[shape],
        yaxis=dict(tickformat=".0%"),
    )


def mean_std_chart(
    names: list[str], means: Array, stds: Array, exact_gradient: float, estimator_mean: float
) -> go.Figure:
    """Each baseline's sample mean with a ±1 std bar, the exact gradient as a line."""
    trace = dict(
        type="scatter",
        x=[float(m) for m in means],
        y=[LABELS[n] for n in names],
        mode="markers",
        name="mean ± 1 std",
        marker=dict(color=[COLORS[n] for n in names], size=11),
        error_x=dict(type="data", array=[float(s) for s in stds], color="#555555", thickness=2, width=6),
        customdata=[float(s) for s in stds],
        hovertemplate="%{y}: mean %{x:.4f} ± %{customdata:.4f}<extra></extra>",
    )
    traces = [trace]
    shapes = [vline(exact_gradient, color=COLORS["exact"], dash="dash")]
    if abs(estimator_mean - exact_gradient) > 1e-12:
        shapes.append(vline(estimator_mean, color=COLORS["left"], dash="dot"))
    return make_figure(
        traces,
        "Mean ± 1 std of each estimator",
        "estimate of ∂J/∂θ₁ (dashed: exact)",
        "baseline",
        height=300,
        legend_below=False,
        shapes=shapes,
        yaxis=dict(autorange="reversed"),
    )


def variance_parabola(b_grid: Array, exact: Array, measured: Array, marks: list[tuple[str, float, str]]) -> go.Figure:
    """Var of one estimate as a function of a constant baseline b: exact and measured."""
    traces = [
        dict(
            type="scatter", x=b_grid, y=exact, mode="lines", name="exact", line=dict(color=COLORS["exact"], width=2.5)
        ),
        dict(
            type="scatter",
            x=b_grid,
            y=measured,
            mode="lines",
            name="measured on the N episodes",
            line=dict(color=COLORS["estimate"], width=2, dash="dot"),
        ),
    ]
    shapes = []
    for label, x, color in marks:
        shape, legend = _marker_line(x, label, COLORS[color])
        shapes.append(shape)
        traces.append(legend)
    return make_figure(
        traces,
        "Variance of one estimate vs a constant baseline b",
        "baseline b",
        "Var of one estimate",
        height=360,
        shapes=shapes,
    )


def cumulative_mean_chart(count: npt.NDArray[np.int64], means: Array, std: float) -> go.Figure:
    """The running mean of the episode score Σ ψ_t, with the exact ±2 standard-error funnel."""
    n = count.astype(float)
    band = 2.0 * std / np.sqrt(n)
    traces = [
        dict(
            type="scatter",
            x=np.concatenate([n, n[::-1]]),
            y=np.concatenate([band, -band[::-1]]),
            fill="toself",
            fillcolor="rgba(127,127,127,0.18)",
            line=dict(width=0),
            name="±2 standard errors (exact)",
            hoverinfo="skip",
        ),
        dict(
            type="scatter",
            x=n,
            y=means,
            mode="lines",
            name="running mean of Σₜ ∇log π(aₜ|sₜ)",
            line=dict(color=COLORS["estimate"], width=2),
        ),
    ]
    return make_figure(
        traces,
        "E[∇log π] = 0: the average score shrinks to zero",
        "episodes averaged",
        "mean score",
        height=330,
        xaxis=dict(type="log"),
        shapes=[hline(0.0)],
    )


def offset_chart(
    offsets: Array, variances: Mapping[str, Array], current: float, measured: Mapping[str, float]
) -> go.Figure:
    """Exact Var of one estimate vs the reward offset c (log scale), measured dots at the current c."""
    traces = []
    for name, v in variances.items():
        traces.append(
            dict(
                type="scatter",
                x=offsets,
                y=np.maximum(v, 1e-12),
                mode="lines",
                name=LABELS[name],
                line=dict(color=COLORS[name], width=2.5 if name == "none" else 2),
            )
        )
    traces.append(
        dict(
            type="scatter",
            x=[current] * len(measured),
            y=[max(v, 1e-12) for v in measured.values()],
            mode="markers",
            name="measured at this c",
            marker=dict(
                color=[COLORS[n] for n in measured], size=10, symbol="diamond", line=dict(color="white", width=1)
            ),
        )
    )
    return make_figure(
        traces,
        "Variance vs a reward offset c added to every step",
        "reward offset c",
        "Var of one estimate (log scale)",
        height=360,
        yaxis=dict(type="log"),
        shapes=[vline(current)],
    )


def learning_chart(updates: Array, curves: Mapping[str, tuple[Array, Array]], best: float) -> go.Figure:
    """J over updates for each baseline: the mean over learners with a ±1 std band."""
    traces = []
    for name, (mean, std) in curves.items():
        color = COLORS[name]
        r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
        traces.append(
            dict(
                type="scatter",
                x=np.concatenate([updates, updates[::-1]]),
                y=np.concatenate([mean + std, (mean - std)[::-1]]),
                fill="toself",
                fillcolor=f"rgba({r},{g},{b},0.15)",
                line=dict(width=0),
                showlegend=False,
                hoverinfo="skip",
                name=LABELS[name],
            )
        )
        traces.append(
            dict(type="scatter", x=updates, y=mean, mode="lines", name=LABELS[name], line=dict(color=color, width=2.5))
        )
    return make_figure(
        traces,
        "J over updates: mean of the learners ± 1 std",
        "update",
        "J(θ₁) with the offset",
        height=380,
        shapes=[hline(best, color=COLORS["exact"])],
    )


def bandit_parabola(b_grid: Array, total: Array, marks: list[tuple[str, float, str]]) -> go.Figure:
    """Total variance Σ_j Var ĝ_j(b) of the bandit estimator vs a constant baseline b."""
    traces = [
        dict(
            type="scatter",
            x=b_grid,
            y=total,
            mode="lines",
            name="exact total variance",
            line=dict(color=COLORS["exact"], width=2.5),
        )
    ]
    shapes = []
    for label, x, color in marks:
        shape, legend = _marker_line(x, label, COLORS[color])
        shapes.append(shape)
        traces.append(legend)
    return make_figure(
        traces, "Bandit: total variance vs baseline b", "baseline b", "Σⱼ Var ĝⱼ", height=340, shapes=shapes
    )


def bandit_offset_chart(offsets: Array, lines: Mapping[str, Array], current: float) -> go.Figure:
    """Bandit total variance vs a reward offset c for a few baselines (log scale)."""
    styles = {"b = 0": "none", "b = E[R]": "mean", "b = b*": "optimal"}
    traces = [
        dict(
            type="scatter",
            x=offsets,
            y=np.maximum(v, 1e-12),
            mode="lines",
            name=label,
            line=dict(color=COLORS[styles[label]], width=2.5, dash="dash" if label == "b = E[R]" else "solid"),
        )
        for label, v in lines.items()
    ]
    return make_figure(
        traces,
        "Bandit: variance vs a reward offset c",
        "reward offset c added to every arm",
        "Σⱼ Var ĝⱼ (log scale)",
        height=340,
        yaxis=dict(type="log"),
        shapes=[vline(current)],
    )


def bandit_arms_chart(labels: list[str], probs: Array, means: Array, gradient: Array) -> go.Figure:
    """π(a), μ_a and ∂J/∂h_a side by side for each arm."""
    traces = [
        dict(type="bar", x=labels, y=probs, name="π(a)", marker=dict(color=COLORS["right"])),
        dict(type="bar", x=labels, y=means, name="mean reward μₐ", marker=dict(color=COLORS["estimate"])),
        dict(type="bar", x=labels, y=gradient, name="∂J/∂hₐ (exact)", marker=dict(color=COLORS["optimal"])),
    ]
    return make_figure(
        traces, "Bandit arms: policy, payoff and exact gradient", "arm", "value", height=320, barmode="group"
    )


def race_chart(updates: Array, objective: Array, baseline: str, best: float, exact: Array | None = None) -> go.Figure:
    """J after each update of the two racing learners: ``objective`` has shape (updates, 2),
    column 0 without a baseline, column 1 with ``baseline``; ``exact`` (shape (updates,)) is
    the exact-gradient learner, drawn as a dashed path with its own legend entry."""
    traces = [
        dict(
            type="scatter",
            x=updates,
            y=objective[:, 0],
            mode="lines",
            name=LABELS["none"],
            line=dict(color=COLORS["none"], width=2.5),
        ),
        dict(
            type="scatter",
            x=updates,
            y=objective[:, 1],
            mode="lines",
            name=LABELS[baseline],
            line=dict(color=COLORS[baseline], width=2.5),
        ),
    ]
    shapes = [hline(best, color=COLORS["exact"])]
    if exact is not None and len(exact) > 1:
        # a path shape, not a trace: the two sampled learners stay the figure's only data
        path = "M " + " L ".join(f"{x:.6g},{y:.9g}" for x, y in zip(updates, exact))
        shapes.append(
            dict(
                type="path",
                path=path,
                xref="x",
                yref="y",
                line=dict(color=COLORS["exact"], width=1.8, dash="dash"),
                showlegend=True,
                name="exact gradient",
                layer="below",
            )
        )
    return make_figure(
        traces,
        "The race: J after each update, same episodes for both",
        "update",
        "J(θ₁) with the offset",
        height=360,
        shapes=shapes,
        xaxis=dict(tickformat="d", rangemode="tozero"),
    )
