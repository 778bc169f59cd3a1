"""A tiny PostgreSQL wire client that binds its SOURCE address (libpq cannot), so a test can
connect from 127.0.0.2, 127.0.0.3... and send any user/database name, even ones psql would
refuse to build a connection string from."""

from __future__ import annotations

import socket
import struct


def attempt(port: int, source: str, user: str, database: str | None, *, password: str | None = "wrong",
            raw: bytes | None = None, replication: bool = False) -> bytes:
    """One connection attempt; returns the server's first error message text (may be b'')."""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as s:
        if raw is not None:
            s.sendall(raw)
            return _read_all(s)
        params = b"user\0" + user.encode() + b"\0"
        if database is not None:
            params += b"database\0" + database.encode() + b"\0"
        if replication:
            params += b"replication\0true\0"
        body = struct.pack("!I", 196608) + params + b"\0"
        s.sendall(struct.pack("!I", len(body) + 4) + body)
        reply = _read_message(s)
        if reply and reply[0] == ord("R") and password is not None:
            (code,) = struct.unpack("!I", reply[5:9])
            if code == 3:   # AuthenticationCleartextPassword
                pw = password.encode() + b"\0"
                s.sendall(b"p" + struct.pack("!I", len(pw) + 4) + pw)
                reply = _read_message(s)
        return reply


def _read_message(s: socket.socket) -> bytes:
    head = _read_n(s, 5)
    if len(head) < 5:
        return head
    (length,) = struct.unpack("!I", head[1:5])
    return head + _read_n(s, length - 4)


def _read_n(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        try:
            part = s.recv(n - len(data))
        except OSError:
            break
        if not part:
            break
        data += part
    return data


def _read_all(s: socket.socket) -> bytes:
    return _read_n(s, 1 << 16)
