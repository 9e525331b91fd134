"""The key ring: parsing key material, key files, sealing and opening."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from igtoken.core.exceptions import ConfigurationError, DecryptionError, MissingKeyError
from igtoken.core.secret import Secret
from igtoken.vault.crypto import (
    KeyRing,
    add_key_to_file,
    generate_key_material,
    keyring_from_file,
    load_or_create_key_file,
    parse_keys,
    remove_keys_from_file,
)

KEY_A = base64.b64encode(bytes(range(32))).decode()
KEY_B = base64.urlsafe_b64encode(bytes(range(100, 132))).decode().rstrip("=")


def test_parse_keys_first_is_active() -> None:
    """IGTOKEN_KEYS lists kid:key pairs; the first one seals, all of them open."""
    ring = parse_keys(f"new:{KEY_A}, old:{KEY_B}")
    assert ring.active_key_id == "new"
    assert ring.key_ids == {"new", "old"}
    assert KEY_A not in repr(ring)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("nokey", "kid:BASE64KEY"),
        ("k1:!!!notbase64", "not valid base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "needs 32"),
        (f"k1:{KEY_A},k1:{KEY_B}", "twice"),
        (f"bad id:{KEY_A}", "bad key id"),
    ],
)
def test_parse_keys_rejects_bad_material(text: str, match: str) -> None:
    """Every malformed IGTOKEN_KEYS gets a specific configuration error that never echoes a key."""
    with pytest.raises(ConfigurationError, match=match) as info:
        parse_keys(text)
    assert KEY_A not in str(info.value)


def test_seal_open_roundtrip_and_fresh_nonce() -> None:
    """Sealing twice gives different nonces and ciphertexts; both open to the same secret."""
    ring = parse_keys(f"k1:{KEY_A}")
    a = ring.encrypt(Secret("IGAAvalue"), b"row-1")
    b = ring.encrypt(Secret("IGAAvalue"), b"row-1")
    assert a.nonce != b.nonce and a.ciphertext != b.ciphertext
    assert ring.decrypt(a, b"row-1") == Secret("IGAAvalue")
    assert "IGAAvalue" not in repr(a)


def test_flipped_byte_and_wrong_aad_fail() -> None:
    """A flipped ciphertext or nonce byte, or other associated data, is a DecryptionError."""
    ring = parse_keys(f"k1:{KEY_A}")
    sealed = ring.encrypt(Secret("IGAAvalue"), b"row-1")
    for i in range(len(sealed.ciphertext)):
        bad = bytearray(sealed.ciphertext)
        bad[i] ^= 0x80
        with pytest.raises(DecryptionError):
            ring.decrypt(type(sealed)(sealed.key_id, sealed.nonce, bytes(bad)), b"row-1")
    with pytest.raises(DecryptionError):
        ring.decrypt(type(sealed)(sealed.key_id, bytes(12), sealed.ciphertext), b"row-1")
    with pytest.raises(DecryptionError):
        ring.decrypt(sealed, b"row-2")


def test_missing_key_names_key_id() -> None:
    """Opening a ciphertext under an unknown key id raises MissingKeyError with that id."""
    sealed = parse_keys(f"gone:{KEY_A}").encrypt(Secret("v"), b"x")
    with pytest.raises(MissingKeyError) as info:
        parse_keys(f"k1:{KEY_B}").decrypt(sealed, b"x")
    assert info.value.key_id == "gone"


def test_key_ring_needs_active_key() -> None:
    """A ring whose active key is not among its keys is refused."""
    with pytest.raises(ConfigurationError):
        KeyRing({"a": generate_key_material()}, active="b")
    with pytest.raises(ConfigurationError):
        KeyRing({}, active="a")


def test_key_file_created_0600_once(tmp_path: Path) -> None:
    """The first load creates the key file with mode 0600; the second load reuses it."""
    path = tmp_path / "config" / "keys.json"
    ring, created = load_or_create_key_file(path)
    assert created
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again, created_again = load_or_create_key_file(path)
    assert not created_again
    sealed = ring.encrypt(Secret("v"), b"x")
    assert again.decrypt(sealed, b"x") == Secret("v")


def test_add_key_to_file_is_picked_up_by_running_ring(tmp_path: Path) -> None:
    """A watching ring sees a key added to its file: it seals with it and opens rows sealed by it."""
    path = tmp_path / "keys.json"
    running, _ = load_or_create_key_file(path)
    old = running.active_key_id
    other_process = keyring_from_file(path, watch=False)
    new = add_key_to_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    rotated = keyring_from_file(path, watch=False)
    sealed = rotated.encrypt(Secret("v"), b"x")
    assert sealed.key_id == new
    assert running.decrypt(sealed, b"x") == Secret("v")
    assert running.active_key_id == new
    assert other_process.active_key_id == old
    remove_keys_from_file(path, [old])
    with pytest.raises(ConfigurationError):
        remove_keys_from_file(path, [new])


def test_bad_key_file_is_configuration_error(tmp_path: Path) -> None:
    """A missing or malformed key file gets a clear error."""
    with pytest.raises(ConfigurationError, match="does not exist"):
        keyring_from_file(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"keys": 1}')
    with pytest.raises(ConfigurationError, match="not an igtoken key file"):
        keyring_from_file(bad)
