"""Figures for the CartPole training page: learning curves, seed bands, the variance of the
update weights, reference curves, and the cart-pole animation (with the geometry it is
drawn from). Data in, figure out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from app.theme import COLORS, SEQUENCE, hline, make_figure
from pgcore._checks import finite_array, whole_number
from pgcore.cartpole.config import SOLVE_THRESHOLD
from pgcore.cartpole.curves import ReferenceCurve, SeedBand
from pgcore.cartpole.runs import RunData, downsample_indices

#: What the page calls each algorithm.
ALGO_LABELS = {
    "reinforce": "REINFORCE",
    "reinforce_baseline": "REINFORCE + mean baseline",
    "reinforce_value": "REINFORCE + value baseline",
    "actor_critic": "Actor-critic",
}

MAX_POINTS = 2000
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _color(algo: str | None, fallback_index: int = 0) -> str:
    return COLORS.get(algo or "", SEQUENCE[fallback_index % len(SEQUENCE)])


def _thin(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    idx = downsample_indices(x.size, max_points)
    return x[idx], y[idx]


def _solve_line() -> dict[str, Any]:
    return hline(SOLVE_THRESHOLD, color=COLORS["exact"], dash="dot")


def learning_curves(
    runs: list[RunData],
    *,
    title: str,
    show_returns: bool = True,
    references: list[ReferenceCurve] | None = None,
    height: int = 420,
) -> go.Figure:
    """Each run's episode returns (faint) and 20-episode mean (bold) over env steps.

    Runs of the same algorithm share its colour and differ by dash; reference curves, if
    given, are drawn in grey underneath.
    """
    traces: list[dict[str, Any]] = []
    for ref in references or []:
        x, y = _thin(ref.env_steps, ref.mean)
        traces.append(
            dict(
                type="scatter",
                x=x,
                y=y,
                mode="lines",
                name=f"reference: {reference_label(ref)}",
                line=dict(color=_rgba(_color(ref.algo), 0.45), width=3),
                hovertemplate="%{x:,.0f} steps: %{y:.1f}<extra>reference</extra>",
            )
        )
    seen: dict[str, int] = {}
    for run in runs:
        color = _color(run.algo)
        dash = DASHES[seen.get(run.algo, 0) % len(DASHES)]
        seen[run.algo] = seen.get(run.algo, 0) + 1
        steps = run.episode_end_steps.astype(float)
        if steps.size == 0:
            continue
        if show_returns:
            x, y = _thin(steps, run.episode_returns)
            traces.append(
                dict(
                    type="scatter",
                    x=x,
                    y=y,
                    mode="lines",
                    name=f"{run.name}: episode return",
                    line=dict(color=_rgba(color, 0.3), width=1),
                    showlegend=False,
                    hovertemplate="%{x:,.0f} steps: return %{y:.0f}<extra></extra>",
                )
            )
        x, y = _thin(steps, run.mean_last_20)
        traces.append(
            dict(
                type="scatter",
                x=x,
                y=y,
                mode="lines",
                name=f"{run.name} (20-ep. mean)",
                line=dict(color=color, width=2.5, dash=dash),
                hovertemplate="%{x:,.0f} steps: mean %{y:.1f}<extra>" + run.name + "</extra>",
            )
        )
    if not traces:  # nothing finished yet: an empty frame with the target line
        traces.append(
            dict(
                type="scatter",
                x=[0],
                y=[0],
                mode="markers",
                name="start",
                marker=dict(color=COLORS["estimate"], size=4),
                showlegend=False,
            )
        )
    return make_figure(
        traces,
        title,
        "env steps",
        "episode return (undiscounted)",
        height=height,
        yaxis=dict(range=[0, 520]),
        shapes=[_solve_line()],
    )


def seed_bands(bands: list[tuple[str, str, SeedBand]], *, title: str) -> go.Figure:
    """Mean ± one standard deviation across seeds of the 20-episode mean, one band per
    group; ``bands`` holds (label, algo, band)."""
    traces: list[dict[str, Any]] = []
    for i, (label, algo, band) in enumerate(bands):
        color = _color(algo, i)
        x = band.env_steps
        traces.append(
            dict(
                type="scatter",
                x=x,
                y=band.high,
                mode="lines",
                line=dict(width=0, color=color),
                showlegend=False,
                hoverinfo="skip",
                name=f"{label} +1 sd",
            )
        )
        traces.append(
            dict(
                type="scatter",
                x=x,
                y=band.low,
                mode="lines",
                line=dict(width=0, color=color),
                fill="tonexty",
                fillcolor=_rgba(color, 0.18),
                showlegend=False,
                hoverinfo="skip",
                name=f"{label} −1 sd",
            )
        )
        traces.append(
            dict(
                type="scatter",
                x=x,
                y=band.mean,
                mode="lines",
                line=dict(color=color, width=2.5),
                name=f"{label} (mean of {band.runs} runs)",
                hovertemplate="%{x:,.0f} steps: mean %{y:.1f}<extra></extra>",
            )
        )
    return make_figure(
        traces,
        title,
        "env steps",
        "20-episode mean return",
        height=400,
        yaxis=dict(range=[0, 520]),
        shapes=[_solve_line()],
    )


def variance_curves(runs: list[RunData], *, which: str, title: str) -> go.Figure:
    """Per-update variance of the weights Ψₜ (``which="weight"``) or of the per-step
    gradient contributions (``which="grad"``) over env steps, log scale."""
    traces: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for run in runs:
        values = run.weight_variance if which == "weight" else run.grad_variance
        if values is None or values.size == 0:
            continue
        dash = DASHES[seen.get(run.algo, 0) % len(DASHES)]
        seen[run.algo] = seen.get(run.algo, 0) + 1
        positive = values > 0  # log axis: a zero variance has no place on it
        x, y = _thin(run.update_steps[positive].astype(float), values[positive])
        if x.size == 0:
            continue
        traces.append(
            dict(
                type="scatter",
                x=x,
                y=y,
                mode="lines",
                name=run.name,
                line=dict(color=_color(run.algo), width=1.8, dash=dash),
                hovertemplate="%{x:,.0f} steps: %{y:.3g}<extra>" + run.name + "</extra>",
            )
        )
    if not traces:
        traces.append(
            dict(
                type="scatter",
                x=[0],
                y=[1],
                mode="markers",
                name="no data",
                marker=dict(color=COLORS["estimate"], size=4),
                showlegend=False,
            )
        )
    y_title = "Var(Ψₜ) over the batch" if which == "weight" else "tr Cov of per-step gradients"
    return make_figure(traces, title, "env steps", y_title, height=380, yaxis=dict(type="log"))


def reference_label(ref: ReferenceCurve) -> str:
    """``REINFORCE · fast`` for a known algorithm, else the curve's own name."""
    if ref.algo in ALGO_LABELS:
        normalized = " · normalized Ψ" if ref.normalized and ref.preset != "articles" else ""
        return ALGO_LABELS[ref.algo] + (f" · {ref.preset}" if ref.preset else "") + normalized
    return ref.name


def reference_chart(curves: list[ReferenceCurve], *, title: str) -> go.Figure:
    """Precomputed curves: mean and (if present) band, coloured by algorithm."""
    traces: list[dict[str, Any]] = []
    for i, ref in enumerate(curves):
        # plain REINFORCE with normalized Ψ is its own line, not REINFORCE's colour
        color = COLORS["constant"] if ref.normalized and ref.preset == "fast" else _color(ref.algo, i)
        if ref.low is not None and ref.high is not None:
            traces.append(
                dict(
                    type="scatter",
                    x=ref.env_steps,
                    y=ref.high,
                    mode="lines",
                    line=dict(width=0, color=color),
                    showlegend=False,
                    hoverinfo="skip",
                    name=f"{ref.name} upper",
                )
            )
            traces.append(
                dict(
                    type="scatter",
                    x=ref.env_steps,
                    y=ref.low,
                    mode="lines",
                    line=dict(width=0, color=color),
                    fill="tonexty",
                    fillcolor=_rgba(color, 0.18),
                    showlegend=False,
                    hoverinfo="skip",
                    name=f"{ref.name} lower",
                )
            )
        label = reference_label(ref)
        traces.append(
            dict(
                type="scatter",
                x=ref.env_steps,
                y=ref.mean,
                mode="lines",
                line=dict(color=color, width=2.5, dash="dash" if ref.preset == "articles" else "solid"),
                name=label,
                hovertemplate="%{x:,.0f} steps: %{y:.1f}<extra>" + label + "</extra>",
            )
        )
    return make_figure(
        traces,
        title,
        "env steps",
        "20-episode mean return",
        height=380,
        yaxis=dict(range=[0, 520]),
        shapes=[_solve_line()],
    )


# ---------------------------------------------------------------------------------------
# The cart-pole: geometry, then the animation
# ---------------------------------------------------------------------------------------

#: Gymnasium's CartPole: the pole's half-length is 0.5 m, the track ends at |x| = 2.4 m.
POLE_LENGTH = 1.0
TRACK_LIMIT = 2.4
CART_WIDTH = 0.5
CART_HEIGHT = 0.3


@dataclass(frozen=True)
class CartPoleFrames:
    """Geometry of an episode, frame by frame (metres; the cart's top at height 0).

    Attributes:
        steps: the time step of each frame, shape ``(F,)``.
        cart_x: cart position x, shape ``(F,)``.
        tip_x, tip_y: the pole's tip, ``x + L sin θ`` and ``L cos θ``, shape ``(F,)``.
        angle_deg: pole angle θ in degrees (0 = upright, positive leans right), ``(F,)``.
        actions: the push taken at that frame (0 left, 1 right, −1 after the last), ``(F,)``.
    """

    steps: npt.NDArray[np.int64]
    cart_x: npt.NDArray[np.float64]
    tip_x: npt.NDArray[np.float64]
    tip_y: npt.NDArray[np.float64]
    angle_deg: npt.NDArray[np.float64]
    actions: npt.NDArray[np.int64]


def cartpole_frames(states: npt.ArrayLike, actions: npt.ArrayLike, max_frames: int = 200) -> CartPoleFrames:
    """Frames for an animation from an episode's states ``(T + 1, 4)`` and actions ``(T,)``,
    at most ``max_frames`` of them (evenly spaced; the first and last are kept)."""
    s = finite_array("states", states)
    a = finite_array("actions", actions)
    if not np.all((a == 0) | (a == 1)):
        raise ValueError("actions must be 0 (push left) or 1 (push right)")
    a = a.astype(np.int64)
    max_frames = whole_number("max_frames", max_frames, 2, 100_000)
    if s.ndim != 2 or s.shape[1] != 4 or s.shape[0] < 1:
        raise ValueError(f"states must have shape (T + 1, 4), got {s.shape}")
    if a.shape != (s.shape[0] - 1,):
        raise ValueError(f"actions must have shape ({s.shape[0] - 1},), got {a.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("states must be finite")
    idx = downsample_indices(s.shape[0], max_frames)
    x, theta = s[idx, 0], s[idx, 2]
    padded = np.append(a, -1)
    return CartPoleFrames(
        steps=idx,
        cart_x=x,
        tip_x=x + POLE_LENGTH * np.sin(theta),
        tip_y=POLE_LENGTH * np.cos(theta),
        angle_deg=np.degrees(theta),
        actions=padded[idx],
    )


def _pole_shapes(cart_x: float, tip_x: float, tip_y: float, color: str) -> list[dict[str, Any]]:
    return [
        dict(
            type="line",
            x0=-TRACK_LIMIT - 0.3,
            x1=TRACK_LIMIT + 0.3,
            y0=-CART_HEIGHT,
            y1=-CART_HEIGHT,
            line=dict(color="#888888", width=2),
        ),
        dict(
            type="rect",
            x0=cart_x - CART_WIDTH / 2,
            x1=cart_x + CART_WIDTH / 2,
            y0=-CART_HEIGHT,
            y1=0.0,
            fillcolor="#1B1F24",
            line=dict(width=0),
        ),
        dict(type="line", x0=cart_x, y0=0.0, x1=tip_x, y1=tip_y, line=dict(color=color, width=7)),
    ]


def cartpole_animation(frames: CartPoleFrames, *, title: str, color: str, frame_ms: int = 40) -> go.Figure:
    """The cart (a rectangle), its track and the pole (a thick line), one plotly frame per
    step, with play/pause buttons and a step slider inside the figure."""
    arrows = {0: "◀ push left", 1: "push right ▶", -1: "end"}

    def frame_content(i: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        cx, tx, ty = (round(float(v[i]), 4) for v in (frames.cart_x, frames.tip_x, frames.tip_y))
        data = [
            dict(
                type="scatter",
                x=[cx, tx],
                y=[0.0, ty],
                mode="markers",
                name="hinge and tip",
                marker=dict(color=["#FFFFFF", color], size=[8, 6], line=dict(color=color, width=2)),
                showlegend=False,
                hoverinfo="skip",
            )
        ]
        layout = dict(
            shapes=_pole_shapes(cx, tx, ty, color),
            annotations=[
                dict(
                    x=0.0,
                    y=1.0,
                    xref="paper",
                    yref="paper",
                    xanchor="left",
                    yanchor="top",
                    showarrow=False,
                    font=dict(size=12),
                    text=f"step {int(frames.steps[i])} · angle {frames.angle_deg[i]:+.1f}° · "
                    f"{arrows[int(frames.actions[i])]}",
                )
            ],
        )
        return data, layout

    data0, layout0 = frame_content(0)
    plot_frames = []
    for i in range(frames.steps.size):
        data, layout = frame_content(i)
        plot_frames.append(dict(name=str(i), data=data, layout=layout))
    play = dict(
        label="▶ Play",
        method="animate",
        args=[
            None,
            dict(
                frame=dict(duration=frame_ms, redraw=True),
                fromcurrent=True,
                transition=dict(duration=0),
                mode="immediate",
            ),
        ],
    )
    pause = dict(
        label="❚❚ Pause",
        method="animate",
        args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate", transition=dict(duration=0))],
    )
    slider = dict(
        active=0,
        x=0.0,
        y=0.0,
        yanchor="top",
        len=1.0,
        pad=dict(t=70, b=0),
        currentvalue=dict(prefix="step ", font=dict(size=11)),
        # plotly labels every n-th step and draws a minor tick at each of the others: over a
        # 500-step episode those merge into a black band, so only the labelled ones get a tick
        minorticklen=0,
        steps=[
            dict(
                method="animate",
                label=str(int(frames.steps[i])),
                args=[
                    [str(i)],
                    dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0)),
                ],
            )
            for i in range(frames.steps.size)
        ],
    )
    fig = make_figure(
        data0,
        title,
        "cart position x (m)",
        "height (m)",
        height=390,
        legend_below=False,
        xaxis=dict(range=[-TRACK_LIMIT - 0.4, TRACK_LIMIT + 0.4], zeroline=False),
        yaxis=dict(range=[-CART_HEIGHT - 0.15, POLE_LENGTH + 0.2], scaleanchor="x", scaleratio=1, zeroline=False),
        margin=dict(l=55, r=20, t=85, b=140),  # room for the buttons above and the slider below
        **layout0,
    )
    controls = dict(
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=1.0,
                xanchor="right",
                y=1.0,
                yanchor="bottom",
                showactive=False,
                buttons=[play, pause],
                pad=dict(r=0, t=0, b=6),
            )
        ],
        sliders=[slider],
    )
    return AnimatedFigure(fig, plot_frames, controls)


class AnimatedFigure(go.Figure):
    """A figure whose animation frames stay plain dicts until it is serialized.

    plotly validates every frame when a figure is constructed (even with
    ``_validate=False``): ~1.4 ms a frame, a third of a second for a 250-step episode on
    every rerun. The page tests validate the frames instead (devtools/app_testing.py builds
    ``go.Figure(spec)`` from every chart the page draws).
    """

    def __init__(self, figure: go.Figure, frames: list[dict[str, Any]], controls: dict[str, Any]) -> None:
        super().__init__(figure, _validate=False)
        self._plain_frames = frames
        self._plain_controls = controls  # sliders / play buttons: one entry per frame, kept plain too

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["layout"].update(self._plain_controls)  # read-only downstream: serialized to JSON at once
        out["frames"] = self._plain_frames
        return out
