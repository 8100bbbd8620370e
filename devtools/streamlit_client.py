"""A headless Streamlit client: speaks the browser's websocket protocol (protobuf
``BackMsg`` up, ``ForwardMsg`` down) so tests and the load benchmark can open many sessions
against a real server without a browser.

What it does, as a browser tab does:
- connects to ``/_stcore/stream`` (subprotocol ``streamlit``, same-origin ``Origin``);
- asks for a run of a page (``rerun_script`` with the page's URL path and query string);
- reads every message of that run until ``script_finished``, keeping the elements, the
  widgets (id → kind and value) and anything that is an error;
- reruns with one widget changed, as the browser does when a slider moves, optionally
  scoped to the fragment that holds the widget.

Only loopback servers are meant to be targeted (see ``ServerProcess``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]

#: Element kinds that carry a widget, and the WidgetState field their value travels in.
WIDGET_VALUE_FIELDS = {
    "slider": "double_array_value",
    "checkbox": "bool_value",
    "number_input": "double_value",
    "selectbox": "int_value",
    "radio": "int_value",
    "button": "trigger_value",
    "button_group": "string_array_value",  # st.segmented_control / st.pills: the chosen labels
}


@dataclass
class Widget:
    """A widget seen in a run: its id, kind, label and the fragment it lives in."""

    id: str
    kind: str
    label: str
    fragment_id: str
    proto: Any


@dataclass
class RunOutcome:
    """What one run sent back."""

    seconds: float
    finished: bool
    errors: list[str] = field(default_factory=list)
    elements: int = 0
    widgets: dict[str, Widget] = field(default_factory=dict)
    charts: int = 0
    texts: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``streamlit run app/Home.py`` on 127.0.0.1 and a free port, in its own process group
    (so stopping it stops any training worker it started too)."""

    def __init__(self, env: dict[str, str] | None = None, port: int | None = None, root: Path | None = None) -> None:
        root = root or ROOT  # another checkout can be served, e.g. to measure before/after
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(root / "app" / "Home.py"),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(self.port),
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ]
        # The server's log goes to a file (a pipe nobody reads would fill and block it).
        self.log = tempfile.NamedTemporaryFile(prefix="streamlit-server-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            cmd,
            cwd=root,
            env={**os.environ, **(env or {})},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_text(self) -> str:
        """Everything the server has logged so far."""
        return Path(self.log.name).read_text(errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError("server did not become healthy")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def __enter__(self) -> ServerProcess:
        self.wait_ready()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class Session:
    """One visitor: a websocket session with a Streamlit server."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        ws_url = base_url.replace("http://", "ws://") + "/_stcore/stream"
        self.timeout = timeout
        self._ws = connect(
            ws_url,
            subprotocols=["streamlit"],
            origin=base_url,  # type: ignore[arg-type]
            open_timeout=timeout,
            max_size=None,
        ).__enter__()
        self.widgets: dict[str, Widget] = {}
        self._states: dict[str, WidgetState] = {}
        self.page = ""
        self.query = ""
        #: fragments the server asked this tab to rerun on a timer: fragment id → seconds
        self.auto_reruns: dict[str, float] = {}

    def close(self) -> None:
        self._ws.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- runs ----------------------------------------------------------------------------

    def open(self, page: str = "", query: str = "") -> RunOutcome:
        """Load a page (its URL path, "" for Home) as a fresh tab does."""
        self.page, self.query = page, query
        self._states.clear()
        return self._run(ClientState(query_string=query, page_name=page))

    def set_widget(self, widget: Widget, value: Any) -> RunOutcome:
        """Change one widget as the browser does and wait for the rerun it causes.

        ``value``: a number or [low, high] for a slider, the option label(s) for a
        select_slider, True for a button click, an index for a selectbox or radio."""
        state = WidgetState(id=widget.id)
        kind_field = WIDGET_VALUE_FIELDS[widget.kind]
        if (widget.kind == "slider" and len(widget.proto.options)) or widget.kind == "button_group":
            kind_field = "string_array_value"  # select_slider, segmented control: option labels
            state.string_array_value.data.extend(value if isinstance(value, (list, tuple)) else [value])
        elif kind_field == "double_array_value":
            state.double_array_value.data.extend(value if isinstance(value, (list, tuple)) else [value])
        else:
            setattr(state, kind_field, value)
        self._states[widget.id] = state
        client = ClientState(query_string=self.query, page_name=self.page, fragment_id=widget.fragment_id)
        client.widget_states.CopyFrom(WidgetStates(widgets=list(self._states.values())))
        outcome = self._run(client)
        if kind_field == "trigger_value":
            self._states.pop(widget.id, None)  # a click is a one-shot event
        return outcome

    def auto_rerun(self, fragment_id: str) -> RunOutcome:
        """Rerun a fragment as the browser's timer does for ``st.fragment(run_every=...)``."""
        client = ClientState(query_string=self.query, page_name=self.page, fragment_id=fragment_id, is_auto_rerun=True)
        client.widget_states.CopyFrom(WidgetStates(widgets=list(self._states.values())))
        return self._run(client)

    def _run(self, client_state: ClientState) -> RunOutcome:
        if not client_state.fragment_id:
            # a whole-page run re-registers every fragment timer it still wants (as the
            # browser does, which drops the old ones when a full run starts)
            self.auto_reruns.clear()
        message = BackMsg()
        message.rerun_script.CopyFrom(client_state)
        started = time.perf_counter()
        self._ws.send(message.SerializeToString())
        outcome = RunOutcome(seconds=0.0, finished=False)
        fragments: list[str] = []
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                raw = self._ws.recv(timeout=max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
            msg = ForwardMsg()
            msg.ParseFromString(raw)  # type: ignore[arg-type]
            kind = msg.WhichOneof("type")
            if kind == "delta":
                self._read_delta(msg, outcome, fragments)
            elif kind == "auto_rerun":
                self.auto_reruns[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                for fragment_id in msg.stop_auto_rerun.fragment_ids:
                    self.auto_reruns.pop(fragment_id, None)
            elif kind == "session_event" and msg.session_event.WhichOneof("type") == "script_compilation_exception":
                outcome.errors.append(msg.session_event.script_compilation_exception.message)
            elif kind == "script_finished":
                status = msg.script_finished
                # FINISHED_SUCCESSFULLY = 0, FINISHED_WITH_COMPILE_ERROR = 1, FINISHED_EARLY_FOR_RERUN = 2,
                # FINISHED_FRAGMENT_RUN_SUCCESSFULLY = 3
                if status == 1:
                    outcome.errors.append("script compile error")
                if status == 2:
                    continue  # superseded by a newer run; keep reading
                outcome.finished = True
                break
        outcome.seconds = time.perf_counter() - started
        self.widgets.update(outcome.widgets)
        return outcome

    def _read_delta(self, msg: ForwardMsg, outcome: RunOutcome, fragments: list[str]) -> None:
        delta = msg.delta
        which = delta.WhichOneof("type")
        if which != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        outcome.elements += 1
        if kind == "exception":
            outcome.errors.append(f"{element.exception.type}: {element.exception.message}")
        elif kind == "alert" and element.alert.format == 1:  # ERROR
            outcome.errors.append(f"error box: {element.alert.body[:200]}")
        elif kind == "plotly_chart":
            outcome.charts += 1
        elif kind == "markdown":
            outcome.texts.append(element.markdown.body)
        elif kind in WIDGET_VALUE_FIELDS:
            proto = getattr(element, kind)
            outcome.widgets[proto.id] = Widget(
                proto.id, kind, getattr(proto, "label", ""), getattr(delta, "fragment_id", ""), proto
            )
