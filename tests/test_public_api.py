"""The public names of ``theory`` and ``sims``: exactly these, and all importable.

The expected names are listed in ``tests/public_api.txt`` (``package.name``, one a
line, sorted). A name added to or dropped from a package's ``__all__`` is an API
change: update that list in the same commit.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

_LIST = Path(__file__).with_name("public_api.txt")


def _public() -> dict[str, list[str]]:
    """``{package: [name, ...]}`` from the list file."""
    public: dict[str, list[str]] = {}
    for line in _LIST.read_text().splitlines():
        if line.strip():
            package, _, name = line.strip().partition(".")
            public.setdefault(package, []).append(name)
    return public


PUBLIC = _public()


def test_the_list_is_sorted_and_names_both_packages():
    lines = [line for line in _LIST.read_text().splitlines() if line.strip()]
    assert lines == sorted(set(lines))
    assert sorted(PUBLIC) == ["sims", "theory"]


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_all_is_exactly_the_public_list(package):
    module = importlib.import_module(package)
    assert module.__file__ is not None, f"{package} imported as a namespace package"
    assert sorted(module.__all__) == PUBLIC[package]
    assert len(set(module.__all__)) == len(module.__all__)


@pytest.mark.parametrize(
    ("package", "name"), [(p, n) for p, names in sorted(PUBLIC.items()) for n in names]
)
def test_every_public_name_is_importable(package, name):
    namespace: dict = {}
    exec(f"from {package} import {name}", namespace)
    obj = namespace[name]
    assert obj is getattr(importlib.import_module(package), name)
    assert obj is not None
    # each public name is defined in the package, not a stray re-export of a dependency
    assert getattr(obj, "__module__", package).split(".")[0] == package


def test_star_import_gives_exactly_the_public_names():
    for package, names in PUBLIC.items():
        namespace: dict = {}
        exec(f"from {package} import *", namespace)
        assert sorted(k for k in namespace if k != "__builtins__") == sorted(names)
