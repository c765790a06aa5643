#!/usr/bin/python3
"""Requests a few kilobytes long that used to take the broker down or make it answer without
bound (issue: hardening). Each case asserts the exact error or a bounded response; around every
case the broker stays alive, its memory and descriptors stay bounded, and a canary client on
another connection keeps producing and consuming."""

import os
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker  # noqa: E402
from kafka_wire import Client, Reader, array, record_batch, string  # noqa: E402

NONE, UNKNOWN_TOPIC, INVALID_SESSION_TIMEOUT = 0, 3, 26
INVALID_COMMIT_OFFSET_SIZE, INVALID_REQUEST = 28, 42
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53

FETCH_MAX_BYTES = 4 << 20  # the broker's cap in this test (fetch.max.bytes)
# Under a sanitizer freed memory stays in its quarantine: RSS bounds are checked without one.
SANITIZED = os.environ.get("STROM_SANITIZED") == "1"


class Canary:
    """A client on its own connection that produces and consumes between cases."""

    def __init__(self, port):
        self.client = Client(port)
        assert self.client.create_topic("canary", 1) == NONE
        self.stored = 0

    def check(self, test):
        err, base = self.client.produce("canary", 0, record_batch([b"alive"]))
        test.assertEqual((err, base), (NONE, self.stored))
        self.stored += 1
        err, hw, records = self.client.fetch("canary", 0, self.stored - 1)
        test.assertEqual((err, hw), (NONE, self.stored))
        test.assertIn(b"alive", records)


class LimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(shards=2, extra=f"""  fetch_max_bytes: {FETCH_MAX_BYTES}
  fetch_max_wait_ms: 300000
""")
        cls.broker.start()
        cls.port = cls.broker.port
        cls.canary = Canary(cls.port)
        c = Client(cls.port)
        # Offsets commits need the coordinator (and its topic): FindCoordinator v1.
        c.send(10, 1, string("g") + struct.pack(">b", 0))
        assert Reader(c.recv()).take("ih")[1] == NONE
        assert c.create_topic("wide", 300) == NONE
        assert c.create_topic("idle", 1) == NONE
        # One partition holding a little over 1 MB, and 12 more partitions that hold as much.
        assert c.create_topic("big", 13) == NONE
        value = b"v" * (500 << 10)
        for p in range(13):
            for _ in range(3):
                assert c.produce("big", p, record_batch([value]))[0] == NONE
        c.close()

    @classmethod
    def tearDownClass(cls):
        cls.canary.client.close()
        cls.broker.close()

    def setUp(self):
        self.rss_before = self.broker.rss_kib()
        self.fds_before = self.broker.open_fds()

    def tearDown(self):
        self.canary.check(self)
        self.assertIsNone(self.broker.proc.poll(), "stromd died")
        if not SANITIZED:
            self.assertLess(self.broker.rss_kib() - self.rss_before, 64 * 1024,
                            "broker memory grew by more than 64 MiB")
        self.assertLess(self.broker.open_fds() - self.fds_before, 16, "descriptors leaked")

    # --- Fetch ---------------------------------------------------------------------------

    def fetch_request(self, parts, max_bytes=0x7FFFFFFF, max_wait=0, min_bytes=1):
        """Fetch v4 of [(topic, [(partition, offset, partition_max_bytes)])]."""
        topics = [string(t) + array([struct.pack(">iqi", p, o, m) for p, o, m in ps])
                  for t, ps in parts]
        return struct.pack(">iiiib", -1, max_wait, min_bytes, max_bytes, 0) + array(topics)

    def parse_fetch(self, body):
        r = Reader(body)
        r.take("i")  # throttle
        out = []
        for _ in range(r.take("i")):
            name = r.string()
            for _ in range(r.take("i")):
                p, err, hw, _lso = r.take("ihqq")
                aborted = r.take("i")
                r.pos += max(aborted, 0) * 16
                records = r.bytes_()
                out.append((name, p, err, hw, len(records or b"")))
        return out

    def test_fetch_of_one_partition_named_2200_times_is_answered_once(self):
        c = Client(self.port, timeout=60)
        c.send(1, 4, self.fetch_request([("big", [(0, 0, 1 << 20)] * 2200)]))
        body = c.recv()
        self.assertIsNotNone(body, "the broker closed the connection")
        parts = self.parse_fetch(body)
        self.assertEqual(len(parts), 1)
        self.assertEqual(parts[0][:3], ("big", 0, NONE))
        self.assertLessEqual(len(body), (1 << 20) + 4096)
        c.close()

    def test_fetch_repeats_across_topic_entries_take_the_last_position(self):
        c = Client(self.port, timeout=60)
        first = ("big", [(1, 0, 1 << 20)])
        last = ("big", [(1, 3, 1 << 20)])  # past the end: nothing to read
        c.send(1, 4, self.fetch_request([first, ("canary", [(0, 0, 1024)]), last]))
        parts = self.parse_fetch(c.recv())
        self.assertEqual([(t, p) for t, p, *_ in parts], [("big", 1), ("canary", 0)])
        self.assertEqual(parts[0][4], 0, "the last mention's offset is the one read")
        c.close()

    def test_fetch_response_is_capped_by_fetch_max_bytes(self):
        c = Client(self.port, timeout=60)
        parts = [("big", [(p, 0, 0x7FFFFFFF) for p in range(13)])]
        c.send(1, 4, self.fetch_request(parts))
        body = c.recv()
        got = self.parse_fetch(body)
        self.assertEqual(len(got), 13)
        total = sum(n for *_, n in got)
        self.assertGreater(total, 0)
        # The cap, plus at most one whole first batch per shard (KIP-74).
        self.assertLessEqual(total, FETCH_MAX_BYTES + 2 * (600 << 10))
        c.close()

    def test_parked_fetch_holds_no_request_memory_and_ends_with_its_connection(self):
        # 20 MB requests naming one caught-up partition 1.2 million times, waiting 24 days.
        request = self.fetch_request([("idle", [(0, 0, 1024)] * 1_200_000)],
                                     max_wait=0x7FFFFFFF, min_bytes=1 << 30)
        base = self.connections()
        clients = []
        for _ in range(6):
            c = Client(self.port, timeout=60)
            c.send(1, 4, request)
            clients.append(c)
        self.wait_until(lambda: self.connections() == base + 6)
        time.sleep(1)  # let every request be read and parked
        for c in clients:
            c.sock.settimeout(0.2)
            self.assertIsNone(c.recv(), "a parked fetch answered early")  # still parked
        if not SANITIZED:
            self.assertLess(self.broker.rss_kib() - self.rss_before, 48 * 1024,
                            "parked fetches pin their request frames")
        for c in clients:
            c.close()
        # The parked requests end with their connections, not 24 days later.
        self.wait_until(lambda: self.connections() == base)

    def test_fetch_wait_is_clamped(self):
        b = Broker(shards=1, extra="  fetch_max_wait_ms: 200\n")
        try:
            b.start()
            c = Client(b.port, timeout=30)
            assert c.create_topic("t", 1) == NONE
            c.send(1, 4, self.fetch_request([("t", [(0, 0, 1024)])], max_wait=0x7FFFFFFF,
                                            min_bytes=1 << 20))
            parts = self.parse_fetch(c.recv())  # within the socket timeout, not 24 days
            self.assertEqual(parts, [("t", 0, NONE, 0, 0)])
            c.close()
        finally:
            b.close()

    def connections(self):
        for line in self.broker.metrics().splitlines():
            if line.startswith("strom_active_connections"):
                return int(float(line.split()[-1]))
        raise AssertionError("no strom_active_connections in /metrics")

    def wait_until(self, cond, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if cond():
                return
            time.sleep(0.05)
        self.fail("condition not reached")

    # --- lists of names: answered once, or INVALID_REQUEST where Kafka does ---------------

    def test_metadata_with_a_name_1000_times_answers_it_once(self):
        c = Client(self.port)
        c.send(3, 1, array([string("canary")] * 1000))
        body = c.recv()
        self.assertEqual(body.count(b"canary"), 1)
        self.assertLess(len(body), 1024)
        c.close()

    def test_group_lists_answer_each_group_once(self):
        c = Client(self.port)
        c.send(15, 0, array([string("g-dup")] * 1000))  # DescribeGroups
        body = c.recv()
        self.assertEqual(body.count(b"g-dup"), 1)
        c.send(42, 0, array([string("g-dup")] * 1000))  # DeleteGroups
        body = c.recv()
        self.assertEqual(body.count(b"g-dup"), 1)
        # OffsetFetch v1: one partition named 1000 times.
        c.send(9, 1, string("g-dup") + array([string("canary") +
                                               array([struct.pack(">i", 0)] * 1000)]))
        r = Reader(c.recv())
        self.assertEqual(r.take("i"), 1)
        self.assertEqual(r.string(), "canary")
        self.assertEqual(r.take("i"), 1, "the partition is answered once")
        c.close()

    def test_list_offsets_refuses_repeated_partitions(self):
        c = Client(self.port)
        parts = [struct.pack(">iq", 0, -1)] * 3 + [struct.pack(">iq", 0, -1)]
        c.send(2, 1, struct.pack(">i", -1) + array([string("canary") + array(parts),
                                                     string("big") + array(
                                                         [struct.pack(">iq", 0, -1)])]))
        r = Reader(c.recv())
        errors = {}
        for _ in range(r.take("i")):
            name = r.string()
            for _ in range(r.take("i")):
                p, err, _ts, _off = r.take("ihqq")
                errors.setdefault(name, []).append(err)
        self.assertEqual(errors, {"canary": [INVALID_REQUEST] * 4, "big": [NONE]})
        c.close()

    def test_describe_configs_describes_each_resource_once(self):
        c = Client(self.port)
        res = struct.pack(">b", 2) + string("canary") + struct.pack(">i", -1)
        c.send(32, 1, array([res] * 500) + b"\x00")
        body = c.recv()
        self.assertEqual(body.count(b"canary"), 1)
        c.close()

    def test_topic_admin_refuses_repeated_names(self):
        c = Client(self.port)
        topic = string("dup-topic") + struct.pack(">ih", 1, 1) + array([]) + array([])
        c.send(19, 2, array([topic, topic]) + struct.pack(">i?", 10000, False))  # CreateTopics
        r = Reader(c.recv())
        r.take("i")
        self.assertEqual(r.take("i"), 1)
        self.assertEqual((r.string(), r.take("h")), ("dup-topic", INVALID_REQUEST))
        self.assertEqual(c.create_topic("dup-topic", 1), NONE, "the refused name is free")
        c.send(20, 1, array([string("dup-topic")] * 3) + struct.pack(">i", 10000))  # DeleteTopics
        r = Reader(c.recv())
        r.take("i")
        self.assertEqual(r.take("i"), 1)
        self.assertEqual((r.string(), r.take("h")), ("dup-topic", INVALID_REQUEST))
        c.send(3, 1, array([string("dup-topic")]))
        self.assertIn(b"dup-topic", c.recv())
        c.close()

    # --- groups exist only once a request was accepted ------------------------------------

    def list_groups(self, c):
        c.send(16, 0, b"")
        r = Reader(c.recv())
        self.assertEqual(r.take("h"), NONE)
        groups = []
        for _ in range(r.take("i")):
            groups.append(r.string())
            r.string()  # protocol type
        return groups

    def test_refused_commits_and_joins_leave_no_groups(self):
        c = Client(self.port)
        before = len(self.list_groups(c))
        for i in range(300):
            # OffsetCommit v2 to a topic that does not exist.
            body = string(f"ghost-{i}") + struct.pack(">i", -1) + string("") + \
                struct.pack(">q", -1) + array([string("no-such-topic") + array(
                    [struct.pack(">iq", 0, 5) + string("")])])
            c.send(8, 2, body)
            self.assertEqual(self.commit_errors(c.recv()), [UNKNOWN_TOPIC])
            # JoinGroup v0 with a session timeout out of range.
            body = string(f"refused-{i}") + struct.pack(">i", 1) + string("") + \
                string("consumer") + array([string("range") + struct.pack(">i", 0)])
            c.send(11, 0, body)
            self.assertEqual(Reader(c.recv()).take("h"), INVALID_SESSION_TIMEOUT)
        self.assertEqual(len(self.list_groups(c)), before)
        c.close()

    def test_offset_commit_too_large_for_one_batch_is_refused_whole(self):
        c = Client(self.port)
        meta = "m" * 4000  # 300 x 4 KB: more than one 1 MiB batch of the offsets topic
        parts = [struct.pack(">iq", p, 7) + string(meta) for p in range(300)]
        body = string("wide-group") + struct.pack(">i", -1) + string("") + \
            struct.pack(">q", -1) + array([string("wide") + array(parts)])
        c.send(8, 2, body)
        self.assertEqual(self.commit_errors(c.recv()), [INVALID_COMMIT_OFFSET_SIZE] * 300)
        # Nothing of it was stored, and no group was left behind.
        c.send(9, 1, string("wide-group") + array([string("wide") + array(
            [struct.pack(">i", p) for p in range(300)])]))
        r = Reader(c.recv())
        offsets = []
        for _ in range(r.take("i")):
            r.string()
            for _ in range(r.take("i")):
                _p, offset = r.take("iq")
                r.string()  # metadata
                r.take("h")
                offsets.append(offset)
        self.assertEqual(offsets, [-1] * 300)
        self.assertNotIn("wide-group", self.list_groups(c))
        # A commit that fits is stored whole.
        parts = [struct.pack(">iq", p, 7) + string("m") for p in range(300)]
        body = string("narrow-group") + struct.pack(">i", -1) + string("") + \
            struct.pack(">q", -1) + array([string("wide") + array(parts)])
        c.send(8, 2, body)
        self.assertEqual(self.commit_errors(c.recv()), [NONE] * 300)
        self.assertIn("narrow-group", self.list_groups(c))
        c.close()

    def commit_errors(self, body):
        """OffsetCommit v2 response: every partition's error, in order."""
        r = Reader(body)
        errors = []
        for _ in range(r.take("i")):
            r.string()
            for _ in range(r.take("i")):
                errors.append(r.take("ih")[1])
        return errors

    # --- metric series only for topics that exist ------------------------------------------

    def test_fetches_of_unknown_topics_create_no_series_and_deleted_topics_lose_theirs(self):
        c = Client(self.port, timeout=60)
        names = [f"nope-{i}" for i in range(2000)]
        c.send(1, 4, self.fetch_request([(n, [(0, 0, 1024)]) for n in names]))
        self.assertIsNotNone(c.recv())
        assert c.create_topic("short-lived", 1) == NONE
        assert c.produce("short-lived", 0, record_batch([b"x"]))[0] == NONE
        text = self.broker.metrics()
        self.assertNotIn('topic="nope-', text)
        self.assertIn('topic="short-lived"', text)
        c.send(20, 1, array([string("short-lived")]) + struct.pack(">i", 10000))
        self.assertIsNotNone(c.recv())
        self.assertNotIn('topic="short-lived"', self.broker.metrics())
        c.close()

    def test_unknown_api_keys_share_one_series(self):
        before = self.broker.metrics()
        for key in (128, 200, 255, 1000):
            c = Client(self.port)
            c.send(key, 0, b"")
            self.assertTrue(c.closed_by_peer())
            c.close()
        after = self.broker.metrics()

        def errors(text, api):
            for line in text.splitlines():
                if line.startswith(f'strom_kafka_request_errors_total{{api="{api}"}}'):
                    return float(line.split()[-1])
            return 0.0
        self.assertEqual(errors(after, "Produce"), errors(before, "Produce"))
        self.assertEqual(errors(after, "Unknown") - errors(before, "Unknown"), 4)

    # --- producers and transactions ---------------------------------------------------------

    def test_failed_acks_zero_produce_closes_the_connection(self):
        c = Client(self.port)
        self.assertIsNone(c.produce("canary", 0, record_batch([b"fire-and-forget"]), acks=0))
        self.assertIsNotNone(c.api_versions(), "a good acks=0 produce keeps the connection")
        c.produce("no-such-topic-here", 0, record_batch([b"x"]), acks=0)
        self.assertTrue(c.closed_by_peer())
        c.close()
        self.canary.stored += 1  # the first one was stored

    def test_init_producer_id_never_wraps_an_epoch(self):
        c = Client(self.port)
        # InitProducerId v3 (flexible): null transactional id, a producer asking for a bump
        # of epoch 32767.
        body = b"\x00" + struct.pack(">iqh", 60000, 1234, 32767) + b"\x00"
        c.send(22, 3, body, header_version=2)
        r = Reader(c.recv(), 1)  # response header tags
        _throttle, err, pid, epoch = r.take("ihqh")
        self.assertEqual(err, NONE)
        self.assertEqual(epoch, 0)
        self.assertGreaterEqual(pid, 0)
        c.close()

    def test_transactional_coordinator_lookup_fails_fast(self):
        c = Client(self.port)
        c.send(10, 1, string("my-txn") + struct.pack(">b", 1))
        r = Reader(c.recv())
        r.take("i")
        self.assertEqual(r.take("h"), TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
        self.assertIn("not supported", r.string())
        c.close()
        from confluent_kafka import KafkaException, Producer
        p = Producer({"bootstrap.servers": self.broker.bootstrap, "transactional.id": "t1"})
        started = time.time()
        with self.assertRaises(KafkaException) as ctx:
            p.init_transactions(60)
        self.assertFalse(ctx.exception.args[0].retriable())
        self.assertLess(time.time() - started, 50, "init_transactions waited for its timeout")


if __name__ == "__main__":
    unittest.main(verbosity=2)
