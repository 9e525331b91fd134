"""No re-encoding of a processed signed_request is accepted: both segments are decoded strictly and the
replay record is keyed on the canonical spelling (issue 13)."""

from __future__ import annotations

import base64
import json

import pytest

from igtoken.emulator import demo

from .conftest import Wired
from .test_wired_service import connect, event_count, payload_for, post_signed, sign

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _segment_variants(segment: str) -> dict[str, str]:
    """Other spellings of the same bytes: padding, the standard alphabet, other unused low bits."""
    out: dict[str, str] = {}
    pad = -len(segment) % 4
    if pad:
        out["padding"] = segment + "=" * pad
        out["padding, standard alphabet"] = segment.replace("-", "+").replace("_", "/") + "=" * pad
    if "-" in segment or "_" in segment:
        out["standard alphabet"] = segment.replace("-", "+").replace("_", "/")
    unused = {2: 4, 3: 2}.get(len(segment) % 4, 0)
    last = ALPHABET.index(segment[-1])
    for n, low in enumerate(v for v in range(1, 2**unused) if v != last & (2**unused - 1)):
        out[f"unused bits {n}"] = segment[:-1] + ALPHABET[(last & ~(2**unused - 1)) | low]
    return out


def reencodings(signed: str) -> dict[str, str]:
    """Every other spelling of ``signed`` a lenient decoder would take for the same request."""
    signature, payload = signed.split(".")
    out = {f"signature {k}": f"{v}.{payload}" for k, v in _segment_variants(signature).items()}
    out |= {f"payload {k}": f"{signature}.{v}" for k, v in _segment_variants(payload).items()}
    both = _segment_variants(signature).get("padding", signature)
    out["both padded"] = f"{both}.{_segment_variants(payload).get('padding', payload)}"
    out["leading space"] = f" {signed}"
    out["trailing newline"] = f"{signed}\n"
    return out


def decode(segment: str) -> bytes:
    """What a lenient decoder makes of a segment (the old behaviour)."""
    segment = segment.strip().rstrip("=").replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def awkward_signed(w: Wired, account_id: str) -> str:
    """A signed_request whose signature uses '-' or '_' and whose segments both have unused bits."""
    for nonce in range(1000):
        signed = sign(payload_for(w, account_id, nonce=nonce), demo.DEMO_IG_APP_SECRET)
        signature, payload = signed.split(".")
        if ("-" in signature or "_" in signature) and len(payload) % 4 in (2, 3):
            return signed
    raise AssertionError("no awkward signed_request found")


def test_the_variants_are_the_same_request() -> None:
    """Sanity: each variant decodes (leniently) to the original bytes, and there are many kinds."""
    signed = "ab-_cd." + base64.urlsafe_b64encode(json.dumps({"a": 1}).encode()).rstrip(b"=").decode()
    variants = reencodings(signed)
    assert len(variants) >= 10
    for name, variant in variants.items():
        assert variant != signed
        for mine, theirs in zip(variant.split("."), signed.split("."), strict=True):
            assert decode(mine) == decode(theirs), name


@pytest.mark.parametrize("path", ["/meta/deauthorize", "/meta/data-deletion"])
async def test_no_reencoding_of_a_processed_request_is_accepted(wired, path):
    account_id = await connect(wired)
    signed = awkward_signed(wired, account_id)
    first = await post_signed(wired, path, signed)
    assert first.status_code == 200, first.text
    before = event_count(wired)
    deletions = len(wired.vault.deletions.list_all())
    variants = reencodings(signed)
    assert len(variants) >= 12
    accepted = {}
    for name, variant in variants.items():
        answer = await post_signed(wired, path, variant)
        if answer.status_code not in (400, 409):
            accepted[name] = answer.status_code
    assert accepted == {}
    assert event_count(wired) == before
    assert len(wired.vault.deletions.list_all()) == deletions
    assert (await post_signed(wired, path, signed)).status_code == 409


async def test_a_fresh_request_in_canonical_form_is_still_accepted(wired):
    """Strictness refuses no request Meta would send: unpadded, URL-safe, canonical."""
    account_id = await connect(wired)
    signed = awkward_signed(wired, account_id)
    answer = await post_signed(wired, "/meta/deauthorize", signed)
    assert answer.status_code == 200 and answer.json()["account"] == account_id
