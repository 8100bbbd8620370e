"""app/charts/gridworld.py: what a chart shows at the settings where it could look empty."""

from __future__ import annotations

import numpy as np


def test_an_all_zero_group_says_so_on_its_chart():
    from app.charts.gridworld import advantages_chart

    zero = advantages_chart(["R1", "R2"], np.zeros(2), np.zeros(2))
    assert [a.text for a in zero.layout.annotations] == ["every advantage is 0"]
    assert not advantages_chart(["R1", "R2"], np.array([1.0, -1.0]), np.array([1.0, -1.0])).layout.annotations
