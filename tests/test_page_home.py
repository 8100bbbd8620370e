"""Home and the navigation; and that pages which do not train never import torch."""

from __future__ import annotations

import subprocess
import sys

from streamlit.testing.v1 import AppTest

from app.pages_index import PAGES, available_pages
from devtools.app_testing import ROOT, assert_healthy


def test_home_renders_map_and_notation():
    at = AppTest.from_file(str(ROOT / "app" / "Home.py"), default_timeout=30)
    at.run()
    assert_healthy(at)
    text = "\n".join(el.value for el in at.latex)
    for symbol in (
        r"\theta",
        r"\pi_\theta(a \mid s)",
        r"\gamma",
        r"V^\pi(s)",
        r"Q^\pi(s, a)",
        r"A^\pi(s, a)",
        r"\alpha",
        r"J(\theta)",
        r"G_t",
        r"\tau",
    ):
        assert symbol in text, symbol
    assert at.title[0].value == "Policy gradients, by hand"


def test_navigation_lists_only_pages_that_exist():
    listed = available_pages()
    assert listed[0].title == "Home"
    assert all(page.path.exists() for page in listed)
    assert [p.title for p in listed] == [p.title for p in PAGES if p.path.exists()]
    assert any(page.title == "Policies" for page in listed)


NO_TORCH_SCRIPT = r"""
import sys
from streamlit.testing.v1 import AppTest
root = sys.argv[1]
for page in sys.argv[2:]:
    at = AppTest.from_file(f"{root}/app/{page}", default_timeout=60)
    at.run()
    assert not at.exception, page
leaked = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
print("TORCH_MODULES", len(leaked))
sys.exit(1 if leaked else 0)
"""


def test_pages_that_do_not_train_do_not_import_torch():
    # A fresh interpreter: other tests in this process may have imported torch already.
    pages = ["Home.py"] + [
        f"views/{p.file}" for p in available_pages() if p.file not in ("home.py", "cartpole_training.py")
    ]
    result = subprocess.run(
        [sys.executable, "-c", NO_TORCH_SCRIPT, str(ROOT), *pages],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert "TORCH_MODULES 0" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0


def test_notation_cards_read_in_order_when_columns_stack():
    # AppTest lists elements in page order, which is the order a phone stacks them in
    at = AppTest.from_file(str(ROOT / "app" / "Home.py"), default_timeout=30).run()
    order = [el.value.strip("$\n") for el in at.latex]
    symbols = [order.index(s) for s in (r"\theta", r"\pi_\theta(a \mid s)", r"\alpha")]
    assert symbols == sorted(symbols), order
    q = next(i for i, v in enumerate(order) if v.startswith("Q^"))
    assert symbols[1] < q
