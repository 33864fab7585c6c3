"""``Idempotency-Key`` on writes: the same key and request within 24 h give the first
result and change nothing more.

The gateway passes the header as the ``idempotency_key`` context value. A write
entrypoint decorated with ``@idempotent`` (under ``@rpc``) then:

1. looks the key up in the service's ``idempotency_keys`` table, per caller and
   entrypoint: a stored answer is returned as it is; the same key with another
   request is refused (422);
2. otherwise claims the key inside the call's own transaction, so the claim
   commits together with the change (a refused call leaves no claim and may
   be retried with the same key);
3. stores the answer after the call.

A call that committed its change but died before step 3 leaves a claim with no
answer: a retry then gets 409 instead of doing the work twice.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Column, DateTime, MetaData, String, Table, delete, func, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Session

from services.errors import Conflict, InvalidInput

KEEP = timedelta(hours=24)
MAX_KEY_LENGTH = 200


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("scope", String(200), primary_key=True),
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("response", JSONB),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


KEYS = idempotency_table(MetaData())

F = TypeVar("F", bound=Callable[..., Any])


def request_hash(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    canonical = json.dumps([list(args), kwargs], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent(fn: F) -> F:
    """Make a write entrypoint honour ``Idempotency-Key`` (see the module docstring)."""

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        key = (self.call_context or {}).get("idempotency_key")
        if not key:
            return fn(self, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise InvalidInput("Idempotency-Key is too long", [{"loc": ["Idempotency-Key"]}])
        session: Session = self.db
        scope = f"{self.name}.{fn.__name__}:{self.caller.user_id}"
        digest = request_hash(args, kwargs)
        found = session.execute(
            select(KEYS.c.request_hash, KEYS.c.response, KEYS.c.created_at).where(
                KEYS.c.scope == scope, KEYS.c.key == key
            )
        ).first()
        if found is not None and found.created_at < datetime.now(UTC) - KEEP:
            session.execute(delete(KEYS).where(KEYS.c.scope == scope, KEYS.c.key == key))
            found = None
        if found is not None:
            if found.request_hash != digest:
                raise InvalidInput(
                    "this Idempotency-Key was used with a different request",
                    [{"loc": ["Idempotency-Key"], "msg": "reused with another body"}],
                )
            if found.response is None:
                raise Conflict("a request with this Idempotency-Key did not finish; check first")
            return found.response["value"]
        claimed = session.execute(
            insert(KEYS)
            .values(scope=scope, key=key, request_hash=digest)
            .on_conflict_do_nothing()
            .returning(KEYS.c.key)
        ).first()
        if claimed is None:
            raise Conflict("a request with this Idempotency-Key is being processed")
        result = fn(self, *args, **kwargs)
        session.execute(
            update(KEYS)
            .where(KEYS.c.scope == scope, KEYS.c.key == key)
            .values(response={"value": result})
        )
        session.commit()
        return result

    # nameko checks call arguments against the signature it sees.
    wrapper.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def create_table() -> None:
    """For each service's migration that adds it."""
    from alembic import op

    metadata = MetaData()
    idempotency_table(metadata)
    metadata.create_all(op.get_bind())
