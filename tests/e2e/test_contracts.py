"""Contract approval through the gateway: every path of the route, the register,
the original, the missing-documents letter, and who may do what."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from docx import Document

from counterparty_svc.testing import legal_entity
from services.testing.plugin import count_rows, eventually

pytestmark = pytest.mark.e2e

Headers = Callable[[str], dict[str, str]]
PROBLEM = "application/problem+json"
BASE = "/api/v1/contracts"
MOSCOW = ZoneInfo("Europe/Moscow")
FULL_PACKAGE = ("charter", "egrul_extract", "director_appointment")


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["detail"]
    return body


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def counterparty(
    gateway: httpx.Client, token_for: Headers, documents: tuple[str, ...] = FULL_PACKAGE
) -> dict[str, Any]:
    lawyer = token_for("lawyer")
    card = ok(gateway.post("/api/v1/counterparties", headers=lawyer, json=legal_entity()), 201)
    for doc_type in documents:
        scan = ok(
            gateway.post(
                "/api/v1/files",
                headers=lawyer,
                data={"counterparty_id": card["id"]},
                files={"file": (f"{doc_type}.pdf", b"%PDF-1.7 scan", "application/pdf")},
            ),
            201,
        )
        ok(
            gateway.post(
                f"/api/v1/counterparties/{card['id']}/documents",
                headers=lawyer,
                json={
                    "doc_type": doc_type,
                    "issued_on": date.today().isoformat(),
                    "file_id": scan["id"],
                },
            ),
            201,
        )
    return card


def draft(
    gateway: httpx.Client, token_for: Headers, cp: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    body = {
        "number": "15/2026-П",
        "contract_type": "supply",
        "subject": "Поставка бельевого текстиля",
        "counterparty_id": cp["id"],
        "amount": "1250000.00",
        "currency": "RUB",
        **fields,
    }
    return ok(gateway.post(BASE, headers=token_for("manager"), json=body), 201)  # type: ignore[no-any-return]


def submitted(gateway: httpx.Client, token_for: Headers, **fields: Any) -> dict[str, Any]:
    card = draft(gateway, token_for, counterparty(gateway, token_for), **fields)
    return ok(gateway.post(f"{BASE}/{card['id']}/submit", headers=token_for("manager"), json={}))  # type: ignore[no-any-return]


def task_of(
    gateway: httpx.Client, token_for: Headers, user: str, contract_id: str
) -> dict[str, Any]:
    tasks = ok(gateway.get("/api/v1/tasks", headers=token_for(user)))["items"]
    mine = [t for t in tasks if t["card_id"] == contract_id]
    assert len(mine) == 1, (user, mine)
    return mine[0]


def act(
    gateway: httpx.Client,
    token_for: Headers,
    user: str,
    contract_id: str,
    action: str = "approve",
    **body: Any,
) -> dict[str, Any]:
    task = task_of(gateway, token_for, user, contract_id)
    return ok(  # type: ignore[no-any-return]
        gateway.post(
            f"/api/v1/tasks/{task['id']}/decision",
            headers=token_for(user),
            json={"action": action, **body},
        )
    )


def card(gateway: httpx.Client, token_for: Headers, contract_id: str, user: str = "manager") -> Any:
    return ok(gateway.get(f"{BASE}/{contract_id}", headers=token_for(user)))


def user_id(people: dict[str, Any], username: str) -> str:
    return str(people[username].user_id)


APPROVERS = ("sales.head", "pto", "lawyer", "finman", "accountant", "director")


def test_a_contract_goes_from_draft_through_every_approver_to_the_register_and_the_archive(
    gateway: httpx.Client, token_for: Headers, people: dict[str, Any]
) -> None:
    c = submitted(gateway, token_for)
    assert c["status"] == "in_approval"
    assert c["responsible"] == [user_id(people, "sales.head")]
    assert c["documents_check"]["complete"] is True
    for approver in APPROVERS:
        now = card(gateway, token_for, c["id"])
        # Steps taken by a role ("any" of them) ask everyone holding it: both lawyers.
        assert user_id(people, approver) in now["responsible"], approver
        act(gateway, token_for, approver, c["id"])

    assert card(gateway, token_for, c["id"])["status"] == "signing"
    scan = ok(
        gateway.post(
            "/api/v1/files",
            headers=token_for("reception"),
            data={"counterparty_id": c["counterparty_id"], "contract_id": c["id"]},
            files={"file": ("подписанный.pdf", b"%PDF-1.7 signed", "application/pdf")},
        ),
        201,
    )
    sign = task_of(gateway, token_for, "reception", c["id"])
    assert sign["outputs"] == {"signed_scan": "file_id"}
    problem(
        gateway.post(
            f"/api/v1/tasks/{sign['id']}/decision",
            headers=token_for("reception"),
            json={"action": "complete"},
        ),
        422,
    )
    act(gateway, token_for, "reception", c["id"], "complete", outputs={"signed_scan": scan["id"]})

    assert card(gateway, token_for, c["id"])["status"] == "registration"
    act(gateway, token_for, "office", c["id"], "complete")
    registered = card(gateway, token_for, c["id"])
    year = datetime.now(MOSCOW).year
    assert re.fullmatch(rf"Д-{year}-\d{{4}}", registered["register_number"])
    assert registered["status"] == "awaiting_original"
    register = ok(
        gateway.get("/api/v1/contract-register", headers=token_for("office"), params={"year": year})
    )
    assert c["id"] in [e["contract_id"] for e in register["items"]]

    act(
        gateway,
        token_for,
        "office",
        c["id"],
        "complete",
        outputs={"storage_place": "Шкаф 3, полка 2"},
    )
    done = card(gateway, token_for, c["id"])
    assert done["status"] == "completed" and done["responsible"] == []
    assert done["original_storage_place"] == "Шкаф 3, полка 2"
    assert done["signed_scan_id"] == scan["id"]

    def original_in_archive() -> list[Any]:
        answer = gateway.get(
            "/api/v1/originals",
            headers=token_for("office"),
            params={"document": f"contract:{c['id']}"},
        )
        return answer.json() if answer.status_code == 200 else []

    originals = eventually(original_in_archive)
    assert originals[0]["storage_place"] == "Шкаф 3, полка 2"

    timeline = ok(gateway.get(f"{BASE}/{c['id']}/timeline", headers=token_for("manager")))
    actions = [e["action"] for e in timeline]
    assert actions[0] == "instance.started" and actions[-1] == "instance.completed"
    assert [e["seq"] for e in timeline] == list(range(1, len(timeline) + 1))
    decided_by = [e["actor_id"] for e in timeline if e["action"] == "approve"]
    assert decided_by[: len(APPROVERS)] == [user_id(people, a) for a in APPROVERS]


def test_a_return_needs_a_comment_and_the_resubmission_shows_what_was_said(
    gateway: httpx.Client, token_for: Headers, people: dict[str, Any]
) -> None:
    c = submitted(gateway, token_for)
    for approver in ("sales.head", "pto"):
        act(gateway, token_for, approver, c["id"])
    task = task_of(gateway, token_for, "lawyer", c["id"])
    assert task["resubmitted"] is False and "missing_documents" in task["reason_codes"]
    body = problem(
        gateway.post(
            f"/api/v1/tasks/{task['id']}/decision",
            headers=token_for("lawyer"),
            json={"action": "return", "reason_code": "missing_documents"},
        ),
        422,
    )
    assert ["comment"] in [e["loc"] for e in body["errors"]]
    assert card(gateway, token_for, c["id"])["status"] == "in_approval"

    act(
        gateway,
        token_for,
        "lawyer",
        c["id"],
        "return",
        comment="Нет доверенности подписанта",
        reason_code="missing_documents",
    )
    returned = card(gateway, token_for, c["id"])
    assert returned["status"] == "returned"
    assert returned["responsible"] == [user_id(people, "manager")]

    changed = gateway.patch(
        f"{BASE}/{c['id']}",
        headers={**token_for("manager"), "If-Match": f'"{returned["version"]}"'},
        json={"amount": "1180000.00"},
    )
    assert changed.status_code == 200, changed.text
    again = ok(
        gateway.post(
            f"{BASE}/{c['id']}/submit",
            headers=token_for("manager"),
            json={"comment": "Доверенность приложили"},
        )
    )
    assert again["status"] == "in_approval"
    # The department head and PTO approved before and are not asked again
    # (resubmission: not_approved); legal is, with the earlier return shown.
    task = task_of(gateway, token_for, "lawyer", c["id"])
    assert task["resubmitted"] is True and task["round"] == 2
    earlier = [(d["step_id"], d["action"], d["comment"]) for d in task["previous_decisions"]]
    assert ("legal", "return", "Нет доверенности подписанта") in earlier
    assert again["responsible"] == [user_id(people, "lawyer")] or set(again["responsible"]) == {
        user_id(people, "lawyer"),
        user_id(people, "lawyer2"),
    }


def test_a_rejection_ends_the_process(
    gateway: httpx.Client, token_for: Headers, people: dict[str, Any]
) -> None:
    c = submitted(gateway, token_for)
    for approver in ("sales.head", "pto", "lawyer"):
        act(gateway, token_for, approver, c["id"])
    act(
        gateway,
        token_for,
        "finman",
        c["id"],
        "reject",
        comment="Нет бюджета",
        reason_code="no_budget",
    )
    rejected = card(gateway, token_for, c["id"])
    assert rejected["status"] == "rejected" and rejected["responsible"] == []
    assert rejected["process"]["open_tasks"] == []
    for user in ("accountant", "director"):
        tasks = ok(gateway.get("/api/v1/tasks", headers=token_for(user)))["items"]
        assert c["id"] not in [t["card_id"] for t in tasks]
    problem(gateway.post(f"{BASE}/{c['id']}/submit", headers=token_for("manager"), json={}), 409)


def test_the_parallel_variant_asks_legal_and_finance_at_once(
    gateway: httpx.Client, token_for: Headers, people: dict[str, Any]
) -> None:
    c = submitted(gateway, token_for, route_id="contract_approval_parallel")
    for approver in ("sales.head", "pto"):
        act(gateway, token_for, approver, c["id"])
    both = card(gateway, token_for, c["id"])
    assert {user_id(people, "finman"), user_id(people, "lawyer")} <= set(both["responsible"])
    act(gateway, token_for, "finman", c["id"])
    assert user_id(people, "finman") not in card(gateway, token_for, c["id"])["responsible"]
    act(gateway, token_for, "lawyer", c["id"])
    assert card(gateway, token_for, c["id"])["responsible"] == [user_id(people, "accountant")]


def test_nobody_acts_on_anothers_task_and_strangers_do_not_see_the_card(
    gateway: httpx.Client, token_for: Headers
) -> None:
    c = submitted(gateway, token_for)
    task = task_of(gateway, token_for, "sales.head", c["id"])
    url = f"/api/v1/tasks/{task['id']}/decision"
    # The director sees every contract, manager2 shares the department: both may look,
    # neither may decide the head's task.
    for user in ("director", "manager2"):
        assert (
            gateway.get(f"/api/v1/tasks/{task['id']}", headers=token_for(user)).status_code == 200
        )
        problem(gateway.post(url, headers=token_for(user), json={"action": "approve"}), 403)
    # The junior accountant has nothing to do with it: the card and the task do not exist.
    problem(gateway.get(f"{BASE}/{c['id']}", headers=token_for("junior.accountant")), 404)
    problem(
        gateway.post(url, headers=token_for("junior.accountant"), json={"action": "approve"}), 404
    )
    listed = ok(gateway.get(BASE, headers=token_for("junior.accountant")))["items"]
    assert c["id"] not in [x["id"] for x in listed]
    problem(gateway.get("/api/v1/tasks"), 401)
    assert card(gateway, token_for, c["id"])["status"] == "in_approval"
    # A made-up task id is 404, whatever its shape.
    for bad in ("nonsense", "contracts:nope", "payroll:x:t1"):
        problem(gateway.get(f"/api/v1/tasks/{bad}", headers=token_for("sales.head")), 404)


def test_of_two_concurrent_decisions_on_one_task_exactly_one_wins(
    gateway: httpx.Client, token_for: Headers, suite: Any
) -> None:
    c = submitted(gateway, token_for)
    task = task_of(gateway, token_for, "sales.head", c["id"])
    url = f"/api/v1/tasks/{task['id']}/decision"
    headers = token_for("sales.head")
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def decide(body: dict[str, Any]) -> None:
        with httpx.Client(base_url=suite.gateway_url, timeout=30) as client:
            barrier.wait()
            codes.append(client.post(url, headers=headers, json=body).status_code)

    threads = [
        threading.Thread(target=decide, args=({"action": "approve"},)),
        threading.Thread(target=decide, args=({"action": "reject", "comment": "нет"},)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 409]
    timeline = ok(gateway.get(f"{BASE}/{c['id']}/timeline", headers=token_for("manager")))
    actions = [e["action"] for e in timeline]
    assert actions.count("approve") + actions.count("reject") == 1


def test_missing_statutory_documents_block_submission_with_their_list(
    gateway: httpx.Client, token_for: Headers, service_db: Callable[[str], Any]
) -> None:
    cp = counterparty(gateway, token_for, documents=("charter",))
    c = draft(gateway, token_for, cp)
    before = count_rows(service_db("contracts_svc"), "workflow_instances")
    body = problem(
        gateway.post(f"{BASE}/{c['id']}/submit", headers=token_for("manager"), json={}), 422
    )
    assert sorted(e["loc"][-1] for e in body["errors"]) == ["director_appointment", "egrul_extract"]
    assert "Выписка из ЕГРЮЛ" in body["detail"]
    assert card(gateway, token_for, c["id"])["status"] == "draft"
    assert count_rows(service_db("contracts_svc"), "workflow_instances") == before

    text = gateway.get(f"{BASE}/{c['id']}/missing-documents-letter", headers=token_for("manager"))
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert "Выписка из ЕГРЮЛ" in text.text and "Устав" not in text.text
    assert cp["full_name"] in text.text and "Татьяна Иванова" in text.text
    html = gateway.get(
        f"{BASE}/{c['id']}/missing-documents-letter",
        headers=token_for("manager"),
        params={"format": "html"},
    )
    assert html.headers["content-type"].startswith("text/html")
    assert "&laquo;" in html.text or "«" in html.text
    assert "<li>Выписка из ЕГРЮЛ" in html.text
    docx = gateway.get(
        f"{BASE}/{c['id']}/missing-documents-letter",
        headers=token_for("manager"),
        params={"format": "docx"},
    )
    assert docx.status_code == 200 and "attachment" in docx.headers["content-disposition"]
    paragraphs = [p.text for p in Document(io.BytesIO(docx.content)).paragraphs]
    assert "Выписка из ЕГРЮЛ" in paragraphs
    assert "Решение (протокол) о назначении руководителя" in paragraphs


def test_an_unknown_counterparty_or_file_is_422_and_nothing_is_written(
    gateway: httpx.Client, token_for: Headers, service_db: Callable[[str], Any]
) -> None:
    cp = counterparty(gateway, token_for)
    before = count_rows(service_db("contracts_svc"), "contracts")
    body = {
        "subject": "Поставка",
        "counterparty_id": "0b6f3c1e-5d7a-4c55-9d8e-2f1f0c9b7a11",
        "amount": "10.00",
    }
    problem(gateway.post(BASE, headers=token_for("manager"), json=body), 422)
    body |= {"counterparty_id": cp["id"], "file_ids": ["0b6f3c1e-5d7a-4c55-9d8e-2f1f0c9b7a11"]}
    problem(gateway.post(BASE, headers=token_for("manager"), json=body), 422)
    problem(gateway.post(BASE, headers=token_for("manager"), json=body | {"amount": "-1"}), 422)
    problem(gateway.post(BASE, headers=token_for("manager"), json=body | {"admin": True}), 422)
    nobody = {"curator_id": "0b6f3c1e-5d7a-4c55-9d8e-2f1f0c9b7a11", "file_ids": []}
    refused = problem(gateway.post(BASE, headers=token_for("manager"), json=body | nobody), 422)
    assert [e["loc"] for e in refused["errors"]] == [["curator_id"]]
    assert count_rows(service_db("contracts_svc"), "contracts") == before


def test_a_sitting_approver_is_reminded_then_escalated_in_simulated_time(
    gateway: httpx.Client, token_for: Headers, people: dict[str, Any]
) -> None:
    c = submitted(gateway, token_for)
    task = task_of(gateway, token_for, "sales.head", c["id"])
    due = datetime.fromisoformat(task["due_at"])
    # A week later the head has been reminded (after 1 working day) and is overdue
    # (2 working days); the escalation comes 4 working hours after the reminder.
    run = "/api/v1/admin/timers/run"
    later = due + timedelta(days=7)
    answer = ok(gateway.post(run, headers=token_for("admin"), json={"now": later.isoformat()}))
    assert answer["fired"]["contracts"] >= 2
    ops_tasks = ok(gateway.get("/api/v1/tasks", headers=token_for("ops")))["items"]
    assert c["id"] not in [t["card_id"] for t in ops_tasks], "not escalated before its time"
    next_day = (later + timedelta(days=1)).isoformat()
    answer = ok(gateway.post(run, headers=token_for("admin"), json={"now": next_day}))
    assert answer["fired"]["contracts"] >= 1
    escalated = task_of(gateway, token_for, "ops", c["id"])
    assert escalated["escalated_to"] == [user_id(people, "ops")]
    act(gateway, token_for, "ops", c["id"])
    timeline = ok(gateway.get(f"{BASE}/{c['id']}/timeline", headers=token_for("manager")))
    actions = [e["action"] for e in timeline]
    assert "task.reminded" in actions and "task.escalated" in actions
    decided = next(e for e in timeline if e["action"] == "approve")
    assert decided["actor_id"] == user_id(people, "ops")
    assert decided["on_behalf_of"] == user_id(people, "sales.head")
    assert card(gateway, token_for, c["id"])["responsible"] == [user_id(people, "pto")]


def test_an_approver_may_read_the_contracts_files_once_the_task_is_theirs(
    gateway: httpx.Client, token_for: Headers
) -> None:
    cp = counterparty(gateway, token_for)
    c = draft(gateway, token_for, cp)
    attached = ok(
        gateway.post(
            "/api/v1/files",
            headers=token_for("manager"),
            data={"counterparty_id": cp["id"], "contract_id": c["id"]},
            files={"file": ("проект договора.docx", b"PK draft", "application/octet-stream")},
        ),
        201,
    )
    url = f"/api/v1/files/{attached['id']}"
    # The accountant works in another department: the draft's file is not theirs to see.
    problem(gateway.get(url, headers=token_for("accountant")), 404)
    ok(gateway.post(f"{BASE}/{c['id']}/submit", headers=token_for("manager"), json={}))
    for approver in ("sales.head", "pto", "lawyer", "finman"):
        act(gateway, token_for, approver, c["id"])
    readable = eventually(
        lambda: gateway.get(url, headers=token_for("accountant")).status_code == 200
    )
    assert readable
    # The junior accountant never had a task on it.
    problem(gateway.get(url, headers=token_for("junior.accountant")), 404)


def test_a_delegated_task_is_decided_on_behalf_of_its_holder(
    gateway: httpx.Client, token_for: Headers, people: dict[str, Any]
) -> None:
    c = submitted(gateway, token_for)
    task = task_of(gateway, token_for, "sales.head", c["id"])
    url = f"/api/v1/tasks/{task['id']}/delegate"
    colleague = user_id(people, "manager2")
    # Only the holder passes it on, and only to someone the directory knows.
    problem(gateway.post(url, headers=token_for("director"), json={"user_id": colleague}), 403)
    problem(
        gateway.post(
            url,
            headers=token_for("sales.head"),
            json={"user_id": "00000000-0000-0000-0000-0000000000ff"},
        ),
        422,
    )
    moved = ok(
        gateway.post(
            url,
            headers=token_for("sales.head"),
            json={"user_id": colleague, "comment": "в отпуске"},
        )
    )
    assert moved["responsible"] == [colleague]
    theirs = task_of(gateway, token_for, "manager2", c["id"])
    assert theirs["on_behalf_of"] == user_id(people, "sales.head")
    act(gateway, token_for, "manager2", c["id"])
    timeline = ok(gateway.get(f"{BASE}/{c['id']}/timeline", headers=token_for("manager")))
    assert "task.delegated" in [e["action"] for e in timeline]
    decided = next(e for e in timeline if e["action"] == "approve")
    assert (decided["actor_id"], decided["on_behalf_of"]) == (
        colleague,
        user_id(people, "sales.head"),
    )


def test_several_tasks_are_decided_at_once_each_on_its_own(
    gateway: httpx.Client, token_for: Headers
) -> None:
    first, second = submitted(gateway, token_for), submitted(gateway, token_for)
    mine = [task_of(gateway, token_for, "sales.head", c["id"]) for c in (first, second)]
    answer = ok(
        gateway.post(
            "/api/v1/tasks/decisions",
            headers=token_for("sales.head"),
            json={
                "decisions": [
                    {"task_id": mine[0]["id"], "action": "approve"},
                    {"task_id": mine[1]["id"], "action": "return"},  # no comment: refused
                    {"task_id": "contracts:nope:t1", "action": "approve"},
                ]
            },
        )
    )
    assert [o["status"] for o in answer["outcomes"]] == [200, 422, 404]
    assert answer["outcomes"][0]["result"]["task"]["state"] == "done"
    assert (
        card(gateway, token_for, first["id"])["responsible"]
        != card(gateway, token_for, second["id"])["responsible"]
    )
    assert task_of(gateway, token_for, "sales.head", second["id"])["state"] == "open"


def test_an_author_files_a_contract_under_their_own_department_only(
    gateway: httpx.Client, token_for: Headers, people: dict[str, Any]
) -> None:
    cp = counterparty(gateway, token_for)
    other = people["accountant"].department_id
    body = {"subject": "Поставка", "counterparty_id": cp["id"], "amount": "10.00"}
    problem(
        gateway.post(BASE, headers=token_for("manager"), json=body | {"department_id": other}),
        403,
    )
    # The office files for whichever department it is asked to.
    filed = ok(
        gateway.post(BASE, headers=token_for("office"), json=body | {"department_id": other}), 201
    )
    assert filed["department_id"] == other


def test_the_approver_is_told_in_the_inbox_by_e_mail_and_names_the_contract(
    gateway: httpx.Client, token_for: Headers, suite: Any
) -> None:
    from services.smtp import read_spool

    c = submitted(gateway, token_for)

    def told() -> list[dict[str, Any]]:
        inbox = ok(gateway.get("/api/v1/notifications", headers=token_for("sales.head")))
        return [n for n in inbox["items"] if n["card_id"] == c["id"] and n["kind"] == "assignment"]

    notice = eventually(told, seconds=20)[0]
    assert notice["link"] == f"/contracts/{c['id']}"
    assert c["counterparty_name"] in notice["title"]
    spool = suite.extra_env["DOCFLOW_SMTP_STUB_SPOOL"]

    def mailed() -> list[Any]:
        return [m for m in read_spool(spool) if c["counterparty_name"] in str(m["Subject"])]

    message = eventually(mailed, seconds=20)[0]
    assert message["To"] == "sales.head@docflow.example"
