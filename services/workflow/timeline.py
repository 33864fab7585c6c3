"""The append-only timeline of an instance, chained by hashes.

Each entry's hash covers a canonical JSON of the entry and the previous entry's
hash, so changing, dropping or reordering a stored entry breaks the chain;
keeping the last hash in the instance (``timeline_head``) also catches a cut
tail. This is tamper evidence for an audit export, not a signature: whoever can
rewrite the table and the instance can rewrite both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class TimelineEntry:
    instance_id: str
    seq: int
    at: datetime
    action: str
    round: int
    actor_id: str | None = None
    on_behalf_of: str | None = None
    step_id: str | None = None
    task_id: str | None = None
    comment: str | None = None
    reason_code: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""

    def body(self) -> dict[str, Any]:
        """Everything the hash covers, in JSON types."""
        return {
            "instance_id": self.instance_id,
            "seq": self.seq,
            "at": self.at.astimezone(UTC).isoformat(),
            "action": self.action,
            "round": self.round,
            "actor_id": self.actor_id,
            "on_behalf_of": self.on_behalf_of,
            "step_id": self.step_id,
            "task_id": self.task_id,
            "comment": self.comment,
            "reason_code": self.reason_code,
            "data": self.data,
            "prev_hash": self.prev_hash,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimelineEntry:
        at = data["at"]
        return cls(
            instance_id=data["instance_id"],
            seq=data["seq"],
            at=at if isinstance(at, datetime) else datetime.fromisoformat(at),
            action=data["action"],
            round=data["round"],
            actor_id=data.get("actor_id"),
            on_behalf_of=data.get("on_behalf_of"),
            step_id=data.get("step_id"),
            task_id=data.get("task_id"),
            comment=data.get("comment"),
            reason_code=data.get("reason_code"),
            data=dict(data.get("data") or {}),
            prev_hash=data["prev_hash"],
            hash=data["hash"],
        )


def entry_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def seal(entry: TimelineEntry) -> TimelineEntry:
    """The entry with its hash filled in (``prev_hash`` must be set already)."""
    return TimelineEntry(**{**entry.__dict__, "hash": entry_hash(entry.body())})


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    #: The seq of the first entry that does not fit, or None.
    broken_at: int | None = None
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.ok


def verify_chain(
    entries: Sequence[TimelineEntry], *, head: str | None = None, start_hash: str = GENESIS
) -> ChainCheck:
    """Check that ``entries`` (in seq order) form an unbroken chain.

    ``head`` is the hash the instance remembers as its last entry; pass it to
    detect entries cut off the end.
    """
    previous = start_hash
    expected_seq = entries[0].seq if entries else 1
    if start_hash == GENESIS and entries and entries[0].seq != 1:
        return ChainCheck(False, entries[0].seq, "the chain does not start at seq 1")
    for entry in entries:
        if entry.seq != expected_seq:
            return ChainCheck(False, entry.seq, f"expected seq {expected_seq}, found {entry.seq}")
        if entry.prev_hash != previous:
            return ChainCheck(False, entry.seq, "prev_hash does not match the previous entry")
        try:
            actual = entry_hash(entry.body())
        except (TypeError, ValueError) as exc:
            return ChainCheck(False, entry.seq, f"entry cannot be hashed: {exc}")
        if actual != entry.hash:
            return ChainCheck(False, entry.seq, "hash does not match the entry's content")
        previous = entry.hash
        expected_seq += 1
    if head is not None and previous != head:
        return ChainCheck(False, None, "the last entry is not the head the instance remembers")
    return ChainCheck(True)
