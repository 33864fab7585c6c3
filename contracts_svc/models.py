"""Tables of contracts_svc's database (contract approval, register, originals)."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
