"""Small page helpers shared by every lesson: predict-then-check tasks and the "Next →" link
at the foot of a page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from app.pages_index import available_pages

PLAYBACK = ("Play", "Pause")


def playback_control(key: str) -> bool:
    """Play / Pause for a learner that updates on a timer; returns True while playing.

    A two-state control, not a button: a click on a button is a one-off event, and one that
    lands while a playing tick is running can be lost (measured in Chromium: 3 pauses in 12
    did nothing); a state is sent with every run, so Pause always takes."""
    st.session_state.setdefault(key, "Pause")
    st.segmented_control("Play or pause", PLAYBACK, key=key, required=True, label_visibility="collapsed")
    return is_playing(key)


def is_playing(key: str) -> bool:
    """Whether the Play / Pause control ``key`` is on Play (False before it exists)."""
    return st.session_state.get(key) == "Play"


def next_page(url_path: str):
    """The page a learner walks to after ``url_path``, or None for the last one."""
    pages = available_pages()
    paths = [page.url_path for page in pages]
    if url_path not in paths:
        raise ValueError(f"url_path {url_path!r} is not a page: {paths}")
    index = paths.index(url_path)
    return pages[index + 1] if index + 1 < len(pages) else None


def next_page_link(url_path: str) -> None:
    """A divider and "Next → <title>" to the following page (nothing after the last one)."""
    following = next_page(url_path)
    if following is None:
        return
    st.divider()
    try:
        st.page_link(str(following.path), label=f"Next → {following.title}", icon=following.icon)
    except st.errors.StreamlitAPIException:
        # a page run on its own (AppTest, a bare `streamlit run app/views/x.py`) has no
        # navigation to link into; the link is only there under app/Home.py
        st.caption(f"Next: {following.title}")


def predict_task(
    number: int, question: str, options: tuple[str, ...], key: str, check: Callable[[], tuple[str | None, str]]
) -> None:
    """One predict-then-check task: the learner picks a prediction, moves a control, and the
    page says whether the numbers agree.

    ``check()`` returns (the right option at the current settings, the evidence in numbers),
    or (None, what to move first) while the settings cannot decide it yet. It is called on
    every run, so the verdict always describes what the page shows now.
    """
    st.markdown(f"**{number}.** {question}")
    guess = st.segmented_control(f"Your prediction for task {number}", options, key=key, label_visibility="collapsed")
    if guess is None:
        st.caption("Pick your prediction first, then try it.")
        return
    answer, evidence = check()
    if answer is None:
        st.caption(f"You predicted *{guess}*. {evidence}")
    elif guess == answer:
        st.success(f"**{answer.capitalize()}**, as you predicted: {evidence}", icon=":material/check_circle:")
    else:
        st.info(f"Not *{guess}* but **{answer}**: {evidence}", icon=":material/lightbulb:")


def drive_learner(
    settings: Any,
    *,
    playing: bool,
    step: bool,
    reset: bool,
    on_reset: Callable[[Any], None],
    on_step: Callable[[Any], None],
    view: Callable[[Any], None],
    tick_seconds: float,
) -> None:
    """Apply a learner's Reset and Step presses, then draw it: while playing, inside a fragment
    with a timer (``view`` takes one update per tick); when paused, drawn plainly.

    The timer fragment exists only while playing: on Pause it is not drawn again, so Streamlit
    cancels its timer (a fragment redrawn with ``run_every=None`` would keep ticking).
    """
    if reset:
        on_reset(settings)
    if step:
        on_step(settings)
    if playing:
        st.fragment(view, run_every=tick_seconds)(settings)
    else:
        view(settings)
