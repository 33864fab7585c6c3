"""mail_svc over real RPC, PostgreSQL, RabbitMQ, the S3 stand-in and the SMTP stand-in:
routing by category, the reply branch, journal numbers under concurrency, the outgoing
route with the e-mail really delivered, the wait and the reminder in simulated time."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import text

from counterparty_svc.testing import legal_entity
from mail_svc.testing import incoming, outgoing, upload
from services.auth import Identity
from services.devstack import Stack
from services.smtp import read_spool
from services.testing.plugin import Rpc, count_rows, eventually

pytestmark = pytest.mark.integration

Headers = Callable[[str], dict[str, str]]
MOSCOW = ZoneInfo("Europe/Moscow")
NUMBER = re.compile(r"^ВХ-(\d{4})-(\d{4})$")


# --- helpers ------------------------------------------------------------------------------


def refused(caught: pytest.ExceptionInfo[Exception]) -> tuple[str, str]:
    exc: Any = caught.value
    return getattr(exc, "exc_type", ""), str(getattr(exc, "value", ""))


def entities(rpc: Rpc, people: dict[str, Identity]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = rpc(people["office"], "org", "list_legal_entities")
    return found


def counterparty(rpc: Rpc, people: dict[str, Identity], category: str) -> dict[str, Any]:
    data = legal_entity(
        category=category,
        contacts=[{"name": "Канцелярия", "email": f"office-{uuid.uuid4().hex[:6]}@cp.example"}],
    )
    card: dict[str, Any] = rpc(people["lawyer"], "counterparty", "create_counterparty", data=data)
    return card


def register(
    rpc: Rpc,
    people: dict[str, Identity],
    gateway: httpx.Client,
    token_for: Headers,
    category: str,
    **overrides: Any,
) -> dict[str, Any]:
    cp = counterparty(rpc, people, category)
    scan = upload(gateway, token_for("office"))
    body = incoming(entities(rpc, people)[0]["id"], cp["id"], people["manager"].user_id, scan["id"])
    letter: dict[str, Any] = rpc(
        people["office"], "mail", "register_incoming", data=body | overrides
    )
    return letter


def tasks_of(rpc: Rpc, person: Identity, letter_id: str) -> list[dict[str, Any]]:
    return [t for t in rpc(person, "mail", "my_tasks") if t["card_id"] == letter_id]


def the_task(rpc: Rpc, person: Identity, letter_id: str) -> dict[str, Any]:
    found = tasks_of(rpc, person, letter_id)
    assert len(found) == 1, found
    return found[0]


def decide(
    rpc: Rpc, person: Identity, letter_id: str, action: str = "complete", **data: Any
) -> dict[str, Any]:
    task = the_task(rpc, person, letter_id)
    # The public id names the service ("mail:<instance>:<task>"); the RPC takes the rest.
    local = task["id"].removeprefix("mail:")
    answer: dict[str, Any] = rpc(
        person, "mail", "decide_task", task_id=local, data={"action": action, **data}
    )
    return answer


def letter(rpc: Rpc, person: Identity, letter_id: str) -> dict[str, Any]:
    found: dict[str, Any] = rpc(person, "mail", "get_letter", letter_id=letter_id)
    return found


def seq(number: str) -> int:
    found = NUMBER.match(number)
    assert found, number
    return int(found.group(2))


# --- routing ------------------------------------------------------------------------------


def test_a_tenants_letter_goes_to_the_responsible_employee_and_the_director_at_once(
    rpc: Rpc,
    people: dict[str, Identity],
    gateway: httpx.Client,
    token_for: Headers,
    service_db: Any,
) -> None:
    card = register(rpc, people, gateway, token_for, "tenant")
    assert NUMBER.match(card["journal_number"])
    assert card["status"] == "review" and card["counterparty_category"] == "tenant"
    assert set(card["responsible"]) == {people["manager"].user_id, people["director"].user_id}
    execution = the_task(rpc, people["manager"], card["id"])
    assert execution["step_id"] == "tenant_execution" and execution["outputs"] == {
        "reply_needed": "string"
    }
    # Due on the control date (the end of its working day, Moscow time).
    due = datetime.fromisoformat(execution["due_at"]).astimezone(MOSCOW)
    assert due.date() <= date.fromisoformat(card["control_date"])
    assert the_task(rpc, people["director"], card["id"])["step_id"] == "director_review"
    assert tasks_of(rpc, people["ceo"], card["id"]) == []
    with service_db("mail_svc").connect() as conn:
        data = conn.execute(
            text(
                "SELECT payload->'data' FROM outbox WHERE event_type = 'letter.registered' "
                "AND payload->'data'->>'letter_id' = :id"
            ),
            {"id": card["id"]},
        ).scalar_one()
    assert data["number"] == card["journal_number"] and data["direction"] == "incoming"
    assert data["responsible_id"] == people["manager"].user_id
    assert data["link"] == f"/letters/{card['id']}" and card["journal_number"] in data["title"]


def test_a_suppliers_letter_goes_ceo_then_lawyer_then_responsible_and_no_reply_ends_it(
    rpc: Rpc, people: dict[str, Identity], gateway: httpx.Client, token_for: Headers
) -> None:
    card = register(rpc, people, gateway, token_for, "supplier")
    assert card["responsible"] == [people["ceo"].user_id]
    assert tasks_of(rpc, people["manager"], card["id"]) == []
    # The CEO adds a person to his step: the route waits for them too.
    rpc(
        people["ceo"],
        "mail",
        "add_participant",
        letter_id=card["id"],
        data={"user_id": people["pto"].user_id, "comment": "Оцените объём работ"},
    )
    decide(rpc, people["ceo"], card["id"], "approve_with_remarks", comment="Юристу, затем Ивановой")
    assert tasks_of(rpc, people["lawyer"], card["id"]) == []
    decide(rpc, people["pto"], card["id"], "approve")
    # Both lawyers are asked; one is enough.
    decide(rpc, people["lawyer2"], card["id"])
    assert tasks_of(rpc, people["lawyer"], card["id"]) == []
    # A reply answer that is neither yes nor no is refused and changes nothing.
    before = letter(rpc, people["office"], card["id"])
    with pytest.raises(Exception) as caught:
        decide(rpc, people["manager"], card["id"], outputs={"reply_needed": "может быть"})
    assert refused(caught)[0] == "InvalidInput"
    assert letter(rpc, people["office"], card["id"])["version"] == before["version"]
    done = decide(rpc, people["manager"], card["id"], outputs={"reply_needed": "no"})
    assert done["process"]["state"] == "completed"
    final = letter(rpc, people["office"], card["id"])
    assert final["status"] == "completed" and final["reply_needed"] is False
    assert final["reply_id"] is None
    # Every participant keeps seeing the letter (the added person too).
    assert letter(rpc, people["pto"], card["id"])["id"] == card["id"]
    steps = [
        e["step_id"]
        for e in rpc(people["office"], "mail", "letter_timeline", letter_id=card["id"])
        if e["action"] in ("approve", "approve_with_remarks", "complete")
    ]
    assert steps.index("ceo_resolution") < steps.index("legal_review") < steps.index("execution")

    # Work ended: the scan is filed under department / counterparty / letter.
    filed = eventually(
        lambda: (
            letter(rpc, people["office"], card["id"])["filed_at"]
            and letter(rpc, people["office"], card["id"])
        ),
        seconds=20,
    )
    assert filed["archive_folder"].endswith(f"/letter-{card['id']}")
    assert f"/cp-{card['counterparty_id']}/" in filed["archive_folder"]
    copy = rpc(people["office"], "archive", "get_file", file_id=filed["archived_file_ids"][0])
    assert copy["folder_path"] == filed["archive_folder"]
    assert copy["number"] == card["journal_number"]
    # The responsible employee (another department) may read the filed copy now.
    assert rpc(people["manager"], "archive", "get_file", file_id=copy["id"])["id"] == copy["id"]


def test_reply_needed_starts_an_outgoing_letter_linked_to_the_incoming_one(
    rpc: Rpc, people: dict[str, Identity], gateway: httpx.Client, token_for: Headers
) -> None:
    card = register(rpc, people, gateway, token_for, "tenant")
    decide(rpc, people["manager"], card["id"], outputs={"reply_needed": "yes"})
    linked = letter(rpc, people["manager"], card["id"])
    assert linked["reply_needed"] is True and linked["reply_id"]
    # The reply starts at once, though the director has not read the letter yet.
    assert linked["status"] == "review"
    reply = letter(rpc, people["manager"], linked["reply_id"])
    assert reply["direction"] == "outgoing" and reply["reply_to_id"] == card["id"]
    assert reply["journal_number"] is None and reply["status"] == "preparation"
    assert card["journal_number"] in reply["subject"]
    assert reply["counterparty_id"] == card["counterparty_id"]
    assert reply["email_to"] and reply["responsible_id"] == people["manager"].user_id
    preparation = the_task(rpc, people["manager"], reply["id"])
    assert preparation["step_id"] == "preparation"
    # The director's part still ends the incoming letter.
    decide(rpc, people["director"], card["id"])
    assert letter(rpc, people["office"], card["id"])["status"] == "completed"
    # The reply is written and goes to the director.
    draft = upload(gateway, token_for("manager"), "reply.pdf")
    decide(rpc, people["manager"], reply["id"], outputs={"letter_file": draft["id"]})
    moved = letter(rpc, people["manager"], reply["id"])
    assert moved["status"] == "approval" and moved["letter_file_id"] == draft["id"]
    assert moved["responsible"] == [people["director"].user_id]


# --- journal numbers ----------------------------------------------------------------------------


def test_parallel_registrations_get_consecutive_numbers_without_gaps_or_duplicates(
    rpc: Rpc, people: dict[str, Identity], gateway: httpx.Client, token_for: Headers, suite: Stack
) -> None:
    entity = entities(rpc, people)[1]["id"]
    cp = counterparty(rpc, people, "contractor")
    scan = upload(gateway, token_for("office"))

    def body() -> dict[str, Any]:
        return incoming(entity, cp["id"], people["manager"].user_id, scan["id"])

    first = rpc(people["office"], "mail", "register_incoming", data=body())
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def one() -> None:
        # A standalone proxy is not safe to share between threads: one each.
        with ClusterRpcProxy(
            {"AMQP_URI": suite.amqp_uri}, context_data=people["office"].to_context(), timeout=60
        ) as proxy:
            start.wait()
            try:
                answer = proxy.mail.register_incoming(data=body())
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                return
            with lock:
                numbers.append(answer["journal_number"])

    threads = [threading.Thread(target=one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    after = rpc(people["office"], "mail", "register_incoming", data=body())
    base = seq(first["journal_number"])
    assert sorted(seq(n) for n in numbers) == list(range(base + 1, base + 21))
    assert len(set(numbers)) == 20
    assert seq(after["journal_number"]) == base + 21


def test_a_failed_registration_gives_its_number_back(
    rpc: Rpc,
    people: dict[str, Identity],
    gateway: httpx.Client,
    token_for: Headers,
    service_db: Any,
) -> None:
    first = register(rpc, people, gateway, token_for, "government")
    engine = service_db("mail_svc")
    letters, instances = count_rows(engine, "letters"), count_rows(engine, "workflow_instances")
    # The same letter of the counterparty again: refused after its number was drawn.
    again = {
        k: first[k]
        for k in (
            "legal_entity_id",
            "counterparty_id",
            "subject",
            "document_number",
            "document_date",
            "received_date",
            "control_date",
            "responsible_id",
            "scan_file_id",
        )
    }
    with pytest.raises(Exception) as caught:
        rpc(people["office"], "mail", "register_incoming", data=again)
    kind, detail = refused(caught)
    assert kind == "Conflict" and first["journal_number"] in detail
    assert count_rows(engine, "letters") == letters
    assert count_rows(engine, "workflow_instances") == instances
    nxt = rpc(
        people["office"],
        "mail",
        "register_incoming",
        data=again | {"document_number": again["document_number"] + "-2"},
    )
    assert seq(nxt["journal_number"]) == seq(first["journal_number"]) + 1


# --- who may ----------------------------------------------------------------------------------


def test_only_the_office_and_legal_register_and_strangers_do_not_see_a_letter(
    rpc: Rpc,
    people: dict[str, Identity],
    gateway: httpx.Client,
    token_for: Headers,
    service_db: Any,
) -> None:
    cp = counterparty(rpc, people, "supplier")
    scan = upload(gateway, token_for("office"))
    body = incoming(entities(rpc, people)[0]["id"], cp["id"], people["manager"].user_id, scan["id"])
    engine = service_db("mail_svc")
    rows = count_rows(engine, "letters")
    with pytest.raises(Exception) as caught:
        rpc(people["reception"], "mail", "register_incoming", data=body)
    assert refused(caught)[0] == "Forbidden"
    with pytest.raises(Exception) as caught:
        rpc(
            people["office"],
            "mail",
            "register_incoming",
            data=body | {"counterparty_id": str(uuid.uuid4())},
        )
    assert refused(caught)[0] == "InvalidInput"
    assert count_rows(engine, "letters") == rows
    card = rpc(people["lawyer"], "mail", "register_incoming", data=body)
    with pytest.raises(Exception) as caught:
        letter(rpc, people["accountant"], card["id"])
    assert refused(caught)[0] == "NotFound"
    assert letter(rpc, people["manager"], card["id"])["id"] == card["id"]
    mine = rpc(people["accountant"], "mail", "list_letters")["items"]
    assert all(item["id"] != card["id"] for item in mine)


# --- outgoing: approve, register, sign, send, wait, remind ---------------------------------


def test_an_outgoing_letter_is_numbered_emailed_with_its_file_and_checked_after_control_date(
    rpc: Rpc, people: dict[str, Identity], gateway: httpx.Client, token_for: Headers, suite: Stack
) -> None:
    cp = counterparty(rpc, people, "supplier")
    content = b"%PDF-1.7 outgoing letter " + uuid.uuid4().hex.encode()
    file = upload(gateway, token_for("manager"), "pismo.pdf", content)
    control = date.today() + timedelta(days=20)
    card = rpc(
        people["manager"],
        "mail",
        "create_outgoing",
        data=outgoing(
            entities(rpc, people)[0]["id"], cp["id"], file["id"], control_date=control.isoformat()
        ),
    )
    assert card["status"] == "approval" and card["journal_number"] is None
    assert card["email_to"] == [cp["contacts"][0]["email"]]
    decide(rpc, people["director"], card["id"], "approve")
    assert letter(rpc, people["manager"], card["id"])["status"] == "registration"
    decide(rpc, people["lawyer"], card["id"])
    numbered = letter(rpc, people["manager"], card["id"])
    assert re.match(r"^ИСХ-\d{4}-\d{4}$", numbered["journal_number"])
    assert numbered["status"] == "signing"
    decide(rpc, people["director"], card["id"], "approve")
    with pytest.raises(Exception) as caught:
        decide(rpc, people["manager"], card["id"], outputs={"delivery": "pigeon"})
    assert refused(caught)[0] == "InvalidInput"
    decide(rpc, people["manager"], card["id"], outputs={"delivery": "email"})

    spool = suite.extra_env["DOCFLOW_SMTP_STUB_SPOOL"]

    def delivered() -> Any:
        # The spool also holds notify_svc's notices to employees: only the counterparty's.
        return [m for m in read_spool(spool) if m["To"] == cp["contacts"][0]["email"]]

    messages = eventually(delivered, seconds=20)
    assert len(messages) == 1
    message = messages[0]
    assert numbered["journal_number"] in str(message["Subject"])
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["pismo.pdf"]
    assert attachments[0].get_content() == content
    sent = eventually(
        lambda: (
            (c := letter(rpc, people["manager"], card["id"]))["dispatch"]["state"] == "sent" and c
        ),
        seconds=20,
    )
    assert sent["dispatch"]["message_id"] == message["Message-ID"]
    assert sent["status"] == "awaiting_reaction" and sent["responsible"] == []
    # A sweep later never sends it again.
    rpc(people["admin"], "mail", "run_timers")
    assert len(delivered()) == 1

    # Nothing happens before the control date...
    day_before = datetime.combine(control - timedelta(days=1), datetime.min.time(), MOSCOW)
    rpc(people["admin"], "mail", "run_timers", now=(day_before + timedelta(hours=12)).isoformat())
    assert tasks_of(rpc, people["manager"], card["id"]) == []
    # ...after it the executor is asked whether the counterparty reacted...
    after = datetime.combine(control + timedelta(days=3), datetime.min.time(), MOSCOW)
    rpc(people["admin"], "mail", "run_timers", now=(after + timedelta(hours=11)).isoformat())
    check = the_task(rpc, people["manager"], card["id"])
    assert check["step_id"] == "reaction_check"
    assert letter(rpc, people["manager"], card["id"])["status"] == "reaction_check"
    # ...and reminded when the task sits unopened.
    rpc(
        people["admin"], "mail", "run_timers", now=(after + timedelta(days=2, hours=11)).isoformat()
    )
    timeline = rpc(people["manager"], "mail", "letter_timeline", letter_id=card["id"])
    actions = [e["action"] for e in timeline]
    assert "task.reminded" in actions, actions
    decide(rpc, people["manager"], card["id"], comment="Контрагент ответил письмом")
    assert letter(rpc, people["manager"], card["id"])["status"] == "completed"


def test_a_letter_marked_as_posted_sends_no_email(
    rpc: Rpc, people: dict[str, Identity], gateway: httpx.Client, token_for: Headers, suite: Stack
) -> None:
    cp = counterparty(rpc, people, "contractor")
    file = upload(gateway, token_for("manager"), "post.pdf")
    card = rpc(
        people["manager"],
        "mail",
        "create_outgoing",
        data=outgoing(entities(rpc, people)[0]["id"], cp["id"], file["id"]),
    )
    decide(rpc, people["director"], card["id"], "approve")
    decide(rpc, people["lawyer"], card["id"])
    decide(rpc, people["director"], card["id"], "approve")
    decide(rpc, people["manager"], card["id"], outputs={"delivery": "post"})
    posted = letter(rpc, people["manager"], card["id"])
    assert posted["dispatch"]["channel"] == "post" and posted["dispatch"]["state"] == "posted"
    spool = suite.extra_env["DOCFLOW_SMTP_STUB_SPOOL"]
    assert not [m for m in read_spool(spool) if m["To"] == cp["contacts"][0]["email"]]
