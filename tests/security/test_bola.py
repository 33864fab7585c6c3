"""Broken object-level authorization: every verb on another person's object.

Each object is made by a person of the sales department; every other demo
person tries every verb on it. The expected answer comes from the services'
rules, written out here (not imported) so that a change of a rule shows up
as a failing case:

- contracts (contracts_svc/domain.py ``may_view``/``may_edit``): management,
  legal, the operations manager and the office see every card, the department
  its own, author, curator and task holders theirs; only the author, the
  curator or an administrator changes or submits one.
- tasks (services/processes.py): visible to those who see the card or hold
  the task; only the assignee (or a deputy/escalation target) acts on it.
- files (archive_svc/domain.py ``may_read``/``may_write``): the department,
  the archivist, lawyers, the CEO, the director and the chief accountant read;
  the department, the archivist and lawyers file new versions.
- counterparties (counterparty_svc/usecases.py): everybody reads; only the
  card editors change cards, verify them or add statutory documents.
- notifications: only the addressee sees or marks one.

404 where the caller may not know the object exists, 403 where they may see
it but not act. A refused write must change nothing (re-read as the owner),
and a permitted person must get 200, so that the matrix cannot pass by
refusing everybody.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.security.conftest import PEOPLE, World, ok, problem

pytestmark = pytest.mark.e2e

Headers = Callable[[str], dict[str, str]]

SALES = frozenset({"sales.head", "manager", "manager2"})
CONTRACT_READ_ALL = frozenset({"admin", "ceo", "director", "ops", "lawyer", "lawyer2", "office"})
CONTRACT_VIEWERS = SALES | CONTRACT_READ_ALL
CONTRACT_EDITORS = frozenset({"manager", "admin"})  # the author (and curator), administrators
TASK_ASSIGNEE = "sales.head"
FILE_READERS = SALES | {"lawyer", "lawyer2", "office", "ceo", "director", "chief.accountant"}
FILE_WRITERS = SALES | {"lawyer", "lawyer2", "office"}
CARD_EDITORS = frozenset(
    {"admin", "manager", "manager2", "lawyer", "lawyer2", "office"}
    | {"accountant", "chief.accountant", "finman"}
)
NOTIFICATION_OWNER = "sales.head"

C = "/api/v1/contracts"


def _patch_contract(g: httpx.Client, h: dict[str, str], w: World) -> httpx.Response:
    return g.patch(f"{C}/{w.draft['id']}", headers=h, json={"subject": "Изменено посторонним"})


def _submit_contract(g: httpx.Client, h: dict[str, str], w: World) -> httpx.Response:
    return g.post(f"{C}/{w.draft['id']}/submit", headers=h, json={"comment": "не моё"})


def _decide(action: dict[str, Any]) -> Callable[[httpx.Client, dict[str, str], World], Any]:
    def call(g: httpx.Client, h: dict[str, str], w: World) -> httpx.Response:
        return g.post(f"/api/v1/tasks/{w.task_id}/decision", headers=h, json=action)

    return call


def _new_version(g: httpx.Client, h: dict[str, str], w: World) -> httpx.Response:
    return g.post(
        f"/api/v1/files/{w.file['id']}/versions",
        headers=h,
        files={"file": ("offer-v2.pdf", b"%PDF-1.7 overwritten", "application/pdf")},
    )


# verb -> (call, who may, status for the others who may see, status for the rest)
Verb = tuple[Callable[[httpx.Client, dict[str, str], World], httpx.Response], frozenset[str]]

READS: dict[str, Verb] = {
    "contract.get": (lambda g, h, w: g.get(f"{C}/{w.draft['id']}", headers=h), CONTRACT_VIEWERS),
    "contract.timeline": (
        lambda g, h, w: g.get(f"{C}/{w.submitted['id']}/timeline", headers=h),
        CONTRACT_VIEWERS,
    ),
    "contract.letter": (
        lambda g, h, w: g.get(f"{C}/{w.draft['id']}/missing-documents-letter", headers=h),
        CONTRACT_VIEWERS,
    ),
    "contract.letter_docx": (
        lambda g, h, w: g.get(
            f"{C}/{w.draft['id']}/missing-documents-letter", headers=h, params={"format": "docx"}
        ),
        CONTRACT_VIEWERS,
    ),
    "task.get": (
        lambda g, h, w: g.get(f"/api/v1/tasks/{w.task_id}", headers=h),
        CONTRACT_VIEWERS,
    ),
    "file.get": (lambda g, h, w: g.get(f"/api/v1/files/{w.file['id']}", headers=h), FILE_READERS),
    "file.content": (
        lambda g, h, w: g.get(f"/api/v1/files/{w.file['id']}/content", headers=h),
        FILE_READERS,
    ),
    "file.presigned": (
        lambda g, h, w: g.get(
            f"/api/v1/files/{w.file['id']}/content", headers=h, params={"redirect": "presigned"}
        ),
        FILE_READERS,
    ),
    "counterparty.documents": (
        lambda g, h, w: g.get(
            f"/api/v1/counterparties/{w.counterparty['id']}/documents", headers=h
        ),
        frozenset(PEOPLE),
    ),
}

# verb -> (call, who may see the object, who may act)
WRITES: dict[str, tuple[Any, frozenset[str], frozenset[str]]] = {
    "contract.patch": (_patch_contract, CONTRACT_VIEWERS, CONTRACT_EDITORS),
    "contract.submit": (_submit_contract, CONTRACT_VIEWERS, CONTRACT_EDITORS),
    "task.approve": (_decide({"action": "approve"}), CONTRACT_VIEWERS, frozenset({TASK_ASSIGNEE})),
    "task.reject": (
        _decide({"action": "reject", "comment": "чужая задача"}),
        CONTRACT_VIEWERS,
        frozenset({TASK_ASSIGNEE}),
    ),
    "task.take": (
        lambda g, h, w: g.post(f"/api/v1/tasks/{w.task_id}/take", headers=h),
        CONTRACT_VIEWERS,
        frozenset({TASK_ASSIGNEE}),
    ),
    "file.new_version": (_new_version, FILE_READERS, FILE_WRITERS),
    "counterparty.patch": (
        lambda g, h, w: g.patch(
            f"/api/v1/counterparties/{w.counterparty['id']}",
            headers=h,
            json={"short_name": "Подмена"},
        ),
        frozenset(PEOPLE),
        CARD_EDITORS,
    ),
    "counterparty.add_document": (
        lambda g, h, w: g.post(
            f"/api/v1/counterparties/{w.counterparty['id']}/documents",
            headers=h,
            json={"doc_type": "charter", "issued_on": "2026-01-15", "file_id": w.file["id"]},
        ),
        frozenset(PEOPLE),
        CARD_EDITORS,
    ),
    "counterparty.verify": (
        lambda g, h, w: g.post(f"/api/v1/counterparties/{w.counterparty['id']}/verify", headers=h),
        frozenset(PEOPLE),
        CARD_EDITORS,
    ),
    "notification.read": (
        lambda g, h, w: g.post(f"/api/v1/notifications/{w.notification_id}/read", headers=h),
        frozenset({NOTIFICATION_OWNER}),
        frozenset({NOTIFICATION_OWNER}),
    ),
}


def _read_cases() -> list[Any]:
    cases = []
    for verb, (_, allowed) in READS.items():
        for user in PEOPLE:
            status = 200 if user in allowed else 404
            cases.append(pytest.param(verb, user, status, id=f"{verb}-{user}-{status}"))
    return cases


def _write_cases() -> list[Any]:
    cases = []
    for verb, (_, viewers, actors) in WRITES.items():
        for user in PEOPLE:
            if user in actors:
                continue  # permitted writes are proven once, after the matrix (they change state)
            status = 403 if user in viewers else 404
            cases.append(pytest.param(verb, user, status, id=f"{verb}-{user}-{status}"))
    return cases


@pytest.mark.parametrize(("verb", "user", "status"), _read_cases())
def test_reads(
    gateway: httpx.Client, token_for: Headers, world: World, verb: str, user: str, status: int
) -> None:
    call, _ = READS[verb]
    answer = call(gateway, token_for(user), world)
    if status == 200:
        expected = 307 if verb == "file.presigned" else 200
        assert answer.status_code == expected, answer.text
        assert answer.content
    else:
        problem(answer, status)


def _contract_unchanged(gateway: httpx.Client, token_for: Headers, w: World) -> None:
    draft = ok(gateway.get(f"{C}/{w.draft['id']}", headers=token_for("manager")))
    assert (draft["status"], draft["version"], draft["subject"]) == (
        "draft",
        w.draft["version"],
        w.draft["subject"],
    )


def _task_unchanged(gateway: httpx.Client, token_for: Headers, w: World) -> None:
    task = ok(gateway.get(f"/api/v1/tasks/{w.task_id}", headers=token_for(TASK_ASSIGNEE)))
    assert (task["state"], task["taken_at"], task["instance_version"]) == ("open", None, 1)
    submitted = ok(gateway.get(f"{C}/{w.submitted['id']}", headers=token_for("manager")))
    assert submitted["status"] == "in_approval"
    timeline = ok(gateway.get(f"{C}/{w.submitted['id']}/timeline", headers=token_for("manager")))
    assert not {"approve", "reject"} & {e["action"] for e in timeline}


def _file_unchanged(gateway: httpx.Client, token_for: Headers, w: World) -> None:
    file = ok(gateway.get(f"/api/v1/files/{w.file['id']}", headers=token_for("manager")))
    assert [v["sha256"] for v in file["versions"]] == [w.file["sha256"]]
    content = gateway.get(f"/api/v1/files/{w.file['id']}/content", headers=token_for("manager"))
    assert content.content == b"%PDF-1.7 sales-only offer"


def _counterparty_unchanged(gateway: httpx.Client, token_for: Headers, w: World) -> None:
    url = f"/api/v1/counterparties/{w.counterparty['id']}"
    cp = ok(gateway.get(url, headers=token_for("lawyer")))
    assert (cp["version"], cp["short_name"]) == (
        w.counterparty["version"],
        w.counterparty["short_name"],
    )
    docs = ok(gateway.get(f"{url}/documents", headers=token_for("lawyer")))
    assert len(docs["documents"]) == 3


def _notification_unchanged(gateway: httpx.Client, token_for: Headers, w: World) -> None:
    inbox = ok(gateway.get("/api/v1/notifications", headers=token_for(NOTIFICATION_OWNER)))
    mine = [n for n in inbox["items"] if n["id"] == w.notification_id]
    assert mine and mine[0]["read_at"] is None


#: The owner's re-read after a refused write, per kind of object.
UNCHANGED = {
    "contract": _contract_unchanged,
    "task": _task_unchanged,
    "file": _file_unchanged,
    "counterparty": _counterparty_unchanged,
    "notification": _notification_unchanged,
}


@pytest.mark.parametrize(("verb", "user", "status"), _write_cases())
def test_refused_writes_change_nothing(
    gateway: httpx.Client, token_for: Headers, world: World, verb: str, user: str, status: int
) -> None:
    call, _, _ = WRITES[verb]
    problem(call(gateway, token_for(user), world), status)
    UNCHANGED[verb.split(".")[0]](gateway, token_for, world)


def test_lists_do_not_leak_what_a_person_may_not_see(
    gateway: httpx.Client, token_for: Headers, world: World
) -> None:
    for user in PEOPLE:
        headers = token_for(user)
        contracts = ok(gateway.get(C, headers=headers, params={"limit": 200}))["items"]
        seen = {c["id"] for c in contracts} & {world.draft["id"], world.submitted["id"]}
        expected = {world.draft["id"], world.submitted["id"]} if user in CONTRACT_VIEWERS else set()
        assert seen == expected, user
        files = ok(gateway.get("/api/v1/files", headers=headers, params={"q": "коммерческое"}))
        assert (world.file["id"] in {f["id"] for f in files["items"]}) == (user in FILE_READERS), (
            user
        )
        tasks = ok(gateway.get("/api/v1/tasks", headers=headers))["items"]
        assert (world.task_id in {t["id"] for t in tasks}) == (user == TASK_ASSIGNEE), user
        inbox = ok(gateway.get("/api/v1/notifications", headers=headers))["items"]
        assert (world.notification_id in {n["id"] for n in inbox}) == (
            user == NOTIFICATION_OWNER
        ), user


def test_an_unknown_id_and_a_hidden_one_look_the_same(
    gateway: httpx.Client, token_for: Headers, world: World
) -> None:
    """404 bodies do not tell "exists but hidden" from "does not exist"."""
    outsider = token_for("pto")
    unknown = "00000000-0000-4000-8000-000000000000"
    for path in (f"{C}/{{}}", f"{C}/{{}}/timeline", "/api/v1/files/{}", "/api/v1/files/{}/content"):
        hidden_id = world.file["id"] if "files" in path else world.draft["id"]
        hidden = problem(gateway.get(path.format(hidden_id), headers=outsider), 404)
        missing = problem(gateway.get(path.format(unknown), headers=outsider), 404)
        assert hidden["title"] == missing["title"]
        assert hidden["detail"].replace(hidden_id, "X") == missing["detail"].replace(unknown, "X")


def test_the_permitted_writes_succeed(
    gateway: httpx.Client, token_for: Headers, world: World
) -> None:
    """After the matrix: the owners may do what everybody else was refused."""
    owner = token_for("manager")
    changed = ok(
        gateway.patch(f"{C}/{world.draft['id']}", headers=owner, json={"amount": "900.00"})
    )
    assert changed["version"] == world.draft["version"] + 1
    ok(_new_version(gateway, owner, world), 201)
    ok(
        gateway.patch(
            f"/api/v1/counterparties/{world.counterparty['id']}",
            headers=token_for("lawyer"),
            json={"category": "supplier"},
        )
    )
    head = token_for(TASK_ASSIGNEE)
    assert ok(gateway.post(f"/api/v1/tasks/{world.task_id}/take", headers=head))["taken_at"]
    ok(_decide({"action": "approve"})(gateway, head, world))
    read = ok(gateway.post(f"/api/v1/notifications/{world.notification_id}/read", headers=head))
    assert read["read_at"]
