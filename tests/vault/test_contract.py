"""The vault's contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from igtoken._exceptions import (
    ConfigurationError,
    ConflictError,
    DecryptionError,
    MissingKeyError,
    NotFoundError,
)
from igtoken._models import TokenKind
from igtoken._secret import Secret
from igtoken.vault import AccountRecord, AccountStatus, EventType, KeyRing, Vault
from igtoken.vault.models import Account, Event, Token

from .conftest import T0, make_keyring, profile, token

Connect = Callable[..., str]


def test_app_roundtrip_keeps_secret_sealed(vault: Vault, app_name: str) -> None:
    """An app comes back with its secret as a Secret; the name is unique."""
    app = vault.get_app(app_name)
    assert app.app_secret == Secret("app-secret-0f9e8d7c6b5a")
    assert app.redirect_uris == ("https://example.test/callback",)
    assert vault.get_app(app.id).name == "shop"
    assert [a.name for a in vault.list_apps()] == ["shop"]
    with pytest.raises(ConflictError):
        vault.add_app("shop", instagram_app_id="1", app_secret=Secret("x"), redirect_uris=[], now=T0)
    with pytest.raises(NotFoundError):
        vault.get_app("nope")


def test_add_app_rejects_bad_input(vault: Vault) -> None:
    """Empty names, ids and secrets are refused with a specific error."""
    with pytest.raises(ConfigurationError, match="name"):
        vault.add_app(" ", instagram_app_id="1", app_secret=Secret("s"), redirect_uris=[], now=T0)
    with pytest.raises(ConfigurationError, match="secret"):
        vault.add_app("a", instagram_app_id="1", app_secret=Secret(""), redirect_uris=[], now=T0)
    with pytest.raises(ConfigurationError, match="redirect"):
        vault.add_app("a", instagram_app_id="1", app_secret=Secret("s"), redirect_uris="https://x", now=T0)


def test_save_login_then_current_token(vault: Vault, connect: Connect) -> None:
    """A stored login gives back the same token, the account, and a connected event."""
    account_id = connect("IGAAtoken-alice-1", next_refresh_at=T0 + timedelta(days=30))
    stored = vault.current_token(account_id)
    assert stored.token.value == Secret("IGAAtoken-alice-1")
    assert stored.token.kind is TokenKind.IG_LONG
    assert stored.token.issued_at == T0
    assert stored.token.expires_at == T0 + timedelta(days=60)
    assert stored.token.user_id == "17841400000000001"
    assert stored.next_refresh_at == T0 + timedelta(days=30)
    assert stored.account_status is AccountStatus.ACTIVE
    acct = vault.get_account(account_id)
    assert (acct.username, acct.status) == ("alice.shop", AccountStatus.ACTIVE)
    assert [e.type for e in vault.events(account_id=account_id)] == ["connected"]


def test_relogin_rotates_token_and_reactivates(vault: Vault, connect: Connect, app_name: str) -> None:
    """Logging in again keeps one account, retires the old token, and leaves exactly one current."""
    account_id = connect("IGAAtoken-1")
    vault.mark_needs_reauth(account_id, "code 190", now=T0)
    again = vault.save_login(app_name, profile(), token("IGAAtoken-2"), now=T0 + timedelta(hours=1))
    assert again.id == account_id
    assert again.status is AccountStatus.ACTIVE
    assert vault.current_token(account_id).token.value == Secret("IGAAtoken-2")
    history = vault.token_history(account_id)
    assert [h.is_current for h in history] == [True, False]
    assert history[1].retired_at == T0 + timedelta(hours=1)
    assert len(vault.list_accounts()) == 1


def test_current_token_by_kind_and_missing(vault: Vault, connect: Connect) -> None:
    """Tokens of several kinds live side by side; asking for an absent kind is NotFoundError."""
    account_id = connect()
    vault.store_token(account_id, token("EAAGpage", kind=TokenKind.FB_PAGE), now=T0)
    assert vault.current_token(account_id, TokenKind.FB_PAGE).token.value == Secret("EAAGpage")
    assert vault.current_token(account_id, TokenKind.IG_LONG).token.kind is TokenKind.IG_LONG
    with pytest.raises(NotFoundError):
        vault.current_token(account_id, TokenKind.FB_USER)
    with pytest.raises(NotFoundError):
        vault.current_token("no-such-account")


def test_token_read_event_when_asked(vault: Vault, connect: Connect) -> None:
    """current_token(record_read=True) appends a token_read event naming the reader, without the token."""
    account_id = connect("IGAAsecret-read")
    vault.current_token(account_id)
    vault.current_token(account_id, record_read=True, now=T0, reader="api-key:igt_1234")
    reads = vault.events(account_id=account_id, types=[EventType.TOKEN_READ])
    assert len(reads) == 1
    assert reads[0].data["reader"] == "api-key:igt_1234"
    assert "IGAAsecret-read" not in repr(reads[0])


def test_serve_token_reads_and_records_in_one_call(vault: Vault, connect: Connect) -> None:
    """serve_token returns the account and what current_token returns, and the token_read event is stored."""
    account_id = connect("IGAAsecret-serve")
    account, stored = vault.serve_token(account_id, now=T0, reader="igt_1234")
    assert account.id == account_id and account.status is AccountStatus.ACTIVE
    assert stored == vault.current_token(account_id, account.served_kind)
    [read] = vault.events(account_id=account_id, types=[EventType.TOKEN_READ])
    assert read.data == {"token_id": stored.token_id, "reader": "igt_1234"}
    assert read.at == T0 and read.app_id == stored.app_id
    assert "IGAAsecret-serve" not in repr(read)


def test_serve_token_refusals_record_nothing(vault: Vault, connect: Connect) -> None:
    """An unknown account, or a check that raises, records no read; the check sees the account."""
    account_id = connect("IGAAsecret-refused")
    seen = []

    def refuse(account: AccountRecord) -> None:
        seen.append(account.id)
        raise ConflictError("not today")

    with pytest.raises(ConflictError, match="not today"):
        vault.serve_token(account_id, now=T0, reader="igt_1", check=refuse)
    with pytest.raises(NotFoundError, match="no account"):
        vault.serve_token("no-such-account", now=T0, reader="igt_1")
    with pytest.raises(ValueError, match="timezone"):
        vault.serve_token(account_id, now=T0.replace(tzinfo=None), reader="igt_1")
    assert seen == [account_id]
    assert vault.events(types=[EventType.TOKEN_READ]) == []


def test_list_accounts_filters(vault: Vault, connect: Connect) -> None:
    """Accounts are listed with their status and filtered by status and app."""
    a = connect("t-a", user_id="1001")
    b = connect("t-b", user_id="1002")
    vault.mark_needs_reauth(b, "190", now=T0)
    assert {x.id for x in vault.list_accounts()} == {a, b}
    assert [x.id for x in vault.list_accounts(status=AccountStatus.NEEDS_REAUTH)] == [b]
    assert [x.id for x in vault.list_accounts(status="active", app="shop")] == [a]
    with pytest.raises(NotFoundError):
        vault.list_accounts(app="other")


def test_claim_due_leases_and_skips_leased(vault: Vault, connect: Connect) -> None:
    """Due tokens are leased once; a held lease hides them; an expired one frees them."""
    due = connect("t-due", user_id="2001", next_refresh_at=T0)
    connect("t-later", user_id="2002", next_refresh_at=T0 + timedelta(days=1))
    claims = vault.claim_due(now=T0, owner="w1", lease_seconds=60)
    assert [c.account_id for c in claims] == [due]
    assert claims[0].token.value == Secret("t-due")
    assert vault.claim_due(now=T0 + timedelta(seconds=30), owner="w2") == []
    again = vault.claim_due(now=T0 + timedelta(seconds=61), owner="w2")
    assert [c.owner for c in again] == ["w2"]


def test_claim_skips_accounts_not_active(vault: Vault, connect: Connect) -> None:
    """Accounts needing re-authorization are never claimed for refresh."""
    account_id = connect(next_refresh_at=T0)
    vault.mark_needs_reauth(account_id, "190", now=T0)
    assert vault.claim_due(now=T0, owner="w") == []


def test_refresh_success_swaps_tokens_atomically(vault: Vault, connect: Connect) -> None:
    """A refresh writes the new token, retires the old, clears the lease and logs an event."""
    account_id = connect("t-old", next_refresh_at=T0)
    (claim,) = vault.claim_due(now=T0, owner="w1")
    later = T0 + timedelta(minutes=1)
    new_id = vault.record_refresh_success(
        claim, token("t-new", at=later), now=later, next_refresh_at=later + timedelta(days=30)
    )
    stored = vault.current_token(account_id)
    assert (stored.token_id, stored.token.value) == (new_id, Secret("t-new"))
    assert stored.last_refreshed_at == later
    assert stored.failure_count == 0
    assert [h.is_current for h in vault.token_history(account_id)] == [True, False]
    assert vault.claim_due(now=later, owner="w2") == []
    assert "refreshed" in [e.type for e in vault.events(account_id=account_id)]


def test_lost_lease_conflicts_and_writes_nothing(vault: Vault, connect: Connect) -> None:
    """When another worker took over an expired lease, the first worker's result is refused."""
    account_id = connect("t-old", next_refresh_at=T0)
    (mine,) = vault.claim_due(now=T0, owner="w1", lease_seconds=10)
    (theirs,) = vault.claim_due(now=T0 + timedelta(seconds=11), owner="w2", lease_seconds=10)
    with pytest.raises(ConflictError):
        vault.record_refresh_success(
            mine, token("t-late"), now=T0 + timedelta(seconds=12), next_refresh_at=None
        )
    with pytest.raises(ConflictError):
        vault.extend_lease(mine, now=T0 + timedelta(seconds=12))
    assert vault.current_token(account_id).token.value == Secret("t-old")
    assert len(vault.token_history(account_id)) == 1
    vault.record_refresh_success(theirs, token("t-w2"), now=T0 + timedelta(seconds=13), next_refresh_at=None)
    assert vault.current_token(account_id).token.value == Secret("t-w2")


def test_needs_reauth_with_a_lost_lease_conflicts_and_changes_nothing(vault: Vault, connect: Connect) -> None:
    """A holder whose lease was taken over (and whose token was refreshed meanwhile) cannot mark the
    account needs_reauth; the holder that still has the lease can, and its lease is released."""
    account_id = connect("t-old", next_refresh_at=T0)
    (mine,) = vault.claim_due(now=T0, owner="w1", lease_seconds=10)
    theirs = vault.claim_account(account_id, now=T0 + timedelta(seconds=11), owner="w2")
    vault.record_refresh_success(
        theirs, token("t-new"), now=T0 + timedelta(seconds=12), next_refresh_at=None, details={"trigger": "t"}
    )
    with pytest.raises(ConflictError):
        vault.mark_needs_reauth(
            account_id, "190 on the old token", now=T0 + timedelta(seconds=13), claim=mine
        )
    assert vault.get_account(account_id).status == "active"
    assert vault.events(account_id=account_id, types=["needs_reauth"]) == []
    (refreshed,) = vault.events(account_id=account_id, types=["refreshed"])
    assert refreshed.data["trigger"] == "t"
    current = vault.claim_account(account_id, now=T0 + timedelta(seconds=14), owner="w3")
    vault.mark_needs_reauth(account_id, "190", now=T0 + timedelta(seconds=15), claim=current)
    assert vault.get_account(account_id).status == "needs_reauth"
    assert vault.claim_account(account_id, now=T0 + timedelta(seconds=16), owner="w4").owner == "w4"


def test_expired_lease_of_own_claim_conflicts(vault: Vault, connect: Connect) -> None:
    """A result recorded after the lease ran out is refused, even if no one else claimed it."""
    account_id = connect("t-old", next_refresh_at=T0)
    (claim,) = vault.claim_due(now=T0, owner="w1", lease_seconds=10)
    with pytest.raises(ConflictError):
        vault.record_refresh_failure(claim, "boom", now=T0 + timedelta(seconds=11), next_attempt_at=None)
    assert vault.current_token(account_id).failure_count == 0


def test_extend_and_release(vault: Vault, connect: Connect) -> None:
    """Extending keeps a slow refresh's lease; releasing makes the token claimable again."""
    connect(next_refresh_at=T0)
    (claim,) = vault.claim_due(now=T0, owner="w1", lease_seconds=10)
    claim = vault.extend_lease(claim, now=T0 + timedelta(seconds=5), lease_seconds=60)
    assert claim.lease_expires_at == T0 + timedelta(seconds=65)
    assert vault.claim_due(now=T0 + timedelta(seconds=20), owner="w2") == []
    assert vault.release(claim) is True
    assert vault.release(claim) is False
    assert len(vault.claim_due(now=T0 + timedelta(seconds=21), owner="w2")) == 1


def test_refresh_failure_counts_and_reschedules(vault: Vault, connect: Connect) -> None:
    """A failed refresh bumps the count, keeps the error, reschedules, and keeps the old token."""
    account_id = connect("t-old", next_refresh_at=T0)
    (claim,) = vault.claim_due(now=T0, owner="w1")
    retry_at = T0 + timedelta(hours=1)
    assert vault.record_refresh_failure(claim, "TransientError: 500", now=T0, next_attempt_at=retry_at) == 1
    stored = vault.current_token(account_id)
    assert (stored.failure_count, stored.last_error) == (1, "TransientError: 500")
    assert stored.next_refresh_at == retry_at
    assert stored.token.value == Secret("t-old")
    assert vault.claim_due(now=T0 + timedelta(minutes=59), owner="w") == []
    assert len(vault.claim_due(now=retry_at, owner="w")) == 1


def test_set_next_refresh(vault: Vault, connect: Connect) -> None:
    """Rescheduling moves the current token's due time."""
    account_id = connect(next_refresh_at=None)
    assert vault.set_next_refresh(account_id, T0) == 1
    assert vault.current_token(account_id).next_refresh_at == T0


def test_failed_write_leaves_old_token_current(vault: Vault, connect: Connect) -> None:
    """If the database fails between writing the new token and retiring the old, nothing changes."""
    account_id = connect("t-old", next_refresh_at=T0)
    (claim,) = vault.claim_due(now=T0, owner="w1")

    def fail_on_retire(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE TOKENS SET IS_CURRENT"):
            raise RuntimeError("injected database failure")

    sa.event.listen(vault.engine, "before_cursor_execute", fail_on_retire)
    try:
        with pytest.raises(RuntimeError, match="injected"):
            vault.record_refresh_success(claim, token("t-new"), now=T0, next_refresh_at=None)
    finally:
        sa.event.remove(vault.engine, "before_cursor_execute", fail_on_retire)
    assert vault.current_token(account_id).token.value == Secret("t-old")
    assert len(vault.token_history(account_id)) == 1


def test_two_current_tokens_are_impossible(vault: Vault, connect: Connect) -> None:
    """The partial unique index refuses a second current token of one kind, even behind our back."""
    account_id = connect()
    with vault.engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        row = conn.execute(sa.select(Token).where(Token.account_id == account_id)).one()
        values = {c: getattr(row, c) for c in row._fields}
        values["id"] = "00000000-0000-0000-0000-000000000000"
        conn.execute(sa.insert(Token).values(**values))


def test_needs_reauth_and_deauthorized(vault: Vault, connect: Connect) -> None:
    """needs_reauth keeps the token; deauthorized destroys every token and says so."""
    account_id = connect()
    vault.mark_needs_reauth(account_id, "190/460 password changed", now=T0)
    assert vault.current_token(account_id).account_status is AccountStatus.NEEDS_REAUTH
    vault.mark_deauthorized(account_id, now=T0)
    with pytest.raises(NotFoundError):
        vault.current_token(account_id)
    assert vault.token_history(account_id) == []
    assert vault.get_account(account_id).status is AccountStatus.DEAUTHORIZED
    types = [e.type for e in vault.events(account_id=account_id)]
    assert types[-2:] == ["needs_reauth", "deauthorized"]
    with pytest.raises(NotFoundError):
        vault.mark_deauthorized("missing", now=T0)


def test_delete_account_data_leaves_no_personal_data(vault: Vault, connect: Connect) -> None:
    """Deletion removes tokens and personal fields for good and keeps one event without them."""
    account_id = connect("IGAAdelete-me", user_id="17841499999999999")
    vault.links.create("shop", now=T0, expires_at=T0 + timedelta(days=1), account_id=account_id)
    vault.delete_account_data(account_id, now=T0 + timedelta(days=1), request_id="req-1")
    acct = vault.get_account(account_id)
    assert acct.status is AccountStatus.DELETED
    assert (acct.ig_user_id, acct.username, acct.app_scoped_id, acct.scopes) == (None, None, None, ())
    assert vault.token_history(account_id) == []
    with vault.engine.connect() as conn:
        dump = repr(conn.execute(sa.select(Account)).all()) + repr(conn.execute(sa.select(Event)).all())
        dump += repr(conn.execute(sa.text("SELECT * FROM connect_links")).all())
    assert "17841499999999999" not in dump
    assert "alice.shop" not in dump
    events = vault.events(account_id=account_id)
    assert events[-1].type == "deleted"
    assert events[-1].data == {"tokens_destroyed": 1, "request_id": "req-1"}
    # The same person may connect again later: a fresh account.
    again = connect("IGAAback", user_id="17841499999999999")
    assert again != account_id


def test_remove_app_refuses_with_live_accounts(vault: Vault, connect: Connect) -> None:
    """An app with connected accounts cannot be removed; once they are deleted it can."""
    account_id = connect()
    with pytest.raises(ConflictError):
        vault.remove_app("shop", now=T0)
    vault.delete_account_data(account_id, now=T0)
    vault.remove_app("shop", now=T0)
    assert vault.list_apps() == []


def test_events_append_and_query(vault: Vault) -> None:
    """Events come back in order, filter by type and account, page by id, and refuse secrets."""
    first = vault.append_event("expiring", now=T0, account_id="a1", data={"days_left": 5})
    vault.append_event(EventType.REFRESH_FAILED, now=T0, account_id="a2")
    third = vault.append_event("expiring", now=T0 + timedelta(hours=1), account_id="a1")
    assert [e.id for e in vault.events(account_id="a1")] == [first.id, third.id]
    assert [e.id for e in vault.events(types=["expiring"], after_id=first.id)] == [third.id]
    assert [e.id for e in vault.events(since=T0 + timedelta(minutes=1))] == [third.id]
    assert vault.events(account_id="a1")[0].data == {"days_left": 5}
    with pytest.raises(ValueError, match="secrets"):
        vault.append_event("x", now=T0, data={"token": Secret("nope")})


def test_ciphertext_flip_is_decryption_error(vault: Vault, connect: Connect) -> None:
    """One flipped ciphertext byte in the database gives DecryptionError, not garbage."""
    account_id = connect()
    with vault.engine.begin() as conn:
        ct = conn.scalar(sa.select(Token.ciphertext).where(Token.account_id == account_id))
        assert ct is not None
        flipped = bytes([ct[0] ^ 0x01]) + ct[1:]
        conn.execute(sa.update(Token).where(Token.account_id == account_id).values(ciphertext=flipped))
    with pytest.raises(DecryptionError):
        vault.current_token(account_id)


def test_ciphertext_moved_to_another_row_fails(vault: Vault, connect: Connect) -> None:
    """A ciphertext copied onto another account's row does not decrypt there."""
    a = connect("t-alice", user_id="3001")
    b = connect("t-bob", user_id="3002")
    with vault.engine.begin() as conn:
        src = conn.execute(
            sa.select(Token.key_id, Token.nonce, Token.ciphertext).where(Token.account_id == a)
        ).one()
        conn.execute(
            sa.update(Token)
            .where(Token.account_id == b)
            .values(key_id=src.key_id, nonce=src.nonce, ciphertext=src.ciphertext)
        )
    assert vault.current_token(a).token.value == Secret("t-alice")
    with pytest.raises(DecryptionError):
        vault.current_token(b)


def test_missing_key_names_the_key(vault: Vault, connect: Connect, db_url: str) -> None:
    """A vault without the key a row was sealed with raises MissingKeyError naming that key id."""
    account_id = connect(next_refresh_at=T0)
    stranger = Vault(vault.engine, make_keyring("other"))
    with pytest.raises(MissingKeyError) as info:
        stranger.current_token(account_id)
    assert info.value.key_id == "k1"
    assert "'k1'" in str(info.value)
    with pytest.raises(MissingKeyError):
        stranger.get_app("shop")


def test_unreadable_row_in_claim_is_recorded_not_skipped(vault: Vault, connect: Connect) -> None:
    """A due row under a missing key is not handed out; its failure names the key, in the row and an event."""
    bad = connect("t-bad", user_id="4001", next_refresh_at=T0)
    stranger = Vault(vault.engine, make_keyring("other"))
    assert stranger.claim_due(now=T0, owner="w") == []
    info = vault.token_history(bad)[0]
    assert info.failure_count == 1
    assert info.last_error is not None and "'k1'" in info.last_error
    failed = vault.events(account_id=bad, types=["refresh_failed"])
    assert "'k1'" in failed[0].data["error"]


def test_keys_status_and_rotation(vault: Vault, connect: Connect, keyring: KeyRing) -> None:
    """Rotation moves every token and app secret to the new key; status counts per key."""
    for i in range(7):
        connect(f"t-{i}", user_id=str(5000 + i))
    before = {k.key_id: k for k in vault.keys_status()}
    assert (before["k1"].tokens, before["k1"].app_secrets, before["k1"].active) == (7, 1, True)
    assert before["k2"].rows == 0
    report = vault.rotate_keys(now=T0, target_key_id="k2", batch_size=3)
    assert (report.tokens, report.app_secrets, report.batches) == (7, 1, 4)
    after = {k.key_id: k for k in vault.keys_status()}
    assert after["k1"].rows == 0
    assert after["k2"].tokens == 7
    values = {vault.current_token(a.id).token.value.reveal() for a in vault.list_accounts()}
    assert values == {f"t-{i}" for i in range(7)}
    assert vault.get_app("shop").app_secret == Secret("app-secret-0f9e8d7c6b5a")
    assert vault.events(types=["key_rotated"])[0].data["key_id"] == "k2"


def test_rotation_to_unknown_key_is_refused(vault: Vault) -> None:
    """Rotating to a key the ring does not hold is a configuration error."""
    with pytest.raises(ConfigurationError, match="not configured"):
        vault.rotate_keys(now=T0, target_key_id="k9")


def test_connect_links_single_use(vault: Vault, app_name: str) -> None:
    """A connect link is found by its code, used once, and refused when used or expired."""
    link, code = vault.links.create(app_name, now=T0, expires_at=T0 + timedelta(hours=1), label="for alice")
    assert vault.links.get(code).id == link.id
    assert link.is_usable(T0)
    used = vault.links.use(link.id, now=T0 + timedelta(minutes=1), account_id=None)
    assert used.used_at == T0 + timedelta(minutes=1)
    with pytest.raises(ConflictError):
        vault.links.use(link.id, now=T0 + timedelta(minutes=2))
    late, _ = vault.links.create(app_name, now=T0, expires_at=T0 + timedelta(hours=1))
    with pytest.raises(ConflictError):
        vault.links.use(late.id, now=T0 + timedelta(hours=2))
    with pytest.raises(NotFoundError):
        vault.links.get(Secret("not-a-code"))
    assert {x.id for x in vault.links.list_all()} == {link.id, late.id}


def test_oauth_states_single_use_and_expiring(vault: Vault, app_name: str) -> None:
    """A state is consumed once; reuse is a conflict; expired or unknown ones are not found."""
    rec, state = vault.states.create(
        app_name, redirect_uri="https://example.test/callback", now=T0, expires_at=T0 + timedelta(minutes=10)
    )
    assert vault.states.consume(state, now=T0 + timedelta(minutes=1)).id == rec.id
    with pytest.raises(ConflictError):
        vault.states.consume(state, now=T0 + timedelta(minutes=2))
    _, old = vault.states.create(
        app_name, redirect_uri="https://x.test/cb", now=T0, expires_at=T0 + timedelta(minutes=1)
    )
    with pytest.raises(NotFoundError, match="expired"):
        vault.states.consume(old, now=T0 + timedelta(minutes=5))
    with pytest.raises(NotFoundError, match="unknown"):
        vault.states.consume(Secret("forged"), now=T0)
    assert vault.states.purge(before=T0 + timedelta(hours=1)) == 2


def test_api_keys_hashed_scoped_revocable(vault: Vault) -> None:
    """An API key verifies once created, is scoped, stored only hashed, and stops working when revoked."""
    rec, key = vault.api_keys.create("dashboard", now=T0, account_ids=["acct-1"])
    assert key.reveal().startswith(rec.prefix + "_")
    checked = vault.api_keys.verify(key, now=T0)
    assert checked.allows("acct-1") and not checked.allows("acct-2")
    with vault.engine.connect() as conn:
        assert key.reveal() not in repr(conn.execute(sa.text("SELECT * FROM api_keys")).all())
    vault.api_keys.revoke(rec.prefix, now=T0)
    with pytest.raises(NotFoundError):
        vault.api_keys.verify(key, now=T0)
    with pytest.raises(NotFoundError):
        vault.api_keys.verify(Secret("igt_00000000_guess"), now=T0)
    everyone, _ = vault.api_keys.create("ops", now=T0)
    assert everyone.allows("anything")
    assert {k.name for k in vault.api_keys.list_all()} == {"dashboard", "ops"}


def test_deletion_requests(vault: Vault) -> None:
    """A deletion request is found by confirmation code and moves to completed."""
    req = vault.deletions.create(now=T0)
    assert vault.deletions.get(req.confirmation_code).id == req.id
    done = vault.deletions.update(req.id, req.status.COMPLETED, now=T0 + timedelta(seconds=1))
    assert (done.status.value, done.completed_at) == ("completed", T0 + timedelta(seconds=1))
    with pytest.raises(NotFoundError):
        vault.deletions.get("nope")


def test_webhook_deliveries_lease_and_retry(vault: Vault) -> None:
    """Deliveries are claimed with a lease, retried later on failure, and marked delivered."""
    d = vault.webhooks.enqueue("needs_reauth", "https://hooks.example.test/x", {"account_id": "a"}, now=T0)
    (claimed,) = vault.webhooks.claim(now=T0, owner="w1")
    assert vault.webhooks.claim(now=T0, owner="w2") == []
    retry = vault.webhooks.record_failure(
        d.id, owner="w1", now=T0, error="HTTP 503", next_attempt_at=T0 + timedelta(minutes=5)
    )
    assert (retry.attempts, retry.status.value, retry.last_error) == (1, "pending", "HTTP 503")
    assert vault.webhooks.claim(now=T0 + timedelta(minutes=1), owner="w1") == []
    vault.webhooks.claim(now=T0 + timedelta(minutes=5), owner="w2")
    with pytest.raises(ConflictError):
        vault.webhooks.record_success(d.id, owner="w1", now=T0 + timedelta(minutes=5))
    ok = vault.webhooks.record_success(d.id, owner="w2", now=T0 + timedelta(minutes=5))
    assert (ok.status.value, ok.attempts) == ("delivered", 2)
    assert claimed.id == d.id
