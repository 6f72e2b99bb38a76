"""The examples in docstrings are tests too (pure functions document themselves with them)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import prefmill.dataset
import prefmill.pipelines
import prefmill.schemas
import prefmill.transforms


def modules():
    for package in (prefmill.schemas, prefmill.transforms, prefmill.dataset, prefmill.pipelines):
        yield package.__name__
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            # The sandbox runtime runs inside the sandbox's own interpreter, importing its siblings by
            # their bare names; it is not importable as part of the package (tested through the Sandbox).
            if ".sandbox_runtime." not in info.name:
                yield info.name


def with_examples() -> list[str]:
    """The modules whose docstrings hold examples (a module without any would pass without testing a thing)."""
    finder = doctest.DocTestFinder()
    return sorted(name for name in set(modules())
                  if any(test.examples for test in finder.find(importlib.import_module(name))))


@pytest.mark.parametrize("name", with_examples())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
