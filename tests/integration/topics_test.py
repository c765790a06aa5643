#!/usr/bin/python3
"""Topic creation and deletion against a real stromd: names of every legal length up to 249
characters (create, produce, consume, delete, create again empty), the partition limits with
their exact error codes, SIGKILL in the middle of a large create or delete followed by a restart
(no orphan partitions, a recreated topic starts empty), and a canary connection that keeps being
answered while a large topic is created."""

import os
import signal
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker  # noqa: E402
from kafka_wire import Client, record_batch, string  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

NONE, UNKNOWN_TOPIC, INVALID_TOPIC, TOPIC_EXISTS = 0, 3, 17, 36
INVALID_PARTITIONS, POLICY_VIOLATION = 37, 44
TIMEOUT = 30


class Reader:
    """Big-endian fields of a response body, in order."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v if len(v) > 1 else v[0]

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s


class Admin(Client):
    """Raw topic administration requests (non-flexible versions)."""

    def create_topics(self, topics, validate_only=False, timeout_ms=120000):
        """CreateTopics v2 for [(name, partitions)]: [(name, error, message)]."""
        self.send_create_topics(topics, validate_only, timeout_ms)
        return self.recv_create_topics()

    def send_create_topics(self, topics, validate_only=False, timeout_ms=120000):
        body = struct.pack(">i", len(topics))
        for name, partitions in topics:
            body += string(name) + struct.pack(">ih", partitions, 1) + struct.pack(">ii", 0, 0)
        body += struct.pack(">i?", timeout_ms, validate_only)
        self.send(19, 2, body)

    def recv_create_topics(self):
        r = Reader(self.recv())
        r.take(">i")  # throttle
        out = []
        for _ in range(r.take(">i")):
            name, err, msg = r.string(), r.take(">h"), r.string()
            out.append((name, err, msg or None))  # no message: null or empty
        return out

    def delete_topics(self, names):
        """DeleteTopics v1: {name: error}."""
        self.send_delete_topics(names)
        return self.recv_delete_topics()

    def send_delete_topics(self, names):
        body = struct.pack(">i", len(names)) + b"".join(string(n) for n in names)
        self.send(20, 1, body + struct.pack(">i", 120000))

    def recv_delete_topics(self):
        r = Reader(self.recv())
        r.take(">i")
        return {r.string(): r.take(">h") for _ in range(r.take(">i"))}

    def create_partitions(self, name, count, validate_only=False):
        """CreatePartitions v0 for one topic: (error, message)."""
        body = struct.pack(">i", 1) + string(name) + struct.pack(">ii", count, -1)
        self.send(37, 0, body + struct.pack(">i?", 60000, validate_only))
        r = Reader(self.recv())
        r.take(">i")
        assert r.take(">i") == 1
        r.string()
        err, msg = r.take(">h"), r.string()
        return err, msg or None

    def metadata(self, names, auto_create=False):
        """Metadata v4: {name: (error, partition count)}."""
        body = struct.pack(">i", len(names)) + b"".join(string(n) for n in names)
        self.send(3, 4, body + struct.pack(">?", auto_create))
        r = Reader(self.recv())
        r.take(">i")
        for _ in range(r.take(">i")):  # brokers
            r.take(">i")
            r.string()
            r.take(">i")
            r.string()
        r.string()  # cluster id
        r.take(">i")  # controller
        out = {}
        for _ in range(r.take(">i")):
            err = r.take(">h")
            name = r.string()
            r.take(">?")
            count = r.take(">i")
            for _ in range(count):
                r.take(">hii")  # error, index, leader
                for _ in range(2):  # replica_nodes, isr_nodes
                    n = r.take(">i")
                    r.pos += 4 * max(n, 0)
            out[name] = (err, count)
        return out


def partition_dirs(broker, topic):
    """Entries of the data directory that belong to `topic`'s partitions (markers included)."""
    prefix = topic[:200] + "-"
    return sorted(e for e in os.listdir(broker.data) if e.startswith(prefix))


def plain_dirs(broker, topic):
    """`<topic>-<n>` directories only."""
    out = []
    for e in os.listdir(broker.data):
        head, _, tail = e.rpartition("-")
        if head == topic and tail.isdigit():
            out.append(int(tail))
    return sorted(out)


def high_watermark(client, topic, partition):
    err, hw, _ = client.fetch(topic, partition, 0)
    assert err == NONE, err
    return hw


class LongNamesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()
        cls.admin = Admin(cls.broker.port)

    @classmethod
    def tearDownClass(cls):
        cls.admin.close()
        cls.broker.close()

    def test_every_length_up_to_249_works_end_to_end(self):
        b, admin = self.broker, self.admin
        for length in (245, 246, 247, 248, 249):
            name = chr(ord("a") + length % 26) * length
            with self.subTest(length=length):
                self.assertEqual(admin.create_topics([(name, 3)]), [(name, NONE, None)])
                self.assertEqual(plain_dirs(b, name), [0, 1, 2])
                # A real client produces and consumes.
                p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
                for i in range(9):
                    p.produce(name, value=f"v{i}".encode(), partition=i % 3)
                self.assertEqual(p.flush(TIMEOUT), 0)
                c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "g" + str(length),
                              "enable.auto.commit": False, "auto.offset.reset": "earliest"})
                c.assign([TopicPartition(name, i, 0) for i in range(3)])
                got, deadline = [], time.time() + TIMEOUT
                while len(got) < 9 and time.time() < deadline:
                    m = c.poll(0.5)
                    if m is not None and not m.error():
                        got.append(m.value().decode())
                c.close()
                self.assertEqual(sorted(got), sorted(f"v{i}" for i in range(9)))
                # Deleted: nothing left on disk; created again: empty.
                self.assertEqual(admin.delete_topics([name]), {name: NONE})
                self.assertEqual(partition_dirs(b, name), [])
                self.assertEqual(admin.metadata([name]), {name: (UNKNOWN_TOPIC, 0)})
                self.assertEqual(admin.create_topics([(name, 3)]), [(name, NONE, None)])
                for i in range(3):
                    self.assertEqual(high_watermark(admin, name, i), 0)
                self.assertEqual(admin.delete_topics([name]), {name: NONE})

    def test_many_partitions_of_a_249_character_name(self):
        name = "m" * 249
        self.assertEqual(self.admin.create_topics([(name, 200)]), [(name, NONE, None)])
        self.assertEqual(plain_dirs(self.broker, name), list(range(200)))  # up to 253 bytes
        self.assertEqual(self.admin.create_partitions(name, 250), (NONE, None))
        self.assertEqual(plain_dirs(self.broker, name), list(range(250)))
        self.assertEqual(high_watermark(self.admin, name, 249), 0)
        self.assertEqual(self.admin.delete_topics([name]), {name: NONE})
        self.assertEqual(partition_dirs(self.broker, name), [])

    def test_names_beyond_249_are_refused_before_anything_is_created(self):
        for name in ("x" * 250, "x" * 300, ".", "..", "a/b"):
            self.assertEqual(self.admin.create_topics([(name, 1)])[0][1], INVALID_TOPIC)
        self.assertEqual([e for e in os.listdir(self.broker.data) if e.startswith("x")], [])


class LimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(extra="""cluster_defaults:
  topics:
    max_partitions_per_topic: 100
    max_partitions_per_broker: 250
""").start()
        cls.admin = Admin(cls.broker.port)

    @classmethod
    def tearDownClass(cls):
        cls.admin.close()
        cls.broker.close()

    def assert_nothing_created(self, *names):
        for n in names:
            self.assertEqual(partition_dirs(self.broker, n), [], n)
            self.assertFalse(os.path.exists(
                os.path.join(self.broker.data, ".strom", "topics", n + ".topic")))

    def test_partition_limits_give_exact_errors(self):
        admin = self.admin
        # Per topic: INVALID_PARTITIONS, validate_only too.
        for count in (101, 0, -2, 100000, 2**31 - 1):
            [(_, err, msg)] = admin.create_topics([("big", count)])
            self.assertEqual(err, INVALID_PARTITIONS, (count, msg))
        [(_, err, msg)] = admin.create_topics([("big", 101)], validate_only=True)
        self.assertEqual(err, INVALID_PARTITIONS)
        self.assertIn("max_partitions_per_topic", msg)
        self.assert_nothing_created("big")

        # Per broker: POLICY_VIOLATION once the total would pass 250.
        self.assertEqual(admin.create_topics([("a", 100), ("b", 100)]),
                         [("a", NONE, None), ("b", NONE, None)])
        [(_, err, msg)] = admin.create_topics([("c", 51)])
        self.assertEqual(err, POLICY_VIOLATION, msg)
        self.assertIn("max_partitions_per_broker", msg)
        self.assertEqual(admin.create_topics([("c", 51)], validate_only=True)[0][1],
                         POLICY_VIOLATION)
        self.assert_nothing_created("c")
        # In one request, the second topic sees the first one's partitions.
        self.assertEqual([e for _, e, _ in admin.create_topics([("c", 40), ("d", 11)])],
                         [NONE, POLICY_VIOLATION])
        self.assert_nothing_created("d")

        # CreatePartitions: the per-topic count first, then the broker total.
        self.assertEqual(admin.create_partitions("a", 101)[0], INVALID_PARTITIONS)
        self.assertEqual(admin.create_partitions("c", 51)[0], POLICY_VIOLATION)
        self.assertEqual(admin.create_partitions("c", 51, validate_only=True)[0],
                         POLICY_VIOLATION)
        self.assertEqual(plain_dirs(self.broker, "c"), list(range(40)))
        self.assertEqual(admin.create_partitions("c", 50), (NONE, None))  # exactly 250

        # Auto-creation through Metadata: refused while full, created once there is room.
        self.assertEqual(admin.metadata(["auto"], auto_create=True), {"auto": (POLICY_VIOLATION, 0)})
        self.assert_nothing_created("auto")
        # Produce never creates a topic.
        c = Client(self.broker.port)
        self.assertEqual(c.produce("auto", 0, record_batch([b"x"]))[0], UNKNOWN_TOPIC)
        c.close()
        self.assertEqual(admin.delete_topics(["c"]), {"c": NONE})
        self.assertEqual(admin.metadata(["auto"], auto_create=True), {"auto": (NONE, 1)})
        self.assertEqual(plain_dirs(self.broker, "auto"), [0])


class CrashTest(unittest.TestCase):
    """SIGKILL while a large topic is created or deleted, then a restart."""

    def setUp(self):
        self.broker = Broker()
        self.broker.start()

    def tearDown(self):
        self.broker.close()

    def restart(self):
        self.broker.kill()
        self.broker.start()
        return Admin(self.broker.port)

    def kill_when(self, condition, timeout=TIMEOUT):
        """SIGKILLs the broker as soon as `condition()` holds (polled)."""
        deadline = time.time() + timeout
        while not condition():
            self.assertLess(time.time(), deadline, "the condition never held")
            time.sleep(0.002)
        self.broker.proc.send_signal(signal.SIGKILL)
        self.broker.proc.wait(timeout=TIMEOUT)

    def expect_all_or_nothing(self, admin, name, partitions, records):
        """The whole topic with its data, or nothing of it on disk."""
        state = admin.metadata([name])[name]
        if state[0] == NONE:
            self.assertEqual(state[1], partitions)
            self.assertEqual(plain_dirs(self.broker, name), list(range(partitions)))
            for p in range(min(partitions, 3)):
                self.assertEqual(high_watermark(admin, name, p), records)
            return True
        self.assertEqual(state, (UNKNOWN_TOPIC, 0))
        self.assertEqual(partition_dirs(self.broker, name), [])
        return False

    def recreate_empty(self, admin, name, existed):
        if existed:
            self.assertEqual(admin.delete_topics([name]), {name: NONE})
        self.assertEqual(admin.create_topics([(name, 3)]), [(name, NONE, None)])
        for p in range(3):
            self.assertEqual(high_watermark(admin, name, p), 0)

    def test_kill_during_a_large_create(self):
        name = "k" * 249
        admin = Admin(self.broker.port)
        admin.send_create_topics([(name, 1000)])
        self.kill_when(lambda: len(plain_dirs(self.broker, name)) >= 100)
        admin.close()
        self.broker.start()
        admin = Admin(self.broker.port)
        existed = self.expect_all_or_nothing(admin, name, 1000, 0)
        if not existed:
            self.assertIn("no topic claims it", self.broker.output())
        self.recreate_empty(admin, name, existed)
        admin.close()

    def test_kill_during_a_large_delete(self):
        name = "old"
        admin = Admin(self.broker.port)
        self.assertEqual(admin.create_topics([(name, 600)]), [(name, NONE, None)])
        for p in range(3):
            for _ in range(5):
                self.assertEqual(admin.produce(name, p, record_batch([b"old"]))[0], NONE)
        admin.send_delete_topics([name])
        self.kill_when(lambda: len(plain_dirs(self.broker, name)) < 600)
        admin.close()
        self.broker.start()
        admin = Admin(self.broker.port)
        existed = self.expect_all_or_nothing(admin, name, 600, 5)
        self.recreate_empty(admin, name, existed)
        admin.close()

    def test_kill_right_after_a_create_of_a_deleted_name(self):
        # Delete with data, create the same name again, crash at once: never the old data.
        admin = Admin(self.broker.port)
        self.assertEqual(admin.create_topics([("again", 3)]), [("again", NONE, None)])
        for p in range(3):
            self.assertEqual(admin.produce("again", p, record_batch([b"a", b"b"]))[0], NONE)
        self.assertEqual(admin.delete_topics(["again"]), {"again": NONE})
        self.assertEqual(admin.create_topics([("again", 3)]), [("again", NONE, None)])
        admin.close()
        admin = self.restart()
        self.assertTrue(self.expect_all_or_nothing(admin, "again", 3, 0))
        admin.close()


class CanaryTest(unittest.TestCase):
    """A large create on one connection; another connection keeps being answered."""

    def test_canary_is_answered_while_a_large_topic_is_created(self):
        broker = Broker(shards=1).start()  # one shard: the canary shares it with the create
        try:
            admin = Admin(broker.port)
            self.assertEqual(admin.create_topics([("canary", 1)]), [("canary", NONE, None)])
            done = []
            errors = []
            stop = threading.Event()

            def canary():
                c = Admin(broker.port, timeout=TIMEOUT)
                produced = 0
                try:
                    while not stop.is_set():
                        if c.api_versions() is None:
                            errors.append("ApiVersions unanswered")
                            return
                        if c.metadata(["canary"]) != {"canary": (NONE, 1)}:
                            errors.append("Metadata")
                        err, _ = c.produce("canary", 0, record_batch([b"c"]), acks=1)
                        produced += 1
                        if err != NONE or high_watermark(c, "canary", 0) != produced:
                            errors.append(f"produce/fetch {err}")
                        done.append(time.monotonic())
                except Exception as e:  # noqa: BLE001 - reported by the test
                    errors.append(repr(e))
                finally:
                    c.close()

            t = threading.Thread(target=canary)
            t.start()
            while not done:
                time.sleep(0.01)
            before = len(done)
            start = time.monotonic()
            self.assertEqual(admin.create_topics([("large", 1000)]), [("large", NONE, None)])
            during = len(done) - before
            took = time.monotonic() - start
            stop.set()
            t.join(TIMEOUT)
            self.assertEqual(errors, [])
            print(f"created 1000 partitions in {took:.2f} s; {during} canary rounds meanwhile",
                  file=sys.stderr)
            # Rounds of ApiVersions, Metadata, Produce and Fetch completed while the creation
            # was in progress, not only before and after it.
            self.assertGreaterEqual(during, 5)
            self.assertEqual(plain_dirs(broker, "large"), list(range(1000)))
            admin.close()
        finally:
            broker.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
