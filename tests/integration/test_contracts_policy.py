"""The statutory-document policy "flag": the contract goes ahead, the card lists the problems.

The e2e tests run the default policy ("block"); this one drives contracts_svc's use
cases on the suite's real contracts database with the other setting.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from contracts_svc import usecases
from contracts_svc.service import make_host
from contracts_svc.settings import Settings
from services.auth import Identity
from services.errors import InvalidInput
from services.outbox import OutboxWriter
from services.schemas.contracts import NewContract
from tests.unit.workflow.fakes import company

pytestmark = pytest.mark.integration

INCOMPLETE = {
    "checklist": [
        {"doc_type": "charter", "title": "Устав", "status": "present", "expires_on": None},
        {
            "doc_type": "egrul_extract",
            "title": "Выписка из ЕГРЮЛ",
            "status": "missing",
            "expires_on": None,
        },
    ]
}


def directory() -> usecases.Directory:
    return usecases.Directory(
        counterparty=lambda cid: {"id": cid, "short_name": "ООО «Ромашка»"},
        documents=lambda cid: INCOMPLETE,
        file=lambda fid: {"id": fid},
        user=lambda uid: {"id": uid, "active": True},
    )


def test_with_the_flag_policy_a_contract_with_missing_documents_is_submitted_and_flagged(
    service_db: Any,
) -> None:
    factory = sessionmaker(service_db("contracts_svc"), expire_on_commit=False)
    settings = Settings(service_name="contracts_svc", contracts_documents_policy="flag")
    author = Identity(user_id="ivan", username="ivan", department_id="sales")
    new = NewContract(
        subject="Поставка текстиля", counterparty_id=str(uuid.uuid4()), amount="10.00"
    )
    with factory() as session:
        row = usecases.create_contract(session, author, settings, directory(), new)
        row = usecases.submit(
            session,
            author,
            OutboxWriter("contracts", None),
            company(),
            make_host(settings),
            settings,
            directory(),
            str(row.id),
            None,
            datetime(2026, 11, 23, 10, tzinfo=UTC),
        )
        session.commit()
    assert row.status == "in_approval" and row.responsible == ["olga"]
    assert row.documents_check is not None
    assert row.documents_check["complete"] is False
    assert [p["doc_type"] for p in row.documents_check["problems"]] == ["egrul_extract"]


def test_with_the_block_policy_the_same_contract_stays_a_draft(service_db: Any) -> None:
    factory = sessionmaker(service_db("contracts_svc"), expire_on_commit=False)
    settings = Settings(service_name="contracts_svc", contracts_documents_policy="block")
    author = Identity(user_id="ivan", username="ivan", department_id="sales")
    new = NewContract(
        subject="Поставка текстиля", counterparty_id=str(uuid.uuid4()), amount="10.00"
    )
    with factory() as session:
        row = usecases.create_contract(session, author, settings, directory(), new)
        session.commit()
        with pytest.raises(InvalidInput) as refused:
            usecases.submit(
                session,
                author,
                OutboxWriter("contracts", None),
                company(),
                make_host(settings),
                settings,
                directory(),
                str(row.id),
                None,
                datetime(2026, 11, 23, 10, tzinfo=UTC),
            )
        session.rollback()
        assert session.get(type(row), row.id).status == "draft"  # type: ignore[union-attr]
    assert refused.value.errors[0]["loc"] == ["counterparty", "documents", "egrul_extract"]
