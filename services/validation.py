"""Parse a wire payload into its contract model, or refuse it with field errors (422)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from services.errors import InvalidInput, from_pydantic

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise InvalidInput(f"{model.__name__} must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_pydantic(exc) from None


def dump(value: BaseModel | list[BaseModel]) -> Any:
    """JSON-ready data for an RPC reply."""
    if isinstance(value, list):
        return [item.model_dump(mode="json") for item in value]
    return value.model_dump(mode="json")


def parse_moment(value: str | None, field: str) -> datetime | None:
    """An ISO 8601 time with an offset, or None; a naive or malformed one is refused."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{field} is not an ISO 8601 time", [{"loc": [field], "msg": "format"}]
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{field} needs a time zone offset", [{"loc": [field], "msg": "naive"}])
    return moment
