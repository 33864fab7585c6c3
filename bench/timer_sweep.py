"""The timer sweep over many open timers in PostgreSQL: does it stay flat?

Fills a throwaway database with N pending timers (almost all in the future,
a fixed 200 due now), then measures the due-timer claim that
``services.timers.sweep`` runs (``... FOR UPDATE SKIP LOCKED LIMIT 200``) at
10k, 100k and 1M open timers, and prints its plan. The claim must be an index
range scan on the partial index, its cost independent of N: the ratio to the
10k case is the figure that matters.

Run: ``.venv/bin/python bench/timer_sweep.py [--max 1000000]`` (also run by
``bench/workflow.py --sweep``).
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import MetaData, text

from services import infra, timers
from services.db import drop_database, ensure_database, make_engine
from services.devstack import DEFAULT_PG_URL

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DUE = 200


def fill(conn: object, start: int, stop: int) -> None:
    # Future timers spread over a year; generated in SQL, 1M rows take seconds.
    conn.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO workflow_timers (id, instance_id, kind, fire_at, payload) "
            "SELECT gen_random_uuid(), 'i' || g, 'remind', "
            "       :now + (g % 525600 + 1) * interval '1 minute', '{}'::jsonb "
            "FROM generate_series(:a, :b - 1) AS g"
        ),
        {"now": NOW, "a": start, "b": stop},
    )


def claim_ms(engine: object, repeat: int = 30) -> tuple[float, str]:
    query = timers.due_query(NOW, DUE)
    samples = []
    with engine.connect() as conn:  # type: ignore[attr-defined]
        compiled = query.compile(conn, compile_kwargs={"literal_binds": False})
        plan = "\n".join(
            row[0] for row in conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
        )
        conn.rollback()
        for _ in range(repeat):
            started = time.perf_counter()
            with conn.begin():
                rows = conn.execute(query).all()
            samples.append((time.perf_counter() - started) * 1000)
            assert len(rows) == DUE, len(rows)
    return statistics.median(samples), plan


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max", type=int, default=1_000_000)
    args = parser.parse_args()
    infra.ensure_postgres(DEFAULT_PG_URL)
    url = f"{DEFAULT_PG_URL}/dfbench_timers_{uuid.uuid4().hex[:8]}"
    ensure_database(url)
    engine = make_engine(url)
    try:
        metadata = MetaData()
        timers.timer_table(metadata)
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO workflow_timers (id, instance_id, kind, fire_at, payload) "
                    "SELECT gen_random_uuid(), 'due' || g, 'remind', "
                    ":now - g * interval '1 second', '{}'::jsonb FROM generate_series(1, :n) g"
                ),
                {"now": NOW, "n": DUE},
            )
        sizes = [s for s in (10_000, 100_000, 1_000_000, 10_000_000) if s <= args.max]
        filled = 0
        results: list[tuple[int, float]] = []
        plan = ""
        for size in sizes:
            with engine.begin() as conn:
                fill(conn, filled, size)
            filled = size
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE workflow_timers"))
            ms, plan = claim_ms(engine)
            results.append((size, ms))
        base = results[0][1]
        print(f"claim of {DUE} due timers (FOR UPDATE SKIP LOCKED), median of 30:\n")
        print(f"{'open timers':>12}  {'ms':>7}  ratio to {results[0][0]:,}")
        for size, ms in results:
            print(f"{size:>12,}  {ms:>7.2f}  {ms / base:>6.2f}x")
        print(f"\nplan at {results[-1][0]:,} open timers:\n{plan}")
    finally:
        engine.dispose()
        drop_database(url)


if __name__ == "__main__":
    main()
