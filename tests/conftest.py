"""Test policy: mock only what lies outside our system.

- tests/unit: no I/O at all; pure domain code and small pieces of the library.
- tests/integration: the services as real processes on a real RabbitMQ (a vhost
  per run) and real PostgreSQL (databases per run), driven by RPC, AMQP and SQL.
- tests/e2e: the same running suite driven over HTTP through the gateway.
- tests/deploy: docker-compose.yml against the Compose Specification schema and the
  rendered k8s/ overlays against Kubernetes schemas (tools from PyPI, cached).
Fixtures live in services/testing/plugin.py.
"""

pytest_plugins = ["services.testing.plugin"]
