"""Widget state that survives page switches and lives in the URL.

A page declares its main controls as ``Param``s keyed by widget key, calls ``bind`` before
creating the widgets (widgets get ``key=`` only, never ``value=``) and ``mirror`` after.
A copied link then reopens the page in the same state; a malformed or out-of-range value
in the link falls back to the default with a short notice instead of an error.

Why not Streamlit's own ``bind="query-params"`` (1.67)? It was checked and does not serve here:
it names the URL parameter after the widget *key* (``?gs_theta=…`` instead of the short public
``?theta1=…``), so every link shared so far would stop working and internal keys would become
public names; and it drops an invalid value silently ("ignored and removed from the URL"), so the
learner who opens a mistyped link is never told why the page did not come back as sent. The
~60 lines here keep stable public names, validate with the widgets' own ranges, and say so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import streamlit as st

_KEPT = "_kept_widget_values"


@dataclass(frozen=True)
class Param:
    """One control mirrored in the URL as ``?name=value``."""

    name: str
    default: Any
    low: float | None = None
    high: float | None = None
    options: tuple[str, ...] | None = None

    def parse(self, raw: str) -> Any:
        """The value in the link, or raise ValueError if it is not a valid setting."""
        if isinstance(self.default, bool):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if self.options is not None:
            if raw not in self.options:
                raise ValueError(raw)
            return raw
        if isinstance(self.default, int):
            value: float = int(raw)
        elif isinstance(self.default, float):
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(raw)
        else:
            return raw
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise ValueError(raw)
        return value

    def format(self, value: Any) -> str:
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, float):
            return f"{value:.6g}"
        return str(value)


def bind(params: dict[str, Param]) -> list[str]:
    """Before the widgets: give each widget key its value from the link, from this
    session's last visit, or the default. Returns notices about values it rejected."""
    kept: dict[str, Any] = st.session_state.setdefault(_KEPT, {})
    notices: list[str] = []
    for key, param in params.items():
        if key in st.session_state:
            continue
        value = kept.get(key, param.default)
        raw = st.query_params.get(param.name)
        if raw is not None:
            try:
                value = param.parse(raw)
            except (ValueError, TypeError):
                # the raw value is not echoed: it is untrusted text from a URL
                notices.append(
                    f"The link's value for `{param.name}` is not valid here; using {param.format(param.default)}."
                )
                value = param.default
        st.session_state[key] = value
    return notices


def mirror(params: dict[str, Param]) -> None:
    """After the widgets: remember their values and write them into the URL."""
    kept: dict[str, Any] = st.session_state.setdefault(_KEPT, {})
    for key, param in params.items():
        if key not in st.session_state:
            continue
        value = st.session_state[key]
        kept[key] = value
        text = param.format(value)
        if st.query_params.get(param.name) != text:
            st.query_params[param.name] = text


def show_notices(notices: list[str]) -> None:
    """Tell the learner, briefly, that part of the link was ignored."""
    if notices:
        st.info("\n".join(f"- {notice}" for notice in notices), icon=":material/link_off:")
