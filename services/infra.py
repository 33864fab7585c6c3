"""The servers Docflow needs on a developer's machine or in CI: RabbitMQ and PostgreSQL.

``ensure_*`` checks that a server answers and, when it is local and down,
starts it with the Debian commands (the way this project's machines run
them), then waits. A server that still does not answer is an error with the
command to try: nothing is ever skipped because a server is missing.
"""

from __future__ import annotations

import glob
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode

from sqlalchemy.engine import make_url

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class InfrastructureError(RuntimeError):
    pass


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port(host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(host, port):
            return True
        time.sleep(0.5)
    return False


def _run(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    return (result.stdout + result.stderr).strip()


def postgres_start_commands() -> list[list[str]]:
    versions = sorted(p.split("/")[-1] for p in glob.glob("/etc/postgresql/*"))
    if not versions or not shutil.which("pg_ctlcluster"):
        return []
    return [["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"]]


def rabbitmq_start_commands() -> list[list[str]]:
    return [["rabbitmq-server", "-detached"]] if shutil.which("rabbitmq-server") else []


def _ensure(name: str, host: str, port: int, commands: list[list[str]], wait: float) -> None:
    if port_open(host, port):
        return
    if host not in LOCAL_HOSTS or not commands:
        raise InfrastructureError(
            f"{name} does not answer on {host}:{port} and cannot be started from here; "
            "start it (see README, 'Servers') or point the settings at a running one"
        )
    output = "\n".join(_run(c) for c in commands)
    if not wait_port(host, port, wait):
        raise InfrastructureError(
            f"{name} did not come up on {host}:{port} after {' '.join(commands[0])}:\n{output}"
        )


def ensure_postgres(url: str, wait: float = 60.0) -> None:
    parsed = make_url(url)
    _ensure(
        "PostgreSQL",
        parsed.host or "127.0.0.1",
        parsed.port or 5432,
        postgres_start_commands(),
        wait,
    )


def ensure_rabbitmq(amqp_uri: str, wait: float = 90.0) -> None:
    parsed = urllib.parse.urlparse(amqp_uri)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 5672
    _ensure("RabbitMQ", host, port, rabbitmq_start_commands(), wait)
    # The port opens before the broker accepts logins; wait for the node itself.
    if shutil.which("rabbitmqctl") and host in LOCAL_HOSTS:
        _run(["rabbitmqctl", "await_startup", "--timeout", str(int(wait))])


def with_vhost(amqp_uri: str, vhost: str) -> str:
    parsed = urllib.parse.urlparse(amqp_uri)
    return urllib.parse.urlunparse(parsed._replace(path="/" + urllib.parse.quote(vhost, safe="")))


def _management(amqp_uri: str, method: str, path: str, body: dict[str, str] | None) -> None:
    parsed = urllib.parse.urlparse(amqp_uri)
    url = f"http://{parsed.hostname}:15672/api/{path}"
    auth = b64encode(f"{parsed.username or 'guest'}:{parsed.password or 'guest'}".encode())
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Basic {auth.decode()}", "content-type": "application/json"},
    )
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except urllib.error.URLError as exc:
        raise InfrastructureError(
            f"cannot manage RabbitMQ vhosts: no rabbitmqctl here and the management API at "
            f"{url} failed ({exc}); enable the rabbitmq_management plugin"
        ) from exc


def create_vhost(amqp_uri: str, vhost: str) -> str:
    """A throwaway vhost, so leftover processes of other runs never share our queues."""
    user = urllib.parse.urlparse(amqp_uri).username or "guest"
    if shutil.which("rabbitmqctl"):
        _run(["rabbitmqctl", "add_vhost", vhost])
        _run(["rabbitmqctl", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"])
    else:
        quoted = urllib.parse.quote(vhost, safe="")
        _management(amqp_uri, "PUT", f"vhosts/{quoted}", {})
        _management(
            amqp_uri,
            "PUT",
            f"permissions/{quoted}/{user}",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )
    return with_vhost(amqp_uri, vhost)


def delete_vhost(amqp_uri: str, vhost: str) -> None:
    if shutil.which("rabbitmqctl"):
        _run(["rabbitmqctl", "delete_vhost", vhost])
    else:
        _management(amqp_uri, "DELETE", f"vhosts/{urllib.parse.quote(vhost, safe='')}", None)
