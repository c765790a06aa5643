"""A Kafka-aware TCP proxy for tests: relays frames between clients and one broker, records the
requests it sees, and can break a connection on purpose (forward a Produce request, swallow the
broker's answer and close the client's socket) to make a client retry."""

import socket
import struct
import threading

from broker import free_port


def _read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _read_frame(sock):
    head = _read_exact(sock, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">i", head)
    body = _read_exact(sock, n)
    return None if body is None else head + body


class Proxy:
    def __init__(self, broker_port, port=None):
        self.broker_port = broker_port
        self.port = port or free_port()
        self.requests = []          # (api_key, api_version, frame bytes)
        self.drop_produce_responses = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", self.port))
        self._server.listen(64)
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self._closing = True
        self._server.close()

    def _accept(self):
        while not self._closing:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        upstream = socket.create_connection(("127.0.0.1", self.broker_port))
        pending = []  # api keys of requests awaiting a response, in order
        done = threading.Event()

        def responses():
            try:
                while True:
                    frame = _read_frame(upstream)
                    if frame is None:
                        break
                    with self._lock:
                        key = pending.pop(0) if pending else None
                        drop = key == 0 and self.drop_produce_responses > 0
                        if drop:
                            self.drop_produce_responses -= 1
                            self.dropped += 1
                    if drop:
                        break  # the request was applied; the client never hears of it
                    client.sendall(frame)
            except OSError:
                pass
            done.set()
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        threading.Thread(target=responses, daemon=True).start()
        try:
            while not done.is_set():
                frame = _read_frame(client)
                if frame is None:
                    break
                key, version, _corr = struct.unpack_from(">hhi", frame, 4)
                acks_zero = False
                if key == 0:
                    # Produce v3+: transactional id, then acks (no response when 0)
                    (tid_len,) = struct.unpack_from(">h", frame, 12 + self._client_id_len(frame))
                    pos = 12 + self._client_id_len(frame) + 2 + max(tid_len, 0)
                    if version >= 9:
                        acks_zero = False  # flexible produce: not used by the clients here
                    else:
                        (acks,) = struct.unpack_from(">h", frame, pos)
                        acks_zero = acks == 0
                with self._lock:
                    self.requests.append((key, version, frame))
                    if not acks_zero:
                        pending.append(key)
                upstream.sendall(frame)
        except OSError:
            pass
        done.wait(5)
        client.close()
        upstream.close()

    @staticmethod
    def _client_id_len(frame):
        (n,) = struct.unpack_from(">h", frame, 12)
        return 2 + max(n, 0)

    def produced_batches(self):
        """(topic, partition, records bytes) of every non-flexible Produce request seen."""
        out = []
        with self._lock:
            frames = [(v, f) for k, v, f in self.requests if k == 0 and v < 9]
        for _version, f in frames:
            pos = 12 + self._client_id_len(f)
            (tid,) = struct.unpack_from(">h", f, pos)
            pos += 2 + max(tid, 0) + 2 + 4
            (topics,) = struct.unpack_from(">i", f, pos)
            pos += 4
            for _ in range(topics):
                (n,) = struct.unpack_from(">h", f, pos)
                topic = f[pos + 2:pos + 2 + n].decode()
                pos += 2 + n
                (parts,) = struct.unpack_from(">i", f, pos)
                pos += 4
                for _ in range(parts):
                    part, rlen = struct.unpack_from(">ii", f, pos)
                    pos += 8
                    out.append((topic, part, f[pos:pos + max(rlen, 0)]))
                    pos += max(rlen, 0)
        return out
