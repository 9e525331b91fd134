"""The vault's tables as SQLAlchemy 2 typed models.

Conventions: our own primary keys are UUID strings made in Python (so a
row's id is known before it is written, and can go into the associated data
that binds a ciphertext to it); Meta's ids are strings; every datetime is
timezone-aware UTC (:class:`UTCDateTime` puts the zone back on SQLite).
No column ever holds a token or a secret in clear: only ``nonce`` +
``ciphertext`` + ``key_id`` triples.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Account",
    "AccountUsage",
    "ApiKey",
    "App",
    "AppSecret",
    "Base",
    "ConnectLink",
    "DeletionRequest",
    "Event",
    "OAuthState",
    "ProxyThrottle",
    "RateBucket",
    "RevokedSession",
    "SeenSignedRequest",
    "Token",
    "UTCDateTime",
    "WebhookDelivery",
]

#: Stable constraint names, so migrations can name what they drop on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database; naive datetimes are refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalize to UTC; SQLite gets it without a zone (it stores text)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the vault; pass a timezone-aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Always hand back an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_ID = sa.String(36)
_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base with the vault's naming convention and type map."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: sa.JSON(),
        list[str]: sa.JSON(),
    }


class App(Base):
    """A Meta app igtoken acts for. Its secrets live, sealed, in :class:`AppSecret`."""

    __tablename__ = "apps"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    flow_kind: Mapped[str] = mapped_column(sa.String(32))
    instagram_app_id: Mapped[str] = mapped_column(sa.String(64))
    meta_app_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: Facebook Login for Business: the configuration the dialog is opened with (instead of scopes).
    config_id: Mapped[str | None] = mapped_column(sa.String(32))
    redirect_uris: Mapped[list[str]]
    default_scopes: Mapped[list[str]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AppSecret(Base):
    """A sealed app secret (``purpose`` is ``instagram`` or ``meta``)."""

    __tablename__ = "app_secrets"

    app_id: Mapped[str] = mapped_column(_ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    purpose: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    key_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    nonce: Mapped[bytes] = mapped_column(sa.LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(sa.LargeBinary)
    updated_at: Mapped[datetime]


class Account(Base):
    """One connected Instagram professional account of one app.

    An account connected through Facebook Login also names the Page it hangs
    off (``page_id``, ``page_name``), the Facebook user who connected it
    (``fb_user_id``, app-scoped: what Meta's deauthorize callback names) and
    when that person's data access lapses (``data_access_expires_at``).

    After a data deletion the row stays as a tombstone (status ``deleted``)
    with every personal field emptied, so events keep a stable reference.
    """

    __tablename__ = "accounts"
    __table_args__ = (sa.UniqueConstraint("app_id", "ig_user_id"),)

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    app_id: Mapped[str] = mapped_column(_ID, sa.ForeignKey("apps.id", ondelete="RESTRICT"), index=True)
    ig_user_id: Mapped[str | None] = mapped_column(sa.String(64))
    app_scoped_id: Mapped[str | None] = mapped_column(sa.String(64))
    username: Mapped[str | None] = mapped_column(sa.String(100))
    account_type: Mapped[str | None] = mapped_column(sa.String(32))
    scopes: Mapped[list[str]]
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    status_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    page_id: Mapped[str | None] = mapped_column(sa.String(64))
    page_name: Mapped[str | None] = mapped_column(sa.String(200))
    fb_user_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    data_access_expires_at: Mapped[datetime | None]
    #: The integrating platform's own id for this account (its customer), from the connect link.
    external_id: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    #: The label of the connect link the account came through.
    label: Mapped[str | None] = mapped_column(sa.String(200))


class Token(Base):
    """A sealed token of an account. At most one current row per (account, kind).

    Refreshing writes a new row and retires the old one (``is_current`` off,
    ``retired_at`` set) in one transaction; the partial unique index
    ``uq_tokens_current`` makes two current rows impossible on both databases.
    """

    __tablename__ = "tokens"
    __table_args__ = (
        sa.Index(
            "uq_tokens_current",
            "account_id",
            "kind",
            unique=True,
            sqlite_where=sa.text("is_current = 1"),
            postgresql_where=sa.text("is_current"),
        ),
        sa.Index(
            "ix_tokens_due",
            "next_refresh_at",
            sqlite_where=sa.text("is_current = 1"),
            postgresql_where=sa.text("is_current"),
        ),
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(_ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    key_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    nonce: Mapped[bytes] = mapped_column(sa.LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(sa.LargeBinary)
    scopes: Mapped[list[str]]
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    last_refreshed_at: Mapped[datetime | None]
    next_refresh_at: Mapped[datetime | None]
    failure_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    is_current: Mapped[bool] = mapped_column(sa.Boolean)
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(sa.String(128))
    lease_expires_at: Mapped[datetime | None]


class Event(Base):
    """An append-only audit record. Never holds a token or a secret."""

    __tablename__ = "events"
    __table_args__ = (
        sa.Index("ix_events_account_id_id", "account_id", "id"),
        sa.Index("ix_events_type_id", "type", "id"),
    )

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    # Not indexed (0008): every token read appends an event, and no query filters on ``at`` alone.
    at: Mapped[datetime]
    type: Mapped[str] = mapped_column(sa.String(32))
    # No foreign keys: the audit trail outlives what it talks about.
    app_id: Mapped[str | None] = mapped_column(_ID)
    account_id: Mapped[str | None] = mapped_column(_ID)
    data: Mapped[dict[str, Any]]


class ConnectLink(Base):
    """A link that lets someone connect (or re-authorize) an account; only its hash is kept.

    ``max_uses`` is how many completed connections it allows (``None``: any number);
    ``uses`` counts them, and ``used_at`` / ``used_by_account_id`` name the latest.
    A revoked link (``revoked_at``) completes nothing, not even flows already started.
    """

    __tablename__ = "connect_links"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    app_id: Mapped[str] = mapped_column(_ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str | None] = mapped_column(_ID, sa.ForeignKey("accounts.id", ondelete="SET NULL"))
    scopes: Mapped[list[str]]
    label: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_account_id: Mapped[str | None] = mapped_column(_ID)
    max_uses: Mapped[int | None] = mapped_column(sa.Integer)
    uses: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    revoked_at: Mapped[datetime | None]
    #: Given to every account connected through the link (the platform's customer id).
    external_id: Mapped[str | None] = mapped_column(sa.String(200))
    #: Where the success page sends the person (303), with the account id and external id appended.
    redirect_url: Mapped[str | None] = mapped_column(sa.String(2048))


class SeenSignedRequest(Base):
    """A Meta ``signed_request`` already acted on (its SHA-256), kept while it would still verify.

    The primary key makes "first one wins" a database fact, so every service instance
    sharing the vault refuses the same replay.
    """

    __tablename__ = "seen_signed_requests"

    digest: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class RevokedSession(Base):
    """A dashboard session ended server-side (its id's SHA-256), kept while its cookie could still be valid.

    Every service instance sharing the vault refuses a copied cookie after sign-out.
    """

    __tablename__ = "revoked_sessions"

    digest: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    revoked_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ProxyThrottle(Base):
    """Until when Meta throttles an account: the Graph proxy answers 429 itself until then.

    In the database so that every service instance holds back, not only the one Meta answered.
    """

    __tablename__ = "proxy_throttles"

    account_id: Mapped[str] = mapped_column(_ID, primary_key=True)
    until: Mapped[datetime] = mapped_column(index=True)


class AccountUsage(Base):
    """The last usage figures Meta reported for an account (percent by kind), for the dashboard."""

    __tablename__ = "account_usage"

    account_id: Mapped[str] = mapped_column(
        _ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    figures: Mapped[dict[str, Any]]
    observed_at: Mapped[datetime]


class RateBucket(Base):
    """A token bucket of the service's shared rate limits (sign-in attempts per client address)."""

    __tablename__ = "rate_buckets"

    group: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    client: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    tokens: Mapped[float] = mapped_column(sa.Float)
    updated: Mapped[datetime] = mapped_column(index=True)


class OAuthState(Base):
    """An OAuth ``state`` we sent: single use, expiring, stored hashed."""

    __tablename__ = "oauth_states"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    state_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    app_id: Mapped[str] = mapped_column(_ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    link_id: Mapped[str | None] = mapped_column(_ID, sa.ForeignKey("connect_links.id", ondelete="CASCADE"))
    account_id: Mapped[str | None] = mapped_column(_ID, sa.ForeignKey("accounts.id", ondelete="SET NULL"))
    redirect_uri: Mapped[str] = mapped_column(sa.Text)
    scopes: Mapped[list[str]]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]


class ApiKey(Base):
    """A service API key: SHA-256 of the key is stored, the prefix is shown to humans."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    prefix: Mapped[str] = mapped_column(sa.String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    #: ``None`` means every account; otherwise the account ids this key may read.
    account_ids: Mapped[list[str] | None] = mapped_column(sa.JSON)
    #: What the key may do (``tokens:read``, ``graph``, …); ``None``: everything (keys made before 0006).
    capabilities: Mapped[list[str] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class DeletionRequest(Base):
    """A data-deletion request (Meta's callback or our own), tracked by confirmation code."""

    __tablename__ = "deletion_requests"

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    confirmation_code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    app_id: Mapped[str | None] = mapped_column(_ID, sa.ForeignKey("apps.id", ondelete="SET NULL"))
    account_id: Mapped[str | None] = mapped_column(_ID, sa.ForeignKey("accounts.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(sa.String(16))
    detail: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One outbound notification to deliver, with its attempts and lease."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(_ID, primary_key=True)
    event_type: Mapped[str] = mapped_column(sa.String(32))
    event_id: Mapped[int | None] = mapped_column(_BIGINT)
    url: Mapped[str] = mapped_column(sa.Text)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(sa.String(16))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(sa.String(128))
    lease_expires_at: Mapped[datetime | None]
