"""app.theme: the shared figure look, and readable log-axis ticks."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app.theme import log_ticks, make_figure


def test_log_ticks_use_one_two_five_on_short_ranges():
    ticks = log_ticks([30.0, 900.0])
    assert ticks["tickvals"] == [20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]
    assert ticks["ticktext"] == ["20", "50", "100", "200", "500", "1000"]


def test_log_ticks_thin_to_powers_of_ten_on_long_ranges():
    ticks = log_ticks(np.array([1e-12, 5.0]))
    assert len(ticks["tickvals"]) <= 8
    assert all(np.isclose(np.log10(t), round(np.log10(t))) for t in ticks["tickvals"])


def test_log_ticks_ignore_gaps_and_fall_back_when_too_short():
    assert log_ticks([None, float("nan"), -1.0]) == {}
    assert log_ticks([3.0, 4.0]) == {}  # plotly's own ticks are fine within one 1-2-5 step


def test_make_figure_puts_readable_ticks_on_log_axes_only():
    x = np.logspace(1, 4, 20)
    fig = make_figure(
        [dict(type="scatter", x=x, y=1 / x)], "t", "N", "error", xaxis=dict(type="log"), yaxis=dict(type="log")
    )
    assert list(fig.layout.xaxis.tickvals) == [10.0, 100.0, 1000.0, 10000.0]
    assert fig.layout.yaxis.ticktext[0] == "0.0001"
    linear = make_figure([dict(type="scatter", x=x, y=x)], "t", "a", "b")
    assert linear.layout.xaxis.tickvals is None
    go.Figure(fig.to_dict())  # what make_figure builds unvalidated is valid plotly
