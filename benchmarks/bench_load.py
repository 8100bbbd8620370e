"""Load test: N visitors at once on one server, as a class opening a shared link.

Each visitor is a headless client speaking Streamlit's websocket protocol
(devtools.streamlit_client), so no browser is needed. Some visitors press Train on the
CartPole page and keep its live panel refreshing (the training slots are capped, so the
rest wait in line); the others open a lesson page and move its sliders, pausing between
moves as a person does. Everything is bounded (moves per visitor, seconds per round) and
talks to 127.0.0.1 only.

Prints, per crowd size: errors seen by any visitor, first-load p50/p95 (until the page's
run finished), slider p50/p95 (input → rerun finished on the server and every message
received), peak RSS of the server and of its training workers, and processes left behind.

    python benchmarks/bench_load.py                       # 1, 5, 10, 20, 30 visitors
    python benchmarks/bench_load.py --visitors 20 --trainers 5
    python benchmarks/bench_load.py --url http://127.0.0.1:8080 --visitors 10   # e.g. through nginx
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from devtools.streamlit_client import ServerProcess, Session, Widget

LESSON_PAGES = ["policies", "gradient-step", "baselines"]


@dataclass
class Tally:
    errors: list[str] = field(default_factory=list)
    first_loads: list[float] = field(default_factory=list)
    slider_moves: list[float] = field(default_factory=list)
    trainings_started: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **kwargs: object) -> None:
        with self.lock:
            for key, value in kwargs.items():
                target = getattr(self, key)
                if isinstance(target, list):
                    target.extend(value if isinstance(value, list) else [value])  # type: ignore[arg-type]
                else:
                    setattr(self, key, target + value)  # type: ignore[operator]


def _random_value(widget: Widget, rng: np.random.Generator) -> list[float] | list[str]:
    proto = widget.proto
    if len(proto.options):  # select_slider: the value is an option's label
        return [proto.options[int(rng.integers(len(proto.options)))] for _ in proto.default]
    low, high, step = float(proto.min), float(proto.max), float(proto.step) or 0.01
    steps = int(round((high - low) / step))
    values = [round(low + step * int(rng.integers(steps + 1)), 10) for _ in proto.default]
    return sorted(values)


def slider_visitor(url: str, page: str, moves: int, deadline: float, seed: int, tally: Tally) -> None:
    rng = np.random.default_rng(seed)
    with Session(url, timeout=60) as session:
        first = session.open(page)
        tally.add(first_loads=first.seconds, errors=[f"{page} first load: {e}" for e in first.errors])
        if not first.finished:
            tally.add(errors=f"{page}: first load did not finish")
            return
        sliders = [w for w in session.widgets.values() if w.kind == "slider"]
        for _ in range(moves):
            if time.monotonic() > deadline or not sliders:
                break
            time.sleep(float(rng.uniform(0.3, 0.8)))  # a person reads before moving again
            widget = sliders[int(rng.integers(len(sliders)))]
            outcome = session.set_widget(widget, _random_value(widget, rng))
            tally.add(slider_moves=outcome.seconds, errors=[f"{page} {widget.label}: {e}" for e in outcome.errors])
            if not outcome.finished:
                tally.add(errors=f"{page} {widget.label}: rerun did not finish")


def training_visitor(url: str, deadline: float, tally: Tally) -> None:
    with Session(url, timeout=60) as session:
        first = session.open("cartpole")
        tally.add(first_loads=first.seconds, errors=[f"cartpole first load: {e}" for e in first.errors])
        train = next((w for w in session.widgets.values() if w.kind == "button" and w.label == "Train"), None)
        if train is None:
            tally.add(errors="cartpole: no Train button")
            return
        clicked = session.set_widget(train, True)
        tally.add(trainings_started=1, errors=[f"cartpole Train: {e}" for e in clicked.errors])
        while time.monotonic() < deadline:  # keep the live panel refreshing, as an open tab does
            if not session.auto_reruns:
                time.sleep(0.5)
                continue
            fragment_id, interval = next(iter(session.auto_reruns.items()))
            time.sleep(max(interval, 0.1))
            outcome = session.auto_rerun(fragment_id)
            tally.add(errors=[f"cartpole live panel: {e}" for e in outcome.errors])


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def run_crowd(visitors: int, trainers: int, moves: int, seconds: float, url: str | None, seed: int) -> dict:
    server = None if url else ServerProcess()
    if server is not None:
        server.wait_ready()
    base = url or server.url  # type: ignore[union-attr]
    tally = Tally()
    peak = {"server": 0.0, "workers": 0.0}
    stop_monitor = threading.Event()

    def monitor() -> None:
        while not stop_monitor.is_set() and server is not None:
            peak["server"] = max(peak["server"], _rss_mb(server.process.pid))
            peak["workers"] = max(peak["workers"], sum(_rss_mb(p) for p in _descendants(server.process.pid)))
            stop_monitor.wait(0.5)

    watcher = threading.Thread(target=monitor, daemon=True)
    watcher.start()
    deadline = time.monotonic() + seconds
    rng = np.random.default_rng(seed)
    threads = []
    for index in range(visitors):
        if index < trainers:
            target, args = training_visitor, (base, deadline, tally)
        else:
            page = LESSON_PAGES[index % len(LESSON_PAGES)]
            target, args = slider_visitor, (base, page, moves, deadline, seed + index, tally)
        threads.append(threading.Thread(target=_guarded, args=(target, args, tally), daemon=True))
    for thread in threads:
        thread.start()
        time.sleep(float(rng.uniform(0.0, 0.1)))  # arrivals within a second or two, as a class does
    for thread in threads:
        thread.join(max(1.0, deadline - time.monotonic() + 90))
    stop_monitor.set()
    left_behind = -1
    if server is not None:
        pid = server.process.pid
        server.stop()
        time.sleep(1.0)
        left_behind = sum(_in_group(int(entry.name), pid) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return dict(visitors=visitors, trainers=trainers, tally=tally, peak=peak, left_behind=left_behind)


def _in_group(pid: int, group: int) -> bool:
    """A live (not zombie) process of the server's process group: something left behind."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] not in ("Z", "X") and int(fields[2]) == group


def _guarded(target, args, tally: Tally) -> None:  # noqa: ANN001
    try:
        target(*args)
    except Exception as err:  # noqa: BLE001 - a visitor that cannot talk to the server is an error seen
        tally.add(errors=f"{target.__name__}: {type(err).__name__}: {err}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", default="1,5,10,20,30", help="comma-separated crowd sizes")
    parser.add_argument("--trainers", type=int, default=-1, help="visitors who train (default: a quarter, ≤ 5)")
    parser.add_argument("--moves", type=int, default=15, help="slider moves per visitor")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each round")
    parser.add_argument("--url", help="an already running server on 127.0.0.1 (else one is started per round)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.url and urlparse(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--url must be a loopback address")
    os.chdir(Path(__file__).resolve().parents[1])
    header = (
        f"{'visitors':>8} {'train':>5} {'errors':>6} {'load p50':>9} {'load p95':>9} {'slide p50':>9} "
        f"{'slide p95':>9} {'moves':>5} {'server MB':>9} {'workers MB':>10} {'left':>4}"
    )
    print(header)
    all_errors = []
    for visitors in (int(v) for v in args.visitors.split(",")):
        trainers = args.trainers if args.trainers >= 0 else min(5, visitors // 4)
        result = run_crowd(visitors, min(trainers, visitors), args.moves, args.seconds, args.url, args.seed)
        tally = result["tally"]
        print(
            f"{visitors:>8} {trainers:>5} {len(tally.errors):>6} {_percentile(tally.first_loads, 50):>9.2f} "
            f"{_percentile(tally.first_loads, 95):>9.2f} {_percentile(tally.slider_moves, 50):>9.3f} "
            f"{_percentile(tally.slider_moves, 95):>9.3f} {len(tally.slider_moves):>5} "
            f"{result['peak']['server']:>9.0f} {result['peak']['workers']:>10.0f} {result['left_behind']:>4}",
            flush=True,
        )
        all_errors += tally.errors
    for error in all_errors[:20]:
        print("error:", error)
    if all_errors:
        print(f"{len(all_errors)} errors in all")
    print(
        "median slider move over all rounds is server-side rerun time as the websocket sees it;",
        "browser rendering adds to it (benchmarks/bench_browser.py).",
    )


if __name__ == "__main__":
    main()
