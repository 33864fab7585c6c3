"""A private RabbitMQ node for fault tests: ours to stop and start mid-load.

Other people's test runs share the machine's broker (127.0.0.1:5672), so a
test that restarts RabbitMQ must never touch that one. ``PrivateBroker``
starts a second node of the installed RabbitMQ under its own node name, on
free loopback ports, with its data, logs, config, plugin list and Erlang
cookie in a temporary directory. ``restart()`` stops the node and starts it
again on the same data directory (durable queues and persistent messages
survive, connections do not), which is what a broker restart looks like to
the services. ``close()`` stops it with ``rabbitmqctl -n <node> stop`` and
removes the directory.

The installed wrapper scripts switch to the ``rabbitmq`` user and read the
system's config files; the scripts under ``/usr/lib/rabbitmq/bin`` take the
``RABBITMQ_*`` environment as given, so those are used when they exist.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from services.devstack import free_port
from services.infra import port_open

#: Where Debian's package puts the unwrapped scripts (no ``su rabbitmq``).
_PACKAGE_BIN = Path("/usr/lib/rabbitmq/bin")


def _command(name: str) -> str:
    unwrapped = _PACKAGE_BIN / name
    if unwrapped.exists():
        return str(unwrapped)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: the fault tests need a local RabbitMQ")
    return found


class PrivateBroker:
    """One RabbitMQ node of our own (see the module docstring)."""

    def __init__(self) -> None:
        self.node = f"docflow-fault-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="docflow-fault-broker-"))
        (self.base / "enabled_plugins").write_text("[].\n")
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\n"
            # A fault test produces little; the default disk alarm could stop a busy CI box.
            "disk_free_limit.absolute = 50MB\n"
        )
        # An empty env file: the system's one names the shared node.
        (self.base / "rabbitmq-env.conf").write_text("")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def amqp_uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                # The Erlang cookie is read from and created in $HOME.
                "HOME": str(self.base),
                "RABBITMQ_NODENAME": self.node,
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
                "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(self.dist_port),
                "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
                "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
                "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
                "RABBITMQ_LOG_BASE": str(self.base / "log"),
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": (
                    "-kernel inet_dist_use_interface {127,0,0,1}"
                ),
                "ERL_EPMD_ADDRESS": "127.0.0.1",
            }
        )
        return env

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_command("rabbitmqctl"), "-n", self.node, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, wait: float = 60) -> None:
        """Start the node and return once it accepts AMQP connections."""
        log = open(self.base / "server.out", "ab")  # noqa: SIM115 - handed to the child
        try:
            self.process = subprocess.Popen(
                [_command("rabbitmq-server")],
                env=self.env(),
                cwd=self.base,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the private RabbitMQ node exited:\n{self._tail()}")
            # The port opens before the node takes logins; await_startup waits for the app.
            if (
                port_open("127.0.0.1", self.port, 0.5)
                and self.ctl("await_startup", "--timeout", "10", timeout=20).returncode == 0
            ):
                return
            time.sleep(0.3)
        raise RuntimeError(f"the private RabbitMQ node did not start in {wait}s:\n{self._tail()}")

    def stop(self, wait: float = 30) -> None:
        """Stop the node (``rabbitmqctl stop``); kill it only if it does not go."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.ctl("stop", timeout=wait)
            try:
                self.process.wait(wait)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def _tail(self) -> str:
        out = self.base / "server.out"
        return out.read_text(errors="replace")[-3000:] if out.exists() else ""

    def __enter__(self) -> PrivateBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
