"""deploy/: two Streamlit replicas behind nginx with sticky sessions. A visitor keeps one
replica; new visitors are spread over both; every page works through the proxy."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from devtools.streamlit_client import Session, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
    message = "the deploy test needs Debian's nginx: apt-get install nginx-light"
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the deploy test; {message}", pytrace=False)
    pytest.skip(message, allow_module_level=True)


@pytest.fixture(scope="module")
def proxy():
    port, base = free_port(), free_port()
    while base + 1 == port:
        base = free_port()
    env = {
        **os.environ,
        "REPLICA_BASE_PORT": str(base),
        "PATH": os.environ.get("PATH", "") + ":/usr/sbin",
        "PYTHON": str(ROOT / ".venv/bin/python") if (ROOT / ".venv/bin/python").exists() else "python3",
    }
    process = subprocess.Popen(
        ["bash", "deploy/run.sh", "2", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # both replicas healthy (asked directly, not through nginx)
        try:
            for replica in (base, base + 1):
                urllib.request.urlopen(f"http://127.0.0.1:{replica}/_stcore/health", timeout=2).close()
            _get(url + "/_stcore/health")
            break
        except OSError:
            time.sleep(0.5)
    else:
        os.killpg(process.pid, signal.SIGTERM)
        pytest.fail("nginx and two replicas did not come up")
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(30)


def _get(url: str, cookie: str | None = None) -> tuple[str | None, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        set_cookie = [c for c in response.headers.get_all("Set-Cookie") or [] if c.startswith("pg_replica=")]
        return (set_cookie[0].split(";")[0] if set_cookie else None), response.headers["X-Replica"]


def test_new_visitors_are_spread_and_each_keeps_their_replica(proxy):
    first_visits = [_get(proxy + "/") for _ in range(12)]
    assert len({replica for _, replica in first_visits}) == 2, "all new visitors went to one replica"
    for cookie, replica in first_visits[:4]:
        assert cookie is not None
        assert {_get(proxy + "/_stcore/health", cookie)[1] for _ in range(5)} == {replica}


def test_every_page_works_through_the_proxy(proxy):
    for page in ["", "policies", "gradient-step", "baselines", "cartpole"]:
        with Session(proxy, timeout=60) as session:
            outcome = session.open(page)
            assert outcome.finished and outcome.errors == [], (page, outcome.errors)
            assert outcome.elements > 5
