"""Exit statuses, the same for every command (docs/settings.md lists them).

0 done, or stopped by SIGTERM after a clean shutdown (what supervisors send: not a failure);
1 a failure while running; 2 a bad setting or command line (nothing started);
130 stopped by Ctrl-C (SIGINT), after the same clean shutdown, as shells expect (128 + 2).
"""

from __future__ import annotations

import signal
from typing import Any

OK = 0
FAILURE = 1
BAD_SETTING = 2
INTERRUPTED = 128 + signal.SIGINT


def after_signal(status: int, stopped_by: int | None) -> int:
    """The exit status of a command that finished with ``status`` after the signal ``stopped_by``."""
    if status == OK and stopped_by == signal.SIGINT:
        return INTERRUPTED
    return status


def serve(server_config: Any, sockets: list[Any] | None = None) -> int:
    """Run a uvicorn server until SIGINT/SIGTERM; its exit status by the rule above. uvicorn re-raises the
    signal after its graceful shutdown (SIGINT then ends as click's "Aborted!", status 1): here the signal
    only decides the status."""
    import uvicorn

    class _Server(uvicorn.Server):
        stopped_by: int | None = None

        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            self.stopped_by = sig
            self._captured_signals.clear()  # do not re-raise: the status says it

    server = _Server(server_config)
    server.run(sockets=sockets)
    return after_signal(OK if server.started else FAILURE, server.stopped_by)
