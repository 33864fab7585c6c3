"""The archive's rules without I/O: folder paths, object keys, rights, names."""

from __future__ import annotations

import uuid

import pytest

from archive_svc import domain
from services.auth import SYSTEM, Identity
from services.errors import InvalidInput
from services.schemas.archive import FolderContext

DEPT = str(uuid.uuid4())
OTHER_DEPT = str(uuid.uuid4())
CP = str(uuid.uuid4())
CONTRACT = str(uuid.uuid4())


def person(*roles: str, department: str | None = DEPT, user: str | None = None) -> Identity:
    return Identity(
        user_id=user or str(uuid.uuid4()), roles=frozenset(roles), department_id=department
    )


# --- folders and paths --------------------------------------------------------------


def test_the_folder_chain_is_department_counterparty_contract() -> None:
    context = FolderContext(
        counterparty_id=CP, counterparty_name="ООО «Ромашка»", contract_id=CONTRACT
    )
    chain = domain.folder_chain(context, person())
    assert [f.kind for f in chain] == ["department", "counterparty", "contract"]
    assert chain[-1].path == f"dept-{DEPT}/cp-{CP}/contract-{CONTRACT}"
    assert chain[1].title == "ООО «Ромашка»"
    assert chain[2].parent_path == chain[1].path
    assert {f.department_id for f in chain} == {DEPT}


def test_the_department_defaults_to_the_callers_own() -> None:
    chain = domain.folder_chain(FolderContext(department_id=OTHER_DEPT), person())
    assert chain[0].path == f"dept-{OTHER_DEPT}"
    assert domain.folder_chain(FolderContext(), person())[0].path == f"dept-{DEPT}"


def test_a_caller_without_department_must_name_one() -> None:
    with pytest.raises(InvalidInput):
        domain.folder_chain(FolderContext(), person(department=None))


def test_a_contract_folder_needs_a_counterparty() -> None:
    with pytest.raises(ValueError):
        FolderContext(contract_id=CONTRACT)
    with pytest.raises(ValueError):
        FolderContext(counterparty_id=CP, contract_id=CONTRACT, letter_id=CONTRACT)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        ("/", ""),
        (f"dept-{DEPT}", f"dept-{DEPT}"),
        (f"/dept-{DEPT}//cp-{CP}/", f"dept-{DEPT}/cp-{CP}"),
        (f"DEPT-{DEPT.upper()}/cp-{CP}", f"dept-{DEPT}/cp-{CP}"),
        (f"dept-{uuid.UUID(DEPT).hex}", f"dept-{DEPT}"),
        (f"dept-{DEPT}\\cp-{CP}", f"dept-{DEPT}/cp-{CP}"),
    ],
)
def test_paths_are_normalised(raw: str | None, expected: str) -> None:
    assert domain.normalise_path(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "..",
        f"dept-{DEPT}/..",
        f"dept-{DEPT}/../dept-{OTHER_DEPT}",
        "../../etc/passwd",
        f"cp-{CP}",  # a counterparty folder is never at the top
        f"dept-{DEPT}/contract-{CONTRACT}",  # nor a contract right under a department
        f"dept-{DEPT}/cp-{CP}/contract-{CONTRACT}/x",
        "dept-not-a-uuid",
        f"dept-{DEPT}%2f..",
    ],
)
def test_bad_paths_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        domain.normalise_path(raw)


# --- keys and names ----------------------------------------------------------------------


def test_object_keys_are_made_from_the_folder_and_a_fresh_id() -> None:
    folder = f"dept-{DEPT}/cp-{CP}"
    first, second = uuid.uuid4(), uuid.uuid4()
    key = domain.object_key(folder, first)
    assert key == f"{folder}/{first.hex}"
    assert domain.object_key(folder, second) != key


def test_an_object_key_refuses_a_path_that_is_not_canonical() -> None:
    with pytest.raises(ValueError):
        domain.object_key("../../etc", uuid.uuid4())
    with pytest.raises(ValueError):
        domain.object_key("", uuid.uuid4())


def test_a_traversal_name_is_kept_as_a_label_only() -> None:
    assert domain.clean_name("../../etc/passwd") == "../../etc/passwd"
    assert domain.download_name("../../etc/passwd") == "passwd"
    assert domain.download_name("..\\..\\boot.ini") == "boot.ini"
    assert domain.download_name("..") == "file"


def test_control_characters_leave_a_name() -> None:
    assert domain.clean_name("дог\x00овор\r\n.pdf") == "договор.pdf"
    with pytest.raises(InvalidInput):
        domain.clean_name("\x00\x01 ")
    assert len(domain.clean_name("я" * 5000)) == domain.MAX_NAME


def test_document_references_are_kind_and_id() -> None:
    assert domain.parse_document_ref("contract:42") == ("contract", "42")
    with pytest.raises(InvalidInput):
        domain.parse_document_ref("contract")


# --- rights ------------------------------------------------------------------------------


def test_a_person_reads_their_own_departments_files() -> None:
    assert domain.may_read(person("curator"), DEPT, granted=False)
    assert not domain.may_read(person("curator"), OTHER_DEPT, granted=False)


@pytest.mark.parametrize("role", ["archivist", "ceo", "director", "lawyer", "chief_accountant"])
def test_roles_in_the_rule_read_every_department(role: str) -> None:
    assert domain.may_read(person(role, department=None), OTHER_DEPT, granted=False)


@pytest.mark.parametrize("role", ["accountant", "curator", "reception", "pto"])
def test_other_roles_do_not(role: str) -> None:
    assert not domain.may_read(person(role), OTHER_DEPT, granted=False)


def test_a_participant_in_the_process_reads_by_grant() -> None:
    assert domain.may_read(person("pto"), OTHER_DEPT, granted=True)


def test_filing_into_another_department_needs_a_role_that_files_everywhere() -> None:
    assert domain.may_write(person(), DEPT)
    assert not domain.may_write(person("ceo"), OTHER_DEPT)
    assert domain.may_write(person("archivist"), OTHER_DEPT)
    assert domain.may_write(SYSTEM, OTHER_DEPT)


def test_the_rule_is_data() -> None:
    readers = {role for role, access in domain.ROLE_ACCESS.items() if "read" in access}
    assert {"archivist", "ceo", "director", "lawyer", "chief_accountant"} <= readers


def test_originals_are_registered_by_their_keepers() -> None:
    assert domain.may_register_originals(person("office_manager"))
    assert domain.may_register_originals(SYSTEM)
    assert not domain.may_register_originals(person("curator"))
