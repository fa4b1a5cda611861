#!/usr/bin/python3
"""A TCP echo for tests where both directions of one connection must pass.

  tcp_echo.py serve BIND_ADDR PORT
  tcp_echo.py talk DEST_ADDR PORT MESSAGES GAP_MS RESULT.json

`serve` echoes every byte of every connection back. `talk` opens one
connection, sends MESSAGES messages of 512 bytes GAP_MS apart, reads each
echo back before the next, then writes {"sent", "echoed", "error"} (bytes) to
RESULT.json. A connection that is cut (reset, or 5 s without an echo) ends
the talk with the error.
"""
import json
import os
import socket
import sys
import threading
import time

MESSAGE = 512


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve(addr, port):
    s = socket.socket(family_of(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(8)

    def echo(conn):
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)

    while True:
        conn, _ = s.accept()
        threading.Thread(target=echo, args=(conn,), daemon=True).start()


def talk(addr, port, messages, gap_ms, result_path):
    sent = echoed = 0
    error = None
    try:
        s = socket.create_connection((addr, port), timeout=5)
        s.settimeout(5)
        for i in range(messages):
            payload = (i.to_bytes(8, "big") * (MESSAGE // 8))
            s.sendall(payload)
            sent += len(payload)
            got = b""
            while len(got) < len(payload):
                chunk = s.recv(len(payload) - len(got))
                if not chunk:
                    raise ConnectionError("connection closed by the peer")
                got += chunk
            if got != payload:
                raise ValueError(f"message {i} came back changed")
            echoed += len(got)
            time.sleep(gap_ms / 1000.0)
        s.close()
    except (OSError, ValueError) as e:
        error = f"{type(e).__name__}: {e}"
    tmp = result_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"sent": sent, "echoed": echoed, "error": error}, f)
    os.rename(tmp, result_path)


def main():
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "talk":
        talk(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
