"""Hosted-demo memory: the server's resident memory with three browser sessions that open
every page, one of them training on CartPole. Target: ≤ 1 GB for the server and its
training worker together.

Runs `streamlit run app/Home.py` on a free loopback port and drives Debian's Chromium
(/usr/bin/chromium) with Playwright. Prints RSS after start-up, after the three sessions
have visited every page, and the peak while the training runs.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from app.pages_index import available_pages

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def descendants(pid: int) -> list[int]:
    """pid and every process below it (the spawned training worker, its resource tracker)."""
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                frontier.append(child)
    return found


def rss_mb(pid: int) -> tuple[float, float]:
    """(server RSS, server + descendants RSS) in MB, from /proc/<pid>/status."""

    def one(p: int) -> float:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    pids = descendants(pid)
    return one(pid), sum(one(p) for p in pids)


def wait_for_run(page) -> None:
    page.wait_for_selector('[data-testid="stMain"]', timeout=60_000)
    page.wait_for_timeout(500)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)


def main() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app/Home.py",
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        time.sleep(1)
        print(f"server started: RSS {rss_mb(server.pid)[0]:.0f} MB")
        pages = [p for p in available_pages()]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
            sessions = [browser.new_context(viewport={"width": 1366, "height": 900}).new_page() for _ in range(3)]
            for tab in sessions:
                tab.goto(url)
                wait_for_run(tab)
                for info in pages:
                    tab.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=info.title).first.click()
                    wait_for_run(tab)
            server_rss, total = rss_mb(server.pid)
            print(f"3 sessions, every page visited: server {server_rss:.0f} MB, with children {total:.0f} MB")

            trainer = sessions[0]
            cartpole = next(info for info in pages if info.url_path == "cartpole")
            trainer.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=cartpole.title).first.click()
            wait_for_run(trainer)
            trainer.get_by_role("button", name="Train").click()
            peak_server, peak_total, samples = 0.0, 0.0, 0
            stop = time.monotonic() + 40
            while time.monotonic() < stop:
                s, t = rss_mb(server.pid)
                peak_server, peak_total = max(peak_server, s), max(peak_total, t)
                samples += 1
                # the other two sessions keep using the app meanwhile
                if samples % 10 == 0:
                    for tab in sessions[1:]:
                        tab.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Policies").first.click()
                time.sleep(0.5)
            print(
                f"during training (40 s, {samples} samples): peak server {peak_server:.0f} MB, "
                f"peak server + training worker {peak_total:.0f} MB (target <= 1024 MB)"
            )
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
