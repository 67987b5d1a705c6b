#!/usr/bin/env python3
"""The lab's central log collector: the "SOC" that lab hosts forward syslog to.

A TCP syslog receiver bound to the lab bridge address only (10.203.0.1:514, never 0.0.0.0),
appending every received line to one file, which stops growing at a size cap. Started and ended
by ``python3 -m lab up/down`` like the hosts; standard library only.

Usage: collector.py --listen ADDRESS --port PORT --output FILE [--max-bytes N]
"""
import argparse
import socketserver
import threading

LINE_CAP = 8192
IDLE_TIMEOUT = 600.0


class Collector(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address, output: str, max_bytes: int):
        super().__init__(address, LineHandler)
        self.output = open(output, "ab", buffering=0)
        self.max_bytes = max_bytes
        self.lock = threading.Lock()

    def append(self, peer: str, line: bytes) -> None:
        with self.lock:
            if self.output.tell() < self.max_bytes:
                self.output.write(peer.encode() + b" " + line[:LINE_CAP].rstrip(b"\r\n") + b"\n")


class LineHandler(socketserver.StreamRequestHandler):
    """rsyslog's plain TCP forwarding: one message per line (octet counting is not used)."""

    def handle(self) -> None:
        self.request.settimeout(IDLE_TIMEOUT)
        peer = self.client_address[0]
        try:
            while line := self.rfile.readline(LINE_CAP):
                self.server.append(peer, line)
        except OSError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True)
    parser.add_argument("--port", type=int, default=514)
    parser.add_argument("--output", required=True)
    parser.add_argument("--max-bytes", type=int, default=20 * 1024 * 1024)
    args = parser.parse_args()
    Collector((args.listen, args.port), args.output, args.max_bytes).serve_forever()


if __name__ == "__main__":
    main()
