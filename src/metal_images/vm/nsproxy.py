"""A ProxyCommand for SSH: relay stdin/stdout to host:port from inside a namespace.

Used as `ip netns exec <ns> python -m metal_images.vm.nsproxy <host> <port>`, so the SSH
client on the host reaches the server the way an operator behind the switch would.
`--probe` only checks that an SSH banner arrives (exit 0) or not (exit 1).
"""

from __future__ import annotations

import os
import selectors
import socket
import sys


def relay(sock: socket.socket) -> None:
    selector = selectors.DefaultSelector()
    stdin = sys.stdin.buffer.fileno()
    stdout = sys.stdout.buffer.fileno()
    selector.register(stdin, selectors.EVENT_READ)
    selector.register(sock, selectors.EVENT_READ)
    open_inputs = 2
    while open_inputs:
        for key, _ in selector.select():
            if key.fileobj == stdin:
                data = os.read(stdin, 65536)
                if not data:
                    sock.shutdown(socket.SHUT_WR)
                    selector.unregister(stdin)
                    open_inputs -= 1
                else:
                    sock.sendall(data)
            else:
                data = sock.recv(65536)
                if not data:
                    return
                os.write(stdout, data)


def probe(host: str, port: int) -> int:
    try:
        with socket.create_connection((host, port), timeout=5) as sock:
            return 0 if sock.recv(64).startswith(b"SSH-") else 1
    except OSError:
        return 1


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--probe":
        return probe(argv[1], int(argv[2]))
    with socket.create_connection((argv[0], int(argv[1])), timeout=30) as sock:
        sock.settimeout(None)
        relay(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
