"""counterparty_svc over real RPC, PostgreSQL, RabbitMQ and the 1C stand-in over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from counterparty_svc.testing import OneCStub, legal_entity, onec_item, sole_proprietor
from services.auth import Identity
from services.devstack import Stack
from services.testing.plugin import Rpc, eventually
from tests.integration.test_outbox import EventTap

pytestmark = pytest.mark.integration


@pytest.fixture
def events(suite: Stack) -> Iterator[EventTap]:
    tap = EventTap(suite.amqp_uri, "counterparty")
    yield tap
    tap.close()


@pytest.fixture
def onec(suite: Stack) -> Iterator[OneCStub]:
    stub = OneCStub(suite)
    yield stub
    stub.mode(down=False, fail_next=0)


def refused(caught: pytest.ExceptionInfo[Exception]) -> tuple[str, str]:
    """(error class, detail) of a refused call; field paths are checked over HTTP (e2e)."""
    exc: Any = caught.value
    return getattr(exc, "exc_type", ""), str(getattr(exc, "value", ""))


def rows_with_inn(service_db: Any, inn: str) -> int:
    with service_db("counterparty_svc").connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM counterparties WHERE inn = :inn"), {"inn": inn}
            ).scalar_one()
        )


def outbox_events(service_db: Any, event_type: str, counterparty_id: str) -> int:
    with service_db("counterparty_svc").connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM outbox WHERE event_type = :t AND "
                    "(payload->'data'->>'counterparty_id' = :id "
                    " OR payload->'data'->'counterparty'->>'id' = :id)"
                ),
                {"t": event_type, "id": counterparty_id},
            ).scalar_one()
        )


def test_a_card_is_created_and_announced(
    rpc: Rpc, people: dict[str, Identity], events: EventTap
) -> None:
    card = rpc(people["lawyer"], "counterparty", "create_counterparty", data=legal_entity())
    assert card["version"] == 1 and card["verified_at"] is None
    envelope, _ = events.wait_for(
        lambda e: (
            e["event_type"] == "counterparty.created"
            and e["data"]["counterparty"]["id"] == card["id"]
        )
    )
    assert envelope["data"]["origin"] == "manual"
    assert envelope["data"]["counterparty"]["inn"] == card["inn"]


def test_one_card_per_inn_and_kpp(rpc: Rpc, people: dict[str, Identity], service_db: Any) -> None:
    data = legal_entity()
    rpc(people["lawyer"], "counterparty", "create_counterparty", data=data)
    with pytest.raises(Exception) as caught:
        rpc(
            people["manager"],
            "counterparty",
            "create_counterparty",
            data=data | {"short_name": "Другое имя"},
        )
    assert refused(caught)[0] == "Conflict"
    # Another KPP of the same INN (a branch) is another card.
    branch = rpc(
        people["lawyer"],
        "counterparty",
        "create_counterparty",
        data=data | {"kpp": data["inn"][:4] + "02001"},
    )
    assert branch["kpp"].endswith("02001")
    assert rows_with_inn(service_db, data["inn"]) == 2


def test_a_mistyped_inn_is_refused_with_its_field_and_nothing_is_written(
    rpc: Rpc, people: dict[str, Identity], service_db: Any
) -> None:
    data = legal_entity()
    wrong = data["inn"][:-1] + str((int(data["inn"][-1]) + 1) % 10)
    with pytest.raises(Exception) as caught:
        rpc(people["lawyer"], "counterparty", "create_counterparty", data=data | {"inn": wrong})
    kind, detail = refused(caught)
    assert kind == "InvalidInput" and "INN control digits" in detail
    assert rows_with_inn(service_db, wrong) == 0


def test_an_unknown_kind_is_refused(rpc: Rpc, people: dict[str, Identity]) -> None:
    with pytest.raises(Exception) as caught:
        rpc(
            people["lawyer"],
            "counterparty",
            "create_counterparty",
            data=legal_entity(kind="partnership"),
        )
    assert refused(caught)[0] == "InvalidInput"


def test_reception_reads_cards_but_may_not_create_them(
    rpc: Rpc, people: dict[str, Identity]
) -> None:
    card = rpc(people["accountant"], "counterparty", "create_counterparty", data=sole_proprietor())
    assert (
        rpc(people["reception"], "counterparty", "get_counterparty", counterparty_id=card["id"])[
            "inn"
        ]
        == card["inn"]
    )
    with pytest.raises(Exception) as caught:
        rpc(people["reception"], "counterparty", "create_counterparty", data=legal_entity())
    assert refused(caught)[0] == "Forbidden"


def test_a_stale_version_is_a_conflict(rpc: Rpc, people: dict[str, Identity]) -> None:
    card = rpc(people["lawyer"], "counterparty", "create_counterparty", data=legal_entity())
    changed = rpc(
        people["lawyer"],
        "counterparty",
        "update_counterparty",
        counterparty_id=card["id"],
        data={"category": "client"},
        expected_version=1,
    )
    assert changed["version"] == 2 and changed["category"] == "client"
    with pytest.raises(Exception) as caught:
        rpc(
            people["lawyer2"],
            "counterparty",
            "update_counterparty",
            counterparty_id=card["id"],
            data={"category": "tenant"},
            expected_version=1,
        )
    assert refused(caught)[0] == "Conflict"
    again = rpc(people["lawyer"], "counterparty", "get_counterparty", counterparty_id=card["id"])
    assert again["category"] == "client" and again["version"] == 2


def test_lookup_offers_what_1c_knows_and_reverifies_a_stale_card(
    rpc: Rpc, people: dict[str, Identity], onec: OneCStub, events: EventTap
) -> None:
    data = legal_entity()
    onec.add(onec_item(data, description="Тест (по данным 1С)"))
    first = rpc(people["manager"], "counterparty", "lookup", inn=data["inn"])
    assert first["known"] == []
    assert [r["card"]["inn"] for r in first["onec"]] == [data["inn"]]
    assert first["onec"][0]["card"]["kpp"] == data["kpp"]

    card = rpc(people["manager"], "counterparty", "create_counterparty", data=data)
    second = rpc(people["manager"], "counterparty", "lookup", inn=data["inn"])
    [known] = second["known"]
    # Never verified: stale, so re-checked against 1C before it is offered.
    assert known["was_stale"] and known["reverified"] and known["reusable"]
    assert known["counterparty"]["verified_at"] is not None
    assert known["counterparty"]["short_name"] == "Тест (по данным 1С)"
    envelope, _ = events.wait_for(
        lambda e: (
            e["event_type"] == "counterparty.verified"
            and e["data"]["counterparty_id"] == card["id"]
        )
    )
    assert envelope["data"]["changed_fields"] == ["short_name"]

    third = rpc(people["manager"], "counterparty", "lookup", inn=data["inn"])
    assert third["known"][0]["was_stale"] is False and third["known"][0]["reverified"] is False


def test_a_stale_card_that_1c_does_not_know_is_not_offered(
    rpc: Rpc, people: dict[str, Identity], onec: OneCStub
) -> None:
    card = rpc(people["lawyer"], "counterparty", "create_counterparty", data=legal_entity())
    found = rpc(people["lawyer"], "counterparty", "lookup", inn=card["inn"])
    assert found["onec"] == []
    assert found["known"][0]["reusable"] is False and found["known"][0]["was_stale"] is True


def test_verify_confirms_against_1c_by_ref_key(
    rpc: Rpc, people: dict[str, Identity], onec: OneCStub, events: EventTap
) -> None:
    data = sole_proprietor()
    item = onec_item(data)
    onec.add(item)
    card = rpc(people["lawyer"], "counterparty", "create_counterparty", data=data)
    result = rpc(people["lawyer"], "counterparty", "verify", counterparty_id=card["id"])
    assert result["outcome"] == "confirmed"
    assert result["counterparty"]["onec_ref"] == item["Ref_Key"]
    events.wait_for(
        lambda e: (
            e["event_type"] == "counterparty.verified"
            and e["data"]["counterparty_id"] == card["id"]
        )
    )
    # 1C renames it; the next verification goes by Ref_Key and brings the new name.
    onec.add(item | {"Description": "ИП Переименованный", "DataVersion": "AAAAAAAAAAI="})
    again = rpc(people["lawyer"], "counterparty", "verify", counterparty_id=card["id"])
    assert again["changed_fields"] == ["short_name"]
    assert again["counterparty"]["short_name"] == "ИП Переименованный"
    assert again["counterparty"]["onec_data_version"] == "AAAAAAAAAAI="


def test_when_1c_is_down_verify_and_lookup_are_503_and_nothing_is_written(
    rpc: Rpc, people: dict[str, Identity], onec: OneCStub, service_db: Any
) -> None:
    data = legal_entity()
    onec.add(onec_item(data))
    card = rpc(people["lawyer"], "counterparty", "create_counterparty", data=data)
    onec.mode(down=True)
    for method, kwargs in (
        ("verify", {"counterparty_id": card["id"]}),
        ("lookup", {"inn": data["inn"]}),
    ):
        with pytest.raises(Exception) as caught:
            rpc(people["lawyer"], "counterparty", method, **kwargs)
        kind, detail = refused(caught)
        assert kind == "Unavailable" and "1C" in detail, detail
    after = rpc(people["lawyer"], "counterparty", "get_counterparty", counterparty_id=card["id"])
    assert after["verified_at"] is None and after["version"] == 1
    assert outbox_events(service_db, "counterparty.verified", card["id"]) == 0
    onec.mode(down=False)
    assert (
        rpc(people["lawyer"], "counterparty", "verify", counterparty_id=card["id"])["outcome"]
        == "confirmed"
    )


def test_a_passing_1c_failure_is_retried(
    rpc: Rpc, people: dict[str, Identity], onec: OneCStub
) -> None:
    data = legal_entity()
    onec.add(onec_item(data))
    before = onec.stats()["failed"]
    onec.mode(fail_next=2, fail_status=503)
    found = rpc(people["lawyer"], "counterparty", "lookup", inn=data["inn"])
    assert len(found["onec"]) == 1
    assert onec.stats()["failed"] == before + 2


def wait_import(rpc: Rpc, who: Identity, job_id: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = rpc(who, "counterparty", "get_import", job_id=job_id)
        return job if job["state"] in ("completed", "failed") else None

    job = eventually(finished, seconds=60, pause=0.3)
    assert job, "the import did not finish"
    return job  # type: ignore[no-any-return]


def test_import_reads_every_page_reports_progress_and_is_idempotent(
    rpc: Rpc, people: dict[str, Identity], onec: OneCStub, service_db: Any
) -> None:
    admin = people["admin"]
    total = onec.catalogue_size()
    job = rpc(admin, "counterparty", "start_import", data={"page_size": 7, "category": "supplier"})
    assert job["state"] == "queued" and job["done"] == 0
    done = wait_import(rpc, admin, job["id"])
    assert done["state"] == "completed"
    assert done["total"] == total and done["done"] == total and done["position"] == total
    assert done["created"] + done["updated"] + done["unchanged"] + done["failed"] == total
    # The stand-in's catalogue holds one item with a mistyped INN.
    assert done["failed"] >= 1
    assert any("INN" in e["errors"][0]["msg"] for e in done["errors"])

    with service_db("counterparty_svc").connect() as conn:
        mirrored = conn.execute(
            text("SELECT count(*) FROM counterparties WHERE onec_ref IS NOT NULL")
        ).scalar_one()
    again = wait_import(
        rpc, admin, rpc(admin, "counterparty", "start_import", data={"page_size": 50})["id"]
    )
    assert again["state"] == "completed" and again["created"] == 0
    assert again["unchanged"] + again["failed"] == total
    with service_db("counterparty_svc").connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM counterparties WHERE onec_ref IS NOT NULL")
            ).scalar_one()
            == mirrored
        )


def test_an_interrupted_import_resumes_from_its_last_position(
    rpc: Rpc, people: dict[str, Identity], onec: OneCStub, service_db: Any
) -> None:
    # As if a service died mid-import: the job is "running", its lease lapsed,
    # 10 items were committed. The runner takes it over from position 10.
    total = onec.catalogue_size()
    with service_db("counterparty_svc").begin() as conn:
        job_id = conn.execute(
            text(
                "INSERT INTO onec_import_jobs (id, state, category, page_size, total, done, "
                "position, lease_until, started_by) VALUES (gen_random_uuid(), 'running', "
                "'client', 5, :total, 10, 10, now() - interval '1 minute', :who) RETURNING id"
            ),
            {"total": total, "who": people["admin"].user_id},
        ).scalar_one()
    job = wait_import(rpc, people["admin"], str(job_id))
    assert job["state"] == "completed"
    assert job["position"] == total and job["done"] == total
    # Only the items after position 10 were read this time.
    assert job["created"] + job["updated"] + job["unchanged"] + job["failed"] == total - 10


def test_only_administrators_and_the_chief_accountant_import(
    rpc: Rpc, people: dict[str, Identity]
) -> None:
    with pytest.raises(Exception) as caught:
        rpc(people["lawyer"], "counterparty", "start_import", data={})
    assert refused(caught)[0] == "Forbidden"


def test_the_checklist_says_present_missing_expired_and_the_sweep_announces_once(
    rpc: Rpc, people: dict[str, Identity], events: EventTap
) -> None:
    lawyer = people["lawyer"]
    card = rpc(lawyer, "counterparty", "create_counterparty", data=sole_proprietor())
    today = datetime.now(UTC).date()
    view = rpc(lawyer, "counterparty", "documents", counterparty_id=card["id"])
    assert {line["doc_type"]: line["status"] for line in view["checklist"]} == {
        "egrip_extract": "missing",
        "passport": "missing",
    }
    # The extract arrives first (its 30 days are over), the passport later.
    old = rpc(
        lawyer,
        "counterparty",
        "add_document",
        counterparty_id=card["id"],
        data={
            "doc_type": "egrip_extract",
            "issued_on": (today - timedelta(days=40)).isoformat(),
            "file_id": "file-egrip-1",
        },
    )
    assert old["expires_on"] == (today - timedelta(days=10)).isoformat()
    rpc(
        lawyer,
        "counterparty",
        "add_document",
        counterparty_id=card["id"],
        data={
            "doc_type": "passport",
            "number": "4500 123456",
            "issued_on": "2015-05-05",
            "file_id": "file-passport-1",
        },
    )
    view = rpc(lawyer, "counterparty", "documents", counterparty_id=card["id"])
    assert {line["doc_type"]: line["status"] for line in view["checklist"]} == {
        "egrip_extract": "expired",
        "passport": "present",
    }
    assert view["complete"] is False

    first = rpc(
        people["admin"],
        "counterparty",
        "sweep_expired_documents",
        now=datetime.now(UTC).isoformat(),
    )
    mine = [a for a in first["announced"] if a["counterparty_id"] == card["id"]]
    assert [d["document_id"] for d in mine[0]["documents"]] == [old["id"]]
    events.wait_for(
        lambda e: (
            e["event_type"] == "counterparty.documents_expired"
            and e["data"]["counterparty_id"] == card["id"]
        )
    )
    second = rpc(
        people["admin"],
        "counterparty",
        "sweep_expired_documents",
        now=datetime.now(UTC).isoformat(),
    )
    assert card["id"] not in [a["counterparty_id"] for a in second["announced"]]

    # A fresh extract makes the package complete.
    rpc(
        lawyer,
        "counterparty",
        "add_document",
        counterparty_id=card["id"],
        data={
            "doc_type": "egrip_extract",
            "issued_on": today.isoformat(),
            "file_id": "file-egrip-2",
        },
    )
    view = rpc(lawyer, "counterparty", "documents", counterparty_id=card["id"])
    assert view["complete"] is True


def test_an_unknown_document_type_and_an_expiry_before_issue_are_refused(
    rpc: Rpc, people: dict[str, Identity]
) -> None:
    card = rpc(people["lawyer"], "counterparty", "create_counterparty", data=legal_entity())
    for data, words in (
        ({"doc_type": "horoscope", "issued_on": "2026-01-01", "file_id": "f"}, "unknown"),
        (
            {
                "doc_type": "charter",
                "issued_on": "2026-01-01",
                "expires_on": "2025-01-01",
                "file_id": "f",
            },
            "expire before",
        ),
    ):
        with pytest.raises(Exception) as caught:
            rpc(
                people["lawyer"],
                "counterparty",
                "add_document",
                counterparty_id=card["id"],
                data=data,
            )
        kind, detail = refused(caught)
        assert kind == "InvalidInput" and words in detail


def test_the_sweep_is_for_administrators(rpc: Rpc, people: dict[str, Identity]) -> None:
    with pytest.raises(Exception) as caught:
        rpc(people["lawyer"], "counterparty", "sweep_expired_documents", now=None)
    assert refused(caught)[0] == "Forbidden"


def test_documents_expire_the_day_after_their_expiry_date(
    rpc: Rpc, people: dict[str, Identity]
) -> None:
    card = rpc(people["lawyer"], "counterparty", "create_counterparty", data=legal_entity())
    rpc(
        people["lawyer"],
        "counterparty",
        "add_document",
        counterparty_id=card["id"],
        data={
            "doc_type": "charter",
            "issued_on": "2020-01-01",
            "expires_on": "2030-06-30",
            "file_id": "f-charter",
        },
    )

    def status_on(day: date) -> str:
        view = rpc(
            people["lawyer"],
            "counterparty",
            "documents",
            counterparty_id=card["id"],
            on=f"{day.isoformat()}T12:00:00+03:00",
        )
        return str({x["doc_type"]: x["status"] for x in view["checklist"]}["charter"])

    assert status_on(date(2030, 6, 30)) == "present"
    assert status_on(date(2030, 7, 1)) == "expired"
