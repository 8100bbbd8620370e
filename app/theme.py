"""One colour-blind-safe palette (Okabe–Ito) and one figure style for every page.

The same quantity keeps the same colour everywhere: Right is always blue, Left always
vermillion, exact values black, sampled estimates grey, and so on.
"""

from __future__ import annotations

import hashlib
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
        # plotly's default ("hide past div") measures every tick label after each draw to hide
        # the ones that stick out of the chart: 12 % of a redraw in Chromium. make_figure gives
        # the labels room and the browser tests check that none is cut, so nothing is to hide.
        ticklabeloverflow="allow",
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
    validate every chart the app draws (devtools/app_testing.py), so a typo still fails CI.
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
    merged.setdefault("datarevision", data_revision(traces))
    return go.Figure(data=traces, layout=_fixed_margins(traces, merged), _validate=False)


def data_revision(traces: list[dict[str, Any]]) -> str:
    """A digest of everything in ``traces``, for plotly's ``layout.datarevision``.

    Plotly.react treats every data array it receives as new (each rerun parses fresh arrays)
    and recomputes every trace, even when only a layout shape moved; with a revision that
    changes exactly when some trace does, it redraws only what changed in the layout.

    What it saves today is little: Streamlit 1.67 re-creates a chart whose figure changed
    (``st.plotly_chart``'s element id hashes the whole spec, even with a ``key``, and the
    front end keys the chart by that id), so Plotly.react runs only on an unchanged figure.
    Measured in Chromium: the chart's element is replaced on every θ move on Policies.
    Streamlit's open PR #16052 gives keyed charts a stable identity and applies a changed
    spec in place; then this revision and the charts' "moving parts as shapes" pay off."""
    digest = hashlib.blake2b(digest_size=12)

    def feed(value: Any) -> None:
        if isinstance(value, dict):
            digest.update(b"{")
            for key in sorted(value):
                digest.update(str(key).encode())
                feed(value[key])
            digest.update(b"}")
        elif isinstance(value, (list, tuple)):
            digest.update(b"[")
            for item in value:
                feed(item)
            digest.update(b"]")
        elif isinstance(value, np.ndarray):
            digest.update(f"{value.dtype}{value.shape}".encode())
            digest.update(
                np.ascontiguousarray(value).tobytes() if value.dtype != object else repr(value.tolist()).encode()
            )
        else:
            digest.update(repr(value).encode())
            digest.update(b";")

    feed(traces)
    return digest.hexdigest()


# --- margins wide enough, fixed: no auto-margin pass in the browser --------------------------
# With automargin, plotly measures every tick label after drawing and, when a label would
# stick out, grows the margin and draws the whole chart a second time. In Chromium on the
# 2-core host that pass was 35-45 % of each chart redraw (profiled: Take 20 steps' history
# chart 136-190 ms of plotly per click with it, 82-89 ms without). So make_figure reserves
# the room the labels need itself and turns the pass off, whenever it can tell what the
# labels will be; tests/test_browser.py checks in Chromium that no label or axis title is cut.
TICK_CHAR_PX = 8.0  # a tick-label character at 13 px (digits ~7.3 px, "−" ~7.6 px), rounded up
TICK_PAD_PX = 12  # outside tick mark (5 px) + gap to the labels + a safety pixel or two
TITLE_PX = 24  # a 13 px axis title and its distance from the labels
_AUTO_TYPES = {"scatter", "bar"}  # trace types whose extent make_figure can read


def _nice_step(span: float, target_ticks: int = 6) -> float:
    """A 1-2-2.5-5 × 10ᵏ tick step giving about ``target_ticks`` ticks over ``span``, rounded
    down (finer steps mean more decimals: the estimate errs on the wide side)."""
    raw = span / target_ticks
    power = 10.0 ** np.floor(np.log10(raw))
    return float(power * max(m for m in (1.0, 2.0, 2.5, 5.0) if m * power <= raw * 1.0000001))


def _tick_label(value: float, decimals: int, tickformat: str | None) -> str:
    if tickformat and tickformat.endswith("%"):
        return f"{value * 100:.{max(decimals - 2, 0)}f}%"
    if abs(value) >= 1e4:  # plotly writes 10k, 250k, 1.5M
        return f"{value / 1e3:.0f}k"
    return f"{value:.{decimals}f}"


def tick_label_chars(lo: float, hi: float, tickformat: str | None = None) -> int | None:
    """The longest tick label plotly is expected to write on a linear axis over [lo, hi], in
    characters (an upper estimate), or None when it cannot be told."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return None
    lo, hi = min(lo, hi), max(lo, hi)  # a reversed range ([3, -1]) has the same labels
    if tickformat:  # the formats the charts use: "d", ".1f", ".3~f", ".0%"
        if tickformat == "d":
            return max(len(f"{round(v):d}") for v in (lo, hi))
        if tickformat.startswith(".") and tickformat[-1] in "f%" and tickformat[1:-1].rstrip("~").isdigit():
            digits = int(tickformat[1:-1].rstrip("~"))
            scale = 100.0 if tickformat.endswith("%") else 1.0
            return max(len(f"{v * scale:.{digits}f}") for v in (lo, hi)) + tickformat.endswith("%")
        return None
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    step = _nice_step(span)
    decimals = max(0, int(np.ceil(-np.log10(step) - 1e-9))) + (
        1 if round(step / 10.0 ** np.floor(np.log10(step)), 6) == 2.5 else 0
    )
    ticks = np.arange(np.floor(lo / step), np.ceil(hi / step) + 1) * step
    return max(len(_tick_label(float(t), decimals, tickformat)) for t in ticks)


def _axis_chars(traces: list[dict[str, Any]], spec: dict[str, Any], name: str) -> int | None:
    """Longest tick label of y axis ``name`` ("y", "y2") from its ticktext, range or data."""
    if "ticktext" in spec:
        return max((len(str(t)) for t in spec["ticktext"]), default=0)
    if spec.get("type") not in (None, "linear", "-"):
        return None
    if spec.get("tickvals") is not None:
        # whole-number ticks (a grid's rows and columns) are written as they are; others: unknown
        values = np.asarray(spec["tickvals"], dtype=float).ravel()
        if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            return None
        return max(len(str(int(v))) for v in values)
    if spec.get("range") is not None:
        lo, hi = (float(v) for v in spec["range"])
    else:
        values = []
        for trace in traces:
            if trace.get("yaxis", "y") != name or "y" not in trace:
                continue
            if trace.get("orientation") == "h":
                return None
            y = np.asarray(trace["y"], dtype=object).ravel()
            try:
                values.append(np.asarray([v for v in y if v is not None], dtype=float))
            except (TypeError, ValueError):  # categories on the y axis: plotly sizes those
                return None
            if trace.get("type") == "bar":
                values.append(np.zeros(1))  # bars grow from 0
            error = trace.get("error_y") or {}
            if "array" in error:
                spread = np.asarray(error["array"], dtype=float).ravel()
                values.extend([values[-1 - (trace.get("type") == "bar")][: spread.size] + spread])
        data = np.concatenate(values) if values else np.zeros(0)
        data = data[np.isfinite(data)]
        if data.size == 0:
            return None
        lo, hi = float(data.min()), float(data.max())
        pad = 0.06 * (hi - lo)  # plotly's autorange padding, and a little more
        lo, hi = lo - pad, hi + pad
    return tick_label_chars(lo, hi, spec.get("tickformat"))


def _colour_bar_width(trace: dict[str, Any]) -> int | None:
    """Pixels a contour's or heat map's colour bar takes right of the plot (its offset, bar,
    tick labels and a title on its side), or None when that cannot be told in advance. A trace
    drawn without a colour bar takes 0."""
    if trace.get("type") not in ("contour", "heatmap") or "z" not in trace:
        return None
    if trace.get("showscale") is False:
        return 0
    bar = trace.get("colorbar") or {}
    try:
        z = np.asarray(trace["z"], dtype=float)
    except (TypeError, ValueError):
        return None
    z = z[np.isfinite(z)]
    if z.size == 0 or "tickformat" in bar or "ticktext" in bar:
        return None
    chars = tick_label_chars(float(z.min()), float(z.max()))
    if chars is None:
        return None
    title_side = (bar.get("title") or {}).get("side", "top")
    # 2 % of a ~700 px plot to the bar (plotly's x = 1.02), its padding, the bar, tick marks, labels
    width = 14 + 10 + int(bar.get("thickness", 30)) + TICK_PAD_PX + TICK_CHAR_PX * chars
    return int(np.ceil(width + (TITLE_PX if title_side == "right" else 0)))


def _fixed_margins(traces: list[dict[str, Any]], layout: dict[str, Any]) -> dict[str, Any]:
    """``layout`` with margins that fit its y tick labels and titles and plotly's auto-margin
    pass turned off; unchanged when something else needs that pass (a colour bar, buttons, a
    slider, a legend beside the plot) or the labels cannot be told in advance."""
    if layout.get("updatemenus") or layout.get("sliders"):
        return layout
    if any(t.get("type") not in _AUTO_TYPES and _colour_bar_width(t) is None for t in traces):
        return layout
    if layout.get("showlegend") and layout.get("legend", {}).get("orientation") != "h":
        return layout
    margin = dict(layout.get("margin", {}))
    bars = [width for t in traces if t.get("type") not in _AUTO_TYPES and (width := _colour_bar_width(t))]
    if bars:  # a colour bar sits right of the plot, in the right margin
        margin["r"] = max(int(margin.get("r", 0)), max(bars))
    for axis, name, side in (("yaxis", "y", "l"), ("yaxis2", "y2", "r")):
        spec = layout.get(axis)
        if spec is None:
            continue
        if spec.get("visible") is False or spec.get("showticklabels") is False:
            chars = 0
        else:
            chars = _axis_chars(traces, spec, name)
        if chars is None:
            return layout
        title = (spec.get("title") or {}).get("text")
        need = int(np.ceil(TICK_PAD_PX + TICK_CHAR_PX * chars + (TITLE_PX if title else 0)))
        margin[side] = max(int(margin.get(side, 0)), need)
    return {**layout, "margin": {**margin, "autoexpand": False}}


def point(x: float, y: float, color: str, size: int = 9) -> dict[str, Any]:
    """A filled dot of ``size`` pixels at data point (x, y), as a layout shape.

    A current-value marker drawn this way instead of as a trace leaves the figure's data
    as it was when the point moves, so the browser redraws the shapes only."""
    half = size / 2
    return dict(
        type="circle",
        xref="x",
        yref="y",
        xsizemode="pixel",
        ysizemode="pixel",
        xanchor=x,
        yanchor=y,
        x0=-half,
        x1=half,
        y0=-half,
        y1=half,
        fillcolor=color,
        line=dict(color="white", width=1),
    )


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
