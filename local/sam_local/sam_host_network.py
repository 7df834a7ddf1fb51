"""`sam`, with `--docker-network host` doing what it says: `python sam_host_network.py local invoke ...`.

SAM CLI (1.170.0, tools/requirements.txt) skips connecting its container to a network named
"host" and leaves it on Docker's default bridge (samcli/local/docker/container.py:
`if self.network_id and self.network_id != "host"`; aws/aws-sam-cli#4236), so inside the
container 127.0.0.1 is the container itself and the local stack's moto is out of reach. Here a
container whose network is "host" is created with network_mode "host" instead, and since it then
shares the machine's ports, the emulator (RIE) listens on 127.0.0.1 at the port SAM CLI already
picked for it (not 0.0.0.0:8080), its Runtime API on another free loopback port (not 9001).

With the container on the host network SAM CLI's wait for the emulator is a real one: it polls
that port until RIE listens (SAM_CLI_CONTAINER_CONNECTION_TIMEOUT). On the bridge, docker-proxy
listens on the published port from the start, the wait ends at once, and a container slow to
start (arm64 under qemu) gets its request refused three times in 0.7 s: "No response from invoke
container", exit code 0. docs/local.md says more.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

from docker.models.containers import ContainerCollection
from samcli.local.docker.container import Container

_original_create = Container.create
_original_docker_create = ContainerCollection.create
_RIE = "/var/rapid/aws-lambda-rie"


def _free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _create_on_host_network(self: Container, *args: Any, **kwargs: Any) -> Any:
    if self.network_id == "host":
        entrypoint = list(self._entrypoint or [])
        if not entrypoint or entrypoint[0] != _RIE:
            raise SystemExit(f"sam_host_network: unexpected container entrypoint {entrypoint!r} (SAM CLI changed?)")
        self._entrypoint = [*entrypoint,
                            "--runtime-interface-emulator-address", f"127.0.0.1:{self.rapid_port_host}",
                            "--runtime-api-address", f"127.0.0.1:{_free_loopback_port()}"]
        self._container_opts = {**(self._container_opts or {}), "network_mode": "host"}
        self._container_host = "127.0.0.1"
    return _original_create(self, *args, **kwargs)


def _docker_create_without_ports_on_host(self: ContainerCollection, image: Any, command: Any = None,
                                         **kwargs: Any) -> Any:
    # SAM CLI always publishes the emulator's port; docker-py refuses that with network_mode host
    # (and it would mean nothing there: RIE listens on the host's loopback itself).
    if kwargs.get("network_mode") == "host":
        kwargs.pop("ports", None)
    return _original_docker_create(self, image, command, **kwargs)


def main() -> int:
    # Monkeypatches on purpose: mypy's method-assign, for docker's typed class only (samcli has no types).
    Container.create = _create_on_host_network
    ContainerCollection.create = _docker_create_without_ports_on_host  # type: ignore[method-assign]
    from samcli.cli.main import cli

    return cli(prog_name="sam")


if __name__ == "__main__":
    sys.exit(main())
