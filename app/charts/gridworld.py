"""Figures for the GridWorld page: the policy as arrows over a heat map, a sampled path, the
exact J(θ) while training, the three learners over seeds, PPO's clipped objective and GRPO's
group advantages. Pure: data in, go.Figure out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from app.theme import COLORS, SEQUENCE, hline, make_figure, point, vline

Array = npt.NDArray[np.float64]

#: (row, col) change of each action, in pgcore.gridworld's order: up, right, down, left.
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))
ACTION_NAMES = ("up", "right", "down", "left")
ACTION_COLORS = (SEQUENCE[2], COLORS["right"], SEQUENCE[4], COLORS["left"])
#: An arrow of probability 1 reaches this far from the cell's centre (half a cell is the edge).
ARROW_REACH = 0.46
ALGO_COLORS = {"REINFORCE": COLORS["reinforce"], "PPO": COLORS["value"], "GRPO": COLORS["optimal"]}


def clipped_objective(r: Array, advantage: float, eps: float) -> Array:
    """PPO's per-sample objective min(r·A, clip(r, 1−ε, 1+ε)·A) at each ratio r."""
    r = np.asarray(r, dtype=float)
    return np.asarray(np.minimum(r * advantage, np.clip(r, 1.0 - eps, 1.0 + eps) * advantage), dtype=float)


def arrow_segments(pi: Array, size: int, skip: int | None = None) -> list[tuple[Array, Array]]:
    """For each action, one line trace's (x, y): a segment from each cell's centre, as long as
    ARROW_REACH·π(a|s), with NaN gaps between cells. ``skip`` (the goal) gets no arrows."""
    cells = np.arange(size * size)
    if skip is not None:
        cells = cells[cells != skip]
    rows, cols = (cells // size).astype(float), (cells % size).astype(float)
    out = []
    gap = np.full(cells.size, np.nan)
    for a, (d_row, d_col) in enumerate(MOVES):
        length = ARROW_REACH * pi[cells, a]
        xs = np.stack([cols, cols + d_col * length, gap], axis=1).ravel()
        ys = np.stack([rows, rows + d_row * length, gap], axis=1).ravel()
        out.append((xs, ys))
    return out


def policy_grid(
    pi: Array,
    size: int,
    title: str,
    *,
    heat: Array | None = None,
    heat_name: str = "",
    path: Sequence[int] | None = None,
    height: int = 400,
) -> go.Figure:
    """The grid, row 0 at the top: π(a|s) as four arrows per cell (length ∝ probability), an
    optional heat map of one number per cell (``heat``, shape (size²,)) and an optional path of
    cells (state indices, the start first)."""
    goal = size * size - 1
    traces: list[dict[str, Any]] = []
    if heat is not None:
        z = np.asarray(heat, dtype=float).reshape(size, size)
        traces.append(
            dict(
                type="heatmap",
                z=z,
                x=np.arange(size),
                y=np.arange(size),
                colorscale=[[0.0, "#FFFFFF"], [1.0, "#6BAED6"]],
                zmin=0.0,
                zmax=max(float(z.max()), 1e-12),
                colorbar=dict(title=dict(text=heat_name, side="right"), thickness=12, len=0.8),
                hovertemplate="row %{y}, col %{x}<br>" + heat_name + " = %{z:.3f}<extra></extra>",
                name=heat_name,
                showscale=True,
            )
        )
    for a, (xs, ys) in enumerate(arrow_segments(pi, size, skip=goal)):
        traces.append(
            dict(
                type="scatter",
                x=xs,
                y=ys,
                mode="lines",
                line=dict(color=ACTION_COLORS[a], width=4),
                name=ACTION_NAMES[a],
                hoverinfo="skip",
            )
        )
    path_shapes = []
    if path is not None and len(path) > 0:
        path_shapes = episode_path(np.asarray(path, dtype=int), size)
        # the legend's entry only (the path itself is shapes): the same for every episode
        traces.append(
            dict(
                type="scatter",
                x=[None],
                y=[None],
                mode="lines",
                line=dict(color=COLORS["highlight"], width=2),
                name="episode",
            )
        )
    cell_lines = [
        dict(
            type="rect",
            xref="x",
            yref="y",
            x0=c - 0.5,
            x1=c + 0.5,
            y0=r - 0.5,
            y1=r + 0.5,
            line=dict(color="#C8CDD3", width=1),
            fillcolor="rgba(0,0,0,0)",
            layer="above" if heat is not None else "below",
        )
        for r in range(size)
        for c in range(size)
    ]
    goal_box = dict(
        type="rect",
        xref="x",
        yref="y",
        x0=size - 1.5,
        x1=size - 0.5,
        y0=size - 1.5,
        y1=size - 0.5,
        line=dict(color="#2E7D4F", width=2),
        fillcolor="rgba(46,125,79,0.25)",
    )
    notes = [
        dict(x=size - 1, y=size - 1, text="goal", showarrow=False, font=dict(color="#1E5C39", size=12)),
        dict(x=0, y=-0.5, text="start", showarrow=False, yshift=8, font=dict(color="#333333", size=11)),
    ]
    ticks = list(range(size))
    return make_figure(
        traces,
        title,
        "column",
        "row",
        height=height,
        legend_below=True,
        xaxis=dict(range=[-0.55, size - 0.45], tickvals=ticks, zeroline=False, showgrid=False, constrain="domain"),
        yaxis=dict(
            range=[size - 0.45, -0.55],
            tickvals=ticks,
            zeroline=False,
            showgrid=False,
            scaleanchor="x",
            scaleratio=1,
        ),
        shapes=cell_lines + [goal_box] + path_shapes,
        annotations=notes,
    )


def episode_path(cells: npt.NDArray[np.int_], size: int) -> list[dict[str, Any]]:
    """An episode's cells (state indices, the start first) as layout shapes: one line through
    them and a dot at each end.

    Shapes, not a trace: a new episode under the same policy then leaves the figure's traces
    (the arrows) as they were, so Plotly.react can redraw the shapes only (see data_revision
    for why Streamlit 1.67 re-creates the chart anyway)."""
    # a small drift per step keeps a path that revisits a cell from drawing over itself
    drift = np.linspace(-0.18, 0.18, cells.size)
    xs, ys = (cells % size) + drift, (cells // size) + drift
    line = dict(
        type="path",
        xref="x",
        yref="y",
        path="M " + " L ".join(f"{x:.4f},{y:.4f}" for x, y in zip(xs, ys)),
        line=dict(color=COLORS["highlight"], width=2),
    )
    ends = [
        point(float(xs[0]), float(ys[0]), COLORS["highlight"], 8),
        point(float(xs[-1]), float(ys[-1]), COLORS["highlight"], 8),
    ]
    return [line, *ends]


def training_chart(
    steps: Array, exact: Array, sampled: Array, optimum: float, target: float, *, sampled_name: str
) -> go.Figure:
    """Exact J(θ) after every update against env steps, the batches' mean sampled return, J*."""
    steps = np.asarray(steps, dtype=float)
    traces: list[dict[str, Any]] = [
        dict(
            type="scatter",
            x=steps[1:],
            y=np.asarray(sampled, dtype=float),
            mode="markers",
            marker=dict(color=COLORS["estimate"], size=5, opacity=0.6),
            name=sampled_name,
        ),
        dict(
            type="scatter",
            x=steps,
            y=np.asarray(exact, dtype=float),
            mode="lines" if steps.size > 1 else "markers",  # before the first update: the start as a dot
            line=dict(color=COLORS["exact"], width=2.5),
            name="exact J(θ) from (0, 0)",
        ),
        dict(
            type="scatter",
            x=[float(steps[0]), float(max(steps[-1], 1.0))],
            y=[optimum, optimum],
            mode="lines",
            line=dict(color=COLORS["mean"], width=1.5, dash="dot"),
            name=f"optimum J* = {optimum:g}",
        ),
    ]
    return make_figure(
        traces,
        "Exact J(θ) after each update",
        "environment steps used",
        "return",
        height=360,
        shapes=[hline(target, color=COLORS["highlight"], dash="dash")],
    )


def compare_chart(
    steps: Array, bands: Mapping[str, tuple[Array, Array]], optimum: float, target: float, seeds: int
) -> go.Figure:
    """Mean exact J over seeds ± one standard deviation (a shaded band), per algorithm."""
    steps = np.asarray(steps, dtype=float)
    traces: list[dict[str, Any]] = []
    for name, (mean, std) in bands.items():
        color = ALGO_COLORS.get(name, SEQUENCE[len(traces) % len(SEQUENCE)])
        low, high = np.asarray(mean) - np.asarray(std), np.asarray(mean) + np.asarray(std)
        traces.append(
            dict(
                type="scatter",
                x=np.concatenate([steps, steps[::-1]]),
                y=np.concatenate([high, low[::-1]]),
                fill="toself",
                fillcolor=_rgba(color, 0.18),
                line=dict(width=0, color=color),
                hoverinfo="skip",
                showlegend=False,
                name=f"{name} ± 1 std",
            )
        )
        traces.append(dict(type="scatter", x=steps, y=mean, mode="lines", line=dict(color=color, width=2.2), name=name))
    traces.append(
        dict(
            type="scatter",
            x=[float(steps[0]), float(steps[-1])],
            y=[optimum, optimum],
            mode="lines",
            line=dict(color=COLORS["exact"], width=1.2, dash="dot"),
            name=f"J* = {optimum:g}",
        )
    )
    return make_figure(
        traces,
        f"Exact J(θ), mean ± 1 std over {seeds} seeds",
        "environment steps used",
        "exact J(θ)",
        height=380,
        shapes=[hline(target, color=COLORS["highlight"], dash="dash")],
    )


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


def clip_chart(eps: float, advantage: float, r_now: float, *, r_max: float = 2.5) -> go.Figure:
    """PPO's objective against the ratio r for one advantage A: the unclipped r·A (dashed) and
    min(r·A, clip(r)·A) (solid), the clip range and your r."""
    r = np.linspace(0.0, r_max, 251)
    color = COLORS["right"] if advantage > 0 else COLORS["left"]
    traces = [
        dict(
            type="scatter",
            x=r,
            y=r * advantage,
            mode="lines",
            line=dict(color=COLORS["estimate"], width=1.5, dash="dash"),
            name="r·A (no clip)",
        ),
        dict(
            type="scatter",
            x=r,
            y=clipped_objective(r, advantage, eps),
            mode="lines",
            line=dict(color=color, width=3),
            name="min(r·A, clip(r)·A)",
        ),
        dict(
            type="scatter",
            x=[r_now],
            y=clipped_objective(np.array([r_now]), advantage, eps),
            mode="markers",
            marker=dict(color=COLORS["highlight"], size=11, line=dict(color="white", width=1.5)),
            name=f"your r = {r_now:.2f}",
        ),
    ]
    sign = "A > 0" if advantage > 0 else "A < 0"
    return make_figure(
        traces,
        f"{sign} (A = {advantage:g})",
        "ratio r = π_new(a|s) / π_old(a|s)",
        "objective",
        height=330,
        shapes=[vline(1.0 - eps, COLORS["exact"], "dot"), vline(1.0 + eps, COLORS["exact"], "dot")],
    )


def advantages_chart(labels: Sequence[str], advantages: Array, shifted: Array) -> go.Figure:
    """Each episode's group advantage, from the returns as given and after the shift and scale."""
    traces = [
        dict(
            type="bar", x=list(labels), y=np.asarray(advantages, dtype=float), name="A from R", marker_color=SEQUENCE[0]
        ),
        dict(
            type="bar",
            x=list(labels),
            y=np.asarray(shifted, dtype=float),
            name="A from k·R + c",
            marker_color=SEQUENCE[4],
        ),
    ]
    notes = []
    if not (np.any(np.asarray(advantages) != 0) or np.any(np.asarray(shifted) != 0)):
        # a zero-std group: bars of height 0 would leave the chart looking empty
        notes.append(dict(x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, text="every advantage is 0"))
    return make_figure(
        traces,
        "Group advantages",
        "episode in the group",
        "advantage A",
        height=320,
        barmode="group",
        annotations=notes,
    )


def cell_heat(values: Array, size: int, title: str, name: str, *, height: int = 360) -> go.Figure:
    """One number per cell as a heat map with the value written in each cell (the goal blank)."""
    z = np.asarray(values, dtype=float).reshape(size, size)
    text = [[f"{v:.3g}" for v in row] for row in z]
    text[-1][-1] = "goal"
    return make_figure(
        [
            dict(
                type="heatmap",
                z=z,
                x=np.arange(size),
                y=np.arange(size),
                colorscale="Viridis",
                text=text,
                texttemplate="%{text}",
                colorbar=dict(title=dict(text=name, side="right"), thickness=12, len=0.8),
                hovertemplate="row %{y}, col %{x}: %{text}<extra></extra>",
                name=name,
            )
        ],
        title,
        "column",
        "row",
        height=height,
        legend_below=False,
        xaxis=dict(tickvals=list(range(size)), showgrid=False, zeroline=False, constrain="domain"),
        yaxis=dict(
            tickvals=list(range(size)),
            autorange="reversed",
            showgrid=False,
            zeroline=False,
            scaleanchor="x",
            scaleratio=1,
        ),
    )
