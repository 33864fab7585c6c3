"""Tables of payments_svc's database (payment requests and the payment registry)."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
