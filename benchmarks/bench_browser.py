"""What a learner feels: input-to-settled times in a real browser (Playwright + Debian's
Chromium), per control of every page; warm page switch; first load.

A control's time runs from the key press or click until the last dependent chart shows its
new state. It is measured two ways, both printed:

- **in page** (the figure the targets are read against): the page's own clock, from the
  ``keydown`` / ``pointerdown`` event to the first task after the frame that painted the last
  DOM change the input caused (a MutationObserver on the whole document; a ``setTimeout(0)``
  queued from that frame's ``requestAnimationFrame`` runs once its style, layout and paint are
  done). Read only after (1) the rerun's ``script_finished`` frame has arrived and (2) the
  page has settled (see below), then 100 ms more, so a late change still counts.
- **from Python**: ``time.perf_counter()`` around the press until (1) and (2): no element
  still marked stale, no run in progress, then two more animation frames. This adds what
  the measuring itself costs — the key press's round trip to the browser, 5 ms polling
  for the websocket frame, one frame of ``raf`` polling and the two frames — about 25–35 ms
  on a θ move (16 moves, 2-core host: in page 139 ms p50, from Python 165 ms).

- controls: every slider (one ArrowRight/ArrowLeft press each time, alternating so the value
  stays in range), checkbox and button visible in each tab of each page; ``--repeats`` times each
  (default 9: with 5, the first move after a page opens — slower while the browser's JIT warms
  up — weighs on the median, and p95 is just the maximum).
- warm page switch: a click in the sidebar navigation to a page visited before, until settled.
- first load: a new browser context opening the page's URL, until its first chart is drawn.

    python benchmarks/bench_browser.py                  # every page, 9 repeats
    python benchmarks/bench_browser.py --pages policies --repeats 15
    python benchmarks/bench_browser.py --root /tmp/old-checkout   # measure another checkout

Prints p50 / p95 per control. Targets (issue 11): every control p50 ≤ 300 ms and p95 ≤ 600 ms,
Policies θ p50 ≤ 150 ms, warm page switch ≤ 1 s, first load ≤ 3 s to the first chart.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from devtools.streamlit_client import ServerProcess

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

SETTLED = """() => {
    if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
    if (document.querySelector('[data-stale="true"]')) return false;
    return true;
}"""
TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
# Installed in every page before its own scripts: stamps each input and the paint after the
# last DOM change since it (see the module docstring, "in page").
IN_PAGE_CLOCK = """
window.__latency = {input: 0, painted: 0};
const stamp = () => { window.__latency = {input: performance.now(), painted: 0}; };
document.addEventListener('keydown', stamp, true);
document.addEventListener('pointerdown', stamp, true);
new MutationObserver(() => {
    const now = window.__latency;
    if (!now.input) return;
    requestAnimationFrame(() => setTimeout(() => { now.painted = performance.now(); }, 0));
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""
READ_IN_PAGE = "() => window.__latency.painted ? (window.__latency.painted - window.__latency.input) / 1000 : NaN"


class RunWatcher:
    """Counts the ``script_finished`` frames the page's websocket receives."""

    def __init__(self, page) -> None:  # noqa: ANN001
        self.finished = 0
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:  # noqa: ANN001
        ws.on("framereceived", self._frame)

    def _frame(self, payload) -> None:  # noqa: ANN001
        if isinstance(payload, str):
            return
        msg = ForwardMsg()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - not a ForwardMsg: ignore
            return
        if msg.WhichOneof("type") == "script_finished" and msg.script_finished != 2:  # 2: superseded
            self.finished += 1


def wait_settled(page, watcher: RunWatcher, runs_before: int, timeout: float = 60.0) -> bool:  # noqa: ANN001
    """Wait for a run that ends after ``runs_before`` and for the page to settle."""
    deadline = time.monotonic() + timeout
    while watcher.finished <= runs_before:
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(5)
    page.wait_for_function(SETTLED, timeout=timeout * 1000, polling="raf")
    page.evaluate(TWO_FRAMES)
    return True


def open_page(page, url: str, watcher: RunWatcher) -> float:  # noqa: ANN001
    before = watcher.finished
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector('[data-testid="stMain"]', timeout=60_000)
    wait_settled(page, watcher, before)
    return time.perf_counter() - start


FIRST_CHART = """() => {
    const main = document.querySelector('[data-testid="stMainBlockContainer"]');
    if (!main || document.querySelector('[data-testid="stStatusWidget"]')) return false;
    if (main.querySelector('[data-testid="stPlotlyChart"]')) return !!main.querySelector('.js-plotly-plot .main-svg');
    return main.querySelectorAll('[data-testid="stElementContainer"]').length > 3;  // a page without charts
}"""


def first_load(browser, url: str) -> float:  # noqa: ANN001
    """New context (no cache, no session) → the first plotly chart drawn (or, on a page
    without charts, its run finished)."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    try:
        page.wait_for_function(FIRST_CHART, timeout=60_000, polling="raf")
        seconds = time.perf_counter() - start
    except Exception:  # noqa: BLE001 - reported as a timeout in the table
        seconds = float("nan")
    context.close()
    return seconds


def controls(page) -> list[tuple[str, str, object]]:  # noqa: ANN001
    """(kind, label, locator) of the visible sliders, checkboxes and buttons in the main area."""
    main = page.locator('[data-testid="stMain"]')
    found = []
    sliders = main.locator('[data-testid="stSlider"]')
    for i in range(sliders.count()):
        box = sliders.nth(i)
        # a disabled slider answers no key press: timing it would time whatever run came next
        if box.is_visible() and box.locator('input[type="range"]').first.is_enabled():
            label = box.locator('[data-testid="stWidgetLabel"]').inner_text().strip()
            # found again by its label at every use, not by position: a move can add or remove
            # sliders above it (the bandit's Arms K), and the n-th slider is then another one
            same = sliders.filter(has=page.get_by_text(label, exact=True)).first
            found.append(("slider", label, same.locator('input[type="range"]').first))
    checks = main.locator('[data-testid="stCheckbox"]')
    for i in range(checks.count()):
        box = checks.nth(i)
        if box.is_visible() and box.locator("input").first.is_enabled():
            found.append(("checkbox", box.inner_text().strip(), box.locator("label").first))
    buttons = main.locator('[data-testid="stButton"] button')
    for i in range(buttons.count()):
        button = buttons.nth(i)
        if button.is_visible() and button.is_enabled():
            # the visible text, without a material icon's ligature name on its own line
            text = button.inner_text().strip().splitlines()
            found.append(("button", text[-1].strip() if text else "?", button))
    return found


def time_control(page, watcher: RunWatcher, kind: str, locator, repeats: int) -> tuple[list[float], list[float]]:  # noqa: ANN001
    """``repeats`` presses of one control → (in-page seconds, from-Python seconds), NaN where it
    did not settle."""
    times, in_page = [], []
    for r in range(repeats):
        try:
            locator.scroll_into_view_if_needed(timeout=5_000)
        except Exception:  # noqa: BLE001 - the control left the page (a run redrew it): not timed
            times.append(float("nan"))
            in_page.append(float("nan"))
            continue
        before = watcher.finished
        if kind == "slider":
            locator.focus()
            start = time.perf_counter()
            page.keyboard.press("ArrowRight" if r % 2 == 0 else "ArrowLeft")
        else:
            start = time.perf_counter()
            locator.click()
        try:
            settled = wait_settled(page, watcher, before, timeout=30)
        except Exception:  # noqa: BLE001 - reported as a timeout in the table
            settled = False
        if not settled:
            times.append(float("nan"))
            in_page.append(float("nan"))
            continue
        times.append(time.perf_counter() - start)
        page.wait_for_timeout(100)
        in_page.append(page.evaluate(READ_IN_PAGE))
    return in_page, times


def play_rate(page, watcher: RunWatcher, url: str, seconds: float = 5.0) -> float:  # noqa: ANN001
    """Press Play on the learner and count the runs that finish (each one update, drawn) per second."""
    open_page(page, url, watcher)
    main = page.locator('[data-testid="stMain"]')
    main.get_by_role("radio", name="Play").click()
    page.wait_for_timeout(1000)  # past the click's own run
    before, start = watcher.finished, time.perf_counter()
    page.wait_for_timeout(seconds * 1000)
    rate = (watcher.finished - before) / (time.perf_counter() - start)
    main.get_by_role("radio", name="Pause").click()
    page.wait_for_timeout(500)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", default="", help="comma-separated url paths (default: every page)")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--root", default=None, help="checkout whose app/Home.py to serve (default: this one)")
    parser.add_argument(
        "--skip-buttons",
        default="Train,Stop,Leave the queue,Play,Pause",
        help="button labels not to press (they start long jobs)",
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    root = Path(args.root).resolve() if args.root else None
    sys.path.insert(0, str(root or Path(__file__).resolve().parents[1]))
    from app.pages_index import available_pages

    pages = [p for p in available_pages() if not args.pages or p.url_path in args.pages.split(",")]
    skip = {s for s in args.skip_buttons.split(",") if s}
    rows: list[tuple[str, str, tuple[list[float], list[float]]]] = []
    ticks: float | None = None
    with ServerProcess(root=root) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        for info in pages:  # warm the server's caches and imports once, as a running demo has
            first_load(browser, f"{server.url}/{info.url_path}")
        loads = {
            info.url_path: [first_load(browser, f"{server.url}/{info.url_path}") for _ in range(3)] for info in pages
        }
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.add_init_script(IN_PAGE_CLOCK)
        page = context.new_page()
        watcher = RunWatcher(page)
        for info in pages:
            open_page(page, f"{server.url}/{info.url_path}", watcher)
            # the page's elements may still be arriving after the first finished run (the navigation
            # runs first): wait for its first control before listing them
            try:
                page.wait_for_selector('[data-testid="stMain"] [data-testid="stSlider"]', timeout=30_000)
            except Exception:  # noqa: BLE001 - a page without sliders: list what is there
                pass
            page.wait_for_timeout(500)
            # every section of a page's section picker (a segmented control), every tab within
            measured: set[tuple[str, str]] = set()  # controls outside the tabs show in every tab
            # (a page's section picker has a key ending in "_section"; the tasks' prediction pickers do not)
            pickers = page.locator('[data-testid="stMain"] [class*="_section"] [data-testid="stButtonGroup"] button')
            sections = [pickers.nth(i).inner_text().strip().splitlines()[-1] for i in range(pickers.count())] or [""]
            for section in sections:
                if section:
                    before = watcher.finished
                    pickers.filter(has_text=section).first.click()
                    wait_settled(page, watcher, before)
                tabs = page.locator('[data-testid="stMain"] [role="tab"]')
                for t in range(max(tabs.count(), 1)):
                    where = section
                    if tabs.count():
                        tab = tabs.nth(t)
                        where = " / ".join(x for x in (section, tab.inner_text().strip()) if x)
                        tab.scroll_into_view_if_needed()
                        tab.click()
                        page.wait_for_timeout(300)
                    for kind, label, locator in controls(page):
                        if (kind == "button" and label in skip) or (kind, label) in measured:
                            continue
                        measured.add((kind, label))
                        name = f"{kind}: {label}" + (f" [{where}]" if where else "")
                        rows.append(
                            (info.url_path, name[:60], time_control(page, watcher, kind, locator, args.repeats))
                        )
            if info.url_path == "gradient-step":
                ticks = play_rate(page, watcher, f"{server.url}/{info.url_path}?section=Watch+it+learn")
        # warm page switch: through the sidebar, to pages already visited
        switches = []
        nav = page.locator('[data-testid="stSidebarNav"]')
        for _ in range(2):
            for info in pages:
                before = watcher.finished
                start = time.perf_counter()
                nav.get_by_role("link", name=info.title, exact=False).first.click()
                if wait_settled(page, watcher, before):
                    switches.append(time.perf_counter() - start)
        context.close()
        browser.close()

    def fmt(values: list[float]) -> str:
        clean = [v for v in values if np.isfinite(v)]
        if not clean:
            return f"{'—':>8} {'—':>8}"
        return f"{1000 * np.percentile(clean, 50):>6.0f}ms {1000 * np.percentile(clean, 95):>6.0f}ms"

    print(f"{'':<76} {'in page':^17} {'from Python':^17}")
    print(f"{'page':<15} {'control':<60} {'p50':>8} {'p95':>8} {'p50':>8} {'p95':>8} {'n':>3}")
    for page_path, name, (in_page, times) in rows:
        missed = sum(not np.isfinite(t) for t in times)
        print(
            f"{page_path:<15} {name:<60} {fmt(in_page)} {fmt(times)} {len(times):>3}"
            + (f"  ({missed} timed out)" if missed else "")
        )
    all_in_page = [t for _, _, (in_page, _) in rows for t in in_page]
    all_times = [t for _, _, (_, times) in rows for t in times]
    print(f"{'all controls':<76} {fmt(all_in_page)} {fmt(all_times)} {len(all_times):>3}")
    print(f"{'warm page switch':<76} {fmt(switches)} {len(switches):>3}")
    if ticks is not None:
        print(f"{'Gradient step Play: updates drawn per second (over 5 s)':<76} {ticks:>8.1f}")
    for path, values in loads.items():
        print(f"{'first load ' + path:<76} {fmt(values)} {len(values):>3}")


if __name__ == "__main__":
    main()
