"""Scheduled permission audits: each app's scopes that no stored account's use needs, as a signed event.

What an account's use needs is what its app requests at login (its default scopes, or the
product's default when none are set: ``instagram_business_basic`` for Instagram Login) — the
same rule as ``igtoken audit-permissions``. A scope granted to any of an app's stored accounts
beyond that is unused: one Meta's app review will ask about, and one a leaked token would expose.

:class:`PermissionAuditor` runs the audit when it is due (weekly by default,
``IGTOKEN_PERMISSION_AUDIT_DAYS``), appends a ``permissions_audited`` vault event holding the
whole report (what the dashboard shows as "last audit"), and for each app with unused scopes
queues a signed ``permissions.unused`` webhook through the installation's notifier, with the fix.
The schedule lives in the vault (the last ``permissions_audited`` event), so restarts and several
service instances do not audit more often than asked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from igtoken.core.models import FlowKind

if TYPE_CHECKING:
    from igtoken.notify import Notifier
    from igtoken.vault import AccountRecord, AppRecord, Vault

__all__ = ["AUDIT_EVENT", "AppAudit", "AuditReport", "PermissionAuditor", "audit_apps", "last_audit"]

log = logging.getLogger("igtoken.permission_audit")

#: The vault event each audit appends (its data is :meth:`AuditReport.as_json`).
AUDIT_EVENT: Final = "permissions_audited"
#: How often the background task asks whether an audit is due.
CHECK_INTERVAL: Final = 3600.0


@dataclass(frozen=True, slots=True)
class AppAudit:
    """One app: what it requests, what its stored accounts were granted beyond that, and the fix."""

    app_id: str
    app_name: str
    requested: tuple[str, ...]
    unused: tuple[str, ...]
    accounts: int
    fix: str

    def as_json(self) -> dict[str, Any]:
        """The documented JSON shape (also the vault event's)."""
        return {
            "app_id": self.app_id,
            "app_name": self.app_name,
            "requested": list(self.requested),
            "unused": list(self.unused),
            "accounts": self.accounts,
            "fix": self.fix,
        }


@dataclass(frozen=True, slots=True)
class AuditReport:
    """When the audit ran and what it found, app by app."""

    at: datetime
    apps: tuple[AppAudit, ...]

    def as_json(self) -> dict[str, Any]:
        """The documented JSON shape."""
        return {"at": self.at.isoformat(), "apps": [a.as_json() for a in self.apps]}

    @classmethod
    def from_json(cls, at: datetime, data: dict[str, Any]) -> AuditReport:
        """The report stored in a ``permissions_audited`` event."""
        apps = tuple(
            AppAudit(
                str(a.get("app_id", "")),
                str(a.get("app_name", "")),
                tuple(a.get("requested", ())),
                tuple(a.get("unused", ())),
                int(a.get("accounts", 0)),
                str(a.get("fix", "")),
            )
            for a in data.get("apps", ())
        )
        return cls(at, apps)


def _requested(app: AppRecord) -> tuple[str, ...]:
    from igtoken.facebook.scopes import DEFAULT_FACEBOOK_SCOPES
    from igtoken.instagram.scopes import DEFAULT_SCOPES

    if app.default_scopes:
        return tuple(app.default_scopes)
    return tuple(DEFAULT_FACEBOOK_SCOPES if app.flow_kind is FlowKind.FACEBOOK_LOGIN else DEFAULT_SCOPES)


def audit_apps(apps: Iterable[AppRecord], accounts: Iterable[AccountRecord]) -> list[AppAudit]:
    """Each app's scopes granted to its stored (not deleted) accounts that what it requests does not need."""
    by_app: dict[str, list[AccountRecord]] = {}
    for account in accounts:
        if str(account.status) != "deleted":
            by_app.setdefault(account.app_id, []).append(account)
    out: list[AppAudit] = []
    for app in apps:
        requested = _requested(app)
        stored = by_app.get(app.id, [])
        granted = {s for a in stored for s in a.scopes}
        unused = tuple(sorted(granted - set(requested)))
        fix = ""
        if unused:
            fix = (
                f"re-authorize the accounts of {app.name!r} (igtoken login --app {app.name}, or a "
                f"connect link) so they are granted only {', '.join(requested)}; drop "
                f"{', '.join(unused)} from the app in Meta's App Dashboard "
                "(App Review > Permissions and features)"
            )
        out.append(AppAudit(app.id, app.name, requested, unused, len(stored), fix))
    return out


def last_audit(vault: Vault, *, now: datetime, within: timedelta = timedelta(days=400)) -> AuditReport | None:
    """The most recent audit (from the vault's events) within ``within`` of ``now``, if any."""
    events = vault.events(types=[AUDIT_EVENT], since=now - within, limit=1000)
    if not events:
        return None
    last = events[-1]
    return AuditReport.from_json(last.at, dict(last.data))


class PermissionAuditor:
    """Runs the audit every ``every`` (from the last one recorded in the vault) and reports it.

    ``every`` of zero turns the schedule off (:meth:`run_if_due` never runs it).
    """

    def __init__(self, vault: Vault, notifier: Notifier, *, every: timedelta = timedelta(days=7)) -> None:
        self.vault = vault
        self.notifier = notifier
        self.every = every

    def due(self, now: datetime) -> bool:
        """Whether an audit is due at ``now``."""
        if self.every <= timedelta(0):
            return False
        last = last_audit(self.vault, now=now, within=self.every * 3)
        return last is None or now - last.at >= self.every

    def run(self, now: datetime) -> AuditReport:
        """Audit now: record the report in the vault and queue ``permissions.unused`` per app that has any."""
        from igtoken.notify import WebhookEventType

        report = AuditReport(now, tuple(audit_apps(self.vault.list_apps(), self.vault.list_accounts())))
        self.vault.append_event(AUDIT_EVENT, now=now, data=report.as_json())
        for app in report.apps:
            if not app.unused:
                continue
            self.notifier.notify(
                WebhookEventType.PERMISSIONS_UNUSED,
                {
                    "app_id": app.app_id,
                    "app_name": app.app_name,
                    "scopes": " ".join(app.unused),
                    "accounts": app.accounts,
                    "fix": app.fix,
                },
                now,
            )
            log.warning(
                "permission audit: app %r holds scopes no account's use needs: %s",
                app.app_name,
                ", ".join(app.unused),
                extra={"app_id": app.app_id},
            )
        return report

    def run_if_due(self, now: datetime) -> AuditReport | None:
        """Run the audit if it is due; the report, or ``None``."""
        return self.run(now) if self.due(now) else None


def auditor_task(
    auditor: PermissionAuditor,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    interval: float = CHECK_INTERVAL,
) -> Callable[[], Any]:
    """A background task: every ``interval`` seconds, run the audit if due (off the event loop)."""

    async def audit() -> None:
        from igtoken.core.exceptions import StorageError

        while True:
            try:
                await asyncio.to_thread(auditor.run_if_due, clock())
            except StorageError as exc:
                log.warning(
                    "permission audit failed; next check in %s s", interval, extra={"error": exc.message}
                )
            await asyncio.sleep(interval)

    return audit


def build_auditor(runtime: Any, *, owner: str = "permission-audit") -> PermissionAuditor:
    """The auditor over ``runtime``'s vault; its events are queued for the installation's webhooks.

    The notifier only queues: the refresh worker's delivery loop sends (and signs) them.
    """
    from igtoken.app.refresh_wiring import webhook_endpoints
    from igtoken.notify import Notifier
    from igtoken.refresh.deliveries import VaultDeliveryLog

    settings = runtime.settings
    notifier = Notifier(webhook_endpoints(settings), VaultDeliveryLog(runtime.vault, owner=owner))
    return PermissionAuditor(runtime.vault, notifier, every=timedelta(days=settings.permission_audit_days))
