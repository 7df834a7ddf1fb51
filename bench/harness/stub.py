"""The loopback endpoint: the Runtime API and the AWS stub on one port, one thread."""

from __future__ import annotations

import socket

from . import runtime_api
from .aws_stub import AwsStub
from .http_server import Answer, Server
from .session import Session, fail


class Stub:
    def __init__(self) -> None:
        self.aws = AwsStub()
        self.server: Server[Session] = Server(self._handle, fail)
        self.address = self.server.address

    @property
    def session(self) -> Session | None:
        return self.server.context

    @session.setter
    def session(self, session: Session | None) -> None:
        # New connections belong to it; those already open keep the session they began with.
        self.server.context = session

    def _handle(self, session: Session | None, conn: socket.socket, method: str, target: str, headers: dict,
                body: bytes, received_ns: int) -> Answer | None:
        if target.startswith(runtime_api.PREFIX):
            return runtime_api.answer(session, conn, method, target, body, received_ns)
        return self.aws.answer(session, method, target, headers, body, received_ns)
