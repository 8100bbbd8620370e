"""Figures for the Policies page."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from app.format import num
from app.theme import COLORS, SEQUENCE, make_figure, point, vline
from pgcore.policies import TwoActionPolicy


def sigmoid_curves(curve: TwoActionPolicy, current: TwoActionPolicy) -> go.Figure:
    """π, ∇π and ∇log π of both actions over θ; the current θ marked by a line and six dots."""
    theta_now = float(current.theta)
    series = [
        ("π(Right)", curve.pi_right, current.pi_right, "right", "solid"),
        ("π(Left)", curve.pi_left, current.pi_left, "left", "solid"),
        ("∇π(Right)", curve.grad_pi_right, current.grad_pi_right, "right", "dash"),
        ("∇π(Left)", curve.grad_pi_left, current.grad_pi_left, "left", "dash"),
        ("∇log π(Right)", curve.score_right, current.score_right, "right", "dot"),
        ("∇log π(Left)", curve.score_left, current.score_left, "left", "dot"),
    ]
    traces = [
        dict(
            type="scatter",
            x=curve.theta,
            y=values,
            name=name,
            mode="lines",
            line=dict(color=COLORS[color], dash=dash, width=2.5 if dash == "solid" else 2),
            hovertemplate="%{y:.4f}",
        )
        for name, values, _, color, dash in series
    ]
    # The current values are layout shapes, not a trace: moving θ leaves every trace as it
    # was, so Plotly.react could redraw the shapes only (see data_revision: Streamlit 1.67
    # re-creates a changed chart instead).
    markers = [point(theta_now, float(now), COLORS[color]) for _, _, now, color, _ in series]
    return make_figure(
        traces,
        "The sigmoid policy and its gradients",
        "θ",
        "π, ∇π and ∇log π",
        height=420,
        yaxis=dict(range=[-1.05, 1.05]),
        # hovering anywhere reads all six curves at that θ, in the browser, with no rerun
        hovermode="x unified",
        xaxis=dict(hoverformat=".2f"),
        shapes=[vline(theta_now), *markers],
    )


def action_bars(
    labels: list[str],
    values: npt.NDArray[np.float64],
    title: str,
    y_title: str,
    *,
    highlight: int | None = None,
    y_range: tuple[float, float] | None = None,
) -> go.Figure:
    """One bar per action (probabilities, scores, …), optionally one bar highlighted."""
    # rounding noise (|v| < 1e-12, e.g. a score of −4e-43 at a low temperature) is shown as the
    # 0 it is, so neither the labels ("−0.000") nor the axis (±10⁻⁴³) blow it up
    values = np.where(np.abs(values) < 1e-12, 0.0, np.asarray(values, dtype=float))
    colors = [SEQUENCE[i % len(SEQUENCE)] for i in range(len(labels))]
    opacity = [1.0 if highlight is None or i == highlight else 0.45 for i in range(len(labels))]
    bar = dict(
        type="bar",
        x=labels,
        y=values,
        marker=dict(color=colors, opacity=opacity),
        text=[num(v, 3) for v in values],
        textposition="outside",
        cliponaxis=False,
        hovertemplate="%{x}: %{y:.4f}<extra></extra>",
    )
    if y_range is None and np.all(values == 0.0):
        y_range = (-1.0, 1.0)  # all zero: a readable axis instead of one scaled to nothing
    layout = {"yaxis": dict(range=list(y_range))} if y_range is not None else {}
    return make_figure([bar], title, "action a", y_title, height=320, legend_below=False, **layout)
