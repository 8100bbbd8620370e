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


def plain(text: str) -> str:
    """Untrusted text (a file's name or note) made safe to put inside Markdown: every character
    Markdown or HTML would act on is escaped, so ``![x](http://…)`` shows as those characters
    and fetches nothing."""
    return "".join("\\" + c if c in "\\`*_{}[]()<>#+-.!|~&" else c for c in str(text))


def sig(x: float, digits: int = 4) -> str:
    """``x`` to ``digits`` significant figures, in plain or scientific notation as fits:
    a tiny variance shows as 3.2e-07, never as 0.0000."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"refusing to show a non-finite number: {x!r}")
    if x == 0.0:
        return "0"
    return f"{x:.{digits}g}"


def ratio(numerator: float, denominator: float, *, cap: float = 1e6) -> str:
    """``numerator / denominator`` as "12.3×", or "> 10⁶×" when the denominator is (nearly)
    zero: a 167837860.4× reduction is rounding noise over rounding noise, not a measurement."""
    numerator, denominator = float(numerator), float(denominator)
    if denominator <= 0.0 or numerator >= cap * denominator:
        return f"> {cap:.0e}×".replace("1e+06", "10⁶").replace("e+0", "e")
    return f"{numerator / denominator:.3g}×"
