"""archive_svc over real RPC, PostgreSQL and an S3 server (moto's, started by the fixtures).

The test plays the gateway's part: it asks for a key, puts the bytes into the
bucket itself, then reports the upload.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from minio import Minio
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services import storage
from services.auth import SYSTEM, Identity
from services.devstack import Stack
from services.testing.plugin import Rpc, count_rows, eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def s3(suite: Stack) -> Iterator[tuple[Minio, str]]:
    env = suite.env()
    settings = storage.S3Settings(
        s3_endpoint=env["DOCFLOW_S3_ENDPOINT"],
        s3_access_key=env.get("DOCFLOW_S3_ACCESS_KEY", "minioadmin"),
        s3_secret_key=env.get("DOCFLOW_S3_SECRET_KEY", "minioadmin"),
        s3_secure=env.get("DOCFLOW_S3_SECURE", "false").lower() == "true",
        s3_bucket=env.get("DOCFLOW_S3_BUCKET", "docflow-archive"),
    )
    yield storage.make_client(settings), settings.s3_bucket


def fresh_folder(**extra: Any) -> dict[str, Any]:
    return {"counterparty_id": str(uuid.uuid4()), "counterparty_name": "ООО «Ромашка»", **extra}


def put(
    rpc: Rpc,
    s3: tuple[Minio, str],
    who: Identity,
    data: bytes,
    *,
    folder: dict[str, Any] | None = None,
    file_id: str | None = None,
    name: str = "договор.pdf",
    card: dict[str, Any] | None = None,
) -> dict[str, Any]:
    target: dict[str, Any] = (
        {"file_id": file_id} if file_id else {"folder": folder or fresh_folder()}
    )
    ticket = rpc(who, "archive", "begin_upload", data={"original_name": name, **target})
    client, bucket = s3
    result = client.put_object(bucket, ticket["key"], io.BytesIO(data), len(data))
    return rpc(
        who,
        "archive",
        "complete_upload",
        data={
            "upload_id": ticket["upload_id"],
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "content_type": storage.sniff_content_type(data[:8192]),
            "s3_version_id": result.version_id,
            "card": card or {},
        },
    )


def error_type(caught: pytest.ExceptionInfo[BaseException]) -> str:
    return str(getattr(caught.value, "exc_type", ""))


def test_the_bucket_exists_with_versioning(s3: tuple[Minio, str], rpc: Rpc) -> None:
    client, bucket = s3
    assert rpc(None, "archive", "health") == {"service": "archive", "status": "ok"}
    assert client.bucket_exists(bucket)
    assert client.get_bucket_versioning(bucket).status == "Enabled"


def test_an_upload_is_recorded_with_its_object_and_event(
    rpc: Rpc, s3: tuple[Minio, str], people: dict[str, Identity], service_db: Any
) -> None:
    manager = people["manager"]
    data = b"%PDF-1.4 " + os.urandom(2000)
    contract = str(uuid.uuid4())
    out = put(
        rpc,
        s3,
        manager,
        data,
        folder=fresh_folder(contract_id=contract),
        card={"title": "Договор поставки", "number": "Д-1/2026", "doc_type": "contract"},
    )
    assert out["version"] == 1 and out["size"] == len(data)
    assert out["sha256"] == hashlib.sha256(data).hexdigest()
    assert out["content_type"] == storage.PDF
    assert out["department_id"] == manager.department_id
    assert out["folder_path"].endswith(f"/contract-{contract}")
    assert out["counterparty_name"] == "ООО «Ромашка»"
    engine = service_db("archive_svc")
    with engine.connect() as conn:
        key = conn.execute(
            text("SELECT object_key FROM file_versions WHERE file_id = :f"), {"f": out["id"]}
        ).scalar_one()
        event = eventually(
            lambda: conn.execute(
                text(
                    "SELECT payload FROM outbox WHERE event_type = 'file.stored' "
                    "AND payload->'data'->>'file_id' = :f"
                ),
                {"f": out["id"]},
            ).scalar()
        )
    client, bucket = s3
    assert key.startswith(out["folder_path"] + "/")
    assert client.get_object(bucket, key).read() == data
    assert event["data"]["sha256"] == out["sha256"]


def test_a_new_version_keeps_the_old_one(
    rpc: Rpc, s3: tuple[Minio, str], people: dict[str, Identity], service_db: Any
) -> None:
    lawyer = people["lawyer"]
    first = put(rpc, s3, lawyer, b"first version")
    second = put(rpc, s3, lawyer, b"second version", file_id=first["id"], name="v2.txt")
    assert second["id"] == first["id"] and second["version"] == 2
    assert [v["version"] for v in second["versions"]] == [1, 2]
    client, bucket = s3
    with service_db("archive_svc").connect() as conn:
        keys = (
            conn.execute(
                text("SELECT object_key FROM file_versions WHERE file_id = :f ORDER BY version_no"),
                {"f": first["id"]},
            )
            .scalars()
            .all()
        )
    assert len(set(keys)) == 2
    assert [client.get_object(bucket, k).read() for k in keys] == [
        b"first version",
        b"second version",
    ]
    old = rpc(lawyer, "archive", "open_file", file_id=first["id"], version=1)
    assert old["key"] == keys[0] and old["size"] == len(b"first version")


def test_complete_refuses_an_object_that_is_not_there(
    rpc: Rpc, people: dict[str, Identity]
) -> None:
    who = people["manager"]
    ticket = rpc(who, "archive", "begin_upload", data={"original_name": "x", "folder": {}})
    with pytest.raises(Exception) as caught:
        rpc(
            who,
            "archive",
            "complete_upload",
            data={
                "upload_id": ticket["upload_id"],
                "size": 1,
                "sha256": "0" * 64,
                "content_type": "text/plain",
            },
        )
    assert error_type(caught) == "InvalidInput"


def test_an_aborted_upload_leaves_no_file_and_no_object(
    rpc: Rpc, s3: tuple[Minio, str], people: dict[str, Identity], service_db: Any
) -> None:
    who = people["manager"]
    engine = service_db("archive_svc")
    files_before = count_rows(engine, "files")
    ticket = rpc(who, "archive", "begin_upload", data={"original_name": "x", "folder": {}})
    client, bucket = s3
    client.put_object(bucket, ticket["key"], io.BytesIO(b"partial"), 7)
    rpc(who, "archive", "abort_upload", upload_id=ticket["upload_id"])
    assert not storage.object_exists(client, bucket, ticket["key"])
    assert count_rows(engine, "files") == files_before
    with pytest.raises(Exception) as caught:
        rpc(who, "archive", "abort_upload", upload_id=ticket["upload_id"])
    assert error_type(caught) == "Conflict"


def test_someone_elses_upload_cannot_be_completed(rpc: Rpc, people: dict[str, Identity]) -> None:
    ticket = rpc(
        people["manager"], "archive", "begin_upload", data={"original_name": "x", "folder": {}}
    )
    with pytest.raises(Exception) as caught:
        rpc(people["manager2"], "archive", "abort_upload", upload_id=ticket["upload_id"])
    assert error_type(caught) == "NotFound"


def test_a_declared_size_over_the_limit_is_refused_before_anything(
    rpc: Rpc, people: dict[str, Identity]
) -> None:
    with pytest.raises(Exception) as caught:
        rpc(
            people["manager"],
            "archive",
            "begin_upload",
            data={"original_name": "big.bin", "folder": {}, "declared_size": 10**12},
        )
    assert error_type(caught) == "TooLarge"


def test_filing_into_another_department_needs_the_archivist(
    rpc: Rpc, s3: tuple[Minio, str], people: dict[str, Identity]
) -> None:
    legal = people["lawyer"].department_id
    folder = {"department_id": legal}
    with pytest.raises(Exception) as caught:
        rpc(
            people["manager"],
            "archive",
            "begin_upload",
            data={"original_name": "x", "folder": folder},
        )
    assert error_type(caught) == "Forbidden"
    out = put(rpc, s3, people["office"], b"filed by the archivist", folder=folder)
    assert out["department_id"] == legal


def test_other_departments_see_nothing_until_granted(
    rpc: Rpc, s3: tuple[Minio, str], people: dict[str, Identity]
) -> None:
    out = put(rpc, s3, people["manager"], b"sales only", card={"title": "Коммерческое предложение"})
    outsider, reader = people["pto"], people["ceo"]
    for method, kwargs in (("get_file", {}), ("open_file", {"version": None})):
        with pytest.raises(Exception) as caught:
            rpc(outsider, "archive", method, file_id=out["id"], **kwargs)
        assert error_type(caught) == "NotFound"
    listed = rpc(outsider, "archive", "list_files", q="Коммерческое предложение")
    assert out["id"] not in {f["id"] for f in listed["items"]}
    assert rpc(reader, "archive", "get_file", file_id=out["id"])["id"] == out["id"]
    granted = rpc(
        SYSTEM, "archive", "grant", target={"file_id": out["id"]}, user_ids=[outsider.user_id]
    )
    assert granted["granted"] == 1
    assert rpc(outsider, "archive", "get_file", file_id=out["id"])["id"] == out["id"]
    listed = rpc(outsider, "archive", "list_files", q="Коммерческое предложение")
    assert out["id"] in {f["id"] for f in listed["items"]}


def test_a_folder_grant_opens_everything_under_it(
    rpc: Rpc, s3: tuple[Minio, str], people: dict[str, Identity]
) -> None:
    folder = fresh_folder()
    inside = put(
        rpc, s3, people["manager"], b"one", folder={**folder, "contract_id": str(uuid.uuid4())}
    )
    outsider = people["accountant"]
    with pytest.raises(Exception) as caught:
        rpc(outsider, "archive", "get_file", file_id=inside["id"])
    assert error_type(caught) == "NotFound"
    cp_path = inside["folder_path"].rsplit("/", 1)[0]
    rpc(
        people["manager"],
        "archive",
        "grant",
        target={"folder_path": cp_path},
        user_ids=[outsider.user_id],
    )
    assert rpc(outsider, "archive", "get_file", file_id=inside["id"])["id"] == inside["id"]
    listing = rpc(outsider, "archive", "list_folders", path=cp_path)
    assert listing["folder"]["path"] == cp_path
    assert [f["path"] for f in listing["items"]] == [inside["folder_path"]]


def test_the_audit_trail_records_reads_and_refuses_changes(
    rpc: Rpc, s3: tuple[Minio, str], people: dict[str, Identity], service_db: Any
) -> None:
    who = people["manager"]
    out = put(rpc, s3, who, b"audited")
    rpc(who, "archive", "get_file", file_id=out["id"])
    rpc(who, "archive", "open_file", file_id=out["id"])
    engine = service_db("archive_svc")
    with engine.connect() as conn:
        actions = conn.execute(
            text("SELECT action, actor_id FROM audit_log WHERE file_id = :f ORDER BY id"),
            {"f": out["id"]},
        ).all()
    assert [a for a, _ in actions] == ["file.stored", "file.read_card", "file.read"]
    assert {actor for _, actor in actions} == {who.user_id}
    for statement in (
        "UPDATE audit_log SET actor_id = 'someone' WHERE file_id = :f",
        "DELETE FROM audit_log WHERE file_id = :f",
    ):
        with engine.connect() as conn, pytest.raises(DBAPIError) as caught:
            conn.execute(text(statement), {"f": out["id"]})
        assert "append-only" in str(caught.value)
    with engine.connect() as conn, pytest.raises(DBAPIError):
        conn.execute(text("TRUNCATE audit_log"))


def test_originals_are_registered_and_found_by_document(
    rpc: Rpc, people: dict[str, Identity]
) -> None:
    contract = str(uuid.uuid4())
    original = {
        "document_kind": "contract",
        "document_id": contract,
        "received_by": people["office"].user_id,
        "received_at": "2026-03-05T11:20:00+03:00",
        "storage_place": "Архив, шкаф 3, полка 2",
    }
    with pytest.raises(Exception) as caught:
        rpc(people["manager"], "archive", "register_original", data=original)
    assert error_type(caught) == "Forbidden"
    out = rpc(people["office"], "archive", "register_original", data=original)
    assert out["storage_place"] == "Архив, шкаф 3, полка 2"
    found = rpc(people["manager"], "archive", "list_originals", document=f"contract:{contract}")
    assert [o["id"] for o in found] == [out["id"]]
