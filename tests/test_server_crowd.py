"""A real server and many visitors at once (headless websocket clients, 127.0.0.1 only):
nobody sees an error because someone else arrived at the same moment."""

from __future__ import annotations

import threading

import pytest

from devtools.streamlit_client import ServerProcess, Session

pytestmark = pytest.mark.slow

#: One first visit per page, twice over, all released at the same instant.
CROWD = ["baselines", "gradient-step", "cartpole", "policies", "home", "baselines", "gradient-step", "cartpole"]


def _visit_all_at_once(server: ServerProcess, pages: list[str]) -> list:
    results: list = [None] * len(pages)
    gate = threading.Barrier(len(pages))

    def visit(index: int) -> None:
        with Session(server.url, timeout=120) as session:
            gate.wait()
            results[index] = session.open(pages[index])

    threads = [threading.Thread(target=visit, args=(i,)) for i in range(len(pages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    return results


@pytest.mark.parametrize("restart", [1, 2])
def test_simultaneous_first_visitors_on_a_cold_server_see_no_error(restart):
    with ServerProcess() as server:
        results = _visit_all_at_once(server, CROWD)
        log = server.log_text()
    for page, outcome in zip(CROWD, results):
        assert outcome is not None and outcome.finished, f"{page}: the run never finished"
        assert outcome.errors == [], f"{page}: {outcome.errors}"
    assert "Traceback" not in log, log[-3000:]
