"""A stand-in TAK server's streaming CoT input, as its own process: listens on a port (TLS
with a required client certificate when given --ca/--cert/--key), appends every byte each
connection sends to --out, and prints "listening" once it accepts connections.

    python tests/interop/tak_server.py --port 8089 --out received.cot [--ca --cert --key]
"""

from __future__ import annotations

import argparse
import socket
import ssl
import sys
import threading
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ca", type=Path)
    parser.add_argument("--cert", type=Path)
    parser.add_argument("--key", type=Path)
    args = parser.parse_args()
    context = None
    if args.cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=args.ca)
        context.load_cert_chain(args.cert, args.key)
        context.verify_mode = ssl.CERT_REQUIRED
    server = socket.create_server(("127.0.0.1", args.port))
    lock = threading.Lock()
    out = args.out.open("ab", buffering=0)

    def read(conn: socket.socket) -> None:
        with conn:
            while chunk := conn.recv(65536):
                with lock:
                    out.write(chunk)

    sys.stdout.write("listening\n")
    sys.stdout.flush()
    while True:
        conn, _ = server.accept()
        if context is not None:
            try:
                conn = context.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                conn.close()
                continue
        threading.Thread(target=read, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
