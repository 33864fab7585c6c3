"""Tables of counterparty_svc's database (counterparties, statutory documents, catalogue)."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
