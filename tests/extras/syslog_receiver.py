"""A TLS syslog collector on loopback (RFC 5425 octet counting) for the forwarder tests."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

from vigilcam.platform import tls
from vigilcam.platform.syslog_forward import read_frames


class Receiver:
    """Accepts TLS connections on 127.0.0.1:port and collects every framed message."""

    def __init__(self, cert: Path, key: Path, port: int = 0) -> None:
        self.context = tls.server_context(cert, key)
        self.listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.listener.settimeout(0.2)
        self.port = int(self.listener.getsockname()[1])
        self.messages: list[bytes] = []
        self.connections = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[bytes]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()
        for conn in self._conns:
            try:
                conn.close()
            except OSError:
                pass

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._client, args=(raw,), daemon=True).start()

    def _client(self, raw: socket.socket) -> None:
        try:
            conn = self.context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            self.errors.append(str(exc))
            raw.close()
            return
        self.connections += 1
        self._conns.append(conn)
        conn.settimeout(0.2)
        buffer = bytearray()
        while not self._stop.is_set():
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            buffer += data
            frames = read_frames(buffer)
            if frames:
                with self._changed:
                    self.messages.extend(frames)
                    self._changed.notify_all()
        conn.close()
