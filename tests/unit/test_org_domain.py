"""Who acts for an assignee rule: roles, department heads, deputies, passwords."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from org_svc.domain import act_for, check_password, hash_password, resolve
from services.errors import InvalidInput, NotFound
from services.schemas.org import AssigneeRule

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@dataclass
class FakeDirectory:
    roles: dict[str, list[str]] = field(default_factory=dict)
    departments: dict[str, str] = field(default_factory=dict)  # user -> department
    heads: dict[str, str] = field(default_factory=dict)  # department -> head
    inactive: set[str] = field(default_factory=set)
    # user -> (starts, ends, deputy)
    absences: dict[str, list[tuple[datetime, datetime, str]]] = field(default_factory=dict)

    def active_holders_of(self, role: str) -> Sequence[str]:
        return [u for u in self.roles.get(role, []) if u not in self.inactive]

    def department_of(self, user_id: str) -> str | None:
        return self.departments.get(user_id)

    def head_of(self, department_id: str) -> str | None:
        return self.heads.get(department_id)

    def is_active(self, user_id: str) -> bool:
        return user_id in self.departments and user_id not in self.inactive

    def deputy_at(self, user_id: str, at: datetime) -> str | None:
        for starts, ends, deputy in self.absences.get(user_id, []):
            if starts <= at < ends:
                return deputy
        return None


def away(directory: FakeDirectory, who: str, deputy: str) -> None:
    directory.absences.setdefault(who, []).append(
        (NOW - timedelta(days=1), NOW + timedelta(days=1), deputy)
    )


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory(
        roles={"lawyer": ["ivanova", "petrov"], "ceo": ["volkov"]},
        departments={
            "ivanova": "legal",
            "petrov": "legal",
            "volkov": "board",
            "smirnov": "sales",
            "orlov": "sales",
            "kuznetsova": "legal",
        },
        heads={"legal": "ivanova", "sales": "smirnov", "board": "volkov"},
    )


def test_a_present_person_acts_for_themselves(directory: FakeDirectory) -> None:
    assert act_for(directory, "ivanova", NOW).model_dump() == {
        "user_id": "ivanova",
        "on_behalf_of": None,
        "absent": False,
    }


def test_an_absent_person_is_replaced_by_their_deputy(directory: FakeDirectory) -> None:
    away(directory, "ivanova", "kuznetsova")
    found = act_for(directory, "ivanova", NOW)
    assert (found.user_id, found.on_behalf_of) == ("kuznetsova", "ivanova")


def test_the_absence_covers_only_its_period(directory: FakeDirectory) -> None:
    away(directory, "ivanova", "kuznetsova")
    assert act_for(directory, "ivanova", NOW + timedelta(days=2)).user_id == "ivanova"


def test_a_deputy_who_is_away_passes_on_to_their_own_deputy(directory: FakeDirectory) -> None:
    away(directory, "ivanova", "kuznetsova")
    away(directory, "kuznetsova", "petrov")
    found = act_for(directory, "ivanova", NOW)
    assert (found.user_id, found.on_behalf_of) == ("petrov", "ivanova")


def test_a_circle_of_deputies_leaves_the_task_with_the_absent_owner(
    directory: FakeDirectory,
) -> None:
    away(directory, "ivanova", "kuznetsova")
    away(directory, "kuznetsova", "ivanova")
    found = act_for(directory, "ivanova", NOW)
    assert (found.user_id, found.absent) == ("ivanova", True)


def test_an_inactive_deputy_is_not_given_work(directory: FakeDirectory) -> None:
    away(directory, "ivanova", "kuznetsova")
    directory.inactive.add("kuznetsova")
    assert act_for(directory, "ivanova", NOW).absent is True


def test_a_role_resolves_to_every_active_holder(directory: FakeDirectory) -> None:
    found = resolve(directory, AssigneeRule(kind="role", role="lawyer"), NOW)
    assert [a.user_id for a in found] == ["ivanova", "petrov"]


def test_a_role_whose_holders_share_a_deputy_gets_them_once(directory: FakeDirectory) -> None:
    away(directory, "ivanova", "petrov")
    found = resolve(directory, AssigneeRule(kind="role", role="lawyer"), NOW)
    assert [(a.user_id, a.on_behalf_of) for a in found] == [("petrov", "ivanova")]


def test_department_head_of_a_person(directory: FakeDirectory) -> None:
    found = resolve(directory, AssigneeRule(kind="department_head", user_id="orlov"), NOW)
    assert [a.user_id for a in found] == ["smirnov"]


def test_the_head_is_their_own_department_head(directory: FakeDirectory) -> None:
    found = resolve(directory, AssigneeRule(kind="department_head", user_id="smirnov"), NOW)
    assert [a.user_id for a in found] == ["smirnov"]


def test_department_head_of_an_unknown_person_is_not_found(directory: FakeDirectory) -> None:
    with pytest.raises(NotFound):
        resolve(directory, AssigneeRule(kind="department_head", user_id="ghost"), NOW)


def test_a_named_inactive_person_is_not_found(directory: FakeDirectory) -> None:
    directory.inactive.add("orlov")
    with pytest.raises(NotFound):
        resolve(directory, AssigneeRule(kind="user", user_id="orlov"), NOW)


def test_a_moment_without_time_zone_is_refused(directory: FakeDirectory) -> None:
    with pytest.raises(InvalidInput):
        resolve(directory, AssigneeRule(kind="role", role="ceo"), datetime(2026, 11, 23, 10))


@pytest.mark.parametrize(
    "rule",
    [{"kind": "role"}, {"kind": "user"}, {"kind": "department_head"}, {"kind": "boss"}],
)
def test_incomplete_rules_are_refused(rule: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        AssigneeRule.model_validate(rule)


def test_passwords_round_trip_and_differ_by_salt() -> None:
    first, second = hash_password("s3cret"), hash_password("s3cret")
    assert first != second
    assert check_password("s3cret", first)
    assert not check_password("S3cret", first)
    assert not check_password("s3cret", None)
    assert not check_password("s3cret", "md5$x")
