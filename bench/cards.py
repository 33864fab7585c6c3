"""The contract list over many cards: does it stay flat from 10k to 1M rows?

Creates a throwaway database migrated with contracts_svc's own migrations,
fills ``contracts`` in SQL (``INSERT … SELECT generate_series``: a million
rows take about a minute), and times ``contracts_svc.usecases.list_contracts``
itself (query, ORM rows, the card schema of each item) for:

  first page     the newest 50 cards
  deep page      a keyset page 90% of the way down the list (``cursor=``)
  q common       ``q=`` with a word most subjects contain
  q rare         ``q=`` with one contract's number (one match in the table)

each as a caller with a read-all role (a lawyer) and as a department-restricted
caller (a manager: own cards, curated, participated, or of their department,
which holds 5% of the cards). The same at 10,000 rows is the baseline; the
ratio 1M / 10k is the figure that matters. The plans at 1M are printed so
index use can be checked.

``--proposed-indexes`` also creates the indexes this bench suggests for
contracts_svc (pg_trgm GIN on the searched columns) and measures again.

Run: ``.venv/bin/python bench/cards.py [--max 1000000] [--proposed-indexes]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from contracts_svc import usecases
from services import infra
from services.auth import Identity
from services.db import drop_database, make_engine
from services.devstack import DEFAULT_PG_URL
from services.migrations import upgrade
from services.pagination import encode_cursor

DEPARTMENTS = 20
USERS = 200
COUNTERPARTIES = 5000
READ_ALL = Identity(
    user_id="u1", username="lawyer", roles=frozenset({"lawyer"}), department_id="d1"
)
#: u5 works in department d5 (5% of the cards) and is curator/author/participant of others.
DEPARTMENT = Identity(
    user_id="u5", username="manager", roles=frozenset({"curator"}), department_id="d5"
)

FILL_SQL = """
INSERT INTO contracts (
    id, number, contract_type, subject, counterparty_id, counterparty_name,
    curator_id, department_id, contract_date, amount, currency, route_id, file_ids,
    status, responsible, participants, register_year, register_seq, register_number,
    created_by, created_at, updated_at, version)
SELECT
    gen_random_uuid(),
    'N-' || g,
    (ARRAY['supply', 'services', 'lease', 'works'])[g % 4 + 1],
    (ARRAY['Поставка бельевого текстиля', 'Аренда помещения', 'Ремонт кровли',
           'Услуги уборки', 'Поставка мебели', 'Техническое обслуживание лифтов'])[g / 20 % 6 + 1]
        || ', партия ' || g,
    md5('cp' || (g % :cps))::uuid,
    'ООО «Контрагент ' || (g % :cps) || '»',
    'u' || ((g * 7) % :users),
    'd' || (g % :deps),
    DATE '2020-01-01' + (g % 2000),
    (g % 100000) * 10.00,
    'RUB',
    'contract_approval',
    '{}',
    (ARRAY['draft', 'in_approval', 'signing', 'completed', 'completed', 'completed'])[g % 6 + 1],
    ARRAY['u' || ((g * 13) % :users)],
    ARRAY['u' || ((g * 13) % :users), 'u' || ((g * 17) % :users)],
    CASE WHEN g % 3 = 0 THEN 2000 + g % 50 END,
    CASE WHEN g % 3 = 0 THEN g END,
    CASE WHEN g % 3 = 0 THEN 'Д-' || (2000 + g % 50) || '-' || g END,
    'u' || (g % :users),
    TIMESTAMPTZ '2020-01-01 00:00+00' + g * interval '1 minute',
    TIMESTAMPTZ '2020-01-01 00:00+00' + g * interval '1 minute',
    1
FROM generate_series(:a, :b - 1) AS g
"""

#: What this bench proposes for contracts_svc (see bench/RESULTS.md).
PROPOSED_INDEXES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_contracts_subject_trgm ON contracts "
    "USING gin (subject gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_contracts_number_trgm ON contracts "
    "USING gin (number gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_contracts_register_number_trgm ON contracts "
    "USING gin (register_number gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_contracts_counterparty_name_trgm ON contracts "
    "USING gin (counterparty_name gin_trgm_ops)",
]


class StatementLog:
    """Keeps the last SELECT on ``contracts`` so its plan can be shown."""

    def __init__(self, engine: Any) -> None:
        self.last: tuple[str, Any] | None = None
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM contracts" in statement:
            self.last = (statement, params)


def fill(engine: Any, start: int, stop: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(FILL_SQL),
            {"a": start, "b": stop, "cps": COUNTERPARTIES, "users": USERS, "deps": DEPARTMENTS},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE contracts"))


def deep_cursor(engine: Any, caller: Identity, rows: int) -> str:
    """The keyset cursor of the card 90% of the way down the caller's list."""
    visible = "" if caller is READ_ALL else "WHERE department_id = :dep"
    with engine.connect() as conn:
        key = conn.execute(
            text(
                f"SELECT created_at, id FROM contracts {visible} "
                "ORDER BY created_at DESC, id DESC OFFSET :n LIMIT 1"
            ),
            {"dep": caller.department_id, "n": int(rows * 0.9) // (1 if visible == "" else 20)},
        ).one()
    return encode_cursor([key.created_at.isoformat(), str(key.id)])


def timed(engine: Any, call: Callable[[Session], dict[str, Any]], repeat: int) -> float:
    samples = []
    with Session(engine) as session:
        call(session)  # warm-up: plan cache, buffers
        for _ in range(repeat):
            started = time.perf_counter()
            page = call(session)
            samples.append((time.perf_counter() - started) * 1000)
            assert page["items"] is not None
            session.rollback()
    return statistics.median(samples)


def cases(engine: Any, rows: int) -> dict[str, Callable[[Session], dict[str, Any]]]:
    found: dict[str, Callable[[Session], dict[str, Any]]] = {}
    rare = f"N-{rows // 2 + 7}"
    for label, caller in (("read-all", READ_ALL), ("department", DEPARTMENT)):
        cursor = deep_cursor(engine, caller, rows)

        def first(s: Session, c: Identity = caller) -> dict[str, Any]:
            return usecases.list_contracts(s, c, None, None, None, None, None)

        def deep(s: Session, c: Identity = caller, k: str = cursor) -> dict[str, Any]:
            return usecases.list_contracts(s, c, None, None, None, None, k)

        def common(s: Session, c: Identity = caller) -> dict[str, Any]:
            return usecases.list_contracts(s, c, None, None, "поставка", None, None)

        def search_rare(s: Session, c: Identity = caller) -> dict[str, Any]:
            return usecases.list_contracts(s, c, None, None, rare, None, None)

        found[f"{label} first page"] = first
        found[f"{label} deep page"] = deep
        found[f"{label} q common"] = common
        found[f"{label} q rare"] = search_rare
    return found


def measure(engine: Any, rows: int, repeat: int, log: StatementLog) -> tuple[dict, dict]:
    times, plans = {}, {}
    for name, call in cases(engine, rows).items():
        times[name] = timed(engine, call, repeat)
        assert log.last is not None
        statement, params = log.last
        with engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF) " + statement, params)
            plans[name] = "\n".join(r[0] for r in plan)
    return times, plans


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max", type=int, default=1_000_000)
    parser.add_argument("--base", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--proposed-indexes", action="store_true")
    parser.add_argument("--plans", action="store_true", help="print every plan at the top size")
    args = parser.parse_args()
    infra.ensure_postgres(DEFAULT_PG_URL)
    url = f"{DEFAULT_PG_URL}/dfbench_cards_{uuid.uuid4().hex[:8]}"
    upgrade("contracts_svc", url)
    engine = make_engine(url)
    log = StatementLog(engine)
    try:
        results: list[tuple[str, int, dict[str, float]]] = []
        started = time.perf_counter()
        fill(engine, 1, args.base + 1)
        base_times, _ = measure(engine, args.base, args.repeat, log)
        results.append(("as migrated", args.base, base_times))
        fill(engine, args.base + 1, args.max + 1)
        print(f"filled {args.max:,} cards in {time.perf_counter() - started:.0f}s\n")
        top_times, plans = measure(engine, args.max, args.repeat, log)
        results.append(("as migrated", args.max, top_times))
        if args.proposed_indexes:
            with engine.begin() as conn:
                for sql in PROPOSED_INDEXES:
                    conn.execute(text(sql))
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE contracts"))
            indexed_times, indexed_plans = measure(engine, args.max, args.repeat, log)
            results.append(("+ trigram indexes", args.max, indexed_times))
        print(f"list_contracts, median of {args.repeat} (ms); ratio to {args.base:,} rows\n")
        header = " | ".join(f"{rows:,} {label}" for label, rows, _ in results)
        print(f"| query | {header} | ratio to {args.base:,} |")
        print("| --- |" + " ---: |" * len(results) + " ratio |")
        for name in base_times:
            cells = [f"{t[name]:.1f}" for _, _, t in results]
            ratios = ", ".join(f"{t[name] / base_times[name]:.2f}x" for _, _, t in results[1:])
            print(f"| {name} | " + " | ".join(cells) + f" | {ratios} |")
        shown = plans if args.plans else {k: v for k, v in plans.items() if "q rare" in k}
        for name, plan in shown.items():
            print(f"\nplan at {args.max:,}, {name}:\n{plan}")
        if args.proposed_indexes:
            for name, plan in indexed_plans.items():
                if "q rare" in name:
                    print(f"\nplan with trigram indexes, {name}:\n{plan}")
    finally:
        engine.dispose()
        drop_database(url)


if __name__ == "__main__":
    main()
