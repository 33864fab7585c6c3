"""Correspondence through the gateway: registration, the card and its process box,
lists and filters, decisions from "my tasks", the reply, sending by e-mail, the
timeline, and who may do what."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from counterparty_svc.testing import legal_entity
from mail_svc.testing import incoming, outgoing, upload
from services.devstack import Stack
from services.smtp import read_spool
from services.testing.plugin import count_rows, eventually

pytestmark = pytest.mark.e2e

Headers = Callable[[str], dict[str, str]]
PROBLEM = "application/problem+json"
BASE = "/api/v1/letters"
MOSCOW = ZoneInfo("Europe/Moscow")


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["detail"]
    return body


def counterparty(gateway: httpx.Client, token_for: Headers, category: str) -> dict[str, Any]:
    body = legal_entity(
        category=category,
        contacts=[{"name": "Секретарь", "email": f"sec-{uuid.uuid4().hex[:6]}@cp.example"}],
    )
    card: dict[str, Any] = ok(
        gateway.post("/api/v1/counterparties", headers=token_for("lawyer"), json=body), 201
    )
    return card


def task_of(gateway: httpx.Client, token_for: Headers, user: str, letter_id: str) -> dict[str, Any]:
    tasks = ok(gateway.get("/api/v1/tasks", headers=token_for(user)))["items"]
    mine = [t for t in tasks if t["card_id"] == letter_id]
    assert len(mine) == 1, (user, mine)
    found: dict[str, Any] = mine[0]
    return found


def act(
    gateway: httpx.Client,
    token_for: Headers,
    user: str,
    letter_id: str,
    action: str = "complete",
    **body: Any,
) -> httpx.Response:
    task = task_of(gateway, token_for, user, letter_id)
    return gateway.post(
        f"/api/v1/tasks/{task['id']}/decision",
        headers=token_for(user),
        json={"action": action, **body},
    )


def card(gateway: httpx.Client, token_for: Headers, letter_id: str, user: str = "office") -> Any:
    return ok(gateway.get(f"{BASE}/{letter_id}", headers=token_for(user)))


@pytest.fixture(scope="module")
def entity(gateway: httpx.Client, token_for: Headers, rpc: Any, people: Any) -> str:
    found = rpc(people["office"], "org", "list_legal_entities")
    return str(found[0]["id"])


def test_an_incoming_letter_is_registered_routed_answered_and_replied_to(
    gateway: httpx.Client, token_for: Headers, people: Any, entity: str
) -> None:
    cp = counterparty(gateway, token_for, "tenant")
    scan = upload(gateway, token_for("office"))
    manager = people["manager"].user_id
    answer = gateway.post(
        f"{BASE}/incoming",
        headers=token_for("office"),
        json=incoming(entity, cp["id"], manager, scan["id"]),
    )
    letter = ok(answer, 201)
    assert answer.headers["Location"] == f"{BASE}/{letter['id']}"
    assert answer.headers["ETag"] == f'"{letter["version"]}"'
    assert letter["journal_number"].startswith(f"ВХ-{date.today().year}-")
    box = letter["process"]
    assert box["state"] == "running" and set(box["responsible"]) == {
        manager,
        people["director"].user_id,
    }
    assert {t["step_id"] for t in box["open_tasks"]} == {"tenant_execution", "director_review"}

    # Lists: filters by direction, legal entity and counterparty.
    listed = ok(
        gateway.get(
            BASE,
            headers=token_for("office"),
            params={"direction": "incoming", "legal_entity": entity, "counterparty_id": cp["id"]},
        )
    )
    assert [i["id"] for i in listed["items"]] == [letter["id"]]
    none = ok(
        gateway.get(
            BASE,
            headers=token_for("office"),
            params={"direction": "outgoing", "counterparty_id": cp["id"]},
        )
    )
    assert none["items"] == []

    # The responsible employee answers from "my tasks": a reply is needed.
    task = task_of(gateway, token_for, "manager", letter["id"])
    assert task["service"] == "mail" and task["link"] == f"/letters/{letter['id']}"
    bad = act(gateway, token_for, "manager", letter["id"], outputs={"reply_needed": "ок"})
    assert problem(bad, 422)["errors"][0]["loc"] == ["outputs", "reply_needed"]
    ok(act(gateway, token_for, "manager", letter["id"], outputs={"reply_needed": "yes"}))
    ok(act(gateway, token_for, "director", letter["id"]))
    done = card(gateway, token_for, letter["id"])
    assert done["status"] == "completed" and done["reply_id"]
    reply = card(gateway, token_for, done["reply_id"], user="manager")
    assert reply["reply_to_id"] == letter["id"] and reply["status"] == "preparation"
    assert task_of(gateway, token_for, "manager", reply["id"])["step_id"] == "preparation"

    timeline = ok(gateway.get(f"{BASE}/{letter['id']}/timeline", headers=token_for("manager")))
    assert timeline[0]["action"] == "instance.started"
    assert any(e["action"] == "complete" and e["step_id"] == "tenant_execution" for e in timeline)
    assert timeline[-1]["action"] == "instance.completed"


def test_bad_registrations_are_refused_precisely_and_write_nothing(
    gateway: httpx.Client, token_for: Headers, people: Any, entity: str, service_db: Any
) -> None:
    cp = counterparty(gateway, token_for, "supplier")
    scan = upload(gateway, token_for("office"))
    body = incoming(entity, cp["id"], people["manager"].user_id, scan["id"])
    engine = service_db("mail_svc")
    before = count_rows(engine, "letters"), count_rows(engine, "journal_counters")
    cases = [
        (body | {"control_date": "2000-01-01"}, 422, None),
        (body | {"counterparty_id": str(uuid.uuid4())}, 422, ["counterparty_id"]),
        (body | {"legal_entity_id": str(uuid.uuid4())}, 422, ["legal_entity_id"]),
        (body | {"responsible_id": str(uuid.uuid4())}, 422, ["responsible_id"]),
        (body | {"scan_file_id": str(uuid.uuid4())}, 422, ["scan_file_id"]),
        ({k: v for k, v in body.items() if k != "subject"}, 422, ["body", "subject"]),
    ]
    for data, status, loc in cases:
        found = problem(
            gateway.post(f"{BASE}/incoming", headers=token_for("office"), json=data), status
        )
        if loc is not None:
            assert any(e["loc"] == loc for e in found["errors"]), found
    problem(gateway.post(f"{BASE}/incoming", headers=token_for("reception"), json=body), 403)
    problem(gateway.post(f"{BASE}/incoming", json=body), 401)
    assert (count_rows(engine, "letters"), count_rows(engine, "journal_counters")) == before
    # Registered once; the same letter again is a conflict naming the first number.
    first = ok(gateway.post(f"{BASE}/incoming", headers=token_for("lawyer"), json=body), 201)
    again = problem(gateway.post(f"{BASE}/incoming", headers=token_for("office"), json=body), 409)
    assert first["journal_number"] in again["detail"]
    # Strangers get 404, as if the letter did not exist.
    problem(gateway.get(f"{BASE}/{first['id']}", headers=token_for("accountant")), 404)
    problem(gateway.get(f"{BASE}/{first['id']}/timeline", headers=token_for("accountant")), 404)
    problem(gateway.get(f"{BASE}/{uuid.uuid4()}", headers=token_for("office")), 404)
    problem(gateway.get(BASE, headers=token_for("office"), params={"direction": "sideways"}), 422)


def test_an_outgoing_letter_is_returned_resubmitted_numbered_emailed_and_checked(
    gateway: httpx.Client, token_for: Headers, people: Any, entity: str, suite: Stack
) -> None:
    cp = counterparty(gateway, token_for, "contractor")
    first = upload(gateway, token_for("manager"), "draft.pdf")
    content = b"%PDF-1.7 final " + uuid.uuid4().hex.encode()
    final = upload(gateway, token_for("manager"), "letter.pdf", content)
    control = date.today() + timedelta(days=15)
    letter = ok(
        gateway.post(
            f"{BASE}/outgoing",
            headers=token_for("manager"),
            json=outgoing(entity, cp["id"], first["id"], control_date=control.isoformat()),
        ),
        201,
    )
    assert letter["status"] == "approval" and letter["journal_number"] is None
    ok(act(gateway, token_for, "director", letter["id"], "return", comment="Уточните сроки"))
    returned = card(gateway, token_for, letter["id"], user="manager")
    assert returned["status"] == "returned"
    problem(
        gateway.post(f"{BASE}/{letter['id']}/resubmit", headers=token_for("lawyer"), json={}), 403
    )
    resubmitted = ok(
        gateway.post(
            f"{BASE}/{letter['id']}/resubmit",
            headers=token_for("manager"),
            json={"comment": "Сроки уточнены", "letter_file_id": final["id"]},
        )
    )
    assert resubmitted["status"] == "approval" and resubmitted["letter_file_id"] == final["id"]
    assert task_of(gateway, token_for, "director", letter["id"])["resubmitted"] is True
    ok(act(gateway, token_for, "director", letter["id"], "approve"))
    ok(act(gateway, token_for, "lawyer", letter["id"]))
    numbered = card(gateway, token_for, letter["id"], user="manager")
    assert numbered["journal_number"].startswith(f"ИСХ-{date.today().year}-")
    ok(act(gateway, token_for, "director", letter["id"], "approve"))
    ok(act(gateway, token_for, "manager", letter["id"], outputs={"delivery": "email"}))

    address = cp["contacts"][0]["email"]
    spool = suite.extra_env["DOCFLOW_SMTP_STUB_SPOOL"]
    messages = eventually(lambda: [m for m in read_spool(spool) if m["To"] == address], seconds=20)
    assert len(messages) == 1
    attachment = next(messages[0].iter_attachments())
    assert attachment.get_filename() == "letter.pdf" and attachment.get_content() == content
    sent = eventually(
        lambda: (
            (c := card(gateway, token_for, letter["id"], "manager"))["dispatch"]["state"] == "sent"
            and c
        ),
        seconds=20,
    )
    assert sent["status"] == "awaiting_reaction"
    assert sent["dispatch"]["message_id"] == messages[0]["Message-ID"]

    # Past the control date the executor is asked whether the counterparty reacted.
    moment = datetime.combine(control + timedelta(days=2), datetime.min.time(), MOSCOW)
    ok(
        gateway.post(
            "/api/v1/admin/timers/run",
            headers=token_for("admin"),
            json={"now": (moment + timedelta(hours=12)).isoformat()},
        )
    )
    assert task_of(gateway, token_for, "manager", letter["id"])["step_id"] == "reaction_check"
    ok(act(gateway, token_for, "manager", letter["id"], comment="Ответ получен"))
    closed = card(gateway, token_for, letter["id"], "manager")
    assert closed["status"] == "completed"
    filed = eventually(
        lambda: (c := card(gateway, token_for, letter["id"], "manager"))["filed_at"] and c,
        seconds=20,
    )
    files = ok(
        gateway.get(
            "/api/v1/files",
            headers=token_for("manager"),
            params={"folder": filed["archive_folder"]},
        )
    )
    assert {f["original_name"] for f in files["items"]} == {"letter.pdf"}
    assert len(read_spool_to(spool, address)) == 1


def read_spool_to(spool: str, address: str) -> list[Any]:
    return [m for m in read_spool(spool) if m["To"] == address]
