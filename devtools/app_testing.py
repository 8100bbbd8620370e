"""Shared checks for the page tests and scripts/fuzz_pages.py: run a page under AppTest,
move widgets, and assert that nothing shows an exception, a NaN/inf, or an empty chart."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "app" / "views"

#: Widget kinds AppTest can drive, by the attribute that lists them.
WIDGET_KINDS = (
    "slider",
    "select_slider",
    "number_input",
    "selectbox",
    "radio",
    "checkbox",
    "toggle",
    "segmented_control",
    "pills",
    "multiselect",
    "text_input",
)

_NON_FINITE = re.compile(r"(?<![A-Za-z\\])(nan|inf|infinity)(?![A-Za-z])", re.IGNORECASE)


def page_app(name: str, *, timeout: float = 60, query: dict[str, str] | None = None) -> AppTest:
    """An AppTest for ``app/views/<name>.py`` (absolute path), run once and checked."""
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=timeout)
    if query:
        at.query_params.update(query)
    at.run()
    # A page that fails to compile shows nothing and raises nothing under AppTest:
    # every page starts with a title, so an empty page is a failure.
    assert at.title, f"{name} rendered no title: did it fail to compile? (see the log above)"
    assert_healthy(at)
    return at


def _decode(value: Any) -> Any:
    """Plotly's JSON encodes numpy arrays as {"dtype", "bdata"}; turn them back into arrays."""
    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return array.reshape(value["shape"]) if "shape" in value and isinstance(value["shape"], list) else array
    return value


def chart_specs(at: AppTest) -> list[dict[str, Any]]:
    """The plotly figure JSON of every chart on the page."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def trace_arrays(trace: dict[str, Any]) -> Iterator[np.ndarray]:
    """The numeric data arrays of one trace (x, y, z, …), decoded."""
    for field in ("x", "y", "z", "values", "r", "theta", "base", "error_y"):
        if field not in trace:
            continue
        value = trace[field]
        if field == "error_y":
            value = value.get("array") if isinstance(value, dict) else None
            if value is None:
                continue
        value = _decode(value)
        if isinstance(value, list):
            try:
                array = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                continue  # categorical labels
        elif isinstance(value, np.ndarray):
            array = value.astype(float)
        else:
            continue
        yield array


#: Digests of chart specs that passed :func:`check_chart_spec`. The check is a pure function of
#: the spec's JSON text, so a spec seen again (an unchanged chart on the next rerun) passes
#: again without a second run of plotly's validation, which is most of a health check's time.
_PASSED_SPECS: set[bytes] = set()


def assert_charts_have_data(at: AppTest) -> None:
    """Every chart has a title, at least one trace with data, and no NaN/inf in its numbers."""
    for chart in at.get("plotly_chart"):
        text = chart.proto.spec
        digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
        if digest not in _PASSED_SPECS:
            check_chart_spec(json.loads(text))
            _PASSED_SPECS.add(digest)


#: Digests of figure parts (one trace, or one top-level layout property) plotly has accepted.
_VALID_PARTS: set[bytes] = set()


def validate_figure(spec: dict[str, Any]) -> None:
    """Plotly's own validation of a figure's JSON (raises ValueError on an unknown property or
    a bad value), as ``go.Figure(spec)`` does, one part at a time: each trace, and each
    top-level layout property (axes, title, shapes, …), checked the first time it is seen.
    Plotly validates these parts independently, so a part already accepted is accepted again,
    and across a page's reruns most parts (axes, margins, unchanged traces) repeat."""
    unknown = set(spec) - {"data", "layout", "frames"}
    if unknown or spec.get("frames"):
        go.Figure(spec)  # anything unusual: the whole figure, as it is
        return
    parts = [("data", trace) for trace in spec.get("data", [])]
    parts += [("layout", {key: value}) for key, value in spec.get("layout", {}).items()]
    for kind, part in parts:
        digest = hashlib.blake2b(f"{kind}:{json.dumps(part, sort_keys=True)}".encode(), digest_size=16).digest()
        if digest in _VALID_PARTS:
            continue
        if kind == "data":
            go.Figure(data=[part])
        else:
            go.Layout(part)
        _VALID_PARTS.add(digest)


def check_chart_spec(spec: dict[str, Any]) -> None:
    """One chart's figure JSON: valid for plotly, titled, with data, and no NaN/inf but for
    deliberate breaks in a line."""
    # the app builds figures without plotly's validation (for speed); validate them here
    validate_figure(spec)
    title = spec.get("layout", {}).get("title", {})
    assert title.get("text") if isinstance(title, dict) else title, "a chart has no title"
    traces = spec.get("data", [])
    assert traces, f"chart {title} has no traces"
    sizes = []
    for trace in traces:
        if _legend_stub(trace):
            continue
        gaps = _line_gaps(trace)
        for array in trace_arrays(trace):
            assert not np.any(np.isinf(array)), f"chart {title} has inf values"
            nan = np.isnan(array)
            if gaps is not None and nan.shape == gaps.shape:
                nan &= ~gaps  # a deliberate break in a line
            assert not np.any(nan), f"chart {title}: trace {trace.get('name', '')!r} has NaN values"
            sizes.append(array.size)
    assert sum(sizes) > 0, f"chart {title} is empty"


def _legend_stub(trace: dict[str, Any]) -> bool:
    """A one-point trace with no y, there only to put a name in the legend (for a line drawn
    as a layout shape)."""
    y = _decode(trace.get("y"))
    return bool(trace.get("name")) and isinstance(y, list) and y == [None]


def _line_gaps(trace: dict[str, Any]) -> np.ndarray | None:
    """Where a line trace breaks on purpose: None (NaN) in x and y at the same index, which
    plotly draws as a gap between segments. Every other NaN is a defect."""
    if trace.get("type", "scatter") not in ("scatter", "scattergl") or "lines" not in trace.get("mode", "lines"):
        return None
    arrays = {}
    for field in ("x", "y"):
        value = _decode(trace.get(field))
        try:
            arrays[field] = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            return None
    if arrays["x"].shape != arrays["y"].shape:
        return None
    return np.isnan(arrays["x"]) & np.isnan(arrays["y"])


def shown_text(at: AppTest) -> list[str]:
    """Every piece of text the learner can read: markdown, LaTeX, captions, metrics, tables."""
    texts: list[str] = []
    for kind in (
        "markdown",
        "latex",
        "caption",
        "code",
        "info",
        "warning",
        "success",
        "title",
        "header",
        "subheader",
        "text",
    ):
        texts.extend(str(el.value) for el in at.get(kind))
    for metric in at.get("metric"):
        texts.append(str(metric.value))
    for table in list(at.get("dataframe")) + list(at.get("table")):
        try:
            texts.append(table.value.to_string())
        except Exception:  # noqa: BLE001 - a table we cannot read as text is not checked
            pass
    return texts


def assert_healthy(at: AppTest) -> None:
    """No exception, no error box, no NaN/inf in any shown text, no empty chart."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.get("error"), [e.value for e in at.get("error")]
    for text in shown_text(at):
        match = _NON_FINITE.search(text)
        assert match is None, f"non-finite number shown: {text[:200]!r}"
    assert_charts_have_data(at)


def widgets(at: AppTest) -> list[tuple[str, Any]]:
    """(kind, widget) for every keyed, drivable widget on the page now."""
    found = []
    for kind in WIDGET_KINDS:
        for widget in getattr(at, kind):
            if widget.key and not widget.disabled:
                found.append((kind, widget))
    return found


def probe_values(kind: str, widget: Any) -> list[Any]:
    """Values to try for a widget: its extremes and a few in between."""
    if kind == "slider":
        lo, hi = widget.min, widget.max
        if isinstance(lo, (int, float)) and not isinstance(lo, bool):
            if isinstance(widget.value, (tuple, list)):
                return [(lo, hi), (lo, lo), (hi, hi)]
            mid = lo + (hi - lo) / 2 if isinstance(lo, float) else (lo + hi) // 2
            quarter = lo + (hi - lo) / 4 if isinstance(lo, float) else lo + (hi - lo) // 4
            return [lo, hi, mid, quarter]
        return []
    if kind == "number_input":
        lo = widget.min if widget.min is not None else -1e6
        hi = widget.max if widget.max is not None else 1e6
        return [lo, hi, type(lo)((lo + hi) / 2) if isinstance(lo, int) else (lo + hi) / 2]
    if kind in ("checkbox", "toggle"):
        return [True, False]
    if kind in ("selectbox", "radio", "select_slider", "segmented_control", "pills"):
        return [("index", i) for i in range(len(widget.options))]
    if kind == "multiselect":
        return [("indices", []), ("indices", list(range(len(widget.options))))]
    return []


def set_widget(at: AppTest, kind: str, key: str, value: Any) -> None:
    """Set a widget by key, choosing options by index (labels may be formatted)."""
    widget = getattr(at, kind)(key=key)
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "index":
        option = _raw_option(widget, value[1])
        widget.set_value(option)
    elif isinstance(value, tuple) and len(value) == 2 and value[0] == "indices":
        widget.set_value([_raw_option(widget, i) for i in value[1]])
    else:
        widget.set_value(value)


def _raw_option(widget: Any, index: int) -> Any:
    """The index-th option. AppTest only knows options as displayed strings, so pages give
    option widgets plain string options (no ``format_func``) and map them back themselves."""
    return widget.options[index]


def sweep_every_widget(name: str, *, timeout: float = 60, query: dict[str, str] | None = None) -> int:
    """Run the page (opened with ``query``, e.g. one section), then move each widget through its
    probe values one at a time from a fresh page, asserting a healthy page after every move.
    Returns the number of runs."""
    base = page_app(name, timeout=timeout, query=query)
    runs = 1
    for kind, widget in widgets(base):
        for value in probe_values(kind, widget):
            at = page_app(name, timeout=timeout, query=query)
            set_widget(at, kind, widget.key, value)
            at.run()
            try:
                assert_healthy(at)
            except AssertionError as err:
                raise AssertionError(f"{name}: {kind} {widget.key!r} = {value!r}") from err
            runs += 1
    return runs


def random_value(kind: str, widget: Any, rng: np.random.Generator) -> Any:
    """A random setting for a widget; a third of the time one of its extremes."""
    if kind == "slider":
        lo, hi = widget.min, widget.max
        if isinstance(widget.value, (tuple, list)):
            a, b = sorted(rng.uniform(lo, hi, 2))
            return (type(lo)(a), type(lo)(b)) if isinstance(lo, int) else (a, b)
        if rng.random() < 1 / 3:
            return lo if rng.random() < 0.5 else hi
        if isinstance(lo, int) and not isinstance(lo, bool):
            return int(rng.integers(lo, hi + 1))
        step = widget.step or 0.01
        return float(min(hi, lo + step * round(rng.uniform(0, hi - lo) / step)))
    if kind == "number_input":
        lo = widget.min if widget.min is not None else -1e3
        hi = widget.max if widget.max is not None else 1e3
        if rng.random() < 1 / 3:
            return lo if rng.random() < 0.5 else hi
        if isinstance(lo, int) and not isinstance(lo, bool):
            return int(rng.integers(lo, hi + 1))
        return float(rng.uniform(lo, hi))
    if kind in ("checkbox", "toggle"):
        return bool(rng.random() < 0.5)
    if kind in ("selectbox", "radio", "select_slider", "segmented_control", "pills"):
        return ("index", int(rng.integers(len(widget.options))))
    if kind == "multiselect":
        chosen = [i for i in range(len(widget.options)) if rng.random() < 0.5]
        return ("indices", chosen)
    return None


def fuzz_page(name: str, combinations: int, seed: int, *, timeout: float = 60) -> dict[str, set[Any]]:
    """Set every widget to random values (extremes included) ``combinations`` times in a row,
    asserting a healthy page after each. Returns, per widget key, the distinct values it was
    set to, so a caller can check the settings really were varied."""
    rng = np.random.default_rng(seed)
    at = page_app(name, timeout=timeout)
    tried: dict[str, set[Any]] = {}
    for combination in range(combinations):
        for kind, widget in widgets(at):
            value = random_value(kind, widget, rng)
            if value is not None:
                set_widget(at, kind, widget.key, value)
                tried.setdefault(widget.key, set()).add(repr(value))
        at.run()
        try:
            assert_healthy(at)
        except AssertionError as err:
            settings = {w.key: w.value for _, w in widgets(at)}
            raise AssertionError(f"combination {combination} of {name}: {settings}") from err
    return tried


def widget_values(at: AppTest) -> dict[str, Any]:
    """{key: value} for every keyed widget on the page."""
    return {widget.key: widget.value for _, widget in widgets(at)}
