"""The positions PROCESSES.md names, as reference data of the org directory.

``ROLES_V1`` is what migration 0001 inserts; a new role needs a new migration.
"""

ROLES_V1: dict[str, str] = {
    "admin": "Администратор справочников",
    "curator": "Куратор договора",
    "pto": "Производственно-технический отдел",
    "lawyer": "Юрист",
    "finance_manager": "Финансовый менеджер",
    "financial_director": "Финансовый директор",
    "chief_accountant": "Главный бухгалтер",
    "accountant": "Бухгалтер",
    "junior_accountant": "Младший бухгалтер",
    "ceo": "Генеральный директор",
    "director": "Директор",
    "operations_manager": "Операционный менеджер",
    "office_manager": "Офис-менеджер",
    "reception": "Ресепшн",
    "archivist": "Архивариус",
}
