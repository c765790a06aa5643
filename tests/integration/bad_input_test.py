#!/usr/bin/python3
"""Hostile and malformed input on raw sockets (reliability reference §6). Each case checks the
exact error code or a closed connection; throughout, a well-behaved client on another
connection keeps being served, the broker's memory stays bounded, and the data already stored
is intact."""

import os
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker  # noqa: E402
from kafka_wire import Client, record_batch, string, varint  # noqa: E402

NONE, OFFSET_OUT_OF_RANGE, CORRUPT_MESSAGE, UNKNOWN_TOPIC = 0, 1, 2, 3
MESSAGE_TOO_LARGE, INVALID_TOPIC, INVALID_REQUIRED_ACKS = 10, 17, 21
UNSUPPORTED_VERSION, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR = 35, 37, 38
INVALID_RECORD = 87


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(shards=2)
        # A short per-request read deadline for the slow-client case.
        with open(cls.broker.config) as f:
            cfg = f.read()
        cfg = cfg.replace("network:\n  shards: 2\n",
                          "network:\n  shards: 2\n  request_timeout_ms: 1000\n")
        with open(cls.broker.config, "w") as f:
            f.write(cfg)
        cls.broker.start()
        cls.port = cls.broker.port
        c = Client(cls.port)
        assert c.create_topic("good", 1) == NONE
        assert c.create_topic("small", 1, configs=[("max.message.bytes", "500")]) == NONE
        cls.good = Client(cls.port)  # stays open through every case
        cls.stored = 0
        c.close()

    @classmethod
    def tearDownClass(cls):
        cls.good.close()
        cls.broker.close()

    def setUp(self):
        self.rss_before = rss_kib(self.broker.proc.pid)

    def tearDown(self):
        # The well-behaved connection still works and the stored data is intact.
        err, base = self.good.produce("good", 0, record_batch([b"ok"]))
        self.assertEqual(err, NONE)
        self.assertEqual(base, type(self).stored)
        type(self).stored += 1
        err, hw, _ = self.good.fetch("good", 0, 0)
        self.assertEqual((err, hw), (NONE, type(self).stored))
        self.assertLess(rss_kib(self.broker.proc.pid) - self.rss_before, 64 * 1024,
                        "broker memory grew by more than 64 MiB")
        self.assertIsNone(self.broker.proc.poll(), "stromd died")

    def expect_closed(self, data):
        c = Client(self.port)
        c.send_raw(data)
        self.assertTrue(c.closed_by_peer(), "the broker should close the connection")
        c.close()

    # --- framing (1-3, 5-7) --------------------------------------------------------------

    def test_01_negative_size(self):
        self.expect_closed(struct.pack(">I", 0x80000000))
        self.expect_closed(struct.pack(">I", 0xFFFFFFFF))

    def test_02_huge_size(self):
        self.expect_closed(struct.pack(">i", 0x7FFFFFFF) + b"x" * 100)

    def test_03_tiny_frames(self):
        self.expect_closed(struct.pack(">i", 0))
        self.expect_closed(struct.pack(">i", 3) + b"abc")

    def test_05_slow_client(self):
        c = Client(self.port)
        c.send_raw(struct.pack(">i", 100) + b"\x00\x12")  # 2 of 100 bytes, then silence
        self.assertTrue(c.closed_by_peer(timeout=10))
        c.close()

    def test_06_tls_client_hello(self):
        self.expect_closed(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]) + b"\x00" * 50)

    def test_07_http_request(self):
        self.expect_closed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")

    # --- pipelining (10) -------------------------------------------------------------------

    def test_10_pipelined_requests_without_reading(self):
        c = Client(self.port)
        c.sock.setblocking(False)
        payload = struct.pack(">hhi", 18, 0, 1) + string("x")
        one = struct.pack(">i", len(payload)) + payload
        chunk = one * 1000
        sent = 0
        limit = 4_000_000  # ~70 MB of requests: far more than socket buffers hold
        blocked_since = None
        deadline = time.time() + 30
        while sent < limit and time.time() < deadline:
            try:
                n = c.sock.send(chunk)
                sent += n // len(one)
                blocked_since = None
            except BlockingIOError:
                blocked_since = blocked_since or time.time()
                if time.time() - blocked_since > 2:
                    break  # the broker stopped reading: back-pressure
                time.sleep(0.01)
        self.assertLess(sent, limit, "the broker should stop reading a client that never reads")
        c.sock.setblocking(True)
        self.assertIsNotNone(c.recv())  # answers still come, in order
        c.close()

    # --- headers and APIs (11-13, 15) ------------------------------------------------------

    def test_11_unknown_api_key(self):
        for key in (9999, -1, 7):
            c = Client(self.port)
            c.send(key, 0, b"")
            self.assertTrue(c.closed_by_peer())
            c.close()

    def test_12_unsupported_version(self):
        c = Client(self.port)
        c.send(3, 50, b"")  # Metadata v50
        self.assertTrue(c.closed_by_peer())
        c = Client(self.port)
        c.send(0, 2, b"")  # Produce v2 is advertised but not served
        self.assertTrue(c.closed_by_peer())

    def test_13_api_versions_too_new(self):
        c = Client(self.port)
        c.send(18, 99, b"\x00", header_version=2)
        r = c.recv()
        self.assertIsNotNone(r)
        (err, count) = struct.unpack_from(">hi", r, 0)
        self.assertEqual(err, UNSUPPORTED_VERSION)
        keys = [struct.unpack_from(">hhh", r, 6 + 6 * i) for i in range(count)]
        self.assertIn((18, 0, 4), keys)
        c.close()

    def test_15_truncated_client_id(self):
        c = Client(self.port)
        payload = struct.pack(">hhih", 18, 0, 1, 100) + b"abc"
        c.send_raw(struct.pack(">i", len(payload)) + payload)
        self.assertTrue(c.closed_by_peer())

    # --- body encodings (16, 18, 19, 21, 22, 23) ------------------------------------------

    def test_16_negative_array_length(self):
        c = Client(self.port)
        c.send(3, 1, struct.pack(">i", -2))
        self.assertTrue(c.closed_by_peer())

    def test_18_array_count_int32_max(self):
        c = Client(self.port)
        c.send(3, 1, struct.pack(">i", 0x7FFFFFFF) + b"abcd")
        self.assertTrue(c.closed_by_peer())

    def test_19_compact_length_beyond_buffer(self):
        c = Client(self.port)
        # Metadata v9 (flexible): topics compact array of 2^28 entries
        c.send(3, 9, bytes([0x80, 0x80, 0x80, 0x80, 0x01]) + b"\x00" * 4, header_version=2)
        self.assertTrue(c.closed_by_peer())

    def test_21_overlong_varint(self):
        c = Client(self.port)
        c.send(3, 9, bytes([0xFF] * 11) + b"\x00", header_version=2)
        self.assertTrue(c.closed_by_peer())

    def test_22_bad_string_length(self):
        c = Client(self.port)
        c.send(3, 1, struct.pack(">i", 1) + struct.pack(">h", -5) + b"ab")
        self.assertTrue(c.closed_by_peer())

    def test_23_huge_tag_section(self):
        c = Client(self.port)
        c.send(18, 3, bytes([0xFF, 0xFF, 0xFF, 0x0F]), header_version=2)
        self.assertTrue(c.closed_by_peer())

    # --- record batches (24-28, 31, 32) -----------------------------------------------------

    def produce_error(self, records, topic="good", acks=-1):
        c = Client(self.port)
        err, _ = c.produce(topic, 0, records, acks=acks)
        c.close()
        return err

    def test_24_zero_or_two_batches(self):
        self.assertEqual(self.produce_error(b""), INVALID_RECORD)
        two = record_batch([b"a"]) + record_batch([b"b"])
        self.assertEqual(self.produce_error(two), INVALID_RECORD)

    def test_25_old_magic(self):
        self.assertEqual(self.produce_error(record_batch([b"a"], magic=1)), INVALID_RECORD)

    def test_26_truncated_batch_and_2gib_claim(self):
        b = record_batch([b"abc"])
        self.assertEqual(self.produce_error(b[:-2]), CORRUPT_MESSAGE)
        self.assertEqual(self.produce_error(record_batch([b"abc"], length_override=0x7FFFFFF0)),
                         CORRUPT_MESSAGE)
        self.assertEqual(self.produce_error(record_batch([b"abc"], length_override=20)),
                         CORRUPT_MESSAGE)

    def test_27_bad_crc(self):
        self.assertEqual(self.produce_error(record_batch([b"abc"], crc=12345)), CORRUPT_MESSAGE)

    def test_28_inconsistent_counts(self):
        # Kafka's LogValidator: "Inconsistent batch offset range ... and count of records".
        self.assertEqual(self.produce_error(record_batch([b"a", b"b"], count=5)), INVALID_RECORD)
        self.assertEqual(self.produce_error(record_batch([b"a"], count=0, last_delta=-1)),
                         INVALID_RECORD)

    def test_31_control_bit(self):
        self.assertEqual(self.produce_error(record_batch([b"a"], attributes=0x20)),
                         INVALID_RECORD)

    def test_32_message_too_large(self):
        self.assertEqual(self.produce_error(record_batch([b"x" * 1000]), topic="small"),
                         MESSAGE_TOO_LARGE)

    # --- produce and fetch semantics (36-38) -------------------------------------------------

    def test_36_invalid_acks(self):
        self.assertEqual(self.produce_error(record_batch([b"a"]), acks=5), INVALID_REQUIRED_ACKS)

    def test_37_unknown_and_internal_topics(self):
        self.assertEqual(self.produce_error(record_batch([b"a"]), topic="nope"), UNKNOWN_TOPIC)
        self.assertEqual(self.produce_error(record_batch([b"a"]), topic="__consumer_offsets"),
                         INVALID_TOPIC)

    def test_38_fetch_out_of_range(self):
        c = Client(self.port)
        err, hw, records = c.fetch("good", 0, 1_000_000)
        self.assertEqual(err, OFFSET_OUT_OF_RANGE)
        self.assertEqual(records, b"")
        err, _, _ = c.fetch("nope", 0, 0)
        self.assertEqual(err, UNKNOWN_TOPIC)
        c.close()

    # --- admin (40) -------------------------------------------------------------------------

    def test_40_create_topic_limits(self):
        c = Client(self.port)
        self.assertEqual(c.create_topic("x" * 250, 1), INVALID_TOPIC)
        self.assertEqual(c.create_topic("..", 1), INVALID_TOPIC)
        self.assertEqual(c.create_topic("zero", 0), INVALID_PARTITIONS)
        self.assertEqual(c.create_topic("lots", 0x7FFFFFFF), INVALID_PARTITIONS)
        self.assertEqual(c.create_topic("rf3", 1, rf=3), INVALID_REPLICATION_FACTOR)
        self.assertEqual(c.create_topic("__consumer_offsets", 1), INVALID_TOPIC)
        c.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
