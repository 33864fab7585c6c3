"""contracts_svc's pure rules: who sees a card, what a route state means on the card,
register numbers, the statutory-document check and the missing-documents letter."""

from __future__ import annotations

import io
from datetime import date

import pytest
from docx import Document

from contracts_svc import domain, letters
from contracts_svc.service import load_routes
from services.auth import Identity
from tests.unit.workflow.fakes import Driver

ROUTES = {route.id: route for route in load_routes()}
CARD = domain.CardAccess(
    created_by="ivan", curator_id="ivan", department_id="sales", participants=["lena"]
)


def person(user_id: str, *roles: str, department: str | None = None) -> Identity:
    return Identity(
        user_id=user_id, username=user_id, roles=frozenset(roles), department_id=department
    )


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        (person("ivan"), True),  # the author
        (person("olga", department="sales"), True),  # the same department
        (person("lena", department="legal"), True),  # had a task on it
        (person("dmitry", "director", department="board"), True),
        (person("oleg", "office_manager", department="office"), True),
        (person("julia", "junior_accountant", department="accounting"), False),
        (person("petr", "curator", department="it"), False),
    ],
)
def test_who_sees_a_contract(who: Identity, sees: bool) -> None:
    assert domain.may_view(who, CARD) is sees


def test_only_the_author_the_curator_or_an_administrator_edit() -> None:
    assert domain.may_edit(person("ivan"), CARD)
    assert domain.may_edit(person("root", "admin"), CARD)
    assert not domain.may_edit(person("olga", department="sales"), CARD)
    assert not domain.may_edit(person("dmitry", "director"), CARD)


def test_the_card_status_follows_the_route_to_the_end() -> None:
    run = Driver(ROUTES["contract_approval"], card={"curator_id": "ivan"})
    assert domain.status_of(run.instance) == "in_approval"
    for approver in ("olga", "pavel", "lena", "fedor", "anna", "dmitry"):
        run.decide(approver)
    assert domain.status_of(run.instance) == "signing"
    run.decide("rita", "complete", outputs={"signed_scan": "0b6f3c1e-5d7a-4c55-9d8e-2f1f0c9b7a11"})
    assert domain.status_of(run.instance) == "registration"
    assert domain.completed_outputs(run.instance, "register") is None
    run.decide("oleg", "complete")
    assert domain.completed_outputs(run.instance, "register") == {}
    assert domain.status_of(run.instance) == "awaiting_original"
    run.decide("oleg", "complete", outputs={"storage_place": "Шкаф 3"})
    assert domain.status_of(run.instance) == "completed"
    assert domain.completed_outputs(run.instance, "original") == {"storage_place": "Шкаф 3"}
    assert set(domain.participants_of(run.instance, ["ivan"])) >= {"ivan", "olga", "lena", "oleg"}


def test_a_return_and_a_rejection_show_on_the_card() -> None:
    run = Driver(ROUTES["contract_approval_parallel"])
    run.decide("olga")
    run.decide("pavel")
    assert run.open_steps() == ["finance", "legal"]
    run.decide("lena", "return", comment="нет доверенности", reason_code="missing_documents")
    assert domain.status_of(run.instance) == "returned"
    other = Driver(ROUTES["contract_approval"])
    other.decide("olga", "reject", comment="не нужен")
    assert domain.status_of(other.instance) == "rejected"


def test_register_numbers_are_per_year_and_zero_padded() -> None:
    assert domain.register_number("Д", 2026, 7) == "Д-2026-0007"
    assert domain.register_number("Д", 2027, 12345) == "Д-2027-12345"


CHECK = {
    "checklist": [
        {"doc_type": "charter", "title": "Устав", "status": "present", "expires_on": None},
        {
            "doc_type": "egrul_extract",
            "title": "Выписка из ЕГРЮЛ",
            "status": "expired",
            "expires_on": "2026-10-01",
        },
        {
            "doc_type": "director_appointment",
            "title": "Решение о назначении руководителя",
            "status": "missing",
            "expires_on": None,
        },
    ]
}


def test_missing_and_expired_documents_block_with_one_line_each() -> None:
    problems = domain.blocking_documents(CHECK)
    assert [p["doc_type"] for p in problems] == ["egrul_extract", "director_appointment"]
    errors = domain.document_errors(problems)
    assert errors[0]["loc"] == ["counterparty", "documents", "egrul_extract"]
    assert "истёк 2026-10-01" in errors[0]["msg"] and errors[1]["type"] == "missing"
    assert domain.blocking_documents({"checklist": CHECK["checklist"][:1]}) == []


def letter() -> letters.LetterData:
    return letters.LetterData(
        counterparty={
            "full_name": "ООО «Ромашка» <script>",
            "contacts": [{"name": "Иванов И.И.", "position": "Генеральный директор"}],
        },
        contract={"number": "15/2026-П", "subject": "Поставка текстиля"},
        curator={"full_name": "Татьяна Иванова", "position": "Менеджер", "email": "t@x.ru"},
        company="ООО «Гостиница Северная»",
        lines=domain.blocking_documents(CHECK),
        today=date(2026, 11, 23),
    )


def test_the_letter_lists_what_is_missing_in_every_format() -> None:
    text = letters.render_text(letter())
    assert "1. Выписка из ЕГРЮЛ — срок действия истёк 2026-10-01" in text
    assert "2. Решение о назначении руководителя" in text
    assert "Устав" not in text and "23.11.2026" in text and "№ 15/2026-П" in text
    html = letters.render_html(letter())
    assert "&lt;script&gt;" in html and "<script>" not in html  # names are escaped
    assert html.count("<li>") == 2
    paragraphs = [p.text for p in Document(io.BytesIO(letters.render_docx(letter()))).paragraphs]
    assert "Решение о назначении руководителя" in paragraphs
    assert any("Татьяна Иванова" in p for p in paragraphs)
