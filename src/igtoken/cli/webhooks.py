"""``igtoken webhooks``: the outbound deliveries (list, redeliver) and a new signing secret."""

from __future__ import annotations

from typing import Any

import click

from igtoken.cli._context import AppContext, json_option, pass_ctx

_STATUSES = ("pending", "delivered", "failed")


@click.group("webhooks")
def webhooks() -> None:
    """Outbound webhooks (Standard Webhooks): what was sent, what is waiting, send again.

    Receivers are IGTOKEN_WEBHOOK_URLS; requests are signed with IGTOKEN_WEBHOOK_SECRET
    (several, space-separated, while rotating). See docs/webhooks.md.
    """


def _shape(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "webhook_id": record.payload.get("id"),
        "event_type": record.event_type,
        "endpoint": record.url,
        "status": str(record.status),
        "attempts": record.attempts,
        "created_at": record.created_at,
        "next_attempt_at": record.next_attempt_at if str(record.status) == "pending" else None,
        "delivered_at": record.delivered_at,
        "last_error": record.last_error,
        "account_id": record.payload.get("data", {}).get("account_id"),
    }


@webhooks.command("list")
@click.option("--status", type=click.Choice(_STATUSES), default=None, help="Only deliveries in this state.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="Most recent N.")
@json_option
@pass_ctx
def list_(app: AppContext, status: str | None, limit: int) -> None:
    """Deliveries, newest first: event, endpoint, state, attempts and the last error.

    \b
    Examples:
      igtoken webhooks list
      igtoken webhooks list --status failed --json | jq -r '.deliveries[].id'
    """
    from igtoken.cli._output import print_json, print_table
    from igtoken.vault import WebhookStatus

    records = app.vault.webhooks.list_all(status=WebhookStatus(status) if status else None, limit=limit)
    shaped = [_shape(r) for r in records]
    if app.json:
        print_json({"deliveries": shaped})
        return
    if not shaped:
        click.echo("No webhook deliveries yet." if status is None else f"No {status} deliveries.")
        return
    rows = [
        (
            d["id"],
            d["event_type"],
            d["status"] + (f" (next {d['next_attempt_at']:%m-%d %H:%M})" if d["next_attempt_at"] else ""),
            d["attempts"],
            f"{d['created_at']:%Y-%m-%d %H:%M}",
            d["last_error"] or "",
        )
        for d in shaped
    ]
    print_table(
        ("Delivery", "Event", "Status", "Attempts", "Created (UTC)", "Last error"),
        rows,
        optional=("Last error", "Created (UTC)"),
    )


@webhooks.command("redeliver")
@click.argument("delivery_id", metavar="ID")
@json_option
@pass_ctx
def redeliver(app: AppContext, delivery_id: str) -> None:
    """Send delivery ID again (a failed one too), with the same payload and webhook-id.

    ID is a delivery id from `igtoken webhooks list` (a unique prefix will do). The
    worker sends it on its next pass; the retry schedule starts afresh.
    """
    from igtoken.cli._output import print_json
    from igtoken.core.exceptions import NotFoundError

    vault = app.vault
    full = delivery_id
    if len(delivery_id) < 36:
        matches = [r.id for r in vault.webhooks.list_all(limit=10_000) if r.id.startswith(delivery_id)]
        if len(matches) > 1:
            raise click.UsageError(f"{delivery_id!r} matches {len(matches)} deliveries; give more of the id")
        if not matches:
            raise NotFoundError(
                f"no webhook delivery {delivery_id!r}", fix="list them with: igtoken webhooks list"
            )
        full = matches[0]
    record = vault.webhooks.redeliver(full, now=app.now())
    if app.json:
        print_json({"delivery": _shape(record)})
        return
    click.echo(f"Delivery {record.id} ({record.event_type} to {record.url}) queued again.")
    click.echo("A running worker sends it on its next pass; or now: igtoken worker --until-idle")


@webhooks.command("secret")
def secret() -> None:
    """Print a new whsec_ signing secret (for IGTOKEN_WEBHOOK_SECRET and your receivers)."""
    from igtoken.notify import generate_secret

    click.echo(generate_secret().reveal())


__all__ = ["webhooks"]
