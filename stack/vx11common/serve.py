"""Run one VX11 service: ``python -m vx11common.serve <service>`` (cwd: the stack tree).

The same entry for the local launcher and the images: it binds VX11_BIND
(127.0.0.1 by default, 0.0.0.0 in containers) on the service's fixed port with
a deep accept backlog, so a burst of connections queues instead of being reset.
Equivalent to ``uvicorn <service>.main:app --host $VX11_BIND --port <port> --backlog 2048``.
"""

from __future__ import annotations

import logging
import os
import sys

PORTS = {"tentaculo_link": 8000, "madre": 8001, "switch": 8002, "spawner": 8003}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in PORTS:
        print(f"usage: python -m vx11common.serve {{{'|'.join(PORTS)}}}", file=sys.stderr)
        return 2
    import uvicorn

    name = argv[0]
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    uvicorn.run(f"{name}.main:app", host=os.environ.get("VX11_BIND", "127.0.0.1"), port=PORTS[name],
                backlog=2048, timeout_graceful_shutdown=5, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
