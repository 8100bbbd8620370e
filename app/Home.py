"""Entry point: `streamlit run app/Home.py`. Sets up the page and the navigation only;
every page lives in app/views/. Pages whose file is not there yet are simply not listed."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so `import pgcore` / `import app` work under `streamlit run`
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.pages_index import available_pages  # noqa: E402

st.set_page_config(
    page_title="Policy gradients, by hand",
    page_icon=str(ROOT / "app" / "assets" / "favicon.png"),
    layout="wide",
    initial_sidebar_state="auto",  # open on desktop, closed on phones (it would cover the page)
)

# A formula wider than its column scrolls sideways instead of being cut off (phones).
st.html("<style>.katex-display { overflow-x: auto; overflow-y: hidden; padding: 2px 0; }</style>")

navigation = st.navigation(
    [
        st.Page(str(page.path), title=page.title, icon=page.icon, url_path=page.url_path, default=page.default)
        for page in available_pages()
    ]
)
navigation.run()
