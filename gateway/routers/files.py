"""/api/v1/files, /api/v1/folders, /api/v1/originals: the electronic archive.

Files never ride on AMQP. An upload goes: authenticate -> archive.begin_upload
(rights, folder, a server-made object key) -> the request body is streamed to
S3 here, part by part, counted, hashed and sniffed on the way (never the whole
file in memory; over the limit -> 413 and nothing is kept) ->
archive.complete_upload (metadata row, version, audit, ``file.stored``).
A download is authorised by archive.open_file and streamed back from S3 (or
answered with a presigned URL).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote, unquote

import anyio
import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Body, Query, Request, status
from fastapi.responses import JSONResponse, Response, StreamingResponse
from minio import Minio
from pydantic import ValidationError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import iterate_in_threadpool

from gateway.deps import Calls, Settings
from gateway.errors import PROBLEM, PROBLEM_RESPONSES, TYPE_BASE
from gateway.rpc import RemoteCallError
from services import storage
from services.errors import InvalidInput, TooLarge, from_pydantic
from services.schemas import archive as schemas

router = APIRouter(prefix="/api/v1", tags=["archive"], responses={401: PROBLEM_RESPONSES[401]})

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: PROBLEM_RESPONSES[404]}
TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {
        "description": "Payload too large",
        "content": {
            PROBLEM: {
                "example": {
                    "type": TYPE_BASE + "payload-too-large",
                    "title": "Payload too large",
                    "status": 413,
                    "detail": "the file is larger than the limit of 52428800 bytes",
                }
            }
        },
    }
}
#: Room for the form's other fields and part headers around the file in a multipart body.
FORM_OVERHEAD = 256 * 1024
MAX_FIELD_BYTES = 16 * 1024
MAX_FIELDS = 40
FOLDER_FIELDS = (
    "department_id",
    "counterparty_id",
    "counterparty_name",
    "contract_id",
    "letter_id",
)
CARD_FIELDS = ("title", "number", "type", "document_date", "description")

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        **{f: {"type": "string"} for f in FOLDER_FIELDS + CARD_FIELDS},
                        "file": {"type": "string", "format": "binary"},
                    },
                },
                "encoding": {"file": {"contentType": "application/octet-stream"}},
            },
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary"},
            },
        },
        "description": (
            "multipart/form-data with one `file` part. The folder fields "
            f"({', '.join(FOLDER_FIELDS)}) must come before the file part (or be given "
            "as query parameters); card fields may come anywhere. A raw "
            "`application/octet-stream` body is accepted too, with every field as a "
            "query parameter and the name in `?name=` or `Content-Disposition`."
        ),
    }
}


# --- streaming multipart ------------------------------------------------------------


class FormStream:
    """multipart/form-data parsed as it arrives: small fields kept, the file passed through.

    Events: ``("field", name, value)``, ``("file", name, filename)``,
    ``("data", bytes)``, ``("file_end",)``, ``("end",)``.
    """

    def __init__(self, body: AsyncIterator[bytes], boundary: bytes) -> None:
        self._body = body
        self._events: deque[tuple[Any, ...]] = deque()
        self._field = bytearray()
        self._value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._name = ""
        self._is_file = False
        self._buffer = bytearray()
        self._fields = 0
        self._ended = False
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )

    def _part_begin(self) -> None:
        self._headers, self._buffer = {}, bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = bytes(self._value)
        self._field, self._value = bytearray(), bytearray()

    def _headers_finished(self) -> None:
        raw = self._headers.get("content-disposition", b"")
        _, params = parse_options_header(raw)
        self._name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = _filename_of(raw, params)
        self._is_file = filename is not None
        if self._is_file:
            self._events.append(("file", self._name, filename))
        else:
            self._fields += 1
            if self._fields > MAX_FIELDS:
                raise InvalidInput(f"more than {MAX_FIELDS} form fields")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            if end > start:
                self._events.append(("data", bytes(data[start:end])))
            return
        self._buffer += data[start:end]
        if len(self._buffer) > MAX_FIELD_BYTES:
            raise InvalidInput(
                f"form field {self._name[:40]} is too long",
                [{"loc": [self._name[:40]], "msg": f"over {MAX_FIELD_BYTES} bytes"}],
            )

    def _part_end(self) -> None:
        if self._is_file:
            self._events.append(("file_end",))
        else:
            self._events.append(("field", self._name, self._buffer.decode("utf-8", "replace")))

    def _end(self) -> None:
        self._ended = True
        self._events.append(("end",))

    async def next(self) -> tuple[Any, ...]:
        while not self._events:
            chunk = await anext(self._body, None)
            if chunk is None:
                if not self._ended:
                    raise InvalidInput("the multipart body ended before its closing boundary")
                return ("end",)
            if chunk:
                self._parser.write(chunk)
        return self._events.popleft()

    async def file_data(self) -> AsyncIterator[bytes]:
        """The bytes of the file part just announced, as they arrive."""
        while True:
            event = await self.next()
            if event[0] == "data":
                yield event[1]
            elif event[0] == "file_end":
                return
            else:  # pragma: no cover - the parser always closes a part first
                raise InvalidInput("the file part is malformed")


_EXTENDED = re.compile(rb"filename\*\s*=\s*([^']*)'[^']*'([^;]+)", re.IGNORECASE)


def _filename_of(raw: bytes, params: dict[bytes, bytes]) -> str | None:
    extended = _EXTENDED.search(raw)
    if extended:  # RFC 5987: filename*=UTF-8''%D0%B4...
        charset = extended.group(1).decode("ascii", "replace") or "utf-8"
        try:
            return unquote(extended.group(2).decode("ascii").strip().strip('"'), encoding=charset)
        except (LookupError, UnicodeDecodeError):
            return None
    if b"filename" in params:
        return params[b"filename"].decode("utf-8", "replace")
    return None


async def _chunks(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


def _blocking_reader(source: AsyncIterator[bytes]) -> Callable[[], bytes]:
    """``next_chunk`` for a worker thread: each call fetches the next chunk on the event loop."""

    async def pull() -> bytes:
        return await anext(source, b"")

    def next_chunk() -> bytes:
        return anyio.from_thread.run(pull)

    return next_chunk


# --- upload -----------------------------------------------------------------------------


def _check_declared_length(request: Request, limit: int, slack: int) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    try:
        length = int(raw)
    except ValueError:
        raise InvalidInput("Content-Length is not a number") from None
    if length > limit + slack:
        raise TooLarge(
            f"the file is larger than the limit of {limit} bytes",
            [{"loc": ["file"], "msg": f"over {limit} bytes"}],
        )
    return length


def _card(values: dict[str, str]) -> dict[str, Any]:
    card: dict[str, Any] = {}
    for field in CARD_FIELDS:
        value = values.get(field)
        if value:
            card["doc_type" if field == "type" else field] = value
    return card


def _valid_card(values: dict[str, str]) -> schemas.Card:
    for field in (*CARD_FIELDS, *FOLDER_FIELDS, "name"):
        if "\x00" in (values.get(field) or ""):  # PostgreSQL text cannot hold NUL
            raise InvalidInput(
                f"{field} contains a NUL character", [{"loc": [field], "msg": "NUL character"}]
            )
    try:
        return schemas.Card.model_validate(_card(values))
    except ValidationError as exc:
        raise from_pydantic(exc) from None


def _folder(values: dict[str, str]) -> dict[str, Any]:
    return {f: values[f] for f in FOLDER_FIELDS if values.get(f)}


async def _store(
    request: Request,
    calls: Calls,
    settings: Settings,
    query: dict[str, str],
    file_id: str | None,
) -> dict[str, Any]:
    limit = settings.max_upload_bytes
    content_type = request.headers.get("content-type", "")
    media, params = parse_options_header(content_type)
    is_form = media == b"multipart/form-data"
    length = _check_declared_length(request, limit, FORM_OVERHEAD if is_form else 0)
    values = dict(query)
    form: FormStream | None = None
    if is_form:
        boundary = params.get(b"boundary")
        if not boundary:
            raise InvalidInput("multipart/form-data needs a boundary")
        form = FormStream(_chunks(request), boundary)
        while True:
            event = await form.next()
            if event[0] == "field":
                values.setdefault(event[1], event[2])
            elif event[0] == "file":
                name = event[2] or ""
                break
            elif event[0] == "end":
                raise InvalidInput(
                    "the form has no file part", [{"loc": ["file"], "msg": "missing"}]
                )
        source: AsyncIterator[bytes] = form.file_data()
        declared = None
    else:
        disposition = request.headers.get("content-disposition", "").encode("latin-1", "replace")
        from_header = _filename_of(disposition, parse_options_header(disposition)[1])
        name = values.get("name") or from_header or ""
        source = _chunks(request)
        declared = length
    if not name.strip():
        raise InvalidInput("the file has no name", [{"loc": ["file"], "msg": "no name"}])
    _valid_card(values)  # what is known before the bytes is checked before storing them
    request_body: dict[str, Any] = {"original_name": name, "declared_size": declared}
    if file_id is None:
        request_body["folder"] = _folder(values)
    else:
        request_body["file_id"] = file_id
    ticket = schemas.UploadTicket.model_validate(
        await calls("archive", "begin_upload", data=request_body)
    )
    client: Minio = request.app.state.s3
    try:
        stored = await anyio.to_thread.run_sync(
            storage.put_stream,
            client,
            ticket.bucket,
            ticket.key,
            _blocking_reader(source),
            min(limit, ticket.max_bytes),
        )
        if form is not None:  # card fields after the file part
            while (event := await form.next())[0] != "end":
                if event[0] == "field":
                    if event[1] in FOLDER_FIELDS and values.get(event[1]) != event[2]:
                        raise InvalidInput(
                            "folder fields must come before the file part",
                            [{"loc": [event[1]], "msg": "after the file"}],
                        )
                    values.setdefault(event[1], event[2])
                elif event[0] == "file":
                    raise InvalidInput(
                        "send one file per request", [{"loc": ["file"], "msg": "more than one"}]
                    )
        result = schemas.UploadResult(
            upload_id=ticket.upload_id,
            size=stored.size,
            sha256=stored.sha256,
            content_type=stored.content_type,
            etag=stored.etag,
            s3_version_id=stored.version_id,
            card=_valid_card(values),
        )
        out: dict[str, Any] = await calls(
            "archive", "complete_upload", data=result.model_dump(mode="json")
        )
        return out
    except BaseException:
        with anyio.CancelScope(shield=True):
            await _abort(calls, client, ticket)
        raise


async def _abort(calls: Calls, client: Minio, ticket: schemas.UploadTicket) -> None:
    """Nothing of a failed upload is kept: archive_svc marks it aborted and removes the object."""
    try:
        await calls("archive", "abort_upload", upload_id=ticket.upload_id)
    except RemoteCallError as exc:
        if exc.exc_type == "Conflict":  # it was completed after all: keep the object
            return
        await anyio.to_thread.run_sync(storage.remove_quietly, client, ticket.bucket, ticket.key)
    except Exception:  # archive_svc unreachable; its sweep marks the upload later
        await anyio.to_thread.run_sync(storage.remove_quietly, client, ticket.bucket, ticket.key)


def _created(out: dict[str, Any]) -> JSONResponse:
    return JSONResponse(
        out,
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/api/v1/files/{out['id']}"},
    )


@router.post(
    "/files",
    response_model=schemas.File,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a file into a folder (department / counterparty / contract or letter)",
    responses={**TOO_LARGE, 403: PROBLEM_RESPONSES[403]},
    openapi_extra=UPLOAD_BODY,
)
async def upload_file(
    request: Request,
    calls: Calls,
    settings: Settings,
    department_id: str | None = None,
    counterparty_id: str | None = None,
    counterparty_name: Annotated[str | None, Query(max_length=300)] = None,
    contract_id: str | None = None,
    letter_id: str | None = None,
    title: Annotated[str | None, Query(max_length=500)] = None,
    number: Annotated[str | None, Query(max_length=100)] = None,
    type: Annotated[str | None, Query(max_length=40)] = None,
    document_date: date | None = None,
    description: Annotated[str | None, Query(max_length=5000)] = None,
    name: Annotated[str | None, Query(max_length=1000, description="raw bodies only")] = None,
) -> Any:
    query = {
        k: str(v)
        for k, v in {
            "department_id": department_id,
            "counterparty_id": counterparty_id,
            "counterparty_name": counterparty_name,
            "contract_id": contract_id,
            "letter_id": letter_id,
            "title": title,
            "number": number,
            "type": type,
            "document_date": document_date,
            "description": description,
            "name": name,
        }.items()
        if v is not None
    }
    return _created(await _store(request, calls, settings, query, None))


@router.post(
    "/files/{file_id}/versions",
    response_model=schemas.File,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a new version (the earlier ones are kept)",
    responses={**TOO_LARGE, **NOT_FOUND, 403: PROBLEM_RESPONSES[403]},
    openapi_extra=UPLOAD_BODY,
)
async def add_version(
    request: Request,
    calls: Calls,
    settings: Settings,
    file_id: str,
    title: Annotated[str | None, Query(max_length=500)] = None,
    description: Annotated[str | None, Query(max_length=5000)] = None,
    name: Annotated[str | None, Query(max_length=1000)] = None,
) -> Any:
    query = {
        k: v
        for k, v in {"title": title, "description": description, "name": name}.items()
        if v is not None
    }
    out = await _store(request, calls, settings, query, file_id)
    return _created(out)


# --- read ---------------------------------------------------------------------------------


@router.get(
    "/files",
    response_model=schemas.FilePage,
    summary="Search the archive (full text in Russian, counterparty, number, type, dates)",
)
async def list_files(
    calls: Calls,
    folder: Annotated[str | None, Query(max_length=400, description="a folder path")] = None,
    counterparty_id: str | None = None,
    q: Annotated[str | None, Query(max_length=200, description="words of the card")] = None,
    number: Annotated[str | None, Query(max_length=100)] = None,
    type: Annotated[str | None, Query(max_length=40)] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Any:
    return await calls(
        "archive",
        "list_files",
        folder=folder,
        counterparty_id=counterparty_id,
        q=q,
        number=number,
        doc_type=type,
        date_from=date_from.isoformat() if date_from else None,
        date_to=date_to.isoformat() if date_to else None,
        limit=limit,
        cursor=cursor,
    )


@router.get("/files/{file_id}", response_model=schemas.File, responses=NOT_FOUND)
async def get_file(calls: Calls, file_id: str) -> Any:
    return await calls("archive", "get_file", file_id=file_id)


def content_disposition(name: str) -> str:
    tail = re.split(r"[/\\]", name)[-1].strip(" .") or "file"
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in tail)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(tail, safe='')}"


@router.get(
    "/files/{file_id}/content",
    summary="The bytes of a file (streamed), or a presigned URL with ?redirect=presigned",
    responses={
        **NOT_FOUND,
        200: {"content": {"application/octet-stream": {}}, "description": "the file"},
        307: {"description": "presigned URL in Location (and in the body)"},
    },
)
async def get_content(
    request: Request,
    calls: Calls,
    settings: Settings,
    file_id: str,
    version: Annotated[int | None, Query(ge=1)] = None,
    redirect: Literal["presigned"] | None = None,
) -> Response:
    ticket = schemas.ReadTicket.model_validate(
        await calls("archive", "open_file", file_id=file_id, version=version)
    )
    disposition = content_disposition(ticket.original_name)
    if redirect == "presigned":
        public: Minio = request.app.state.s3_public
        url = await anyio.to_thread.run_sync(
            lambda: public.presigned_get_object(
                ticket.bucket,
                ticket.key,
                expires=timedelta(seconds=settings.presigned_url_seconds),
                version_id=ticket.s3_version_id,
                response_headers={
                    "response-content-disposition": disposition,
                    "response-content-type": ticket.content_type,
                },
            )
        )
        return JSONResponse(
            {"url": url, "expires_in": settings.presigned_url_seconds},
            status_code=status.HTTP_307_TEMPORARY_REDIRECT,
            headers={"Location": url},
        )
    client: Minio = request.app.state.s3
    answer = await anyio.to_thread.run_sync(
        lambda: client.get_object(ticket.bucket, ticket.key, version_id=ticket.s3_version_id)
    )
    return StreamingResponse(
        iterate_in_threadpool(storage.object_stream(answer)),
        media_type=ticket.content_type,
        headers={
            "Content-Length": str(ticket.size),
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "X-Checksum-SHA256": ticket.sha256,
            "ETag": f'"{ticket.sha256}"',
        },
    )


@router.get(
    "/folders",
    response_model=schemas.FolderListing,
    summary="A folder and the folders under it (no path: the top level you may see)",
    responses=NOT_FOUND,
)
async def list_folders(
    calls: Calls,
    path: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Any:
    return await calls("archive", "list_folders", path=path, limit=limit, cursor=cursor)


# --- paper originals ----------------------------------------------------------------------


@router.post(
    "/originals",
    response_model=schemas.Original,
    status_code=status.HTTP_201_CREATED,
    summary="Register a received paper original (document, who, when, storage place)",
    responses={403: PROBLEM_RESPONSES[403], **NOT_FOUND},
)
async def register_original(calls: Calls, body: Annotated[schemas.NewOriginal, Body()]) -> Any:
    return await calls("archive", "register_original", data=body.model_dump(mode="json"))


@router.get(
    "/originals",
    response_model=list[schemas.Original],
    summary="Paper originals of a document (?document=contract:<id>)",
)
async def list_originals(
    calls: Calls,
    document: Annotated[str | None, Query(max_length=150, examples=["contract:5a0e…"])] = None,
) -> Any:
    return await calls("archive", "list_originals", document=document)
