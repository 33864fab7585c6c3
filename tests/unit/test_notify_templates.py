"""Notification texts rendered from notify_svc/templates (Russian, plain, tolerant)."""

from __future__ import annotations

from typing import Any

import pytest

from notify_svc.rendering import (
    absolute_link,
    card_label,
    context_for,
    format_moment,
    format_money,
    render,
)
from services.schemas.notify import KINDS, Kind

CARD = {
    "process": "contract",
    "card_id": "7f1d2c3b-0000-4000-8000-000000000001",
    "title": "Договор Д-2026-0001 с ООО «Ромашка»",
    "link": "/contracts/7f1d2c3b-0000-4000-8000-000000000001",
}
NAMES = {"u1": "Ирина Петрова", "u2": "Павел Лебедев", "u3": "Ольга Морозова"}


def ctx(reason: str = "assignee", **data: Any) -> dict[str, Any]:
    return context_for(
        {**CARD, **data},
        reason=reason,
        names=NAMES,
        recipient_id="u1",
        public_url="https://docflow.example.ru/",
        tz="Europe/Moscow",
    )


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_a_title_and_a_body_with_the_card_and_its_link(kind: Kind) -> None:
    text = render(kind, ctx())
    assert CARD["title"] in text.title
    assert "\n" not in text.title
    assert text.body.startswith("Здравствуйте, Ирина Петрова!")
    assert "https://docflow.example.ru/contracts/7f1d2c3b" in text.body
    assert "\n\n" not in text.body  # skipped sentences leave no blank lines
    assert text.telegram_text() == f"{text.title}\n\n{text.body}"


def test_an_assignment_says_deadline_deputy_and_resubmission() -> None:
    text = render(
        "assignment",
        ctx(
            kind="approval",
            assignee_id="u1",
            on_behalf_of="u2",
            due_at="2026-11-25T15:00:00+00:00",
            resubmitted=True,
        ),
    )
    assert text.title == "Повторно на согласование: Договор Д-2026-0001 с ООО «Ромашка»"
    assert "Документ доработан и направлен повторно." in text.body
    assert "Вы действуете за: Павел Лебедев (замещение)." in text.body
    assert "Срок: 25.11.2026 18:00." in text.body  # Moscow time


def test_a_plain_task_without_deadline_has_no_deadline_line() -> None:
    text = render("assignment", ctx(kind="task"))
    assert text.title.startswith("Новая задача: ")
    assert "Вам назначена задача: " in text.body
    assert "Срок" not in text.body


def test_an_escalation_reads_differently_for_the_target_and_the_assignee() -> None:
    to_target = render("escalation", ctx("escalated_to", assignee_id="u3"))
    assert to_target.title.startswith("Эскалация: ")
    assert "Исполнитель: Ольга Морозова." in to_target.body
    to_assignee = render("escalation", ctx("assignee", assignee_id="u1"))
    assert to_assignee.title.startswith("Задача передана руководителю: ")


def test_a_return_quotes_the_comment_and_who_returned() -> None:
    text = render("return", ctx(actor_id="u2", comment="Нет подписи"))
    assert "Комментарий: Нет подписи" in text.body
    assert "Вернул(а): Павел Лебедев." in text.body


def test_payment_and_letter_texts() -> None:
    paid = render("paid", ctx(amount="1234567.5", currency="RUB"))
    assert "Сумма: 1\u00a0234\u00a0567,50 RUB." in paid.body
    letter = render("letter", ctx(direction="outgoing", number="ИСХ-7"))
    assert letter.title.startswith("Зарегистрировано письмо № ИСХ-7: ")
    assert "Зарегистрировано исходящее письмо № ИСХ-7" in letter.body


def test_a_request_for_documents_tells_the_initiator_what_is_needed() -> None:
    text = render("documents", ctx(comment="Счёт с печатью поставщика"))
    assert text.title.startswith("Запрошены документы: ")
    assert "Что нужно: Счёт с печатью поставщика" in text.body


def test_unknown_and_missing_fields_do_not_break_a_text() -> None:
    data = {"process": "payment_request", "request_id": "abcdef0123", "extra": [1, 2]}
    text = render(
        "paid",
        context_for(data, reason="initiator", names={}, recipient_id="x", public_url="", tz="UTC"),
    )
    assert text.title == "Оплачено: Заявка на оплату abcdef01"
    assert text.body.startswith("Здравствуйте!")
    assert "Открыть карточку" not in text.body


def test_formatting_helpers() -> None:
    assert format_moment("2026-01-01T00:30:00+00:00") == "01.01.2026 03:30"
    assert format_moment("not a time") == "not a time"
    assert format_money("10") == "10,00"
    assert format_money("oops") == "oops"
    assert card_label({"process": "incoming_letter", "letter_id": "12345678-9"}) == (
        "Входящее письмо 12345678"
    )
    assert absolute_link("https://a.ru", "/x/1") == "https://a.ru/x/1"
    assert absolute_link("https://a.ru", "https://b.ru/y") == "https://b.ru/y"
    assert absolute_link("https://a.ru", None) is None
