"""Entry point: `streamlit run app/Home.py`. Sets up the page and the navigation only;
every page lives in app/views/. Pages whose file is not there yet are simply not listed."""

from __future__ import annotations

from pathlib import Path

# Libraries that other libraries look up with a bare ``sys.modules`` check (plotly looks for
# pandas that way) must be fully imported before a page draws anything: two first visitors
# arriving together otherwise let one of them find pandas half-initialised, and that
# visitor gets the error page. A plain ``import`` waits for a module that another thread is
# still initialising, so importing them here, before any page, is enough.
import pandas  # noqa: F401
import PIL.Image  # noqa: F401
import streamlit as st

from app.pages_index import available_pages

ROOT = Path(__file__).resolve().parents[1]

st.set_page_config(
    page_title="Policy gradients, by hand",
    page_icon=str(ROOT / "app" / "assets" / "favicon.png"),
    layout="wide",
    initial_sidebar_state="auto",  # open on desktop, closed on phones (it would cover the page)
)

# A formula wider than its column scrolls sideways instead of being cut off, and says so: a
# shadow shows at an edge only while there is more formula beyond it (scroll shadows: the white
# covers move with the content, the grey shadows stay with the box).
st.html(
    "<style>.katex-display { overflow-x: auto; overflow-y: hidden; padding: 2px 0;"
    " background: linear-gradient(to right, white 30%, rgba(255,255,255,0)) left / 24px 100% no-repeat local,"
    " linear-gradient(to left, white 30%, rgba(255,255,255,0)) right / 24px 100% no-repeat local,"
    " radial-gradient(farthest-side at 0 50%, rgba(0,0,0,.22), transparent) left / 12px 100% no-repeat scroll,"
    " radial-gradient(farthest-side at 100% 50%, rgba(0,0,0,.22), transparent) right / 12px 100% no-repeat scroll;"
    " }"
    # On a phone plotly's toolbar (zoom, download) sat on the charts' titles, and a phone has no
    # hover to reveal it on purpose: it is hidden there; pinch and double-tap still zoom.
    " @media (max-width: 640px) { .js-plotly-plot .modebar-container { display: none; } }"
    # Long step-by-step tables (GridWorld's episode factors) in a compact type, one line a row.
    " .st-key-gw_factor_table table { font-size: 0.8rem; }"
    " .st-key-gw_factor_table th, .st-key-gw_factor_table td { padding: 2px 8px; white-space: nowrap; }"
    "</style>"
)

navigation = st.navigation(
    [
        st.Page(str(page.path), title=page.title, icon=page.icon, url_path=page.url_path, default=page.default)
        for page in available_pages()
    ]
)
navigation.run()
