"""One colour-blind-safe palette (Okabe–Ito) and one figure style for every page.

The same quantity keeps the same colour everywhere: Right is always blue, Left always
vermillion, exact values black, sampled estimates grey, and so on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

# Plotly's named templates are deep-copied into every figure, which costs ~20 ms a chart;
# the few settings we want are applied directly instead (see make_figure).
pio.templates.default = "none"

COLORS = {
    # actions
    "right": "#0072B2",  # blue
    "left": "#D55E00",  # vermillion
    # truth vs samples
    "exact": "#000000",
    "estimate": "#7F7F7F",
    "highlight": "#CC79A7",  # reddish purple: the current point / the learner's choice
    # baselines (Baselines page) and algorithms (CartPole page)
    "none": "#E69F00",  # orange: no baseline / plain REINFORCE
    "constant": "#56B4E9",  # sky blue
    "mean": "#009E73",  # bluish green: the batch / episode mean
    "value": "#0072B2",  # blue: V(s)
    "optimal": "#CC79A7",  # reddish purple: the variance-optimal baseline
    "reinforce": "#E69F00",
    "reinforce_baseline": "#009E73",
    "reinforce_value": "#0072B2",
    "actor_critic": "#CC79A7",
}

#: Extra colours for series without a fixed meaning (K actions, several runs).
SEQUENCE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _axis(title: str) -> dict[str, Any]:
    return dict(
        title=dict(text=title),
        zeroline=True,
        zerolinecolor="#BBBBBB",
        gridcolor="#E5E8EC",
        showgrid=True,
        linecolor="#888888",
        showline=True,
        ticks="outside",
        automargin=True,
    )


def log_ticks(values: Any) -> dict[str, Any]:
    """Readable ticks for a log axis over ``values``: 1-2-5 steps for a short range, powers
    of ten for a long one, every label written out (plotly's default labels the in-between
    ticks with bare digits, "2" and "5", which learners misread).

    Plotly 7.1's own ``minorloglabels="complete"`` was tried instead: it writes the labels out
    but labels every minor tick of a short range (30…900 prints 30, 40, … 800, 900, the last
    two running together), in a smaller font than the major ones, and uses SI suffixes on long
    ranges ("1μ", "100μ", "10k"). These ticks avoid all three."""
    array = np.asarray([v for v in np.ravel(np.asarray(values, dtype=object)) if v is not None], dtype=float)
    array = array[np.isfinite(array) & (array > 0)]
    if array.size == 0:
        return {}
    lo, hi = float(array.min()), float(array.max())
    first, last = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    ticks = [m * 10.0**k for k in range(first, last + 1) for m in (1, 2, 5) if lo / 1.5 <= m * 10.0**k <= hi * 1.5]
    if len(ticks) > 9:
        ticks = [t for t in ticks if np.isclose(t / 10.0 ** np.floor(np.log10(t)), 1.0)]
        ticks = ticks[:: int(np.ceil(len(ticks) / 7))]
    if sum(lo <= t <= hi for t in ticks) < 2:
        return {}  # too short a range for these ticks: plotly's own will do
    return dict(tickvals=ticks, ticktext=[f"{t:g}" for t in ticks])


def _with_log_ticks(traces: list[dict[str, Any]], layout: dict[str, Any]) -> dict[str, Any]:
    for axis, field in (("xaxis", "x"), ("yaxis", "y")):
        spec = layout.get(axis, {})
        if spec.get("type") == "log" and "tickvals" not in spec:
            data = [t[field] for t in traces if field in t and (t.get(f"{field}axis", field) == field)]
            values = np.concatenate([np.ravel(np.asarray(d, dtype=object)) for d in data]) if data else []
            layout[axis] = {**spec, **log_ticks(values)}
    return layout


def make_figure(
    traces: list[dict[str, Any]],
    title: str,
    x_title: str,
    y_title: str,
    *,
    height: int = 360,
    legend_below: bool = True,
    **layout: Any,
) -> go.Figure:
    """A figure in the shared look: title, labelled axes, compact margins.

    Traces and layout are plain dicts handed to one constructor: building figures with
    property setters (update_layout & co.) costs ~10x more, and every slider move pays it.
    Plotly's property validation is skipped here for the same reason; the page tests
    validate every chart the app draws (tests/app_helpers.py), so a typo still fails CI.
    """
    base: dict[str, Any] = dict(
        title=dict(text=title, x=0.0, xanchor="left", font=dict(size=15)),
        height=height,
        margin=dict(l=55, r=20, t=50, b=50),
        hovermode="closest",
        font=dict(size=13, color="#1B1F24"),
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=SEQUENCE,
        xaxis=_axis(x_title),
        yaxis=_axis(y_title),
        showlegend=legend_below,
    )
    if legend_below:
        # Anchored to the bottom of the whole figure (not the plot area) with room reserved,
        # so the legend never sits on the x-axis title, whatever the figure's height.
        base["legend"] = dict(orientation="h", yref="container", yanchor="bottom", y=0.0, x=0.0)
        base["margin"]["b"] = 110
        base["height"] = height + 40
    merged = _with_log_ticks(traces, _deep_merge(base, layout))
    return go.Figure(data=traces, layout=merged, _validate=False)


def vline(x: float, color: str = COLORS["highlight"], dash: str = "solid") -> dict[str, Any]:
    """A vertical line across the plot at ``x`` (a layout shape)."""
    return dict(
        type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1, line=dict(color=color, width=1.5, dash=dash)
    )


def hline(y: float, color: str = COLORS["exact"], dash: str = "dot") -> dict[str, Any]:
    """A horizontal line across the plot at ``y`` (a layout shape)."""
    return dict(
        type="line", xref="paper", yref="y", x0=0, x1=1, y0=y, y1=y, line=dict(color=color, width=1.2, dash=dash)
    )


#: Pass as ``config=`` to st.plotly_chart: no plotly logo, a small mode bar.
PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
