"""The one rule for webhook signing secrets, checked wherever a secret enters igtoken.

Settings (``IGTOKEN_WEBHOOK_SECRET``, several separated by spaces while rotating), ``config show``,
``serve`` and the worker all apply it, so a secret the worker would refuse is refused at once.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

from igtoken.core.exceptions import ConfigurationError
from igtoken.core.secret import Secret

__all__ = ["GENERATE_FIX", "MIN_SECRET_LENGTH", "check_signing_secret", "split_signing_secrets"]

#: Shorter secrets are refused: an HMAC key is only as good as its guessing cost.
MIN_SECRET_LENGTH: Final = 16
_PREFIX: Final = "whsec_"
GENERATE_FIX: Final = (
    "generate one with: python -c 'from igtoken.notify import generate_secret as g; print(g().reveal())'"
)


def check_signing_secret(secret: Secret, *, where: str = "webhook signing secret") -> None:
    """Refuse a secret that is too short, or a ``whsec_`` secret whose key is not base64."""
    value = secret.reveal()
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigurationError(f"{where} is shorter than {MIN_SECRET_LENGTH} characters", fix=GENERATE_FIX)
    if value.startswith(_PREFIX):
        try:
            key = base64.b64decode(value[len(_PREFIX) :] + "==", validate=False)
        except (binascii.Error, ValueError):
            message = f"{where}: a whsec_ secret must be base64 after the prefix"
            raise ConfigurationError(message, fix=GENERATE_FIX) from None
        if not key:
            raise ConfigurationError(f"{where} is empty after its whsec_ prefix", fix=GENERATE_FIX)


def split_signing_secrets(raw: Secret, *, where: str = "webhook signing secret") -> tuple[Secret, ...]:
    """The secrets in ``raw`` (separated by spaces while one is being rotated), each checked."""
    parts = tuple(Secret(part) for part in raw.reveal().split())
    if not parts:
        raise ConfigurationError(f"{where} is empty", fix=GENERATE_FIX)
    for part in parts:
        check_signing_secret(part, where=where)
    return parts
