"""app.theme: the shared figure look, and readable log-axis ticks."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app.theme import TICK_CHAR_PX, data_revision, log_ticks, make_figure, tick_label_chars


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


def test_tick_label_estimate_is_never_shorter_than_plotlys_labels():
    # plotly's labels for these ranges (read off Chromium): −1, −0.5 … ; 0, 0.2 … 1; 0 … 500; 0, 50k … 200k
    assert tick_label_chars(-1.05, 1.05) >= len("−0.5")
    assert tick_label_chars(0.0, 1.12) >= len("0.2")
    assert tick_label_chars(0.0, 500.0) >= len("500")
    assert tick_label_chars(0.0, 2e5) >= len("200k")
    assert tick_label_chars(-5e-4, 5e-4) >= len("−0.0004")
    assert tick_label_chars(0.0, 1.0, ".0%") == len("100%")
    assert tick_label_chars(-3.2, 4.1, ".3~f") == len("-3.200")
    assert tick_label_chars(1.0, -1.0) == tick_label_chars(-1.0, 1.0)  # a reversed range
    assert tick_label_chars(0.0, float("nan")) is None
    assert tick_label_chars(0.0, 1.0, ",.2s") is None  # a format it does not know: plotly decides


def test_make_figure_reserves_room_for_the_labels_and_skips_the_auto_margin_pass():
    line = dict(type="scatter", x=[0, 1, 2], y=[-12000.0, 5.0, 30000.0], mode="lines")
    layout = make_figure([line], "t", "x", "y").layout
    assert layout.margin.autoexpand is False
    assert layout.margin.l >= TICK_CHAR_PX * len("−10k")  # the widest label, "−10k" … "30k"
    plain = make_figure([dict(type="scatter", x=[0, 1], y=[0, 1])], "t", "x", "y").layout
    # labels "−0.2" … "1.2" at most (autorange pads the data): room for 4 characters and the title, no more
    assert plain.margin.l == 12 + TICK_CHAR_PX * 4 + 24


def test_make_figure_keeps_the_auto_margin_pass_when_it_cannot_tell_the_labels():
    contour = dict(type="contour", z=[[0, 1], [1, 2]], colorbar=dict(title=dict(text="J")))
    categories = dict(type="bar", x=[1, 2], y=["no baseline", "mean"], orientation="h")
    log_axis = dict(type="scatter", x=[1, 2], y=[1e-3, 1e3])
    buttons = dict(type="scatter", x=[0, 1], y=[0, 1])
    for traces, extra in (
        ([contour], {}),
        ([categories], {}),
        ([log_axis], dict(yaxis=dict(type="log", tickvals=None))),
        ([buttons], dict(updatemenus=[dict(type="buttons", buttons=[])])),
    ):
        layout = make_figure(traces, "t", "x", "y", **extra).layout
        assert layout.margin.autoexpand is None, traces[0]["type"]


def test_a_colour_bar_gets_room_on_the_right_instead_of_the_auto_margin_pass():
    contour = dict(type="contour", x=[0, 1], y=[0, 1], z=[[0.0, 0.5], [0.5, 1.0]], colorbar=dict(thickness=12))
    layout = make_figure([contour], "t", "x", "y", yaxis=dict(range=[0, 1])).layout
    assert layout.margin.autoexpand is False
    # offset + padding + the 12 px bar + tick marks + labels "−0.2" … "1.2" (4 characters)
    assert layout.margin.r >= 14 + 10 + 12 + TICK_CHAR_PX * 4
    hidden = dict(contour, showscale=False)
    assert make_figure([hidden], "t", "x", "y", yaxis=dict(range=[0, 1])).layout.margin.r == 20  # no bar, no room


def test_data_revision_changes_exactly_when_a_trace_does():
    def traces(y_last: float = 3.0, colour: str = "#000000") -> list[dict]:
        return [
            dict(type="scatter", x=np.arange(4.0), y=np.array([0.0, 1.0, 2.0, y_last]), name="a"),
            dict(type="bar", x=["p", "q"], y=[1, 2], marker=dict(color=[colour, "#FFFFFF"])),
        ]

    same = data_revision(traces())
    assert data_revision(traces()) == same  # fresh arrays, same values: the browser may keep its traces
    assert data_revision(traces(y_last=3.0 + 1e-12)) != same  # one value in one array
    assert data_revision(traces(colour="#000001")) != same  # a nested per-point colour
    assert data_revision(traces()[::-1]) != same  # the order of the traces
    figure = make_figure(traces(), "t", "x", "y")
    assert figure.layout.datarevision == same


def test_the_sigmoid_chart_moves_only_its_shapes_when_theta_moves():
    from app.charts.policies import sigmoid_curves
    from pgcore.policies import two_action_policy

    curve = two_action_policy(np.linspace(-6, 6, 121))
    at_zero = sigmoid_curves(curve, two_action_policy(0.0))
    at_one = sigmoid_curves(curve, two_action_policy(1.0))
    assert at_zero.layout.datarevision == at_one.layout.datarevision  # no trace changed
    now = two_action_policy(1.0)
    dots = [s for s in at_one.layout.shapes if s.type == "circle"]
    assert sorted(round(s.yanchor, 12) for s in dots) == sorted(
        round(float(v), 12)
        for v in (now.pi_right, now.pi_left, now.grad_pi_right, now.grad_pi_left, now.score_right, now.score_left)
    )
    assert all(s.xanchor == 1.0 for s in dots)


def test_whole_number_tick_values_get_fixed_margins_too():
    from app.charts.gridworld import cell_heat

    figure = cell_heat(np.linspace(0.0, 1.0, 25), 5, "t", "σ_c")  # rows 0-4 as tickvals, a colour bar
    assert figure.layout.margin.autoexpand is False
    assert figure.layout.margin.r > 20  # room for the colour bar
    fractional = make_figure(
        [dict(type="scatter", x=[0, 1], y=[0, 1])], "t", "x", "y", yaxis=dict(tickvals=[0.25, 0.5])
    )
    assert fractional.layout.margin.autoexpand is None  # labels it cannot tell: plotly's pass stays


def test_a_new_episode_under_the_same_policy_changes_only_the_grids_shapes():
    from app.charts.gridworld import policy_grid

    pi = np.full((25, 4), 0.25)
    one = policy_grid(pi, 5, "t", path=[0, 1, 2, 7])
    other = policy_grid(pi, 5, "t", path=[0, 5, 10, 11, 16])
    assert one.layout.datarevision == other.layout.datarevision
    lines = [s for s in other.layout.shapes if s.type == "path"]
    assert len(lines) == 1 and lines[0].path.count("L") == 4  # five cells, four moves
