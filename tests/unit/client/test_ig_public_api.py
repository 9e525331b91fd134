"""The public API: sorted __all__, every name importable and documented."""

from __future__ import annotations

import inspect

import igtoken


def test_all_is_sorted_and_importable() -> None:
    """__all__ is sorted (constants first, as ruff sorts it) and each name exists."""
    assert len(set(igtoken.__all__)) == len(igtoken.__all__)
    for name in igtoken.__all__:
        assert hasattr(igtoken, name), name


def test_every_public_name_has_a_docstring() -> None:
    """Every exported class and function, and every public method of exported classes, is documented."""
    missing = []
    for name in igtoken.__all__:
        obj = getattr(igtoken, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if not inspect.getdoc(obj):
            missing.append(name)
        if inspect.isclass(obj) and obj.__module__.startswith("igtoken"):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not (
                    inspect.isfunction(member) or isinstance(member, property | classmethod | staticmethod)
                ):
                    continue
                if not inspect.getdoc(member):
                    missing.append(f"{name}.{attr}")
    assert missing == []
