"""Notification texts: Jinja2 templates per kind (``notify_svc/templates/<kind>.j2``).

Each template has two blocks, ``title`` (the e-mail subject, the inbox headline,
the first line in Telegram) and ``body``. Texts are plain (no HTML): the same
words go to every channel, and nothing needs escaping for Telegram.

Templates are lenient with missing values (an event without ``due_at`` simply
has no deadline line) because events are additive and producers evolve
independently; blank lines left by skipped sentences are removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, Undefined

from services.schemas.notify import Kind

PROCESS_LABELS = {
    "contract": "Договор",
    "payment_request": "Заявка на оплату",
    "payment_registry": "Реестр платежей",
    "incoming_letter": "Входящее письмо",
    "outgoing_letter": "Исходящее письмо",
}
TASK_KIND_LABELS = {"approval": "согласование", "task": "задача", "subtask": "подзадача"}


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str

    def telegram_text(self) -> str:
        return f"{self.title}\n\n{self.body}"


def format_moment(value: Any, tz: str = "Europe/Moscow") -> str:
    """``2026-11-25T15:00:00+00:00`` -> ``25.11.2026 18:00`` (the company's time zone)."""
    if isinstance(value, str):
        text: str = value
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return text
    if not isinstance(value, datetime) or value.tzinfo is None:
        return "" if value is None or isinstance(value, Undefined) else str(value)
    return value.astimezone(ZoneInfo(tz)).strftime("%d.%m.%Y %H:%M")


def format_money(value: Any) -> str:
    """``"1234567.5"`` -> ``1 234 567,50`` (no-break spaces group thousands)."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    whole, _, cents = f"{amount:,.2f}".partition(".")
    return whole.replace(",", "\u00a0") + "," + cents


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("notify_svc", "templates"),
        autoescape=False,  # plain text on every channel
        keep_trailing_newline=False,
    )
    env.filters["money"] = format_money
    return env


ENV = _environment()


def _clean(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def render(kind: Kind, context: Mapping[str, Any]) -> Rendered:
    template = ENV.get_template(f"{kind}.j2")
    ctx = template.new_context(dict(context))
    title = _clean("".join(template.blocks["title"](ctx)))
    body = _clean("".join(template.blocks["body"](ctx)))
    return Rendered(title=" ".join(title.splitlines()), body=body)


def card_label(data: Mapping[str, Any]) -> str:
    """The card's human label: the producer's ``title``, else process and a short id."""
    title = data.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    process = str(data.get("process") or "")
    label = PROCESS_LABELS.get(process, "Карточка")
    card = data.get("card_id") or data.get("request_id") or data.get("letter_id")
    return f"{label} {str(card)[:8]}" if card else label


def absolute_link(public_url: str, link: Any) -> str | None:
    if not isinstance(link, str) or not link:
        return None
    if link.startswith(("http://", "https://")):
        return link
    return public_url.rstrip("/") + "/" + link.lstrip("/")


def context_for(
    data: Mapping[str, Any],
    *,
    reason: str,
    names: Mapping[str, str],
    recipient_id: str,
    public_url: str,
    tz: str,
) -> dict[str, Any]:
    """Everything a template may use; ``names`` maps user ids to full names."""

    def name(field: str) -> str | None:
        value = data.get(field)
        return names.get(str(value)) if value else None

    return {
        "card": card_label(data),
        "process_label": PROCESS_LABELS.get(str(data.get("process") or ""), ""),
        "url": absolute_link(public_url, data.get("link")),
        "recipient_name": names.get(recipient_id),
        "reason": reason,
        "task_kind": data.get("kind"),
        "task_kind_label": TASK_KIND_LABELS.get(str(data.get("kind") or ""), "задача"),
        "due": format_moment(data.get("due_at"), tz) if data.get("due_at") else None,
        "resubmitted": bool(data.get("resubmitted")),
        "assignee_name": name("assignee_id"),
        "on_behalf_of_name": name("on_behalf_of"),
        "actor_name": name("actor_id"),
        "comment": data.get("comment"),
        "amount": data.get("amount"),
        "currency": data.get("currency") or "",
        "direction": data.get("direction"),
        "number": data.get("number"),
        "round": data.get("round"),
    }
