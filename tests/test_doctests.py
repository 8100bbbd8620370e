"""Every runnable example in pgcore's docstrings is executed, so a worked number in the
documentation cannot drift from what the code computes."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import pgcore

MODULES = sorted(info.name for info in pkgutil.walk_packages(pgcore.__path__, "pgcore."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"


def test_the_examples_are_actually_found():
    # guard against the parametrization silently collecting nothing
    attempted = sum(
        doctest.testmod(importlib.import_module(n), verbose=False).attempted
        for n in ("pgcore.policies", "pgcore.returns", "pgcore.grid1d", "pgcore.estimators")
    )
    assert attempted >= 10
