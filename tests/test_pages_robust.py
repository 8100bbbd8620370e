"""Every page, generically: links that carry state, and random settings that never break it.

Pages are discovered from app/pages_index.py, so a new page is covered the day it lands.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.pages_index import available_pages
from devtools.app_testing import assert_healthy, fuzz_page, page_app, random_value, set_widget, widget_values, widgets

LESSON_PAGES = [page.file.removesuffix(".py") for page in available_pages() if not page.default]
FUZZ_COMBINATIONS = 200


@pytest.mark.parametrize("name", LESSON_PAGES)
def test_every_page_mirrors_its_controls_into_the_url(name):
    at = page_app(name)
    assert at.query_params, f"{name} writes no query params"


@pytest.mark.parametrize("name", LESSON_PAGES)
def test_a_copied_link_restores_the_page(name):
    rng = np.random.default_rng(11)
    at = page_app(name)
    for _ in range(2):  # two rounds: widgets that appear after the first settings get set too
        for kind, widget in widgets(at):
            value = random_value(kind, widget, rng)
            if value is not None:
                set_widget(at, kind, widget.key, value)
        at.run()
        assert_healthy(at)
    link = {key: value for key, value in at.query_params.items()}
    reopened = page_app(name, query=link)
    assert reopened.query_params == link
    before = {k: v for k, v in widget_values(at).items() if not _unlinked(k)}
    after = {k: v for k, v in widget_values(reopened).items() if not _unlinked(k)}
    assert after.keys() == before.keys()
    for key, value in before.items():
        if isinstance(value, float):  # links carry 6 significant digits
            assert after[key] == pytest.approx(value, rel=1e-5, abs=1e-9), key
        else:
            assert after[key] == value, key


#: Controls deliberately left out of links: a learner's predictions in the predict-then-check
#: tasks are theirs, not part of a page's state worth sharing.
#: Play/Pause is the moment's playback, not a setting either.
UNLINKED: tuple[str, ...] = (
    "pol_guess",
    "gs_guess",
    "bl_guess",
    "cp_guess",
    "gs_playback",
    "bl_playback",
    "gw_guess",
    "gw_playback",
)


def _unlinked(key: str) -> bool:
    return bool(UNLINKED) and key.startswith(UNLINKED)


@pytest.mark.parametrize("name", LESSON_PAGES)
@pytest.mark.parametrize("garbage", ["abc", "nan", "1e309", "-1e309", "", "999999"])
def test_malformed_link_values_fall_back_with_a_notice(name, garbage):
    clean = page_app(name)
    bad = {key: garbage for key in clean.query_params}
    at = page_app(name, query=bad)  # asserts no exception, no NaN, no empty chart
    assert at.get("alert") or at.info, "no notice about the ignored link values"


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSON_PAGES)
def test_random_settings_never_break_a_page(name):
    tried = fuzz_page(name, FUZZ_COMBINATIONS, seed=2026)  # asserts a healthy page after each
    sliders = {key: values for key, values in tried.items() if len(values) > 1}
    assert len(sliders) >= 3, f"{name}: too few controls were varied: {sorted(tried)}"
    assert max(len(values) for values in tried.values()) >= 20, f"{name}: settings hardly varied"
