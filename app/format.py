"""Number formatting for on-page text and LaTeX: fixed digits, no "-0.000"."""

from __future__ import annotations

import math


def num(x: float, digits: int = 3) -> str:
    """``x`` with ``digits`` decimals; rounding to zero never shows a minus sign."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"refusing to show a non-finite number: {x!r}")
    text = f"{x:.{digits}f}"
    if text.lstrip("-").strip("0.") == "":
        text = text.lstrip("-")
    return text


def signed(x: float, digits: int = 3) -> str:
    """Like ``num`` but wraps negatives in parentheses, for substituting into products."""
    text = num(x, digits)
    return f"({text})" if text.startswith("-") else text
