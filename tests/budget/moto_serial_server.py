"""moto's server application, served by ONE thread: ``python moto_serial_server.py PORT``.

Why not the ``moto_server`` command: it always serves requests on many threads, and moto applies a
TransactWriteItems by deep-copying the table, applying the items one by one and restoring the copy on
failure, with no lock. Concurrent transactions on that server overwrite each other (lost updates)
or fail with HTTP 500, which real DynamoDB never does: it serializes conflicting transactions.
Serving moto's own application on one thread gives the multi-process test the serializable
server it needs; the clients are still 8 separate processes racing each other.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])

    def stop(signum: int, frame: Any) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=False, processes=1, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
