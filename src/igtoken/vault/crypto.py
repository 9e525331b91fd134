"""Named AES-256-GCM keys: sealing tokens and app secrets so only the key holder can read them.

Every ciphertext records the id of the key that sealed it, a fresh 96-bit
nonce, and is bound by associated data to the row it belongs to: a
ciphertext copied into another row fails to authenticate.

Key material comes from two places, both parsed here from what the caller
hands over (this module never reads the environment):

* ``IGTOKEN_KEYS``: ``kid1:BASE64KEY,kid2:BASE64KEY``. The **first** key is
  the active one (new rows are sealed with it); the others only decrypt.
  Keys are 32 bytes, in standard or URL-safe base64.
* a key file (JSON, mode 0600)::

      {"version": 1, "active": "k2", "keys": {"k1": "BASE64", "k2": "BASE64"}}

  :func:`load_or_create_key_file` creates one with a fresh key on first use,
  and :func:`add_key_to_file` appends a new active key for rotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from igtoken.core.exceptions import ConfigurationError, DecryptionError, MissingKeyError
from igtoken.core.secret import Secret

__all__ = [
    "KeyRing",
    "Sealed",
    "add_key_to_file",
    "app_secret_aad",
    "generate_key_id",
    "generate_key_material",
    "keyring_from_file",
    "load_or_create_key_file",
    "parse_keys",
    "remove_keys_from_file",
    "token_aad",
    "write_private_file",
]

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_FILE_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class Sealed:
    """A ciphertext with the key id and nonce needed to open it. Holds nothing secret."""

    key_id: str
    nonce: bytes
    ciphertext: bytes

    def __repr__(self) -> str:
        return f"Sealed(key_id={self.key_id!r}, {len(self.ciphertext)} bytes)"


def token_aad(token_id: str, account_id: str, kind: str) -> bytes:
    """Associated data binding a token ciphertext to its row, its account and its kind."""
    return f"igtoken/token/v1\x00{token_id}\x00{account_id}\x00{kind}".encode()


def app_secret_aad(app_id: str, purpose: str) -> bytes:
    """Associated data binding an app secret ciphertext to its app and purpose."""
    return f"igtoken/app-secret/v1\x00{app_id}\x00{purpose}".encode()


def generate_key_material() -> Secret:
    """A fresh random 256-bit key, base64-encoded."""
    return Secret(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii"))


def generate_key_id() -> str:
    """A fresh, short, unguessable-enough key id (ids are not secret, only unique)."""
    return f"k{secrets.token_hex(4)}"


def _check_key_id(key_id: str) -> str:
    if not _KEY_ID.match(key_id):
        raise ConfigurationError(
            f"bad key id {key_id!r}: use 1–64 letters, digits, '_', '.' or '-'",
        )
    return key_id


def _decode_key(key_id: str, material: Secret) -> bytes:
    text = material.reveal().strip()
    try:
        # altchars maps URL-safe "-_" onto "+/", so both alphabets decode here.
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"key {key_id!r} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise ConfigurationError(
            f"key {key_id!r} is {len(raw)} bytes; AES-256-GCM needs {KEY_BYTES}",
            fix="generate one with `igtoken keys rotate` or 32 random bytes, base64-encoded",
        )
    return raw


class KeyRing:
    """Named AES-256-GCM keys, one of them active for sealing.

    A key ring built from a key file (:func:`keyring_from_file`) re-reads the
    file when it changes, so a running service picks up a key that
    ``igtoken keys rotate`` added, both to seal new rows and to open rows that
    were re-encrypted under it.
    """

    def __init__(
        self,
        keys: Mapping[str, Secret],
        active: str,
        *,
        reload: Callable[[], KeyRing | None] | None = None,
    ) -> None:
        if not keys:
            raise ConfigurationError("a key ring needs at least one key")
        if active not in keys:
            raise ConfigurationError(f"the active key {active!r} is not among the keys")
        self._ciphers = {_check_key_id(kid): AESGCM(_decode_key(kid, k)) for kid, k in keys.items()}
        self._material = dict(keys)
        self._active = active
        self._reload = reload
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"KeyRing(active={self._active!r}, key_ids={sorted(self._ciphers)!r})"

    @property
    def active_key_id(self) -> str:
        """The id of the key that seals new ciphertexts."""
        self._maybe_reload()
        return self._active

    @property
    def key_ids(self) -> frozenset[str]:
        """Every key id this ring can decrypt with (a watched key file is read again if it changed)."""
        self._maybe_reload()
        return frozenset(self._ciphers)

    def material(self) -> dict[str, Secret]:
        """The key material by id, for writing a key file. Handle with care."""
        return dict(self._material)

    def _maybe_reload(self) -> bool:
        if self._reload is None:
            return False
        fresh = self._reload()
        if fresh is None:
            return False
        with self._lock:
            self._ciphers = dict(fresh._ciphers)
            self._material = dict(fresh._material)
            self._active = fresh._active
        return True

    def encrypt(self, plaintext: Secret, aad: bytes, *, key_id: str | None = None) -> Sealed:
        """Seal ``plaintext`` with a fresh nonce, bound to ``aad``, under ``key_id`` or the active key."""
        self._maybe_reload()
        with self._lock:
            key_id = self._active if key_id is None else key_id
            cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise MissingKeyError(key_id)
        nonce = secrets.token_bytes(NONCE_BYTES)
        return Sealed(key_id, nonce, cipher.encrypt(nonce, plaintext.reveal().encode("utf-8"), aad))

    def mac(self, message: bytes, *, key_id: str | None = None) -> tuple[str, bytes]:
        """``(key id, HMAC-SHA256 of message)`` under a subkey of ``key_id`` (default: the active key).

        The subkey is a hash of the AES key with its own label, so a MAC never
        reveals anything usable for sealing. Whoever holds the key ring can
        recompute a MAC; that is the point (a value need not be stored to be found again).
        """
        self._maybe_reload()
        with self._lock:
            key_id = self._active if key_id is None else key_id
            material = self._material.get(key_id)
        if material is None:
            raise MissingKeyError(key_id)
        subkey = hashlib.sha256(b"igtoken/mac/v1\x00" + _decode_key(key_id, material)).digest()
        return key_id, hmac.new(subkey, message, hashlib.sha256).digest()

    def decrypt(self, sealed: Sealed, aad: bytes) -> Secret:
        """Open a ciphertext; :class:`MissingKeyError` or :class:`DecryptionError` if it cannot."""
        cipher = self._ciphers.get(sealed.key_id)
        if cipher is None and self._maybe_reload():
            cipher = self._ciphers.get(sealed.key_id)
        if cipher is None:
            raise MissingKeyError(sealed.key_id)
        try:
            raw = cipher.decrypt(sealed.nonce, sealed.ciphertext, aad)
        except (InvalidTag, ValueError):
            raise DecryptionError(
                f"ciphertext under key {sealed.key_id!r} did not authenticate: "
                "it was altered, or belongs to another row",
            ) from None
        return Secret(raw.decode("utf-8"))


def parse_keys(text: str) -> KeyRing:
    """Parse ``IGTOKEN_KEYS`` (``kid:BASE64,kid2:BASE64``); the first key is the active one."""
    keys: dict[str, Secret] = {}
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ConfigurationError("IGTOKEN_KEYS is empty", fix="use kid:BASE64KEY[,kid2:BASE64KEY…]")
    for part in parts:
        kid, sep, material = part.partition(":")
        if not sep or not kid or not material:
            raise ConfigurationError(
                "each IGTOKEN_KEYS entry must be kid:BASE64KEY",
                fix="separate entries with commas; the first one is the active key",
            )
        kid = _check_key_id(kid.strip())
        if kid in keys:
            raise ConfigurationError(f"key id {kid!r} appears twice in IGTOKEN_KEYS")
        keys[kid] = Secret(material.strip())
    return KeyRing(keys, active=next(iter(keys)))


def _read_key_file(path: Path) -> tuple[dict[str, Secret], str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"key file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"key file {str(path)!r} cannot be read: {type(exc).__name__}") from None
    if (
        not isinstance(data, dict)
        or data.get("version") != _FILE_VERSION
        or not isinstance(data.get("keys"), dict)
        or not isinstance(data.get("active"), str)
        or not all(isinstance(v, str) for v in data["keys"].values())
    ):
        raise ConfigurationError(
            f"key file {str(path)!r} is not an igtoken key file",
            fix='expected {"version": 1, "active": "<kid>", "keys": {"<kid>": "<base64>"}}',
        )
    return {str(k): Secret(v) for k, v in data["keys"].items()}, data["active"]


def _write_key_file(path: Path, keys: Mapping[str, Secret], active: str) -> None:
    body = json.dumps(
        {"version": _FILE_VERSION, "active": active, "keys": {k: v.reveal() for k, v in keys.items()}},
        indent=2,
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private_file(path, (body + "\n").encode("utf-8"))


def write_private_file(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` at once, readable by its owner only (a key file, an export)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # O_EXCL + 0600 from the start: the secret never sits in a world-readable file, even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def keyring_from_file(path: Path, *, watch: bool = True) -> KeyRing:
    """Load a key file; with ``watch``, the ring re-reads the file whenever it changes."""
    keys, active = _read_key_file(path)
    if not watch:
        return KeyRing(keys, active)
    seen = [_stamp(path)]

    def reload() -> KeyRing | None:
        stamp = _stamp(path)
        if stamp is None or stamp == seen[0]:
            return None
        fresh_keys, fresh_active = _read_key_file(path)
        seen[0] = stamp
        return KeyRing(fresh_keys, fresh_active)

    return KeyRing(keys, active, reload=reload)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def load_or_create_key_file(path: Path) -> tuple[KeyRing, bool]:
    """Load the key file at ``path``, creating it (mode 0600, one fresh key) if absent.

    Returns the key ring and whether the file was created, so the caller can
    say where it put it.
    """
    created = False
    if not path.exists():
        try:
            _create_exclusive(path)
            created = True
        except FileExistsError:
            pass  # another process won the race; use its file
    return keyring_from_file(path), created


def _create_exclusive(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    kid = generate_key_id()
    body = json.dumps(
        {"version": _FILE_VERSION, "active": kid, "keys": {kid: generate_key_material().reveal()}}, indent=2
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(body + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def add_key_to_file(path: Path, key_id: str | None = None, material: Secret | None = None) -> str:
    """Add a new key to the key file and make it the active one; returns its id.

    Older keys stay in the file, so rows not yet re-encrypted still open.
    """
    keys, _ = _read_key_file(path)
    kid = _check_key_id(key_id) if key_id is not None else generate_key_id()
    if kid in keys:
        raise ConfigurationError(f"key id {kid!r} already exists in {str(path)!r}")
    new = material if material is not None else generate_key_material()
    _decode_key(kid, new)
    keys[kid] = new
    _write_key_file(path, keys, kid)
    return kid


def remove_keys_from_file(path: Path, key_ids: Iterable[str]) -> None:
    """Drop retired keys from a key file (never the active one)."""
    keys, active = _read_key_file(path)
    for kid in key_ids:
        if kid == active:
            raise ConfigurationError(f"key {kid!r} is the active key and cannot be removed")
        keys.pop(kid, None)
    _write_key_file(path, keys, active)
