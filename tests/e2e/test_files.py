"""The archive as a company system sees it: uploads, downloads, search, rights, originals.

Everything goes through the gateway over HTTP; the S3 server is moto's, started
by the fixtures. The bucket is looked at directly only to prove that nothing
was left behind.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from minio import Minio

from services import storage
from services.devstack import Stack
from services.testing.plugin import count_rows

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
Headers = Callable[[str], dict[str, str]]
LIMIT = 50 * 1024 * 1024  # DOCFLOW_MAX_UPLOAD_BYTES default


@pytest.fixture(scope="module")
def s3(suite: Stack) -> tuple[Minio, str]:
    env = suite.env()
    settings = storage.S3Settings(
        s3_endpoint=env["DOCFLOW_S3_ENDPOINT"],
        s3_access_key=env.get("DOCFLOW_S3_ACCESS_KEY", "minioadmin"),
        s3_secret_key=env.get("DOCFLOW_S3_SECRET_KEY", "minioadmin"),
        s3_secure=env.get("DOCFLOW_S3_SECURE", "false").lower() == "true",
        s3_bucket=env.get("DOCFLOW_S3_BUCKET", "docflow-archive"),
    )
    return storage.make_client(settings), settings.s3_bucket


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def upload(
    gateway: httpx.Client,
    headers: dict[str, str],
    data: bytes,
    name: str = "договор.pdf",
    client_type: str = "application/octet-stream",
    **fields: str,
) -> httpx.Response:
    return gateway.post(
        "/api/v1/files",
        headers=headers,
        data=fields,
        files={"file": (name, data, client_type)},
    )


def objects_in(s3: tuple[Minio, str]) -> set[str]:
    client, bucket = s3
    return {o.object_name for o in client.list_objects(bucket, recursive=True)}


def pdf(size: int) -> bytes:
    return b"%PDF-1.7\n" + os.urandom(size - 9)


def test_upload_and_download_give_back_identical_bytes(
    gateway: httpx.Client, token_for: Headers
) -> None:
    data = pdf(7 * 1024 * 1024 + 123)  # more than one multipart part
    me = token_for("manager")
    answer = upload(
        gateway,
        me,
        data,
        client_type="image/png",  # the client's claim is ignored
        counterparty_id=str(uuid.uuid4()),
        counterparty_name="ООО «Северный ветер»",
        contract_id=str(uuid.uuid4()),
        title="Договор аренды склада",
        number="А-7/2026",
        type="contract",
        document_date="2026-03-02",
    )
    assert answer.status_code == 201, answer.text
    card = answer.json()
    assert answer.headers["location"] == f"/api/v1/files/{card['id']}"
    assert card["size"] == len(data)
    assert card["sha256"] == hashlib.sha256(data).hexdigest()
    assert card["content_type"] == storage.PDF
    assert card["document_date"] == "2026-03-02" and card["doc_type"] == "contract"

    content = gateway.get(f"/api/v1/files/{card['id']}/content", headers=me)
    assert content.status_code == 200
    assert content.content == data
    assert hashlib.sha256(content.content).hexdigest() == card["sha256"]
    assert content.headers["content-type"] == storage.PDF
    assert "attachment" in content.headers["content-disposition"]

    meta = gateway.get(f"/api/v1/files/{card['id']}", headers=me).json()
    assert meta["versions"][0]["sha256"] == card["sha256"]


def test_a_raw_body_upload_works_too(gateway: httpx.Client, token_for: Headers) -> None:
    data = "Акт сверки взаиморасчётов\n".encode() * 100
    answer = gateway.post(
        "/api/v1/files",
        headers={**token_for("accountant"), "Content-Type": "application/octet-stream"},
        params={"name": "акт.txt", "title": "Акт сверки"},
        content=data,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["content_type"] == storage.TEXT
    assert answer.json()["original_name"] == "акт.txt"


def test_search_finds_russian_word_forms(gateway: httpx.Client, token_for: Headers) -> None:
    me = token_for("manager")
    marker = uuid.uuid4().hex[:8]
    cp = str(uuid.uuid4())
    made = upload(
        gateway,
        me,
        pdf(2000),
        counterparty_id=cp,
        counterparty_name="ООО «Ландыш»",
        title="Договор поставки мебели",
        number=f"П-{marker}",
        description="Поставка офисных столов",
    )
    assert made.status_code == 201, made.text
    file_id = made.json()["id"]

    def ids(**params: str) -> set[str]:
        answer = gateway.get("/api/v1/files", headers=me, params=params)
        assert answer.status_code == 200, answer.text
        return {f["id"] for f in answer.json()["items"]}

    assert file_id in ids(q="договора")  # genitive finds the nominative
    assert file_id in ids(q="поставками столами")
    assert file_id in ids(q="ландыша")
    assert file_id in ids(counterparty_id=cp)
    assert file_id in ids(number=f"п-{marker}")
    assert file_id not in ids(q="договора", type="invoice")
    assert file_id not in ids(q="договора", date_to="2000-01-01")
    assert file_id not in ids(q="аренда самолёта")


def test_keyset_pages_do_not_repeat(gateway: httpx.Client, token_for: Headers) -> None:
    me = token_for("manager2")
    cp = str(uuid.uuid4())
    made = {
        upload(gateway, me, f"страница {i}".encode(), name=f"{i}.txt", counterparty_id=cp).json()[
            "id"
        ]
        for i in range(5)
    }
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"counterparty_id": cp, "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = gateway.get("/api/v1/files", headers=me, params=params).json()
        seen += [f["id"] for f in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5 and set(seen) == made


def test_another_department_gets_404_not_403(gateway: httpx.Client, token_for: Headers) -> None:
    card = upload(gateway, token_for("manager"), pdf(3000), title="Секретное предложение").json()
    outsider = token_for("pto")
    problem(gateway.get(f"/api/v1/files/{card['id']}", headers=outsider), 404)
    problem(gateway.get(f"/api/v1/files/{card['id']}/content", headers=outsider), 404)
    problem(gateway.get(f"/api/v1/files/{uuid.uuid4()}", headers=outsider), 404)
    listed = gateway.get("/api/v1/files", headers=outsider, params={"q": "секретное"}).json()
    assert card["id"] not in {f["id"] for f in listed["items"]}
    # a role the rule lets read everything
    assert (
        gateway.get(f"/api/v1/files/{card['id']}", headers=token_for("director")).status_code == 200
    )


def test_a_declared_oversized_upload_is_refused_at_once(
    suite: Stack, token_for: Headers, s3: tuple[Minio, str]
) -> None:
    """Only the headers and 1 KiB are sent: the 413 must come without the rest of the body."""
    before = objects_in(s3)
    port = int(suite.gateway_url.rsplit(":", 1)[1])
    head = (
        "POST /api/v1/files?name=big.bin HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Authorization: {token_for('manager')['Authorization']}\r\n"
        "Content-Type: application/octet-stream\r\n"
        f"Content-Length: {LIMIT + 1}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head.encode() + b"x" * 1024)
        reply = conn.recv(65536).decode("latin-1")
    assert reply.startswith("HTTP/1.1 413"), reply[:200]
    assert PROBLEM in reply
    assert objects_in(s3) == before


def test_an_oversized_stream_is_cut_off_and_leaves_nothing(
    gateway: httpx.Client, token_for: Headers, s3: tuple[Minio, str], service_db: Any
) -> None:
    engine = service_db("archive_svc")
    files, versions = count_rows(engine, "files"), count_rows(engine, "file_versions")
    before = objects_in(s3)
    chunk = os.urandom(1024 * 1024)

    def body() -> Iterator[bytes]:  # no Content-Length: only counting can stop it
        for _ in range(LIMIT // len(chunk) + 2):
            yield chunk

    answer = gateway.post(
        "/api/v1/files",
        headers={**token_for("manager"), "Content-Type": "application/octet-stream"},
        params={"name": "huge.bin"},
        content=body(),
    )
    problem(answer, 413)
    assert count_rows(engine, "files") == files
    assert count_rows(engine, "file_versions") == versions
    assert objects_in(s3) == before
    client, bucket = s3
    assert not list(client._list_multipart_uploads(bucket).uploads)


def test_a_path_traversal_name_is_only_a_name(
    gateway: httpx.Client, token_for: Headers, s3: tuple[Minio, str], service_db: Any
) -> None:
    me = token_for("manager")
    answer = upload(gateway, me, b"root:x:0:0", name="../../etc/passwd")
    assert answer.status_code == 201, answer.text
    card = answer.json()
    assert card["original_name"] == "../../etc/passwd"
    from sqlalchemy import text

    with service_db("archive_svc").connect() as conn:
        key = conn.execute(
            text("SELECT object_key FROM file_versions WHERE file_id = :f"), {"f": card["id"]}
        ).scalar_one()
    assert ".." not in key and "passwd" not in key and "etc" not in key
    assert key.startswith(card["folder_path"] + "/")
    assert key in objects_in(s3)
    content = gateway.get(f"/api/v1/files/{card['id']}/content", headers=me)
    assert content.content == b"root:x:0:0"
    assert 'filename="passwd"' in content.headers["content-disposition"]
    assert not os.path.exists("/etc/passwd.docflow")  # nothing was written by name


def test_a_new_version_keeps_the_old_one(gateway: httpx.Client, token_for: Headers) -> None:
    me = token_for("lawyer")
    card = upload(gateway, me, b"%PDF-1.4 first", title="Устав").json()
    answer = gateway.post(
        f"/api/v1/files/{card['id']}/versions",
        headers=me,
        files={"file": ("устав-v2.pdf", b"%PDF-1.4 second", "application/pdf")},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"] == 2 and answer.json()["title"] == "Устав"
    base = f"/api/v1/files/{card['id']}/content"
    assert gateway.get(base, headers=me).content == b"%PDF-1.4 second"
    assert gateway.get(base, headers=me, params={"version": 1}).content == b"%PDF-1.4 first"
    problem(gateway.get(base, headers=me, params={"version": 9}), 404)
    outsider = token_for("pto")
    problem(
        gateway.post(
            f"/api/v1/files/{card['id']}/versions",
            headers=outsider,
            files={"file": ("x.pdf", b"%PDF-1.4 evil", "application/pdf")},
        ),
        404,
    )


def test_a_presigned_url_serves_the_same_bytes(gateway: httpx.Client, token_for: Headers) -> None:
    me = token_for("manager")
    data = pdf(5000)
    card = upload(gateway, me, data).json()
    answer = gateway.get(
        f"/api/v1/files/{card['id']}/content", headers=me, params={"redirect": "presigned"}
    )
    assert answer.status_code == 307
    url = answer.headers["location"]
    assert url == answer.json()["url"] and "X-Amz-Signature" in url
    assert httpx.get(url).content == data


def test_folders_appear_on_first_use(gateway: httpx.Client, token_for: Headers) -> None:
    me = token_for("manager")
    cp, contract = str(uuid.uuid4()), str(uuid.uuid4())
    card = upload(
        gateway, me, b"x", counterparty_id=cp, counterparty_name="ООО «Клён»", contract_id=contract
    ).json()
    cp_path = card["folder_path"].rsplit("/", 1)[0]
    listing = gateway.get("/api/v1/folders", headers=me, params={"path": cp_path}).json()
    assert listing["folder"]["title"] == "ООО «Клён»"
    assert [f["path"] for f in listing["items"]] == [card["folder_path"]]
    top = gateway.get("/api/v1/folders", headers=me).json()
    assert cp_path.split("/")[0] in {f["path"] for f in top["items"]}
    in_folder = gateway.get("/api/v1/files", headers=me, params={"folder": cp_path}).json()
    assert [f["id"] for f in in_folder["items"]] == [card["id"]]
    problem(gateway.get("/api/v1/folders", headers=me, params={"path": "../../etc"}), 422)
    problem(gateway.get("/api/v1/folders", headers=token_for("pto"), params={"path": cp_path}), 404)


def test_a_form_without_a_file_is_422(gateway: httpx.Client, token_for: Headers) -> None:
    answer = gateway.post(
        "/api/v1/files", headers=token_for("manager"), files={"title": (None, "нет файла")}
    )
    problem(answer, 422)


def test_a_bad_form_leaves_nothing_behind(
    gateway: httpx.Client, token_for: Headers, s3: tuple[Minio, str], service_db: Any
) -> None:
    engine = service_db("archive_svc")
    files, before = count_rows(engine, "files"), objects_in(s3)
    me = token_for("manager")
    problem(upload(gateway, me, b"%PDF-1.4 x", type="Not A Type!"), 422)
    late_folder = gateway.post(
        "/api/v1/files",
        headers=me,
        files=[
            ("file", ("a.pdf", b"%PDF-1.4 x", "application/pdf")),
            ("counterparty_id", (None, str(uuid.uuid4()))),
        ],
    )
    problem(late_folder, 422)
    assert count_rows(engine, "files") == files
    assert objects_in(s3) == before


def test_paper_originals_are_registered(gateway: httpx.Client, token_for: Headers) -> None:
    contract = str(uuid.uuid4())
    me = gateway.get("/api/v1/me", headers=token_for("office")).json()
    body = {
        "document_kind": "contract",
        "document_id": contract,
        "received_by": me["id"],
        "received_at": "2026-03-05T11:20:00+03:00",
        "storage_place": "Архив, шкаф 3",
    }
    problem(gateway.post("/api/v1/originals", headers=token_for("manager"), json=body), 403)
    made = gateway.post("/api/v1/originals", headers=token_for("office"), json=body)
    assert made.status_code == 201, made.text
    found = gateway.get(
        "/api/v1/originals",
        headers=token_for("manager"),
        params={"document": f"contract:{contract}"},
    ).json()
    assert [o["id"] for o in found] == [made.json()["id"]]
    problem(
        gateway.post(
            "/api/v1/originals",
            headers=token_for("office"),
            json={**body, "received_at": "yesterday"},
        ),
        422,
    )


def test_uploads_need_a_token(gateway: httpx.Client) -> None:
    problem(gateway.post("/api/v1/files", files={"file": ("a.txt", b"a", "text/plain")}), 401)
