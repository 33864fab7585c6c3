"""The archive's rules, free of nameko, SQL and S3.

- Folder layout: department / counterparty / contract or letter. A folder's
  materialised path is made of typed segments (``dept-<uuid>/cp-<uuid>/
  contract-<uuid>``), never of names a client typed.
- Object keys are made here: ``<folder path>/<uuid>``; the client's file name
  is metadata only.
- Who reads and who files: ``ROLE_ACCESS`` below is the rule as data.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from services.auth import SYSTEM_ROLE, Identity
from services.errors import InvalidInput
from services.schemas.archive import FolderContext

Access = Literal["read", "write"]

#: Roles whose holders read (and file into) every department's folders. The
#: rest of the company reads the folders of their own department, and the
#: files or folders they were granted because they take part in a process.
ROLE_ACCESS: Mapping[str, frozenset[Access]] = {
    SYSTEM_ROLE: frozenset({"read", "write"}),
    "archivist": frozenset({"read", "write"}),
    "lawyer": frozenset({"read", "write"}),
    "ceo": frozenset({"read"}),
    "director": frozenset({"read"}),
    "chief_accountant": frozenset({"read"}),
}

#: Roles that register paper originals.
ORIGINALS_KEEPERS = frozenset(
    {"archivist", "office_manager", "reception", "lawyer", "chief_accountant", "accountant"}
)

FolderKind = Literal["department", "counterparty", "contract", "letter"]
SEGMENT_PREFIX: Mapping[FolderKind, str] = {
    "department": "dept",
    "counterparty": "cp",
    "contract": "contract",
    "letter": "letter",
}
_KIND_OF_PREFIX = {prefix: kind for kind, prefix in SEGMENT_PREFIX.items()}
#: Which kinds may stand at each depth of a path.
_LEVELS: tuple[frozenset[str], ...] = (
    frozenset({"department"}),
    frozenset({"counterparty"}),
    frozenset({"contract", "letter"}),
)
_SEGMENT = re.compile(r"^(dept|cp|contract|letter)-([0-9a-f-]{32,36})$")
MAX_NAME = 255


def role_allows(identity: Identity, access: Access) -> bool:
    return any(access in ROLE_ACCESS.get(role, frozenset()) for role in identity.roles)


def may_read(identity: Identity, owner_department: str, granted: bool) -> bool:
    """Department, role, or participation in the process (a grant)."""
    return (
        role_allows(identity, "read")
        or (identity.department_id is not None and identity.department_id == owner_department)
        or granted
    )


def may_write(identity: Identity, owner_department: str) -> bool:
    """Filing into a folder: its own department, or a role that files everywhere."""
    return role_allows(identity, "write") or (
        identity.department_id is not None and identity.department_id == owner_department
    )


def may_register_originals(identity: Identity) -> bool:
    return identity.is_system or bool(identity.roles & ORIGINALS_KEEPERS)


# --- folders and keys -------------------------------------------------------------


@dataclass(frozen=True)
class FolderSpec:
    path: str
    kind: FolderKind
    ref_id: str
    parent_path: str | None
    department_id: str
    counterparty_id: str | None
    title: str


def segment(kind: FolderKind, ref_id: str) -> str:
    return f"{SEGMENT_PREFIX[kind]}-{uuid.UUID(ref_id)}"


def folder_chain(context: FolderContext, caller: Identity) -> list[FolderSpec]:
    """The folders a file in ``context`` lives in, outermost first (created on first use)."""
    department = context.department_id or caller.department_id
    if not department:
        raise InvalidInput(
            "the caller has no department; name the folder's department_id",
            [{"loc": ["folder", "department_id"], "msg": "required"}],
        )
    department = str(uuid.UUID(department))
    chain: list[FolderSpec] = []
    path = segment("department", department)
    chain.append(FolderSpec(path, "department", department, None, department, None, path))
    if context.counterparty_id:
        cp = str(uuid.UUID(context.counterparty_id))
        parent, path = path, f"{path}/{segment('counterparty', cp)}"
        title = context.counterparty_name or segment("counterparty", cp)
        chain.append(FolderSpec(path, "counterparty", cp, parent, department, cp, title))
        leaf: tuple[FolderKind, str] | None = None
        if context.contract_id:
            leaf = ("contract", context.contract_id)
        elif context.letter_id:
            leaf = ("letter", context.letter_id)
        if leaf is not None:
            kind, ref = leaf[0], str(uuid.UUID(leaf[1]))
            parent, path = path, f"{path}/{segment(kind, ref)}"
            chain.append(FolderSpec(path, kind, ref, parent, department, cp, segment(kind, ref)))
    return chain


def normalise_path(raw: str | None) -> str:
    """A folder path from a query string, in canonical form ("" is the root).

    Empty segments and surrounding slashes are dropped; ``.``/``..``, unknown
    segment kinds, malformed ids and kinds out of order are refused (422).
    """
    if raw is None:
        return ""
    parts = [p for p in raw.strip().replace("\\", "/").split("/") if p]
    if len(parts) > len(_LEVELS):
        raise _bad_path(raw, "too deep")
    canonical: list[str] = []
    for depth, part in enumerate(parts):
        match = _SEGMENT.match(part.lower())
        if match is None:
            raise _bad_path(raw, f"segment {part[:40]!r} is not a folder")
        kind = _KIND_OF_PREFIX[match.group(1)]
        if kind not in _LEVELS[depth]:
            raise _bad_path(raw, f"a {kind} folder cannot stand at depth {depth + 1}")
        try:
            ref = uuid.UUID(match.group(2))
        except ValueError:
            raise _bad_path(raw, f"segment {part[:40]!r} has a malformed id") from None
        canonical.append(f"{match.group(1)}-{ref}")
    return "/".join(canonical)


def _bad_path(raw: str, why: str) -> InvalidInput:
    return InvalidInput(f"folder path is not valid: {why}", [{"loc": ["path"], "msg": why}])


def object_key(folder_path: str, upload_id: uuid.UUID) -> str:
    """Made by the server from the folder path and a fresh id; never from a client's name."""
    try:
        canonical = normalise_path(folder_path)
    except InvalidInput:
        canonical = ""
    if not canonical or canonical != folder_path:
        raise ValueError(f"not a canonical folder path: {folder_path!r}")
    return f"{folder_path}/{upload_id.hex}"


def clean_name(name: str) -> str:
    """The client's file name kept as a label: control characters out, length capped.

    Slashes and dots stay: the name is never used as a path anywhere.
    """
    kept = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if not kept:
        raise InvalidInput("the file name is empty", [{"loc": ["file"], "msg": "no name"}])
    return kept[:MAX_NAME]


def download_name(name: str) -> str:
    """The last component of the stored name: what a browser is told to save as."""
    tail = re.split(r"[/\\]", name)[-1].strip(" .")
    return tail or "file"


def parse_document_ref(raw: str) -> tuple[str, str]:
    """``?document=contract:<id>`` -> (kind, id)."""
    kind, sep, ident = raw.partition(":")
    if not sep or not kind or not ident:
        raise InvalidInput(
            "document must be <kind>:<id>, e.g. contract:5a0e…",
            [{"loc": ["document"], "msg": "format"}],
        )
    return kind.strip(), ident.strip()
