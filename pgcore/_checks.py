"""Argument checks shared by pgcore: every bad input raises ValueError naming the argument."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt


def finite_array(name: str, value: Any) -> npt.NDArray[np.float64]:
    """Return ``value`` as a float64 array, or raise ValueError if any entry is NaN or inf."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from err
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {value!r}")
    return array


def finite_float(name: str, value: Any) -> float:
    """Return ``value`` as a finite Python float, or raise ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"{name} must be a number, got {value!r}") from err
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def float_in_range(name: str, value: Any, low: float, high: float, *, low_open: bool = False) -> float:
    """A finite float in [low, high] (or (low, high] with ``low_open``), else ValueError."""
    number = finite_float(name, value)
    too_low = number <= low if low_open else number < low
    if too_low or number > high:
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must be in {bracket}{low}, {high}], got {value!r}")
    return number


def positive_float(name: str, value: Any) -> float:
    """A finite float > 0, else ValueError."""
    number = finite_float(name, value)
    if number <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return number


def non_negative_float(name: str, value: Any) -> float:
    """A finite float >= 0, else ValueError."""
    number = finite_float(name, value)
    if number < 0.0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return number


def positive_int(name: str, value: Any, *, maximum: int | None = None) -> int:
    """An int >= 1 (and <= maximum), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < 1 or (maximum is not None and value > maximum):
        upper = f" and <= {maximum}" if maximum is not None else ""
        raise ValueError(f"{name} must be >= 1{upper}, got {value!r}")
    return int(value)


def choice(name: str, value: Any, options: tuple[str, ...]) -> str:
    """One of ``options`` (case-insensitive), returned lower-case, else ValueError."""
    if not isinstance(value, str) or value.lower() not in options:
        raise ValueError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return value.lower()


def discount(value: Any) -> float:
    """The discount γ: a finite float in [0, 1], else ValueError naming ``gamma``."""
    return float_in_range("gamma", value, 0.0, 1.0)


def generator(value: Any, name: str = "rng") -> np.random.Generator:
    """``value`` if it is a ``numpy.random.Generator`` (what Gymnasium's samplers take), else
    ValueError naming ``name``: an int seed is refused, so one generator can feed many draws."""
    if not isinstance(value, np.random.Generator):
        raise ValueError(f"{name} must be a numpy.random.Generator, got {type(value).__name__}")
    return value


def seed(value: Any, name: str = "seed") -> int:
    """A random seed: a whole number >= 0, else ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
    return int(value)


#: A policy parameter (logit) beyond ±10⁶ already makes every probability 0 or 1 to the last
#: digit, and sums and products of such numbers overflow: refused rather than computed.
LOGIT_LIMIT = 1e6
#: Rewards, reward offsets and baselines: squared in variances, so kept well inside float range.
REWARD_LIMIT = 1e6


def bounded_float(name: str, value: Any, limit: float) -> float:
    """A finite float with |value| <= limit, else ValueError naming it."""
    return float_in_range(name, value, -limit, limit)


def logit(name: str, value: Any) -> float:
    """A policy parameter: a finite float in [-LOGIT_LIMIT, LOGIT_LIMIT]."""
    return bounded_float(name, value, LOGIT_LIMIT)


def bounded_array(name: str, value: Any, limit: float) -> npt.NDArray[np.float64]:
    """A float64 array with every entry finite and |entry| <= limit, else ValueError naming it."""
    array = finite_array(name, value)
    if np.any(np.abs(array) > limit):
        raise ValueError(f"{name} must be in [-{limit:g}, {limit:g}], got {value!r}")
    return array


def logit_array(name: str, value: Any) -> npt.NDArray[np.float64]:
    """An array of policy parameters, each in [-LOGIT_LIMIT, LOGIT_LIMIT]."""
    return bounded_array(name, value, LOGIT_LIMIT)


def reward_shift(name: str, value: Any) -> float:
    """A baseline or reward offset: a finite float in [-REWARD_LIMIT, REWARD_LIMIT]."""
    return bounded_float(name, value, REWARD_LIMIT)


def reward_shifts(name: str, value: Any) -> npt.NDArray[np.float64]:
    """An array of baselines or offsets, each in [-REWARD_LIMIT, REWARD_LIMIT]."""
    return bounded_array(name, value, REWARD_LIMIT)


def flag(name: str, value: Any) -> bool:
    """True or False (numpy bools too), else ValueError naming it."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def bool_array(name: str, value: Any) -> npt.NDArray[np.bool_]:
    """An array of True/False (0/1 accepted), else ValueError naming it."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"{name} must be an array of True/False, got {value!r}") from err
    if array.dtype == np.bool_:
        return array
    if array.dtype.kind in "iuf" and np.all((array == 0) | (array == 1)):
        return array.astype(np.bool_)
    raise ValueError(f"{name} must be an array of True/False, got {value!r}")


def whole_number(name: str, value: Any, low: int, high: int) -> int:
    """An int in [low, high] (not a bool, not a float), else ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def instance(name: str, value: Any, kind: type) -> Any:
    """``value`` if it is a ``kind``, else ValueError naming it."""
    if not isinstance(value, kind):
        raise ValueError(f"{name} must be a {kind.__name__}, got {type(value).__name__}")
    return value
