"""Figures for the Gradient step page: the three cells with the robot's path, J(θ₁) with
slopes, the J(θ₁, θ₂) map with its gradient field, the update history and the Monte Carlo
convergence plot. Pure: data in, go.Figure out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from app.lessons import SAMPLED_ARROW_CAP
from app.theme import COLORS, make_figure
from pgcore.grid1d import trajectory_steps

Array = npt.NDArray[np.float64]

CELL_X = {"S1": 0.0, "S2": 1.0, "S3": 2.0}
ARROW_LETTER = {"right": "R", "left": "L"}
#: Loops drawn in full before the path drawing abbreviates.
DRAWN_LOOPS = 3


def trajectory_label(loops: int, reached_goal: bool) -> str:
    """A readable trajectory: "S1 →R S2 →L S1 →L ✕" or "S1 →R S2 →R S3".

    More than two loops are written once with a count: "S1 (→R S2 →L S1)×5 →L ✕".
    """
    ending = "→R S2 →R S3" if reached_goal else "→L ✕"
    if loops > 2:
        return f"S1 (→R S2 →L S1)×{loops} {ending}"
    parts = ["S1"]
    for _, action, _, next_state in trajectory_steps(loops, reached_goal):
        parts.append(f"→{ARROW_LETTER[action]} {'✕' if next_state == 'end' else next_state}")
    return " ".join(parts)


def grid_path(
    loops: int, reached_goal: bool, title: str, *, color: str = COLORS["right"], height: int = 300
) -> go.Figure:
    """The cells S1 S2 S3 across, time steps down, and the robot's path through them.

    A Left in S1 ends the episode: the path leaves the grid to a ✕. Long looping paths show
    the first ``DRAWN_LOOPS`` loops and say how many were left out.
    """
    drawn = min(loops, DRAWN_LOOPS)
    steps = trajectory_steps(drawn, reached_goal)
    xs, ts, labels = [CELL_X["S1"]], [0], ["start"]
    for t, (_, action, reward, next_state) in enumerate(steps, start=1):
        xs.append(-0.75 if next_state == "end" else CELL_X[next_state])
        ts.append(t)
        labels.append(f"{ARROW_LETTER[action]}, r = {reward:g}" + (" · ends" if next_state == "end" else ""))
    cells = [
        dict(
            type="rect",
            xref="x",
            yref="paper",
            x0=x - 0.42,
            x1=x + 0.42,
            y0=0,
            y1=1,
            layer="below",
            line=dict(color="#888888", width=1),
            fillcolor="#E8F4EC" if name == "S3" else "#F3F5F8",
        )
        for name, x in CELL_X.items()
    ]
    arrows = [
        dict(
            x=x1,
            y=t1,
            ax=x0,
            ay=t0,
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            showarrow=True,
            arrowhead=2,
            arrowsize=1.3,
            arrowwidth=2,
            arrowcolor=color,
            text="",
            standoff=8,
            startstandoff=8,
        )
        for x0, t0, x1, t1 in zip(xs[:-1], ts[:-1], xs[1:], ts[1:])
    ]
    notes = [
        dict(
            x=2.0,
            y=0,
            xref="x",
            yref="y",
            text="goal +1",
            showarrow=False,
            yshift=14,
            font=dict(color="#2E7D4F", size=12),
        )
    ]
    if loops > drawn:
        notes.append(
            dict(
                x=1.0,
                y=2 * drawn,
                xref="x",
                yref="y",
                showarrow=False,
                xshift=70,
                text=f"… {loops - drawn} more loop{'s' if loops - drawn > 1 else ''} not drawn",
                font=dict(color="#555555", size=12),
            )
        )
    ends = "✕ ends" if not reached_goal else "goal"
    path = dict(
        type="scatter",
        x=xs,
        y=ts,
        mode="markers+text",
        text=["start"] + [""] * (len(xs) - 2) + [ends],
        textposition=["top center"] + ["middle left"] * (len(xs) - 2) + ["bottom center"],
        textfont=dict(size=12, color="#333333"),
        marker=dict(size=11, color=color, line=dict(color="white", width=1)),
        customdata=labels,
        hovertemplate="t = %{y}: %{customdata}<extra></extra>",
        name="robot",
        showlegend=False,
    )
    return make_figure(
        [path],
        title,
        "cell",
        "time step t",
        height=height,
        legend_below=False,
        xaxis=dict(
            range=[-1.1, 2.6],
            tickvals=[-0.75, 0, 1, 2],
            ticktext=["end", "S1", "S2", "S3"],
            zeroline=False,
            showgrid=False,
        ),
        yaxis=dict(range=[ts[-1] + 0.7, -0.7], dtick=1, zeroline=False),
        shapes=cells,
        annotations=arrows + notes,
        margin=dict(l=55, r=20, t=50, b=45),
    )


def _slope_line(x0: float, y0: float, slope: float, half_width: float) -> tuple[list[float], list[float]]:
    return [x0 - half_width, x0 + half_width], [y0 - slope * half_width, y0 + slope * half_width]


def objective_curve(
    theta_grid: Array,
    j_grid: Array,
    theta: float,
    j_now: float,
    slopes: Sequence[tuple[str, float, str, str]],
    *,
    half_width: float = 1.5,
) -> go.Figure:
    """J(θ₁) with the current point and straight lines through it, one per (name, slope, colour, dash)."""
    traces: list[dict[str, Any]] = [
        dict(
            type="scatter",
            x=theta_grid,
            y=j_grid,
            mode="lines",
            name="J(θ₁), exact",
            line=dict(color=COLORS["exact"], width=2.5),
        ),
    ]
    for name, slope, color, dash in slopes:
        x, y = _slope_line(theta, j_now, slope, half_width)
        traces.append(
            dict(
                type="scatter",
                x=x,
                y=y,
                mode="lines",
                name=f"{name}: slope {slope:.3f}",
                line=dict(color=color, width=2, dash=dash),
            )
        )
    traces.append(
        dict(
            type="scatter",
            x=[theta],
            y=[j_now],
            mode="markers",
            name="current θ₁",
            marker=dict(color=COLORS["highlight"], size=11, line=dict(color="white", width=1.5)),
            hovertemplate="θ₁ = %{x:.3f}<br>J = %{y:.4f}<extra></extra>",
        )
    )
    low, high = float(np.min(j_grid)), float(np.max(j_grid))
    pad = 0.15 * (high - low) + 0.03
    return make_figure(
        traces,
        "J(θ₁) and three slopes at the current θ₁",
        "θ₁ (policy in S1)",
        "J(θ) = V^π(S1)",
        height=400,
        xaxis=dict(range=[float(theta_grid[0]), float(theta_grid[-1])]),
        yaxis=dict(range=[low - pad, high + pad]),
    )


def quiver_segments(x: Array, y: Array, u: Array, v: Array, length: float) -> tuple[Array, Array]:
    """Arrows as one line trace: shaft and two head strokes per arrow, NaN gaps between.

    (x, y) are the tails, (u, v) the directions; the longest arrow gets ``length`` and the
    others shrink with √|g| so that small gradients stay visible. Returns two arrays of
    7 points per arrow (numpy, so the figure serializes fast).
    """
    x, y, u, v = (np.ravel(np.asarray(a, dtype=float)) for a in (x, y, u, v))
    mag = np.hypot(u, v)
    keep = mag > 0
    if not np.any(keep):
        return np.empty(0), np.empty(0)
    x, y, u, v, mag = x[keep], y[keep], u[keep], v[keep], mag[keep]
    scale = length * np.sqrt(mag / mag.max()) / mag
    x1, y1 = x + u * scale, y + v * scale
    back = np.arctan2(-v, -u)
    head = 0.3 * length * np.sqrt(mag / mag.max())
    gap = np.full_like(x, np.nan)
    # shaft, gap, head stroke 1 → tip → head stroke 2, gap: 25° either side of the shaft
    xs = np.stack([x, x1, gap, x1 + head * np.cos(back + 0.45), x1, x1 + head * np.cos(back - 0.45), gap], axis=1)
    ys = np.stack([y, y1, gap, y1 + head * np.sin(back + 0.45), y1, y1 + head * np.sin(back - 0.45), gap], axis=1)
    return xs.ravel(), ys.ravel()


def _arrow(
    x: float, y: float, dx: float, dy: float, color: str, text: str, x_room: float = np.inf
) -> list[dict[str, Any]]:
    """An arrow from (x, y) to (x + dx, y + dy) and its label just beyond the head.

    A head closer than ``x_room`` to the right edge gets its label above or below it
    instead, so the label is not cut off by the plot's edge or hidden under the colour bar.
    """
    length = max(float(np.hypot(dx, dy)), 1e-12)
    head = dict(
        x=x + dx,
        y=y + dy,
        ax=x,
        ay=y,
        xref="x",
        yref="y",
        axref="x",
        ayref="y",
        showarrow=True,
        arrowhead=2,
        arrowsize=1.2,
        arrowwidth=2.5,
        arrowcolor=color,
        text="",
    )
    label = dict(
        x=x + dx,
        y=y + dy,
        xref="x",
        yref="y",
        showarrow=False,
        text=text,
        font=dict(color=color, size=12),
        bgcolor="rgba(255,255,255,0.8)",
    )
    if dx >= 0 and x + dx > x_room:  # label above or below the head, right-aligned to it
        label.update(xanchor="right", yanchor="bottom" if dy >= 0 else "top", yshift=10 if dy >= 0 else -10)
    else:  # label just beyond the head, along the arrow
        label.update(xshift=14 * dx / length, yshift=14 * dy / length, xanchor="left" if dx >= 0 else "right")
    return [head, label]


def objective_map(
    axis: Array,
    j_values: Array,
    field: tuple[Array, Array],
    point: tuple[float, float],
    exact_grad: tuple[float, float],
    sampled_grad: tuple[float, float],
    *,
    arrow_length: float = 1.6,
) -> go.Figure:
    """Contours of J(θ₁, θ₂) (shape (len(axis), len(axis)), rows θ₂), the gradient field
    (line segments from ``quiver_segments``), the current point and, from it, the exact and
    one sampled gradient on one scale."""
    xs, ys = field
    traces: list[dict[str, Any]] = [
        dict(
            type="contour",
            x=axis,
            y=axis,
            z=j_values,
            colorscale="Blues",
            reversescale=True,
            ncontours=14,
            contours=dict(showlabels=True, labelfont=dict(size=10, color="#333333")),
            colorbar=dict(title=dict(text="J"), thickness=12),
            name="J(θ₁, θ₂)",
            hovertemplate="θ₁ = %{x:.2f}<br>θ₂ = %{y:.2f}<br>J = %{z:.4f}<extra></extra>",
        ),
        dict(
            type="scatter",
            x=xs,
            y=ys,
            mode="lines",
            name="∇J (direction; length ∝ √|∇J|)",
            line=dict(color="#444444", width=1),
            hoverinfo="skip",
        ),
        dict(
            type="scatter",
            x=[point[0]],
            y=[point[1]],
            mode="markers",
            name="current θ",
            marker=dict(color=COLORS["highlight"], size=12, line=dict(color="white", width=1.5)),
        ),
    ]
    g_exact = float(np.hypot(*exact_grad))
    g_sampled = float(np.hypot(*sampled_grad))
    scale = arrow_length / max(g_exact, 1e-12)
    annotations = []
    lo, hi = float(axis[0]), float(axis[-1])
    x_room = hi - 0.3 * (hi - lo)
    if g_exact > 0:
        annotations += _arrow(
            point[0], point[1], exact_grad[0] * scale, exact_grad[1] * scale, COLORS["exact"], "exact ∇J", x_room
        )
    if g_sampled > 0:
        # same scale as the exact arrow, but never longer than SAMPLED_ARROW_CAP arrow lengths
        s = min(scale, SAMPLED_ARROW_CAP * arrow_length / g_sampled)
        annotations += _arrow(
            point[0], point[1], sampled_grad[0] * s, sampled_grad[1] * s, COLORS["estimate"], "one episode", x_room
        )
    return make_figure(
        traces,
        "J(θ₁, θ₂) with its gradient field",
        "θ₁ (policy in S1)",
        "θ₂ (policy in S2)",
        height=460,
        xaxis=dict(range=[lo, hi]),
        yaxis=dict(range=[lo, hi], scaleanchor="x"),
        annotations=annotations,
    )


def history_chart(step: Sequence[int], theta: Sequence[float], pi_right: Sequence[float]) -> go.Figure:
    """θ₁ (right axis) and π(Right|S1) (left axis) after each update taken."""
    # a marker per update while they can be told apart; past that, lines only (each marker
    # is an SVG path: 500 of them made the redraw after Take 20 steps measurably slower)
    mode = "lines+markers" if len(step) <= 40 else "lines"
    traces = [
        dict(
            type="scatter",
            x=np.asarray(step),
            y=np.asarray(pi_right, dtype=float),
            mode=mode,
            name="π(Right|S1)",
            line=dict(color=COLORS["right"], width=2.5),
            marker=dict(size=6),
        ),
        dict(
            type="scatter",
            x=np.asarray(step),
            y=np.asarray(theta, dtype=float),
            mode=mode,
            name="θ₁ (right axis)",
            yaxis="y2",
            line=dict(color=COLORS["highlight"], width=2, dash="dash"),
            marker=dict(size=5),
        ),
    ]
    return make_figure(
        traces,
        "Your updates: π(Right|S1) and θ₁ after each step",
        "update number",
        "π(Right|S1)",
        height=340,
        # updates are whole numbers; θ₁ gets at most 3 decimals (no 0.409/0.321-style ticks)
        xaxis=dict(tickformat="d", dtick=1 if len(step) <= 12 else None),
        yaxis=dict(range=[0, 1], tickformat=".1f"),
        yaxis2=dict(
            title=dict(text="θ₁"),
            overlaying="y",
            side="right",
            showgrid=False,
            zeroline=False,
            automargin=True,
            tickformat=".3~f",
            nticks=6,
            ticklabeloverflow="allow",  # as every axis of make_figure (see app.theme._axis)
        ),
        margin=dict(l=55, r=55, t=50, b=50),
    )


def learning_climb(
    theta_grid: Array,
    j_grid: Array,
    sampled: tuple[float, float],
    exact: tuple[float, float],
    trail: Sequence[float],
    trail_j: Sequence[float],
) -> go.Figure:
    """J(θ₁) with where the sampled learner is (θ₁, J), its recent trail, and where exact
    gradient ascent from the same start is after as many steps."""
    traces: list[dict[str, Any]] = [
        dict(
            type="scatter",
            x=theta_grid,
            y=j_grid,
            mode="lines",
            name="J(θ₁), exact",
            line=dict(color=COLORS["exact"], width=2.5),
            hoverinfo="skip",
        ),
        dict(
            type="scatter",
            x=np.asarray(trail, dtype=float),
            y=np.asarray(trail_j, dtype=float),
            mode="markers",
            name="sampled learner, last steps",
            marker=dict(color=COLORS["estimate"], size=6, opacity=0.5),
            hoverinfo="skip",
        ),
        dict(
            type="scatter",
            x=[exact[0]],
            y=[exact[1]],
            mode="markers",
            name="exact gradient ascent",
            marker=dict(color=COLORS["exact"], size=12, symbol="diamond-open", line=dict(width=2.5)),
            hovertemplate="θ₁ = %{x:.3f}<br>J = %{y:.4f}<extra></extra>",
        ),
        dict(
            type="scatter",
            x=[sampled[0]],
            y=[sampled[1]],
            mode="markers",
            name="sampled learner",
            marker=dict(color=COLORS["highlight"], size=12, line=dict(color="white", width=1.5)),
            hovertemplate="θ₁ = %{x:.3f}<br>J = %{y:.4f}<extra></extra>",
        ),
    ]
    low, high = float(np.min(j_grid)), float(np.max(j_grid))
    pad = 0.1 * (high - low) + 0.03
    return make_figure(
        traces,
        "Where each learner is on J(θ₁)",
        "θ₁ (policy in S1)",
        "J(θ) = V^π(S1)",
        height=360,
        xaxis=dict(range=[float(theta_grid[0]), float(theta_grid[-1])]),
        yaxis=dict(range=[low - pad, high + pad]),
    )


def learning_race(updates: Sequence[int], sampled_j: Sequence[float], exact_j: Sequence[float]) -> go.Figure:
    """J after each update for the sampled learner and for exact gradient ascent."""
    x = np.asarray(updates, dtype=float)
    traces = [
        dict(
            type="scatter",
            x=x,
            y=np.asarray(exact_j, dtype=float),
            mode="lines",
            name="exact gradient ascent",
            line=dict(color=COLORS["exact"], width=2, dash="dash"),
        ),
        dict(
            type="scatter",
            x=x,
            y=np.asarray(sampled_j, dtype=float),
            mode="lines",
            name="one sampled episode per update",
            line=dict(color=COLORS["highlight"], width=2.5),
        ),
    ]
    return make_figure(
        traces,
        "J(θ) after each update",
        "update number",
        "J(θ) = V^π(S1)",
        height=360,
        xaxis=dict(tickformat="d", rangemode="tozero"),
    )


def _positive_or_gap(values: Array) -> Array:
    """Log axes cannot show 0: exact zeros become gaps (NaN) in the line."""
    values = np.asarray(values, dtype=float)
    return np.where(values > 0, values, np.nan)


def convergence_chart(
    n: Array, rms_error: Array, predicted: Array, rms_error_naive: Array, predicted_naive: Array, repeats: int
) -> go.Figure:
    """Error of the mean of N single-episode estimates against N, both axes logarithmic."""
    n = np.asarray(n, dtype=float)
    traces = [
        dict(
            type="scatter",
            x=n,
            y=_positive_or_gap(rms_error),
            mode="lines+markers",
            name=f"with ÷π (∇log π): RMS error over {repeats} runs",
            line=dict(color=COLORS["mean"], width=2.5),
            marker=dict(size=5),
        ),
        dict(
            type="scatter",
            x=n,
            y=_positive_or_gap(predicted),
            mode="lines",
            name="σ/√N (slope −½)",
            line=dict(color=COLORS["exact"], width=1.5, dash="dash"),
        ),
        dict(
            type="scatter",
            x=n,
            y=_positive_or_gap(rms_error_naive),
            mode="lines+markers",
            name="without ÷π (∇π): RMS error",
            line=dict(color=COLORS["none"], width=2.5),
            marker=dict(size=5),
        ),
        dict(
            type="scatter",
            x=n,
            y=_positive_or_gap(predicted_naive),
            mode="lines",
            name="√(bias² + σ²/N)",
            line=dict(color=COLORS["none"], width=1.5, dash="dot"),
        ),
    ]
    return make_figure(
        traces,
        "Monte Carlo error against the number of episodes N",
        "episodes N (log scale)",
        "|mean − ∂J/∂θ₁|, root mean square (log scale)",
        height=420,
        xaxis=dict(type="log"),
        yaxis=dict(type="log"),
    )
