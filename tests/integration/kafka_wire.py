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

    def __init__(self, port, timeout=10, source="127.0.0.1", tls=None):
        """`tls`: an ssl.SSLContext to speak TLS with."""
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                             source_address=(source, 0))
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname="127.0.0.1")
        self.correlation = 0
        self.client_id = "strom-test"

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, api_key, version, body, header_version=1):
        self.correlation += 1
        header = struct.pack(">hhi", api_key, version, self.correlation) + string(self.client_id)
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


# --- hand-made records and batches, for record-level validation tests ---------------------------


def nullable_varbytes(b):
    """A VARINT-length byte string of a record (None = null, length -1)."""
    if b is None:
        return varint(-1)
    return varint(len(b)) + b


def record(offset_delta=0, ts_delta=0, key=b"k", value=b"v", headers=(), length_adjust=0,
           header_count=None):
    """One v2 record with its length prefix; `length_adjust` is added to the true length and
    `header_count` overrides the number of headers written in the record."""
    body = bytes([0]) + varint(ts_delta) + varint(offset_delta) + nullable_varbytes(key) + \
        nullable_varbytes(value)
    body += varint(len(headers) if header_count is None else header_count)
    for hk, hv in headers:
        body += nullable_varbytes(hk) + nullable_varbytes(hv)
    return varint(len(body) + length_adjust) + body


def raw_batch(records, count, last_delta=None, base_ts=1_700_000_000_000, max_ts=None,
              attributes=0, gzip_records=False, producer=(-1, -1, -1)):
    """A magic-2 batch around `records` (bytes) with a valid CRC whatever they hold; with
    `gzip_records` the records section is gzip-compressed and attribute codec 1 set."""
    import gzip
    body = gzip.compress(records) if gzip_records else records
    if gzip_records:
        attributes |= 1
    pid, epoch, seq = producer
    after_crc = struct.pack(">hiqqqhii", attributes, count - 1 if last_delta is None else last_delta,
                            base_ts, base_ts if max_ts is None else max_ts, pid, epoch, seq,
                            count) + body
    head = struct.pack(">iBI", -1, 2, crc32c(after_crc))
    return struct.pack(">qi", 0, len(head) + len(after_crc)) + head + after_crc


def produce_v8(client, topic, partition, records, acks=-1):
    """Produce v8 (record_errors, error_message): (error, base offset, [(batch index,
    message)], error message)."""
    body = string(None) + struct.pack(">hi", acks, 10000) + struct.pack(">i", 1) + \
        string(topic) + struct.pack(">i", 1) + struct.pack(">i", partition) + \
        struct.pack(">i", len(records)) + records
    client.send(0, 8, body)
    r = client.recv()
    if r is None:
        return None
    pos = 4  # topic count

    def read_nullable_string():
        nonlocal pos
        (n,) = struct.unpack_from(">h", r, pos)
        pos += 2
        if n < 0:
            return None
        s = r[pos:pos + n].decode()
        pos += n
        return s

    read_nullable_string()  # topic name
    pos += 4  # partition count
    _, err, base, _lat, _lso = struct.unpack_from(">ihqqq", r, pos)
    pos += 4 + 2 + 8 + 8 + 8
    (n,) = struct.unpack_from(">i", r, pos)
    pos += 4
    record_errors = []
    for _ in range(max(n, 0)):
        (idx,) = struct.unpack_from(">i", r, pos)
        pos += 4
        record_errors.append((idx, read_nullable_string()))
    message = read_nullable_string()
    return err, base, record_errors, message


def list_offsets(client, topic, partition, timestamp):
    """ListOffsets v1: (error, timestamp, offset); timestamp -1 = the log end offset."""
    body = struct.pack(">i", -1) + struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1) + \
        struct.pack(">iq", partition, timestamp)
    client.send(2, 1, body)
    r = client.recv()
    pos = 4
    (n,) = struct.unpack_from(">h", r, pos)
    pos += 2 + n + 4
    _, err, ts, offset = struct.unpack_from(">ihqq", r, pos)
    return err, ts, offset


def uvarint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def compact_string(s):
    if s is None:
        return b"\x00"
    b = s.encode()
    return uvarint(len(b) + 1) + b


class CompactReader(Reader):
    """Reads the flexible (compact) encodings of Kafka's v9+ messages."""

    def uvarint(self):
        shift = 0
        v = 0
        while True:
            b = self.take("B")
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
            shift += 7

    def compact_string(self):
        n = self.uvarint()
        if n == 0:
            return None
        s = self.data[self.pos:self.pos + n - 1].decode()
        self.pos += n - 1
        return s

    def uuid(self):
        u = self.data[self.pos:self.pos + 16]
        self.pos += 16
        return bytes(u)

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.pos += self.uvarint()


def send_metadata_v12(client, topics):
    """Sends Metadata v12 for `topics` (each (topic_id bytes or None, name or None))."""
    body = uvarint(len(topics) + 1)
    for tid, name in topics:
        body += (tid or bytes(16)) + compact_string(name) + b"\x00"
    body += b"\x00\x00\x00"  # allow_auto_topic_creation, include_topic_authorized_operations, tags
    client.send(3, 12, body, header_version=2)


def metadata_v12(client, topics, partitions=None, cluster=None):
    """Metadata v12 for `topics`, each (topic_id bytes or None, name or None): a list of
    (error, name, topic_id, partition count) in the response's order. `partitions`, a dict,
    receives {(name, index): (error, leader, leader epoch)} of every partition; `cluster`, a
    dict, the cluster id ("cluster_id", None when null) and the controller ("controller")."""
    send_metadata_v12(client, topics)
    r = CompactReader(client.recv())
    r.skip_tags()  # response header v1
    r.take("i")  # throttle
    for _ in range(r.uvarint() - 1):  # brokers
        r.take("i")
        r.compact_string()
        r.take("i")
        r.compact_string()
        r.skip_tags()
    cluster_id = r.compact_string()
    controller = r.take("i")
    if cluster is not None:
        cluster.update(cluster_id=cluster_id, controller=controller)
    out = []
    for _ in range(r.uvarint() - 1):
        err = r.take("h")
        name = r.compact_string()
        tid = r.uuid()
        r.take("?")
        n = r.uvarint() - 1
        for _ in range(n):
            perr, index, leader, epoch = r.take("hiii")
            if partitions is not None:
                partitions[(name, index)] = (perr, leader, epoch)
            for _ in range(3):  # replicas, isr, offline
                for _ in range(r.uvarint() - 1):
                    r.take("i")
            r.skip_tags()
        r.take("i")  # topic authorized operations
        r.skip_tags()
        out.append((err, name, tid, n))
    return out


def describe_cluster(client):
    """DescribeCluster v0: (error, cluster id)."""
    client.send(60, 0, b"\x00\x00", header_version=2)  # no authorized operations, no tags
    r = CompactReader(client.recv())
    r.skip_tags()  # response header v1
    r.take("i")  # throttle
    err = r.take("h")
    r.compact_string()  # error message
    return err, r.compact_string()


def metadata_leaders(client, topic):
    """{partition: (leader, leader epoch)} of `topic` by Metadata v12 (leader -1: none)."""
    parts = {}
    metadata_v12(client, [(None, topic)], parts)
    return {i: (leader, epoch) for (name, i), (_, leader, epoch) in parts.items() if name == topic}


def delete_topics_v6(client, topics):
    """DeleteTopics v6 for `topics`, each (name or None, topic_id bytes or None): a list of
    (name, topic_id, error)."""
    body = uvarint(len(topics) + 1)
    for name, tid in topics:
        body += compact_string(name) + (tid or bytes(16)) + b"\x00"
    body += struct.pack(">i", 30000) + b"\x00"
    client.send(20, 6, body, header_version=2)
    r = CompactReader(client.recv())
    r.skip_tags()
    r.take("i")
    out = []
    for _ in range(r.uvarint() - 1):
        name = r.compact_string()
        tid = r.uuid()
        err = r.take("h")
        r.compact_string()
        r.skip_tags()
        out.append((name, tid, err))
    return out


def fetch_v13(client, topic_id, partition, offset):
    """Fetch v13 (topics by id) of one partition: [(topic_id, partition, error, high watermark,
    record bytes)] for every partition answered."""
    body = struct.pack(">iiiibii", -1, 0, 1, 1 << 20, 0, 0, -1)
    body += uvarint(2) + topic_id + uvarint(2)
    body += struct.pack(">iiqiqi", partition, -1, offset, -1, -1, 1 << 20) + b"\x00"
    body += b"\x00"  # topic tags
    body += uvarint(1) + compact_string("") + b"\x00"  # no forgotten topics, rack, tags
    client.send(1, 13, body, header_version=2)
    r = CompactReader(client.recv())
    r.skip_tags()
    r.take("ihi")  # throttle, error, session
    out = []
    for _ in range(r.uvarint() - 1):
        tid = r.uuid()
        for _ in range(r.uvarint() - 1):
            index, err, hw, _lso, _start = r.take("ihqqq")
            n = r.uvarint()
            for _ in range(max(n - 1, 0)):
                r.take("qq")
                r.skip_tags()
            r.take("i")  # preferred read replica
            size = r.uvarint()
            records = b""
            if size > 0:
                records = r.data[r.pos:r.pos + size - 1]
                r.pos += size - 1
            r.skip_tags()
            out.append((tid, index, err, hw, records))
        r.skip_tags()
    return out


def offset_for_leader_epoch(client, topic, partition, leader_epoch, current=-1, replica=-1):
    """OffsetForLeaderEpoch v3: (error, leader epoch, end offset)."""
    body = struct.pack(">i", replica) + struct.pack(">i", 1) + string(topic) + \
        struct.pack(">i", 1) + struct.pack(">iii", partition, current, leader_epoch)
    client.send(23, 3, body)
    r = client.recv()
    pos = 4 + 4  # throttle, topic count
    (n,) = struct.unpack_from(">h", r, pos)
    pos += 2 + n + 4
    err, _, epoch, end = struct.unpack_from(">hiiq", r, pos)
    return err, epoch, end


def fetch_v9(client, topic, partition, offset, current_epoch):
    """Fetch v9 with a current leader epoch: (partition error, high watermark)."""
    body = struct.pack(">iiiibii", -1, 0, 1, 1 << 20, 0, 0, -1) + struct.pack(">i", 1) + \
        string(topic) + struct.pack(">i", 1) + \
        struct.pack(">iiqqi", partition, current_epoch, offset, -1, 1 << 20) + struct.pack(">i", 0)
    client.send(1, 9, body)
    r = client.recv()
    pos = 4 + 2 + 4 + 4  # throttle, error, session id, topic count
    (n,) = struct.unpack_from(">h", r, pos)
    pos += 2 + n + 4
    _, err, hw = struct.unpack_from(">ihq", r, pos)
    return err, hw


def list_offsets_v4(client, topic, partition, timestamp, current_epoch=-1):
    """ListOffsets v4: (error, timestamp, offset, leader epoch)."""
    body = struct.pack(">ib", -1, 0) + struct.pack(">i", 1) + string(topic) + \
        struct.pack(">i", 1) + struct.pack(">iiq", partition, current_epoch, timestamp)
    client.send(2, 4, body)
    r = client.recv()
    pos = 4 + 4
    (n,) = struct.unpack_from(">h", r, pos)
    pos += 2 + n + 4
    _, err, ts, offset, epoch = struct.unpack_from(">ihqqi", r, pos)
    return err, ts, offset, epoch


def _int32_array(values):
    """A compact array of int32, None for null."""
    if values is None:
        return uvarint(0)
    return uvarint(len(values) + 1) + b"".join(struct.pack(">i", v) for v in values)


def alter_partition_reassignments(client, topic, moves, timeout_ms=30000):
    """AlterPartitionReassignments v0 of `topic`: `moves` maps a partition to its new replicas
    (None cancels its move). Returns (error, {partition: (error, message)})."""
    body = struct.pack(">i", timeout_ms) + uvarint(2) + compact_string(topic)
    body += uvarint(len(moves) + 1)
    for p, replicas in moves.items():
        body += struct.pack(">i", p) + _int32_array(replicas) + b"\x00"
    body += b"\x00\x00"  # topic tags, request tags
    client.send(45, 0, body, header_version=2)
    r = CompactReader(client.recv())
    r.skip_tags()
    r.take("i")  # throttle
    err = r.take("h")
    r.compact_string()
    out = {}
    for _ in range(r.uvarint() - 1):
        r.compact_string()
        for _ in range(r.uvarint() - 1):
            index, perr = r.take("ih")
            out[index] = (perr, r.compact_string())
            r.skip_tags()
        r.skip_tags()
    return err, out


def list_partition_reassignments(client):
    """ListPartitionReassignments v0 of every partition: {(topic, partition): (replicas, adding,
    removing)}."""
    client.send(46, 0, struct.pack(">i", 30000) + uvarint(0) + b"\x00", header_version=2)
    r = CompactReader(client.recv())
    r.skip_tags()
    r.take("i")  # throttle
    err = r.take("h")
    r.compact_string()
    if err:
        raise RuntimeError(f"ListPartitionReassignments: error {err}")
    out = {}
    for _ in range(r.uvarint() - 1):
        name = r.compact_string()
        for _ in range(r.uvarint() - 1):
            index = r.take("i")
            lists = []
            for _ in range(3):
                lists.append([r.take("i") for _ in range(r.uvarint() - 1)])
            r.skip_tags()
            out[(name, index)] = tuple(lists)
        r.skip_tags()
    return out


def elect_leaders(client, topics, election_type=0, timeout_ms=30000):
    """ElectLeaders v2: `topics` maps a topic to its partitions (None: every partition of
    every topic). Returns (error, {(topic, partition): (error, message)})."""
    body = struct.pack(">b", election_type)
    if topics is None:
        body += uvarint(0)
    else:
        body += uvarint(len(topics) + 1)
        for name, partitions in topics.items():
            body += compact_string(name) + _int32_array(partitions) + b"\x00"
    body += struct.pack(">i", timeout_ms) + b"\x00"
    client.send(43, 2, body, header_version=2)
    r = CompactReader(client.recv())
    r.skip_tags()
    r.take("i")  # throttle
    err = r.take("h")
    out = {}
    for _ in range(r.uvarint() - 1):
        name = r.compact_string()
        for _ in range(r.uvarint() - 1):
            index, perr = r.take("ih")
            out[(name, index)] = (perr, r.compact_string())
            r.skip_tags()
        r.skip_tags()
    r.skip_tags()
    return err, out


# --- SASL and SCRAM credentials -----------------------------------------------------------------


def sasl_handshake(client, mechanism, version=1):
    """SaslHandshake: (error, enabled mechanisms), or None when the connection closed."""
    client.send(17, version, string(mechanism))
    r = client.recv()
    if r is None:
        return None
    r = Reader(r)
    err = r.take("h")
    return err, [r.string() for _ in range(r.take("i"))]


def sasl_authenticate(client, auth_bytes, version=1):
    """SaslAuthenticate v0-1: (error, message, auth bytes, session lifetime ms), or None when
    the connection closed."""
    client.send(36, version, struct.pack(">i", len(auth_bytes)) + auth_bytes)
    r = client.recv()
    if r is None:
        return None
    r = Reader(r)
    err = r.take("h")
    message = r.string()
    data = r.bytes_()
    lifetime = r.take("q") if version >= 1 else 0
    return err, message, data, lifetime


def _hmac(mech, key, msg):
    import hashlib
    import hmac
    return hmac.new(key, msg, getattr(hashlib, mech)).digest()


def scram_salted_password(mechanism, password, salt, iterations):
    import hashlib
    mech = "sha256" if mechanism == "SCRAM-SHA-256" else "sha512"
    return hashlib.pbkdf2_hmac(mech, password.encode(), salt, iterations)


def scram_login(client, mechanism, user, password, version=1):
    """A whole SCRAM exchange over SaslAuthenticate: (error, message, session lifetime ms)."""
    import base64
    import hashlib
    import os as _os
    mech = "sha256" if mechanism == "SCRAM-SHA-256" else "sha512"
    h = sasl_handshake(client, mechanism)
    if h is None or h[0] != 0:
        return (None if h is None else h[0]), "handshake", 0
    nonce = base64.b64encode(_os.urandom(18)).decode()
    first_bare = f"n={user},r={nonce}"
    r = sasl_authenticate(client, ("n,," + first_bare).encode(), version)
    if r is None or r[0] != 0:
        return (None if r is None else r[0]), (r[1] if r else "closed"), 0
    server_first = r[2].decode()
    attrs = dict(a.split("=", 1) for a in server_first.split(","))
    salt = base64.b64decode(attrs["s"])
    salted = hashlib.pbkdf2_hmac(mech, password.encode(), salt, int(attrs["i"]))
    client_key = _hmac(mech, salted, b"Client Key")
    stored_key = getattr(hashlib, mech)(client_key).digest()
    final_bare = f"c=biws,r={attrs['r']}"
    auth_message = f"{first_bare},{server_first},{final_bare}".encode()
    signature = _hmac(mech, stored_key, auth_message)
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    r = sasl_authenticate(client, f"{final_bare},p={base64.b64encode(proof).decode()}".encode(),
                          version)
    if r is None:
        return None, "closed", 0
    if r[0] != 0:
        return r[0], r[1], 0
    server_key = _hmac(mech, salted, b"Server Key")
    expected = "v=" + base64.b64encode(_hmac(mech, server_key, auth_message)).decode()
    if r[2].decode() != expected:
        return -1, "server signature does not verify", 0
    return 0, None, r[3]


def _compact_bytes(b):
    return uvarint(len(b) + 1) + b


def alter_user_scram(client, upsertions=(), deletions=()):
    """AlterUserScramCredentials v0. upsertions: (user, mechanism name, password, iterations);
    deletions: (user, mechanism code). Returns {user: (error, message)}."""
    import os as _os
    codes = {"SCRAM-SHA-256": 1, "SCRAM-SHA-512": 2}
    body = uvarint(len(deletions) + 1)
    for user, code in deletions:
        body += compact_string(user) + struct.pack(">b", code) + b"\x00"
    body += uvarint(len(upsertions) + 1)
    for user, mech, password, iterations in upsertions:
        salt = _os.urandom(16)
        salted = scram_salted_password(mech, password, salt, iterations)
        body += compact_string(user) + struct.pack(">bi", codes.get(mech, 0), iterations) + \
            _compact_bytes(salt) + _compact_bytes(salted) + b"\x00"
    body += b"\x00"
    client.send(51, 0, body, header_version=2)
    r = client.recv()
    if r is None:
        return None
    r = CompactReader(r)
    r.skip_tags()  # response header v1
    r.take("i")  # throttle
    out = {}
    for _ in range(r.uvarint() - 1):
        user = r.compact_string()
        err = r.take("h")
        message = r.compact_string()
        r.skip_tags()
        out[user] = (err, message)
    return out


def describe_user_scram(client, users=None):
    """DescribeUserScramCredentials v0: (error, {user: (error, [(mechanism code, iterations)])})."""
    if users is None:
        body = b"\x00"
    else:
        body = uvarint(len(users) + 1) + b"".join(compact_string(u) + b"\x00" for u in users)
    body += b"\x00"
    client.send(50, 0, body, header_version=2)
    r = client.recv()
    if r is None:
        return None
    r = CompactReader(r)
    r.skip_tags()
    r.take("i")
    err = r.take("h")
    r.compact_string()
    out = {}
    for _ in range(r.uvarint() - 1):
        user = r.compact_string()
        uerr = r.take("h")
        r.compact_string()
        infos = []
        for _ in range(r.uvarint() - 1):
            code = r.take("b")
            iterations = r.take("i")
            r.skip_tags()
            infos.append((code, iterations))
        r.skip_tags()
        out[user] = (uerr, infos)
    return err, out


# --- client quotas ---------------------------------------------------------------------------


def _quota_entity(parts):
    """parts: [(entity type, name or None for the default)]."""
    out = struct.pack(">i", len(parts))
    for t, n in parts:
        out += string(t) + string(n)
    return out


def alter_client_quotas(client, entries, validate_only=False):
    """AlterClientQuotas v0. entries: [(parts, [(key, value, remove)])]. Returns
    [(error, message)] in order."""
    body = struct.pack(">i", len(entries))
    for parts, ops in entries:
        body += _quota_entity(parts) + struct.pack(">i", len(ops))
        for key, value, remove in ops:
            body += string(key) + struct.pack(">d?", value, remove)
    body += struct.pack(">?", validate_only)
    client.send(49, 0, body)
    r = Reader(client.recv())
    r.take("i")
    out = []
    for _ in range(r.take("i")):
        err = r.take("h")
        message = r.string()
        for _ in range(r.take("i")):
            r.string()
            r.string()
        out.append((err, message))
    return out


def describe_client_quotas(client, components, strict=False):
    """DescribeClientQuotas v0. components: [(entity type, match type, match)]. Returns
    (error, message, {((type, name), ...): {key: value}})."""
    body = struct.pack(">i", len(components))
    for t, m, name in components:
        body += string(t) + struct.pack(">b", m) + string(name)
    body += struct.pack(">?", strict)
    client.send(48, 0, body)
    r = Reader(client.recv())
    r.take("i")
    err = r.take("h")
    message = r.string()
    n = r.take("i")
    out = {}
    for _ in range(max(n, 0)):
        entity = tuple((r.string(), r.string()) for _ in range(r.take("i")))
        out[entity] = {r.string(): r.take("d") for _ in range(r.take("i"))}
    return err, message, out


def produce_throttle(client, topic, partition, records):
    """Produce v3 (acks=1): (error, throttle_time_ms)."""
    body = string(None) + struct.pack(">hi", 1, 30000) + struct.pack(">i", 1) + \
        string(topic) + struct.pack(">i", 1) + struct.pack(">i", partition) + \
        struct.pack(">i", len(records)) + records
    client.send(0, 3, body)
    r = client.recv()
    pos = 4
    (nlen,) = struct.unpack_from(">h", r, pos)
    pos += 2 + nlen + 4
    _, err = struct.unpack_from(">ih", r, pos)
    (throttle,) = struct.unpack_from(">i", r, len(r) - 4)
    return err, throttle


def fetch_throttle(client, topic, partition, offset, max_wait=0):
    """Fetch v4 (min_bytes 1, waiting up to `max_wait` ms): (throttle_time_ms, response bytes)."""
    body = struct.pack(">iiiib", -1, max_wait, 1, 1 << 20, 0) + struct.pack(">i", 1) + \
        string(topic) + struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, 1 << 20)
    client.send(1, 4, body)
    r = client.recv()
    (throttle,) = struct.unpack_from(">i", r, 0)
    return throttle, len(r)


def metadata_throttle(client):
    """Metadata v4 for every topic: throttle_time_ms (its first field)."""
    client.send(3, 4, struct.pack(">i", -1) + b"\x00")
    r = client.recv()
    (throttle,) = struct.unpack_from(">i", r, 0)
    return throttle
