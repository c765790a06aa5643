#!/usr/bin/python3
"""Log compaction end to end with confluent-kafka-python (librdkafka): 100k updates over 1k
keys into a compacted topic with the smallest segments allowed (1 MiB), uncompressed and lz4; the topic read back
from the beginning holds exactly the newest value of every key at its original offset. Also:
records without a key are refused, and a SIGKILL while compaction runs loses nothing."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker  # noqa: E402

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TIMEOUT = 30
COMPACTION_DEADLINE = 120
UPDATES = 100_000
KEYS = 1_000

# A short housekeeping tick, so that compaction is checked every 100 ms.
EXTRA = """cluster_defaults:
  log:
    retention_check_interval_ms: 100
"""

TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    "segment.bytes": "1048576",  # the minimum: about 6000 records per segment
    "segment.ms": "1000",  # the last segment closes too once production stops
    "min.cleanable.dirty.ratio": "0.01",  # and is compacted, small as it is
}


def create_topic(bootstrap, name, config):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fs = admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1,
                                       config=config)], operation_timeout=10)
    fs[name].result(timeout=TIMEOUT)


def produce_updates(bootstrap, topic, **conf):
    """UPDATES updates over KEYS keys; returns {key: (offset, value)} of each key's newest."""
    newest, errors = {}, []
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all", **conf})

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
            return
        k = msg.key()
        if k not in newest or newest[k][0] < msg.offset():
            newest[k] = (msg.offset(), msg.value())

    for i in range(UPDATES):
        key = b"key-%d" % (i % KEYS)
        # Random hex: lz4 finds little to compress, so both codecs fill many segments.
        value = b"value-%d-" % i + os.urandom(75).hex().encode()
        while True:
            try:
                p.produce(topic, key=key, value=value, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.1)
    assert p.flush(TIMEOUT) == 0, "messages not delivered"
    assert not errors, errors[:5]
    assert len(newest) == KEYS
    return newest


def read_all(bootstrap, topic, last_offset):
    """Every record from the beginning up to `last_offset`, as (offset, key, value)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "compaction-reader",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            raise KafkaException(m.error())
        got.append((m.offset(), m.key(), m.value()))
        if m.offset() >= last_offset:
            break
    c.close()
    return got


def segments(broker, topic):
    d = os.path.join(broker.data, f"{topic}-0")
    return sorted(n for n in os.listdir(d) if n.endswith(".log"))


class CompactionTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker(extra=EXTRA).start()

    def tearDown(self):
        self.broker.close()

    def wait_compacted(self, topic, newest):
        """Polls (bounded) until the topic holds one record per key; returns what was read."""
        last = max(o for o, _ in newest.values())
        deadline = time.time() + COMPACTION_DEADLINE
        while True:
            got = read_all(self.broker.bootstrap, topic, last)
            if len(got) == KEYS or time.time() > deadline:
                return got
            time.sleep(0.5)

    def check_newest(self, got, newest):
        offsets = [o for o, _, _ in got]
        self.assertEqual(offsets, sorted(set(offsets)), "offsets increase")
        by_key = {}
        twice = set()
        for o, k, v in got:
            if k in by_key:
                twice.add(k)
            by_key[k] = (o, v)
        self.assertFalse(twice, f"{len(twice)} key(s) appear more than once, e.g. {min(twice)}"
                         if twice else "")
        wrong = [k for k in newest if by_key.get(k) != newest[k]]
        # The newest value of every key, at its original offset.
        self.assertFalse(wrong, f"{len(wrong)} key(s) without their newest value")

    def run_topic(self, topic, **producer_conf):
        b = self.broker.bootstrap
        create_topic(b, topic, TOPIC_CONFIG)
        newest = produce_updates(b, topic, **producer_conf)
        # Several closed segments (fewer when the producer compresses).
        self.assertGreater(len(segments(self.broker, topic)), 5)
        got = self.wait_compacted(topic, newest)
        self.check_newest(got, newest)
        c = Consumer({"bootstrap.servers": b, "group.id": "wm"})
        low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT)
        c.close()
        self.assertEqual((low, high), (0, UPDATES))  # offsets are unchanged
        self.assertIn("compacted", self.broker.output())
        return newest

    def test_uncompressed_updates_keep_the_newest_value_per_key(self):
        newest = self.run_topic("compacted")
        # The compacted log survives a clean restart and still reads the same.
        self.assertEqual(self.broker.stop(), 0)
        self.broker.start()
        got = read_all(self.broker.bootstrap, "compacted", max(o for o, _ in newest.values()))
        self.check_newest(got, newest)

    def test_lz4_batches_are_rebuilt(self):
        self.run_topic("compacted-lz4", **{"compression.codec": "lz4"})

    def test_record_without_key_is_refused(self):
        b = self.broker.bootstrap
        create_topic(b, "keyed", {"cleanup.policy": "compact"})
        errors = []
        p = Producer({"bootstrap.servers": b, "retries": 0})
        p.produce("keyed", value=b"no key", on_delivery=lambda e, m: errors.append(e))
        p.flush(TIMEOUT)  # alone in its batch: a refused batch is refused whole
        p.produce("keyed", key=b"k", value=b"v", on_delivery=lambda e, m: errors.append(e))
        p.flush(TIMEOUT)
        self.assertEqual(len(errors), 2)
        self.assertIsNotNone(errors[0])
        self.assertEqual(errors[0].code(), 87)  # INVALID_RECORD
        self.assertIsNone(errors[1])

    def kill_while_compacting(self, topic):
        """SIGKILLs stromd as soon as a compaction's staged files appear (bounded wait; kills
        anyway at the deadline). Returns whether it caught one in progress."""
        d = os.path.join(self.broker.data, f"{topic}-0")
        deadline = time.time() + 10
        caught = False
        while time.time() < deadline and not caught:
            caught = any(n.endswith((".cleaned", ".swap")) for n in os.listdir(d))
            if not caught:
                time.sleep(0.001)
        self.broker.kill()
        return caught

    def test_sigkill_during_compaction_loses_nothing(self):
        b = self.broker.bootstrap
        create_topic(b, "killed", TOPIC_CONFIG)
        newest = produce_updates(b, "killed")  # acks=all: every update is durable
        last = max(o for o, _ in newest.values())
        # Each restart compacts every closed segment again, so each round has a compaction
        # to interrupt.
        caught = 0
        for _ in range(3):
            caught += self.kill_while_compacting("killed")
            self.broker.start()
            got = read_all(self.broker.bootstrap, "killed", last)
            latest = {}
            for o, k, v in got:
                latest[k] = (o, v)
            self.assertTrue(latest == newest, "a newest value was lost")
        print(f"\n  SIGKILL caught {caught} of 3 compactions in progress", file=sys.stderr)
        got = self.wait_compacted("killed", newest)
        self.check_newest(got, newest)

if __name__ == "__main__":
    unittest.main(verbosity=2)
