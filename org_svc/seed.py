"""The demo company: departments with heads, a person for every role, two legal entities.

Run by the dev runner (``python -m services.runner seed org_svc``); it does
nothing when the company is already there. Every demo person signs in with
the password ``DEMO_PASSWORD`` through ``POST /api/v1/auth/token``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from org_svc import models
from org_svc.domain import hash_password

DEMO_PASSWORD = "docflow-demo"

# code, name, username of the head
DEPARTMENTS = [
    ("management", "Дирекция", "ceo"),
    ("legal", "Юридический отдел", "lawyer"),
    ("finance", "Финансовый отдел", "findir"),
    ("accounting", "Бухгалтерия", "chief.accountant"),
    ("pto", "Производственно-технический отдел", "pto"),
    ("sales", "Отдел продаж", "sales.head"),
    ("office", "Административный отдел", "office"),
]

# username, full name, department code, position, roles
PEOPLE = [
    ("admin", "Админ Системный", "management", "Администратор", ["admin"]),
    ("ceo", "Сергей Волков", "management", "Генеральный директор", ["ceo"]),
    ("director", "Андрей Соколов", "management", "Директор", ["director"]),
    ("ops", "Ольга Морозова", "management", "Операционный менеджер", ["operations_manager"]),
    ("lawyer", "Ирина Петрова", "legal", "Ведущий юрист", ["lawyer"]),
    ("lawyer2", "Павел Лебедев", "legal", "Юрист", ["lawyer"]),
    ("findir", "Наталья Кузнецова", "finance", "Финансовый директор", ["financial_director"]),
    ("finman", "Дмитрий Новиков", "finance", "Финансовый менеджер", ["finance_manager"]),
    ("chief.accountant", "Елена Попова", "accounting", "Главный бухгалтер", ["chief_accountant"]),
    ("accountant", "Мария Васильева", "accounting", "Бухгалтер", ["accountant"]),
    ("junior.accountant", "Анна Зайцева", "accounting", "Младший бухгалтер", ["junior_accountant"]),
    ("pto", "Виктор Павлов", "pto", "Руководитель ПТО", ["pto"]),
    ("sales.head", "Алексей Смирнов", "sales", "Руководитель отдела продаж", []),
    ("manager", "Татьяна Иванова", "sales", "Менеджер по работе с клиентами", ["curator"]),
    ("manager2", "Константин Орлов", "sales", "Менеджер", ["curator"]),
    ("office", "Светлана Фёдорова", "office", "Офис-менеджер", ["office_manager", "archivist"]),
    ("reception", "Юлия Никитина", "office", "Администратор ресепшн", ["reception"]),
]


def inn10(first_nine: str) -> str:
    """A valid organisation INN: nine digits and the control digit."""
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    control = sum(int(d) * w for d, w in zip(first_nine, weights, strict=True)) % 11 % 10
    return f"{first_nine}{control}"


LEGAL_ENTITIES = [
    ("ООО «Гостиница Северная»", "Гостиница Северная", inn10("781234567"), "781001001"),
    ("ООО «Северная Аренда»", "Северная Аренда", inn10("781765432"), "781001001"),
]


def seed_demo(session: Session) -> bool:
    """Create the demo company; False if it was already there."""
    if session.scalar(select(models.Department.id).where(models.Department.code == "management")):
        return False
    departments = {code: models.Department(name=name, code=code) for code, name, _ in DEPARTMENTS}
    session.add_all(departments.values())
    session.flush()
    password = hash_password(DEMO_PASSWORD)
    people: dict[str, models.User] = {}
    for username, full_name, dept, position, roles in PEOPLE:
        user = models.User(
            username=username,
            full_name=full_name,
            email=f"{username}@docflow.example",
            department_id=departments[dept].id,
            position=position,
            password_hash=password,
        )
        session.add(user)
        session.flush()
        people[username] = user
        session.add_all(models.UserRole(user_id=user.id, role_code=r) for r in roles)
    for code, _, head in DEPARTMENTS:
        departments[code].head_user_id = people[head].id
    for name, short, inn, kpp in LEGAL_ENTITIES:
        session.add(models.LegalEntity(name=name, short_name=short, inn=inn, kpp=kpp))
    session.flush()
    return True
