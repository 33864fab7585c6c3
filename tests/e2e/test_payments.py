"""Payment requests and registries through the gateway: the whole route with files,
Paid and its event, a head who requests, refusals that change nothing, one of two
concurrent decisions, smart reminders in simulated time, the Frozen and Documents
requested stages, the registry's route and its bank export, and who sees what."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from counterparty_svc.testing import legal_entity
from payments_svc.bank_export import parse_1c
from services.calendar import BusinessCalendar, WorkingDuration
from services.testing.plugin import count_rows, eventually

pytestmark = pytest.mark.e2e

Headers = Callable[[str], dict[str, str]]
PROBLEM = "application/problem+json"
BASE = "/api/v1/payment-requests"
REGISTRIES = "/api/v1/payment-registries"
CAL = BusinessCalendar()


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    return body


def uid(people: dict[str, Any], username: str) -> str:
    return str(people[username].user_id)


def counterparty(gateway: httpx.Client, token_for: Headers) -> dict[str, Any]:
    return ok(  # type: ignore[no-any-return]
        gateway.post("/api/v1/counterparties", headers=token_for("lawyer"), json=legal_entity()),
        201,
    )


def upload(gateway: httpx.Client, token_for: Headers, user: str, cp_id: str, name: str) -> str:
    answer = gateway.post(
        "/api/v1/files",
        headers=token_for(user),
        data={"counterparty_id": cp_id},
        files={"file": (name, b"%PDF-1.7 " + name.encode(), "application/pdf")},
    )
    return str(ok(answer, 201)["id"])


def new_request(
    gateway: httpx.Client, token_for: Headers, user: str = "manager", **fields: Any
) -> dict[str, Any]:
    cp = fields.pop("cp", None) or counterparty(gateway, token_for)
    body = {
        "counterparty_id": cp["id"],
        "amount": "148500.00",
        "currency": "RUB",
        "cost_item": "Хозяйственные расходы",
        "invoice_file_id": upload(gateway, token_for, user, cp["id"], "счёт-1187.pdf"),
        "invoice_number": "1187",
        **fields,
    }
    answer = gateway.post(BASE, headers=token_for(user), json=body)
    card = ok(answer, 201)
    assert answer.headers["Location"] == f"{BASE}/{card['id']}"
    return card  # type: ignore[no-any-return]


def card(gateway: httpx.Client, token_for: Headers, request_id: str, user: str = "manager") -> Any:
    return ok(gateway.get(f"{BASE}/{request_id}", headers=token_for(user)))


def tasks_on(gateway: httpx.Client, token_for: Headers, user: str, card_id: str) -> list[Any]:
    items = ok(gateway.get("/api/v1/tasks", headers=token_for(user)))["items"]
    return [t for t in items if t["card_id"] == card_id]


def task_of(
    gateway: httpx.Client, token_for: Headers, user: str, card_id: str, kind: str | None = None
) -> dict[str, Any]:
    mine = [t for t in tasks_on(gateway, token_for, user, card_id) if kind in (None, t["kind"])]
    assert len(mine) == 1, (user, mine)
    return mine[0]  # type: ignore[no-any-return]


def decide(
    gateway: httpx.Client, token_for: Headers, user: str, task_id: str, **body: Any
) -> httpx.Response:
    return gateway.post(
        f"/api/v1/tasks/{task_id}/decision",
        headers=token_for(user),
        json={"action": "approve", **body},
    )


def act(
    gateway: httpx.Client, token_for: Headers, user: str, card_id: str, **body: Any
) -> dict[str, Any]:
    task = task_of(gateway, token_for, user, card_id)
    return ok(decide(gateway, token_for, user, task["id"], **body))  # type: ignore[no-any-return]


def timeline(
    gateway: httpx.Client, token_for: Headers, request_id: str, user: str = "manager"
) -> list[dict[str, Any]]:
    return ok(gateway.get(f"{BASE}/{request_id}/timeline", headers=token_for(user)))  # type: ignore[no-any-return]


def outbox(service_db: Callable[[str], Any], event_type: str, key: str, value: str) -> list[Any]:
    with service_db("payments_svc").connect() as conn:
        return [
            row[0]
            for row in conn.execute(
                text(
                    "SELECT payload->'data' FROM outbox WHERE event_type = :t "
                    "AND payload->'data'->>:k = :v ORDER BY id"
                ),
                {"t": event_type, "k": key, "v": value},
            )
        ]


def run_timers(gateway: httpx.Client, token_for: Headers, now: datetime) -> None:
    ok(
        gateway.post(
            "/api/v1/admin/timers/run", headers=token_for("admin"), json={"now": now.isoformat()}
        )
    )


def approved(gateway: httpx.Client, token_for: Headers, **fields: Any) -> dict[str, Any]:
    """A request approved by the department head and finance: waiting for payment."""
    r = new_request(gateway, token_for, **fields)
    act(gateway, token_for, "sales.head", r["id"])
    act(gateway, token_for, "finman", r["id"])
    return card(gateway, token_for, r["id"])  # type: ignore[no-any-return]


# --- the route ---------------------------------------------------------------------------


def test_a_request_goes_through_approval_and_payment_to_paid_and_tells_the_initiator(
    gateway: httpx.Client,
    token_for: Headers,
    people: dict[str, Any],
    service_db: Callable[[str], Any],
) -> None:
    r = new_request(gateway, token_for, due_date=(date.today() + timedelta(days=9)).isoformat())
    assert r["status"] == "in_approval" and r["number"].startswith("ЗО-")
    assert r["responsible"] == [uid(people, "sales.head")]
    assert r["process"]["open_tasks"][0]["step_id"] == "department_head"
    act(gateway, token_for, "sales.head", r["id"])
    assert card(gateway, token_for, r["id"])["responsible"] == [uid(people, "finman")]
    act(gateway, token_for, "finman", r["id"])

    paying = card(gateway, token_for, r["id"])
    assert paying["status"] == "in_payment"
    assert set(paying["responsible"]) == {
        uid(people, "chief.accountant"),
        uid(people, "junior.accountant"),
    }
    main = task_of(gateway, token_for, "chief.accountant", r["id"])
    sub = task_of(gateway, token_for, "junior.accountant", r["id"])
    assert sub["kind"] == "subtask" and sub["outputs"] == {"payment_order_file": "file_id"}
    # The accountants' deadline on the card is the one their tasks carry.
    assert datetime.fromisoformat(main["due_at"]) == datetime.fromisoformat(r["payment_due_at"])
    assert datetime.fromisoformat(sub["due_at"]) == datetime.fromisoformat(r["payment_due_at"])

    # The payment order is required, and must be a file of the archive.
    problem(decide(gateway, token_for, "junior.accountant", sub["id"], action="complete"), 422)
    problem(
        decide(
            gateway,
            token_for,
            "junior.accountant",
            sub["id"],
            action="complete",
            outputs={"payment_order_file": "0b6f3c1e-5d7a-4c55-9d8e-2f1f0c9b7a11"},
        ),
        422,
    )
    order = upload(gateway, token_for, "junior.accountant", r["counterparty_id"], "пп-17.pdf")
    ok(
        decide(
            gateway,
            token_for,
            "junior.accountant",
            sub["id"],
            action="complete",
            outputs={"payment_order_file": order},
        )
    )
    assert card(gateway, token_for, r["id"])["status"] == "in_payment"  # the main task is open
    assert outbox(service_db, "payment.paid", "request_id", r["id"]) == []
    today = date.today().isoformat()
    ok(
        decide(
            gateway,
            token_for,
            "chief.accountant",
            main["id"],
            action="complete",
            outputs={"payment_date": today},
        )
    )

    paid = card(gateway, token_for, r["id"])
    assert paid["status"] == "paid" and paid["responsible"] == []
    assert paid["payment_order_file_id"] == order and paid["payment_date"] == today
    assert paid["paid_at"] is not None
    events = outbox(service_db, "payment.paid", "request_id", r["id"])
    assert len(events) == 1
    assert events[0] == {
        "schema_version": 1,
        "request_id": r["id"],
        "initiator_id": uid(people, "manager"),
        "amount": "148500.00",
        "currency": "RUB",
        "title": f"Заявка на оплату {r['number']}: {r['counterparty_name']}, 148500.00 RUB",
        "link": f"/payment-requests/{r['id']}",
    }
    actions = [e["action"] for e in timeline(gateway, token_for, r["id"])]
    assert actions[0] == "instance.started" and actions[-1] == "instance.completed"


def test_a_department_head_who_requests_goes_straight_to_finance(
    gateway: httpx.Client, token_for: Headers, people: dict[str, Any]
) -> None:
    r = new_request(gateway, token_for, user="sales.head")
    assert r["responsible"] == [uid(people, "finman")]
    assert tasks_on(gateway, token_for, "sales.head", r["id"]) == []
    entries = timeline(gateway, token_for, r["id"], user="sales.head")
    chosen = [e for e in entries if e["action"] == "condition.chosen"]
    assert len(chosen) == 1 and chosen[0]["step_id"] == "head_check"
    # The finance manager works elsewhere, yet must see the invoice to approve it: the
    # task brings a read grant on it; the junior accountant has no task yet, so no read.
    invoice = f"/api/v1/files/{r['invoice_file_id']}"
    assert eventually(lambda: gateway.get(invoice, headers=token_for("finman")).status_code == 200)
    problem(gateway.get(invoice, headers=token_for("junior.accountant")), 404)


def test_a_rejection_needs_a_reason_and_then_stops_the_request(
    gateway: httpx.Client, token_for: Headers, people: dict[str, Any]
) -> None:
    r = new_request(gateway, token_for)
    act(gateway, token_for, "sales.head", r["id"])
    task = task_of(gateway, token_for, "finman", r["id"])
    assert "no_budget" in task["reason_codes"] and "reject" in task["comment_required"]
    before = card(gateway, token_for, r["id"])
    entries = len(timeline(gateway, token_for, r["id"]))
    for body in (
        {"action": "reject"},
        {"action": "reject", "reason_code": "no_budget"},
        {"action": "reject", "comment": "Нет бюджета на декабрь"},
        {"action": "reject", "comment": "Нет", "reason_code": "made_up"},
    ):
        problem(decide(gateway, token_for, "finman", task["id"], **body), 422)
    after = card(gateway, token_for, r["id"])
    assert (after["status"], after["version"], after["process"]["version"]) == (
        before["status"],
        before["version"],
        before["process"]["version"],
    )
    assert len(timeline(gateway, token_for, r["id"])) == entries

    act(
        gateway,
        token_for,
        "finman",
        r["id"],
        action="reject",
        comment="Нет бюджета",
        reason_code="no_budget",
    )
    rejected = card(gateway, token_for, r["id"])
    assert rejected["status"] == "rejected" and rejected["responsible"] == []
    assert (rejected["rejection_reason"], rejected["rejection_comment"]) == (
        "no_budget",
        "Нет бюджета",
    )
    assert tasks_on(gateway, token_for, "chief.accountant", r["id"]) == []
    # After rework a new request replaces it.
    again = new_request(gateway, token_for, replaces_id=r["id"], amount="99000.00")
    assert again["replaces_id"] == r["id"] and again["status"] == "in_approval"


def test_of_two_concurrent_decisions_one_wins_and_the_other_is_409(
    gateway: httpx.Client, token_for: Headers, suite: Any
) -> None:
    r = new_request(gateway, token_for)
    act(gateway, token_for, "sales.head", r["id"])
    task = task_of(gateway, token_for, "finman", r["id"])
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def send(body: dict[str, Any]) -> None:
        with httpx.Client(base_url=suite.gateway_url, timeout=30) as client:
            barrier.wait()
            answer = client.post(
                f"/api/v1/tasks/{task['id']}/decision", headers=token_for("finman"), json=body
            )
            codes.append(answer.status_code)

    threads = [
        threading.Thread(target=send, args=({"action": "approve"},)),
        threading.Thread(
            target=send,
            args=({"action": "reject", "comment": "Дубль", "reason_code": "duplicate"},),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 409]
    decided = [
        e
        for e in timeline(gateway, token_for, r["id"])
        if e["step_id"] == "finance" and e["action"] in ("approve", "reject")
    ]
    assert len(decided) == 1


# --- smart reminders ---------------------------------------------------------------------


def test_a_sitting_approver_is_reminded_after_two_working_days_then_operations_decides(
    gateway: httpx.Client,
    token_for: Headers,
    people: dict[str, Any],
    service_db: Callable[[str], Any],
) -> None:
    r = new_request(gateway, token_for)

    def watch(user: str, step: str) -> None:
        task = task_of(gateway, token_for, user, r["id"])
        assert task["step_id"] == step
        created = datetime.fromisoformat(task["created_at"])
        remind_at = CAL.add(created, WorkingDuration(days=2))
        escalate_at = CAL.add(remind_at, WorkingDuration(minutes=60))
        minute = timedelta(minutes=1)

        def sent(kind: str) -> list[Any]:
            return [e for e in outbox(service_db, kind, "task_id", task["id"].split(":", 1)[1])]

        # A check every 4 working hours until the reminder (4 on ordinary 9-hour days).
        expected_checks, check_at = 0, CAL.add(created, WorkingDuration(minutes=240))
        while check_at < remind_at:
            expected_checks += 1
            check_at = CAL.add(check_at, WorkingDuration(minutes=240))
        run_timers(gateway, token_for, remind_at - minute)
        checks = sent("task.not_started")
        assert len(checks) == expected_checks >= 3
        assert all(c["assignee_id"] == uid(people, user) for c in checks)
        assert sent("task.reminder") == []
        run_timers(gateway, token_for, remind_at)
        assert [e["assignee_id"] for e in sent("task.reminder")] == [uid(people, user)]
        run_timers(gateway, token_for, escalate_at - minute)
        assert sent("task.escalated") == []
        assert tasks_on(gateway, token_for, "ops", r["id"]) == []
        run_timers(gateway, token_for, escalate_at)
        assert [e["escalated_to"] for e in sent("task.escalated")] == [[uid(people, "ops")]]
        # The operations manager now sees the task and decides in the approver's place.
        escalated = task_of(gateway, token_for, "ops", r["id"])
        assert escalated["id"] == task["id"] and escalated["escalated_to"] == [uid(people, "ops")]
        ok(decide(gateway, token_for, "ops", task["id"], comment="Согласую за руководителя"))
        entry = next(
            e
            for e in timeline(gateway, token_for, r["id"])
            if e["action"] == "approve" and e["step_id"] == step
        )
        assert entry["actor_id"] == uid(people, "ops")
        assert entry["on_behalf_of"] == uid(people, user)

    watch("sales.head", "department_head")
    watch("finman", "finance")  # the same 2-day watch on the finance manager
    paying = card(gateway, token_for, r["id"])
    assert paying["status"] == "in_payment"
    # Operations took part: they keep seeing the card.
    assert card(gateway, token_for, r["id"], user="ops")["id"] == r["id"]


# --- stages ------------------------------------------------------------------------------


def test_a_frozen_request_refuses_decisions_and_is_not_nagged_until_unfrozen(
    gateway: httpx.Client,
    token_for: Headers,
    people: dict[str, Any],
    service_db: Callable[[str], Any],
) -> None:
    r = new_request(gateway, token_for)
    task = task_of(gateway, token_for, "sales.head", r["id"])
    url = f"{BASE}/{r['id']}/freeze"
    problem(gateway.post(url, headers=token_for("manager"), json={"comment": "Стоп"}), 403)
    problem(gateway.post(url, headers=token_for("finman"), json={}), 422)
    frozen = ok(gateway.post(url, headers=token_for("finman"), json={"comment": "Ждём бюджет"}))
    assert frozen["status"] == "frozen" and frozen["stage"]["by"] == uid(people, "finman")
    assert frozen["responsible"] == [uid(people, "finman")]
    problem(gateway.post(url, headers=token_for("finman"), json={"comment": "ещё раз"}), 409)

    version = card(gateway, token_for, r["id"])["process"]["version"]
    problem(decide(gateway, token_for, "sales.head", task["id"]), 409)
    assert card(gateway, token_for, r["id"])["process"]["version"] == version

    # A week later nothing was sent about this task: its timers are held.
    short_id = task["id"].split(":", 1)[1]
    run_timers(gateway, token_for, datetime.fromisoformat(task["created_at"]) + timedelta(days=7))
    for kind in ("task.not_started", "task.reminder", "task.overdue", "task.escalated"):
        assert outbox(service_db, kind, "task_id", short_id) == [], kind

    resumed = ok(
        gateway.post(
            f"{BASE}/{r['id']}/unfreeze",
            headers=token_for("finman"),
            json={"comment": "Есть бюджет"},
        )
    )
    assert resumed["status"] == "in_approval" and resumed["stage"] is None
    assert resumed["responsible"] == [uid(people, "sales.head")]
    run_timers(gateway, token_for, datetime.fromisoformat(task["created_at"]) + timedelta(days=14))
    assert len(outbox(service_db, "task.reminder", "task_id", short_id)) == 1
    actions = [(e["source"], e["action"]) for e in timeline(gateway, token_for, r["id"])]
    assert ("card", "frozen") in actions and ("card", "unfrozen") in actions
    act(gateway, token_for, "sales.head", r["id"])
    assert card(gateway, token_for, r["id"])["responsible"] == [uid(people, "finman")]


def test_documents_requested_wait_for_the_initiator_and_then_the_route_resumes(
    gateway: httpx.Client,
    token_for: Headers,
    people: dict[str, Any],
    service_db: Callable[[str], Any],
) -> None:
    r = new_request(gateway, token_for)
    act(gateway, token_for, "sales.head", r["id"])
    task = task_of(gateway, token_for, "finman", r["id"])
    asked = ok(
        gateway.post(
            f"{BASE}/{r['id']}/request-documents",
            headers=token_for("finman"),
            json={"comment": "Приложите акт сверки"},
        )
    )
    assert asked["status"] == "documents_requested"
    assert asked["responsible"] == [uid(people, "manager")]
    [event] = outbox(service_db, "payment_request.documents_requested", "request_id", r["id"])
    assert (
        event["initiator_id"] == uid(people, "manager")
        and event["comment"] == "Приложите акт сверки"
    )

    def told() -> list[dict[str, Any]]:
        inbox = ok(gateway.get("/api/v1/notifications", headers=token_for("manager")))
        return [n for n in inbox["items"] if n["kind"] == "documents" and r["id"] in str(n)]

    assert "Приложите акт сверки" in eventually(told)[0]["body"]
    problem(decide(gateway, token_for, "finman", task["id"]), 409)

    url = f"{BASE}/{r['id']}/documents"
    problem(
        gateway.post(url, headers=token_for("finman"), json={"file_ids": [r["invoice_file_id"]]}),
        403,
    )
    problem(
        gateway.post(
            url,
            headers=token_for("manager"),
            json={"file_ids": ["0b6f3c1e-5d7a-4c55-9d8e-2f1f0c9b7a11"]},
        ),
        422,
    )
    assert card(gateway, token_for, r["id"])["status"] == "documents_requested"
    act_file = upload(gateway, token_for, "manager", r["counterparty_id"], "акт-сверки.pdf")
    back = ok(
        gateway.post(
            url, headers=token_for("manager"), json={"file_ids": [act_file], "comment": "Вот"}
        )
    )
    assert back["status"] == "in_approval" and back["document_file_ids"] == [act_file]
    assert back["responsible"] == [uid(people, "finman")]
    act(gateway, token_for, "finman", r["id"])
    assert card(gateway, token_for, r["id"])["status"] == "in_payment"


# --- the registry ------------------------------------------------------------------------


def test_a_registry_is_approved_along_its_route_composed_and_exported_for_the_bank(
    gateway: httpx.Client, token_for: Headers, people: dict[str, Any]
) -> None:
    cp = counterparty(gateway, token_for)
    first = approved(gateway, token_for, cp=cp, amount="148500.00")
    second = approved(gateway, token_for, amount="0.50")
    dropped = approved(gateway, token_for, amount="1000.00")
    ids = [first["id"], second["id"], dropped["id"]]
    problem(
        gateway.post(REGISTRIES, headers=token_for("manager"), json={"payment_date": "2026-12-04"}),
        403,
    )
    not_approved = new_request(gateway, token_for)
    body = problem(
        gateway.post(
            REGISTRIES,
            headers=token_for("accountant"),
            json={"payment_date": "2026-12-04", "request_ids": [*ids, not_approved["id"]]},
        ),
        422,
    )
    assert [[str(x) for x in e["loc"]] for e in body["errors"]] == [["request_ids", "3"]]

    reg = ok(
        gateway.post(
            REGISTRIES,
            headers=token_for("accountant"),
            json={"payment_date": "2026-12-04", "request_ids": ids},
        ),
        201,
    )
    assert reg["status"] == "draft" and Decimal(reg["total"]) == Decimal("149500.50")
    assert [i["request_id"] for i in reg["items"]] == ids
    assert card(gateway, token_for, first["id"])["registry_id"] == reg["id"]
    # A request is planned in one registry at a time.
    problem(
        gateway.post(
            REGISTRIES,
            headers=token_for("accountant"),
            json={"payment_date": "2026-12-04", "request_ids": [first["id"]]},
        ),
        422,
    )
    export_url = f"{REGISTRIES}/{reg['id']}/export"
    problem(gateway.get(export_url, headers=token_for("accountant")), 409)

    submitted = ok(
        gateway.post(f"{REGISTRIES}/{reg['id']}/submit", headers=token_for("accountant"))
    )
    assert submitted["status"] == "in_approval"
    assert submitted["responsible"] == [uid(people, "chief.accountant")]  # head of accounting
    act(gateway, token_for, "chief.accountant", reg["id"])  # as head of the department
    act(gateway, token_for, "chief.accountant", reg["id"])  # as chief accountant
    composing = ok(gateway.get(f"{REGISTRIES}/{reg['id']}", headers=token_for("findir")))
    assert composing["status"] == "composing"
    compose = f"{REGISTRIES}/{reg['id']}/compose"
    problem(gateway.post(compose, headers=token_for("ceo"), json={"exclude": [dropped["id"]]}), 403)
    problem(gateway.post(compose, headers=token_for("findir"), json={"exclude": ids}), 422)
    composed = ok(
        gateway.post(
            compose,
            headers=token_for("findir"),
            json={"exclude": [dropped["id"]], "comment": "Позже"},
        )
    )
    assert [i["included"] for i in composed["items"]] == [True, True, False]
    assert Decimal(composed["total"]) == Decimal("148500.50")
    assert card(gateway, token_for, dropped["id"])["registry_id"] is None  # free for the next one
    act(gateway, token_for, "findir", reg["id"], action="complete")
    problem(
        gateway.get(export_url, headers=token_for("accountant")), 409
    )  # the CEO has not approved
    act(gateway, token_for, "ceo", reg["id"])
    assert (
        ok(gateway.get(f"{REGISTRIES}/{reg['id']}", headers=token_for("ceo")))["status"]
        == "approved"
    )

    answer = gateway.get(export_url, headers=token_for("accountant"), params={"format": "1c"})
    assert answer.status_code == 200, answer.text
    assert "windows-1251" in answer.headers["content-type"]
    assert "attachment" in answer.headers["content-disposition"]
    parsed = parse_1c(answer.content)
    header = parsed["header"]
    assert header["ВерсияФормата"] == "1.03" and header["Кодировка"] == "Windows"
    assert header["ДатаНачала"] == header["ДатаКонца"] == "04.12.2026"
    docs = parsed["documents"]
    assert [Decimal(d["Сумма"]) for d in docs] == [Decimal("148500.00"), Decimal("0.50")]
    payer = {d["ПлательщикИНН"] for d in docs}
    assert len(payer) == 1 and all(d["ПлательщикРасчСчет"] == header["РасчСчет"] for d in docs)
    assert docs[0]["ПолучательИНН"] == cp["inn"] and docs[0]["ПолучательКПП"] == cp["kpp"]
    assert docs[0]["Получатель"] == cp["full_name"]
    bank = cp["bank_accounts"][0]
    assert (
        docs[0]["ПолучательРасчСчет"],
        docs[0]["ПолучательБИК"],
        docs[0]["ПолучательКорсчет"],
    ) == (
        bank["account"],
        bank["bik"],
        bank["correspondent_account"],
    )
    assert all(d["Очередность"] == "5" and d["Дата"] == "04.12.2026" for d in docs)
    assert docs[0]["НазначениеПлатежа"] == first["purpose"]
    csv_answer = gateway.get(export_url, headers=token_for("accountant"), params={"format": "csv"})
    assert csv_answer.status_code == 200 and csv_answer.headers["content-type"].startswith(
        "text/csv"
    )
    assert len(csv_answer.content.decode("utf-8-sig").strip().splitlines()) == 3

    act(
        gateway,
        token_for,
        "accountant",
        reg["id"],
        action="complete",
        outputs={"payment_date": "2026-12-04"},
    )
    final = ok(gateway.get(f"{REGISTRIES}/{reg['id']}", headers=token_for("accountant")))
    assert final["status"] == "paid" and final["paid_on"] == "2026-12-04"


# --- who sees what, bad input ------------------------------------------------------------


def test_strangers_do_not_see_a_request_and_bad_input_writes_nothing(
    gateway: httpx.Client, token_for: Headers, service_db: Callable[[str], Any]
) -> None:
    r = new_request(gateway, token_for)
    for user in ("manager", "sales.head", "finman", "junior.accountant", "ceo", "admin"):
        assert card(gateway, token_for, r["id"], user=user)["id"] == r["id"], user
    for user in ("manager2", "lawyer", "ops", "reception"):
        problem(gateway.get(f"{BASE}/{r['id']}", headers=token_for(user)), 404)
        problem(gateway.get(f"{BASE}/{r['id']}/timeline", headers=token_for(user)), 404)
        listed = ok(gateway.get(BASE, headers=token_for(user)))["items"]
        assert r["id"] not in [x["id"] for x in listed]
    mine = ok(
        gateway.get(
            BASE, headers=token_for("manager"), params={"counterparty_id": r["counterparty_id"]}
        )
    )
    assert [x["id"] for x in mine["items"]] == [r["id"]]
    page = ok(
        gateway.get(BASE, headers=token_for("finman"), params={"limit": 1, "status": "in_approval"})
    )
    assert len(page["items"]) == 1 and page["next_cursor"]

    db = service_db("payments_svc")
    before = (count_rows(db, "payment_requests"), count_rows(db, "workflow_instances"))
    base = {
        "counterparty_id": r["counterparty_id"],
        "amount": "10.00",
        "cost_item": "Связь",
        "invoice_file_id": r["invoice_file_id"],
    }
    for bad, status in (
        ({"counterparty_id": "0b6f3c1e-5d7a-4c55-9d8e-2f1f0c9b7a11"}, 422),
        ({"invoice_file_id": "0b6f3c1e-5d7a-4c55-9d8e-2f1f0c9b7a11"}, 422),
        ({"amount": "0"}, 422),
        ({"amount": "-5.00"}, 422),
        ({"amount": "1.005"}, 422),
        ({"currency": "rub"}, 422),
        ({"cost_item": ""}, 422),
        ({"replaces_id": r["id"]}, 422),  # not rejected
        ({"admin": True}, 422),
    ):
        problem(gateway.post(BASE, headers=token_for("manager"), json=base | bad), status)
    assert (count_rows(db, "payment_requests"), count_rows(db, "workflow_instances")) == before
