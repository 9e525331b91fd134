"""Secret never shows its value except through reveal()."""

from __future__ import annotations

import pickle

import pytest

from igtoken import Secret


def test_repr_str_format_mask_the_value() -> None:
    """repr, str and f-strings print a mask, never the value."""
    s = Secret("IGQVJtopsecretvalue")
    for shown in (repr(s), str(s), f"{s}", f"{s!r}", "{}".format(s)):  # noqa: UP032
        assert "topsecret" not in shown


def test_reveal_and_equality() -> None:
    """reveal() returns the value; equality compares values."""
    assert Secret("abc").reveal() == "abc"
    assert Secret("abc") == Secret("abc")
    assert Secret("abc") != Secret("abd")


def test_refuses_pickle_and_non_str() -> None:
    """A Secret cannot leave the process by pickling, and wraps only str."""
    with pytest.raises(TypeError):
        pickle.dumps(Secret("x"))
    with pytest.raises(TypeError):
        Secret(b"x")  # type: ignore[arg-type]
