"""A value that must never be shown: tokens, app secrets, keys, API keys."""

from __future__ import annotations

import hmac
from typing import Final, final

_MASK: Final = "********"


@final
class Secret:
    """Wrap a secret string so that ``repr``, ``str`` and f-strings never show it.

    The only way to the value is :meth:`reveal`, so every place that needs the
    secret says so in the code, and a review can find them all with one grep.
    Equality is constant-time, so comparing secrets does not leak a prefix.

    A ``Secret`` is immutable: :func:`copy.copy` and :func:`copy.deepcopy` return
    it unchanged, so a dataclass holding one deep-copies, and
    :func:`dataclasses.asdict` keeps it as a ``Secret`` (still masked). Pickling
    is refused: that would be a quiet way out of the process.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"Secret wraps a str, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """Return the secret itself; call this only where the value must leave the process."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, format_spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would be a quiet way out of the process; refuse it.
        raise TypeError("Secret values cannot be pickled")

    def hint(self) -> str:
        """A short, safe fingerprint for humans: the last four characters, masked otherwise."""
        if len(self._value) < 12:
            return _MASK
        return f"…{self._value[-4:]}"
