"""A minimal Kafka wire encoder/decoder for raw-socket tests: just enough of the request
headers, ApiVersions, Metadata, Produce v3, Fetch v4 and CreateTopics v2 to send well-formed and
deliberately broken requests. Standard library only."""

import socket
import struct
import time


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(v):
    v = (v << 1) ^ (v >> 63)
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def string(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def record_batch(values, magic=2, attributes=0, count=None, last_delta=None, ts=1_700_000_000_000,
                 crc=None, length_override=None, producer=(-1, -1, -1)):
    records = bytearray()
    for i, v in enumerate(values):
        body = bytes([0]) + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        records += varint(len(body)) + body
    n = len(values)
    pid, epoch, seq = producer
    after_crc = struct.pack(">hiqqqhii", attributes, n - 1 if last_delta is None else last_delta,
                            ts, ts, pid, epoch, seq, n if count is None else count) + records
    c = crc32c(after_crc) if crc is None else crc
    head = struct.pack(">iBI", -1, magic, c)  # partitionLeaderEpoch, magic, crc
    length = len(head) + len(after_crc) if length_override is None else length_override
    return struct.pack(">qi", 0, length) + head + after_crc


def array(items):
    """INT32-counted array of already encoded items."""
    return struct.pack(">i", len(items)) + b"".join(items)


class Reader:
    """Walks a response body: big-endian integers and INT16-counted strings."""

    def __init__(self, data, pos=0):
        self.data = data
        self.pos = pos

    def take(self, fmt):
        v = struct.unpack_from(">" + fmt, self.data, self.pos)
        self.pos += struct.calcsize(">" + fmt)
        return v[0] if len(v) == 1 else v

    def string(self):
        n = self.take("h")
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def bytes_(self):
        n = self.take("i")
        if n < 0:
            return None
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b


class Client:
    """One blocking connection; requests are framed, responses read whole."""

    def __init__(self, port, timeout=10, source="127.0.0.1"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                             source_address=(source, 0))
        self.correlation = 0

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, api_key, version, body, header_version=1):
        self.correlation += 1
        header = struct.pack(">hhi", api_key, version, self.correlation) + string("strom-test")
        if header_version == 2:
            header += b"\x00"
        payload = header + body
        self.send_raw(struct.pack(">i", len(payload)) + payload)
        return self.correlation

    def recv(self):
        """The response body after the correlation id (header v0), or None if closed."""
        size = self._read(4)
        if size is None:
            return None
        (n,) = struct.unpack(">i", size)
        body = self._read(n)
        if body is None:
            return None
        return body[4:]

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except (ConnectionResetError, socket.timeout):
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def closed_by_peer(self, timeout=10):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    # --- requests -------------------------------------------------------------------------

    def api_versions(self, version=0):
        self.send(18, version, b"" if version < 3 else b"\x00\x00\x00",
                  header_version=2 if version >= 3 else 1)
        return self.recv()

    def produce(self, topic, partition, records, acks=-1):
        body = string(None) + struct.pack(">hi", acks, 10000) + struct.pack(">i", 1) + \
            string(topic) + struct.pack(">i", 1) + struct.pack(">i", partition) + \
            struct.pack(">i", len(records)) + records
        self.send(0, 3, body)
        if acks == 0:
            return None
        r = self.recv()
        if r is None:
            return None
        # responses: [topic: name, [partition, error, base_offset, log_append_time]], throttle
        pos = 4
        (nlen,) = struct.unpack_from(">h", r, pos)
        pos += 2 + nlen + 4
        _, err, base = struct.unpack_from(">ihq", r, pos)
        return err, base

    def fetch(self, topic, partition, offset, max_wait=0):
        body = struct.pack(">iiiib", -1, max_wait, 1, 1 << 20, 0) + struct.pack(">i", 1) + \
            string(topic) + struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, 1 << 20)
        self.send(1, 4, body)
        r = self.recv()
        if r is None:
            return None
        pos = 4 + 4  # throttle, topic count
        (nlen,) = struct.unpack_from(">h", r, pos)
        pos += 2 + nlen + 4
        _, err, hw, _lso = struct.unpack_from(">ihqq", r, pos)
        pos += 4 + 2 + 8 + 8
        (aborted,) = struct.unpack_from(">i", r, pos)
        pos += 4 + max(aborted, 0) * 16
        (rlen,) = struct.unpack_from(">i", r, pos)
        return err, hw, r[pos + 4:pos + 4 + max(rlen, 0)]

    def init_producer_id(self):
        """InitProducerId v0 without a transactional id: (error, producer id, epoch)."""
        self.send(22, 0, string(None) + struct.pack(">i", 60000))
        r = self.recv()
        _throttle, err, pid, epoch = struct.unpack_from(">ihqh", r, 0)
        return err, pid, epoch

    def describe_log_dirs(self):
        """DescribeLogDirs v1 for every topic: [(error, dir, {topic: {partition: size}})]."""
        self.send(35, 1, struct.pack(">i", -1))
        r = self.recv()
        pos = 4
        (ndirs,) = struct.unpack_from(">i", r, pos)
        pos += 4
        out = []
        for _ in range(ndirs):
            err, n = struct.unpack_from(">hh", r, pos)
            pos += 4
            path = r[pos:pos + n].decode()
            pos += n
            (ntopics,) = struct.unpack_from(">i", r, pos)
            pos += 4
            topics = {}
            for _ in range(ntopics):
                (n,) = struct.unpack_from(">h", r, pos)
                name = r[pos + 2:pos + 2 + n].decode()
                pos += 2 + n
                (nparts,) = struct.unpack_from(">i", r, pos)
                pos += 4
                parts = {}
                for _ in range(nparts):
                    idx, size, _lag, _future = struct.unpack_from(">iqq?", r, pos)
                    pos += 21
                    parts[idx] = size
                topics[name] = parts
            out.append((err, path, topics))
        return out

    def create_topic(self, name, partitions, rf=1, configs=()):
        body = struct.pack(">i", 1) + string(name) + struct.pack(">ih", partitions, rf) + \
            struct.pack(">i", 0) + struct.pack(">i", len(configs))
        for k, v in configs:
            body += string(k) + string(v)
        body += struct.pack(">i?", 10000, False)
        self.send(19, 2, body)
        r = self.recv()
        pos = 4 + 4
        (nlen,) = struct.unpack_from(">h", r, pos)
        pos += 2 + nlen
        (err,) = struct.unpack_from(">h", r, pos)
        return err
