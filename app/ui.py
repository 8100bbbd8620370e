"""Small page helpers shared by every lesson: the "Next →" link at the foot of a page."""

from __future__ import annotations

import streamlit as st

from app.pages_index import available_pages


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
