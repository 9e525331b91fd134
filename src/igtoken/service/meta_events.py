"""What happens to a verified webhook event from Meta: recorded in the vault, relayed as ``meta.event``.

The route (:mod:`igtoken.service.routes.meta_webhooks`) has already checked the signature and
knows which Meta app signed; here the event becomes a ``meta_event`` audit event (on the app,
and on each account an entry names) and one outbound ``meta.event`` delivery per configured
receiver. The deliveries are queued in the vault like every other webhook, so the worker sends
them and retries them, and nothing is lost if the process stops after Meta got its 200.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import anyio.to_thread

from igtoken.service.interfaces import WebhookEvent, WebhookHandler

if TYPE_CHECKING:
    from igtoken.app.runtime import Runtime
    from igtoken.vault import AppRecord

log = logging.getLogger("igtoken.service.webhooks")

#: The audit event type of a received Meta event.
META_EVENT: Final = "meta_event"
#: What Meta puts beside ``id``/``time`` in an entry: field changes, or Messenger-style messages.
_ENTRY_PAYLOADS: Final = ("changes", "messaging")


@dataclass(frozen=True, slots=True)
class ParsedEvent:
    """The parts of Meta's ``{"object": …, "entry": [...]}`` that igtoken relays."""

    object: str
    entry_ids: tuple[str, ...]
    entries: tuple[dict[str, Any], ...]


def parse_payload(payload: Mapping[str, Any]) -> ParsedEvent:
    """Meta's payload, checked; :class:`ValueError` names what is wrong with a malformed one."""
    kind = payload.get("object")
    if not isinstance(kind, str) or not kind:
        raise ValueError("the event has no 'object' (Meta sends 'instagram' or 'page')")
    raw_entries = payload.get("entry")
    if not isinstance(raw_entries, list):
        raise ValueError("the event has no 'entry' list")
    ids: list[str] = []
    entries: list[dict[str, Any]] = []
    for position, entry in enumerate(raw_entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str | int):
            raise ValueError(f"entry {position} is not an object with an 'id'")
        ids.append(str(entry["id"]))
        # Only what Meta documents is relayed: an unknown key cannot smuggle anything along.
        kept: dict[str, Any] = {"id": str(entry["id"])}
        if isinstance(entry.get("time"), int | float):
            kept["time"] = entry["time"]
        for key in _ENTRY_PAYLOADS:
            if isinstance(entry.get(key), list):
                kept[key] = entry[key]
        entries.append(kept)
    return ParsedEvent(kind, tuple(ids), tuple(entries))


def _app_for(apps: Sequence[AppRecord], meta_app_id: str) -> AppRecord | None:
    for app in apps:
        if meta_app_id in (app.instagram_app_id, app.meta_app_id):
            return app
    return None


def meta_event_handler(runtime: Runtime, clock: Callable[[], datetime]) -> WebhookHandler:
    """The service's handler for Meta's events, over ``runtime``'s vault and webhook settings."""
    from igtoken.app.refresh_wiring import webhook_endpoints
    from igtoken.notify import Notifier, WebhookEventType
    from igtoken.refresh.deliveries import VaultDeliveryLog

    notifier = Notifier(
        webhook_endpoints(runtime.settings), VaultDeliveryLog(runtime.vault, owner="meta-webhooks")
    )

    def record(event: WebhookEvent) -> None:
        try:
            parsed = parse_payload(event.payload)
        except ValueError as exc:
            # Signed by the app, so Meta sent it: record what arrived rather than make Meta retry forever.
            log.warning("a Meta event had an unexpected shape: %s", exc, extra={"app_id": event.app_id})
            parsed = ParsedEvent(str(event.payload.get("object") or "unknown"), (), ())
        vault = runtime.vault
        app = _app_for(vault.list_apps(), event.app_id)
        app_id = app.id if app is not None else None
        account_ids: list[str] = []
        if app is not None and parsed.entry_ids:
            # An entry names an Instagram account (object "instagram") or a Facebook Page ("page").
            named: dict[str, str] = {}
            for account in vault.list_accounts(app=app.id):
                for meta_id in (account.ig_user_id, account.page_id):
                    if meta_id:
                        named.setdefault(meta_id, account.id)
            account_ids = list(dict.fromkeys(named[e] for e in parsed.entry_ids if e in named))
        summary = {"meta_app_id": event.app_id, "object": parsed.object, "entry_ids": list(parsed.entry_ids)}
        vault.append_event(META_EVENT, now=event.received_at, app_id=app_id, data=summary)
        for account_id in account_ids:
            vault.append_event(
                META_EVENT, now=event.received_at, app_id=app_id, account_id=account_id, data=summary
            )
        notifier.notify(
            WebhookEventType.META_EVENT,
            {
                "app_id": app_id,
                "meta_app_id": event.app_id,
                "object": parsed.object,
                "entry_ids": list(parsed.entry_ids),
                "account_ids": account_ids,
                "entries": list(parsed.entries),
            },
            clock(),
        )

    async def handle(event: WebhookEvent) -> None:
        await anyio.to_thread.run_sync(record, event)

    return handle
