"""Upload throughput through the gateway vs a direct S3 put of the same bytes.

Starts the suite on its own vhost and databases (like the tests; the S3 server
is the moto stand-in unless ``DOCFLOW_S3_ENDPOINT`` is set), then for each
file size uploads the same random bytes ``--repeat`` times:

  direct-put     minio ``put_object`` with the length known, from this process
  direct-stream  minio ``put_object`` with length -1 and 5 MiB parts (what the gateway does)
  gateway-raw    ``POST /api/v1/files`` with an ``application/octet-stream`` body:
                 JWT + archive.begin_upload + streamed put + archive.complete_upload
  gateway-form   the same as ``multipart/form-data`` (the browser's way)

Printed as MB/s per path and the ratio of each gateway path to direct-put.
Run: ``.venv/bin/python bench/archive.py [--repeat N] [--sizes 1,20]`` (MiB).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
import uuid
from collections.abc import Callable

import httpx

from org_svc.seed import DEMO_PASSWORD
from services import storage
from services.devstack import isolated_stack

MiB = 1024 * 1024


def timed(repeat: int, one: Callable[[int], None]) -> list[float]:
    one(-1)  # warm-up: connections, bucket, first folders
    seconds = []
    for i in range(repeat):
        started = time.perf_counter()
        one(i)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="1,20", help="file sizes in MiB, comma-separated")
    args = parser.parse_args()
    with isolated_stack("bench") as stack:
        env = stack.env()
        settings = storage.S3Settings(
            s3_endpoint=env["DOCFLOW_S3_ENDPOINT"],
            s3_access_key=env.get("DOCFLOW_S3_ACCESS_KEY", "minioadmin"),
            s3_secret_key=env.get("DOCFLOW_S3_SECRET_KEY", "minioadmin"),
            s3_secure=env.get("DOCFLOW_S3_SECURE", "false").lower() == "true",
            s3_bucket=env.get("DOCFLOW_S3_BUCKET", "docflow-archive"),
        )
        s3 = storage.make_client(settings)
        bucket = settings.s3_bucket
        http = httpx.Client(base_url=stack.gateway_url, timeout=120)
        token = http.post(
            "/api/v1/auth/token", json={"username": "manager", "password": DEMO_PASSWORD}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        rows: list[tuple[int, str, float, float]] = []
        for size_mib in (int(s) for s in args.sizes.split(",")):
            data = os.urandom(size_mib * MiB)

            def direct_put(i: int, data: bytes = data) -> None:
                s3.put_object(bucket, f"bench/{uuid.uuid4().hex}", io.BytesIO(data), len(data))

            def direct_stream(i: int, data: bytes = data) -> None:
                s3.put_object(
                    bucket,
                    f"bench/{uuid.uuid4().hex}",
                    io.BytesIO(data),
                    -1,
                    part_size=storage.PART_SIZE,
                )

            def gateway_raw(i: int, data: bytes = data) -> None:
                answer = http.post(
                    "/api/v1/files",
                    headers={**auth, "Content-Type": "application/octet-stream"},
                    params={"name": f"bench-{i}.bin"},
                    content=data,
                )
                assert answer.status_code == 201, answer.text

            def gateway_form(i: int, data: bytes = data) -> None:
                answer = http.post(
                    "/api/v1/files",
                    headers=auth,
                    files={"file": (f"bench-{i}.bin", data, "application/octet-stream")},
                )
                assert answer.status_code == 201, answer.text

            for name, one in (
                ("direct-put", direct_put),
                ("direct-stream", direct_stream),
                ("gateway-raw", gateway_raw),
                ("gateway-form", gateway_form),
            ):
                seconds = timed(args.repeat, one)
                median = statistics.median(seconds)
                rows.append((size_mib, name, size_mib / median, median * 1000))
        print(f"{args.repeat} uploads per path and size (median); S3 at {settings.s3_endpoint}\n")
        print("| size | path | MB/s | ms per file | ratio to direct-put |")
        print("| ---: | --- | ---: | ---: | ---: |")
        base = {size: rate for size, name, rate, _ in rows if name == "direct-put"}
        for size, name, rate, ms in rows:
            print(f"| {size} MiB | {name} | {rate:.1f} | {ms:.0f} | {rate / base[size]:.2f} |")


if __name__ == "__main__":
    main()
