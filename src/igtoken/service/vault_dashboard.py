"""The dashboard's seams over the vault: :class:`VaultDashboard` is DashboardData and DashboardActions."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import anyio.to_thread

from igtoken.core.exceptions import ConflictError
from igtoken.core.models import FlowKind, TokenKind
from igtoken.service.views import (
    AccountDetail,
    AccountRow,
    AppChoice,
    DeletionRequestRow,
    EventRow,
    ExpiryBucket,
    LinkRow,
    MetaUsage,
    NewLink,
)

if TYPE_CHECKING:
    from igtoken.service.wiring import ServiceWiring
    from igtoken.vault import AccountRecord, ConnectLinkRecord, EventRecord, TokenInfo

#: The newest this many events are shown on an account's page.
EVENTS_SHOWN = 200


def link_status(link: ConnectLinkRecord, now: datetime) -> str:
    """``revoked``, ``used`` (no use left), ``expired`` or ``active``."""
    return link.status(now)


def _event_detail(event: EventRecord) -> str:
    # Event data never holds a token; show the plain fields, leave ids of tokens out.
    parts = [
        f"{k}: {_shown(v)}" for k, v in sorted(event.data.items()) if k != "token_id" and v not in (None, "")
    ]
    return ", ".join(parts)


def _shown(value: object) -> str:
    # A person reads this page: Python's True/False would read as code.
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class VaultDashboard:
    """What the dashboard reads and does, answered by the vault."""

    def __init__(self, wiring: ServiceWiring) -> None:
        self._w = wiring
        self._vault = wiring.vault

    async def _usage(self, account_ids: list[str] | None = None) -> dict[str, MetaUsage | None]:
        """The last Meta usage recorded per account (see ``service.usage_record.UsageRecorder``)."""
        records = await anyio.to_thread.run_sync(self._vault.sync.usage.latest, account_ids)
        return {a: MetaUsage.from_figures(r.figures, r.observed_at) for a, r in records.items()}

    async def _app_names(self) -> dict[str, str]:
        return {app.id: app.name for app in await self._vault.list_apps()}

    async def _current(self, account: AccountRecord) -> TokenInfo | None:
        """The token the account is served: its page token for Facebook Login, else the current one."""
        for info in await self._vault.token_history(account.id, account.served_kind):
            if info.is_current:
                return info
        return None

    async def _user_token(self, account: AccountRecord) -> TokenInfo | None:
        """A Facebook Login account's user token (the one its page token came from)."""
        if not account.via_facebook:
            return None
        for info in await self._vault.token_history(account.id, TokenKind.FB_USER):
            if info.is_current:
                return info
        return None

    async def list_accounts(self) -> list[AccountRow]:
        """Every account, oldest first."""
        names = await self._app_names()
        usage = await self._usage()
        rows = []
        for account in await self._vault.list_accounts():
            token = await self._current(account)
            rows.append(
                AccountRow(
                    id=account.id,
                    username=account.username or "(deleted)",
                    account_type=str(account.account_type or "—"),
                    status=str(account.status),
                    app_name=names.get(account.app_id, account.app_id),
                    expires_at=token.expires_at if token else None,
                    next_refresh_at=token.next_refresh_at if token else None,
                    last_error=(token.last_error if token else None) or account.status_reason,
                    token_kind=str(token.kind) if token else None,
                    page_name=account.page_name,
                    meta_usage=usage.get(account.id),
                )
            )
        return rows

    async def account(self, account_id: str) -> AccountDetail:
        """One account's details and current token metadata."""
        account: AccountRecord = await self._vault.get_account(account_id)
        names = await self._app_names()
        token = await self._current(account)
        user_token = await self._user_token(account)
        return AccountDetail(
            id=account.id,
            username=account.username or "(deleted)",
            account_type=str(account.account_type or "—"),
            status=str(account.status),
            app_name=names.get(account.app_id, account.app_id),
            ig_user_id=account.ig_user_id or "",
            scopes=account.scopes,
            token_kind=str(token.kind) if token else None,
            issued_at=token.issued_at if token else None,
            expires_at=token.expires_at if token else None,
            last_refreshed_at=token.last_refreshed_at if token else None,
            next_refresh_at=token.next_refresh_at if token else None,
            failure_count=token.failure_count if token else 0,
            last_error=(token.last_error if token else None) or account.status_reason,
            page_id=account.page_id,
            page_name=account.page_name,
            user_token_expires_at=user_token.expires_at if user_token else None,
            data_access_expires_at=account.data_access_expires_at,
            meta_usage=(await self._usage([account.id])).get(account.id),
        )

    async def events(self, account_id: str) -> list[EventRow]:
        """The account's newest events, newest first."""
        await self._vault.get_account(account_id)  # an unknown id is a 404, not an empty page
        records = await self._vault.events(account_id=account_id, limit=100_000)
        return [
            EventRow(at=e.at, kind=e.type, detail=_event_detail(e)) for e in reversed(records[-EVENTS_SHOWN:])
        ]

    async def apps(self) -> list[AppChoice]:
        """Every app: connect links serve Instagram Login and Facebook Login apps alike."""
        return [
            AppChoice(
                id=app.id,
                name=f"{app.name} (Facebook Login)" if app.flow_kind is FlowKind.FACEBOOK_LOGIN else app.name,
            )
            for app in await self._vault.list_apps()
        ]

    async def links(self) -> list[LinkRow]:
        """Connect and re-authorization links, newest first; their URLs are never shown again."""
        names = await self._app_names()
        now = self._w.clock()
        return [
            LinkRow(
                id=link.id,
                app_name=names.get(link.app_id, link.app_id),
                label=link.label or "",
                status=link_status(link, now),
                created_at=link.created_at,
                expires_at=link.expires_at,
                url_hint="re-authorization" if link.account_id else "",
                account_id=link.account_id,
                uses=link.uses,
                max_uses=link.max_uses,
            )
            for link in await self._vault.links.list_all()
        ]

    async def deletion_requests(self) -> list[DeletionRequestRow]:
        """Data deletion requests, newest first."""
        return [
            DeletionRequestRow(
                confirmation_code=r.confirmation_code,
                status=str(r.status),
                requested_at=r.created_at,
                account_id=r.account_id,
                completed_at=r.completed_at,
            )
            for r in await self._vault.deletions.list_all()
        ]

    async def expiry_histogram(self) -> list[ExpiryBucket]:
        """Current tokens expiring per day."""
        days: Counter[datetime] = Counter()
        for account in await self._vault.list_accounts():
            token = await self._current(account)
            if token is not None and token.expires_at is not None:
                day = token.expires_at.replace(hour=0, minute=0, second=0, microsecond=0)
                days[day] += 1
        return [ExpiryBucket(day=day.date(), count=n) for day, n in sorted(days.items())]

    # -- actions -------------------------------------------------------------------------------

    async def refresh_now(self, account_id: str) -> str:
        """Refresh the token now (a Facebook page token is checked with Meta instead)."""
        stored = await self._w.refresh(account_id)
        if stored.token.kind is TokenKind.FB_PAGE:
            return "Page token checked: Meta accepts it; it never expires."
        expires = stored.token.expires_at
        return "Token refreshed" + (f"; valid until {expires:%Y-%m-%d %H:%M} UTC." if expires else ".")

    async def create_reauth_link(self, account_id: str) -> LinkRow:
        """A re-authorization link for the account, shown once."""
        link_id, url = await self._w.create_reauth_link(account_id)
        link = await self._vault.links.get_by_id(link_id)
        names = await self._app_names()
        return LinkRow(
            id=link.id,
            app_name=names.get(link.app_id, link.app_id),
            label=link.label or "",
            status="active",
            created_at=link.created_at,
            expires_at=link.expires_at,
            url=url,
            account_id=account_id,
        )

    async def disconnect(self, account_id: str) -> str:
        """Destroy the account's tokens and mark it deauthorized."""
        await self._vault.mark_deauthorized(
            account_id, now=self._w.clock(), reason="disconnected from the dashboard"
        )
        return "Disconnected: the account's tokens were destroyed."

    async def create_link(self, new: NewLink) -> LinkRow:
        """A connect link for one app, shown once."""
        app = await self._vault.get_app(new.app_id)
        self._w.client_config(app)  # refuse now, not when the person clicks: wrong flow or redirect URI
        now = self._w.clock()
        link, code = await self._vault.links.create(
            app.id,
            now=now,
            expires_at=now + timedelta(hours=new.expires_in_hours),
            scopes=app.default_scopes,
            label=new.label or None,
            max_uses=new.max_uses,
        )
        return LinkRow(
            id=link.id,
            app_name=app.name,
            label=link.label or "",
            status="active",
            created_at=link.created_at,
            expires_at=link.expires_at,
            url=self._w.link_url(code),
            max_uses=link.max_uses,
        )

    async def revoke_link(self, link_id: str) -> str:
        """Withdraw a link: its page says so (410) and flows started through it cannot finish."""
        try:
            await self._vault.links.revoke(link_id, now=self._w.clock())
        except ConflictError as exc:
            return f"Nothing to revoke: {exc.message}."
        return "Link revoked."
