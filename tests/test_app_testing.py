"""The page-test helpers check what they claim: plotly's validation, part by part and cached,
still rejects what a whole-figure validation rejects, and the health check still fails a
chart with no data or with NaN."""

from __future__ import annotations

import copy

import pytest

from devtools.app_testing import check_chart_spec, validate_figure

GOOD = {
    "data": [{"type": "scatter", "x": [0, 1], "y": [1.0, 2.0], "name": "a"}],
    "layout": {"title": {"text": "A chart"}, "xaxis": {"title": {"text": "x"}}, "margin": {"l": 40}},
}


def test_a_valid_figure_passes_twice():
    validate_figure(GOOD)
    validate_figure(copy.deepcopy(GOOD))  # the second time from the cache
    check_chart_spec(GOOD)


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["layout"]["xaxis"].update(bogus=1),  # an unknown layout property
        lambda s: s["layout"].update(margin={"l": "wide"}),  # a bad value beside a cached part
        lambda s: s["data"][0].update(mode="dots"),  # a bad trace value
        lambda s: s["data"].append({"type": "no-such-trace"}),
    ],
)
def test_what_plotly_rejects_is_still_rejected_after_the_good_parts_were_cached(change):
    validate_figure(GOOD)  # caches every part of the good figure
    bad = copy.deepcopy(GOOD)
    change(bad)
    with pytest.raises(ValueError):
        validate_figure(bad)


def test_the_health_check_fails_an_empty_or_nan_chart():
    check_chart_spec(GOOD)
    empty = copy.deepcopy(GOOD)
    empty["data"][0].update(x=[], y=[])
    with pytest.raises(AssertionError, match="is empty"):
        check_chart_spec(empty)
    nan = copy.deepcopy(GOOD)
    nan["data"][0].update(mode="markers", y=[1.0, float("nan")])
    with pytest.raises(AssertionError, match="NaN values"):
        check_chart_spec(nan)
