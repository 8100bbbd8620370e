"""app.charts.cartpole: the cart-pole's geometry for the animation (the figures themselves
are checked through the page, tests/test_page_cartpole.py)."""

from __future__ import annotations

import numpy as np
import pytest

from app.charts.cartpole import cartpole_frames

# --- the animation geometry ------------------------------------------------------------------


def test_frames_put_the_pole_tip_at_x_plus_l_sin_theta():
    states = np.array([[0.0, 0, 0.0, 0], [0.5, 0, np.pi / 6, 0], [-1.0, 0, -np.pi / 2, 0]])
    frames = cartpole_frames(states, np.array([1, 0]))
    np.testing.assert_allclose(frames.cart_x, [0.0, 0.5, -1.0])
    np.testing.assert_allclose(frames.tip_x, [0.0, 0.5 + 0.5, -2.0], atol=1e-12)
    np.testing.assert_allclose(frames.tip_y, [1.0, np.sqrt(3) / 2, 0.0], atol=1e-12)
    np.testing.assert_allclose(frames.angle_deg, [0.0, 30.0, -90.0])
    assert frames.actions.tolist() == [1, 0, -1]


def test_frames_are_capped():
    states = np.zeros((501, 4))
    frames = cartpole_frames(states, np.zeros(500, dtype=int), max_frames=200)
    assert frames.steps.size <= 200 and frames.steps[-1] == 500


def test_frames_reject_bad_shapes():
    with pytest.raises(ValueError):
        cartpole_frames(np.zeros((3, 3)), np.zeros(2))
    with pytest.raises(ValueError):
        cartpole_frames(np.zeros((3, 4)), np.zeros(5))
