"""The accept loop the host's TCP peers share: a listener whose accept thread gives every connection,
with a record of it, a thread of its own; `stop()` closes the listener and waits, within a budget,
for the connection threads."""

from __future__ import annotations

import abc
import socket
import threading
from types import TracebackType
from typing import Generic, TypeVar

from mpssl_hil.common.waiting import Deadline
from mpssl_hil.peers.log import PeerLog

Record = TypeVar("Record")


class AcceptingServer(abc.ABC, Generic[Record]):
    """Subclasses make `_record(peer)` for each accepted client and serve it in `_serve(sock, record)`;
    `connections` lists the records in accept order, and `_changed` is notified when one changes."""

    thread_name = "peer"

    def __init__(self, listener: socket.socket, log: PeerLog, join_budget: float) -> None:
        self._listener = listener
        self.log = log
        self.join_budget = join_budget  # seconds stop() waits for all connection threads together
        self.port: int = listener.getsockname()[1]
        self.connections: list[Record] = []
        self._changed = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept_loop, name=f"{self.thread_name}-accept", daemon=True)

    def __enter__(self) -> AcceptingServer[Record]:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        self.log.add(self.listening())
        self._accepting.start()

    def listening(self) -> str:
        """The log's first line."""
        host, port = self._listener.getsockname()[:2]
        return f"listening on {host}:{port}"

    def stop(self) -> None:
        """Stop accepting, then wait for the connection threads (bounded by `join_budget`)."""
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        self._listener.close()
        self._accepting.join(timeout=5)
        budget = Deadline(self.join_budget)
        for t in self._threads:
            t.join(timeout=budget.remaining(floor=0.1))
        self.log.add("stopped")

    def _accept_loop(self) -> None:
        while True:
            try:
                sock, addr = self._listener.accept()
            except OSError:
                return  # the listener was closed by stop()
            record = self._record((addr[0], addr[1]))
            with self._changed:
                self.connections.append(record)
            t = threading.Thread(target=self._serve, args=(sock, record), name=self.thread_name, daemon=True)
            self._threads.append(t)
            t.start()

    @abc.abstractmethod
    def _record(self, peer: tuple[str, int]) -> Record:
        """A new record for the client at `peer`."""

    @abc.abstractmethod
    def _serve(self, sock: socket.socket, record: Record) -> None:
        """Serve one connection (in its own thread); close `sock` when done."""
