#!/usr/bin/python3
"""Idempotent-producer state is bounded and survives restarts.

- 100k idempotent producer ids (never issued; 25k under a sanitizer) through raw Produce
  requests: the broker answers each as Kafka 3.x does (an unknown id is accepted with any
  sequence), remembers at most `cluster_defaults.producers.max_per_partition` (10000) of them
  per partition, forgetting the least recently appending first, and its memory stays bounded.
- A producer whose last write lies many segments back continues after a clean restart and after
  SIGKILL: a retry of its last batch is answered with the original offsets and not appended,
  its next sequence is accepted, a gap is OUT_OF_ORDER_SEQUENCE_NUMBER.

A canary client produces and consumes on another connection throughout."""

import os
import signal
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker  # noqa: E402
from kafka_wire import Client, record_batch, string  # noqa: E402
from storage_helpers import (NONE, SANITIZED, Canary, create_topic, open_fds,  # noqa: E402
                             rss_kib)

from confluent_kafka import Producer  # noqa: E402

OUT_OF_ORDER = 45
# Under a sanitizer, whose memory figures are not checked and whose broker answers each request
# several times slower, a quarter of them: still two and a half times the bound.
PRODUCERS = 25_000 if SANITIZED else 100_000
BOUND = 10_000  # the default of cluster_defaults.producers.max_per_partition
FIRST_PID = 5_000_000


def produce_request(topic, batch, acks=1):
    return string(None) + struct.pack(">hi", acks, 10000) + struct.pack(">i", 1) + \
        string(topic) + struct.pack(">i", 1) + struct.pack(">i", 0) + \
        struct.pack(">i", len(batch)) + batch


def produce_response(r):
    pos = 4
    (nlen,) = struct.unpack_from(">h", r, pos)
    pos += 2 + nlen + 4
    _, err, base = struct.unpack_from(">ihq", r, pos)
    return err, base


class IdempotentLimitsTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker().start()
        self.canary = Canary(self.broker.port).start()

    def tearDown(self):
        self.canary.stop()
        self.broker.close()

    def test_100k_producer_ids_keep_the_broker_bounded(self):
        c = Client(self.broker.port, timeout=30)
        self.assertEqual(create_topic(c, "many-producers", 1)[0], NONE)
        pid = self.broker.proc.pid
        batches = {}

        def batch(i):
            if i not in batches:
                batches[i] = record_batch([b"p%d" % i], producer=(FIRST_PID + i, 0, 0))
            return batches[i]

        # Warm up (buffers, the partition), then measure.
        self.assertEqual(c.produce("many-producers", 0, batch(0), acks=1), (NONE, 0))
        rss_before = rss_kib(pid)
        fds_before = open_fds(pid)
        # Pipelined, 100 requests at a time (the default in-flight limit per connection).
        offset = 1
        for start in range(1, PRODUCERS, 100):
            ids = range(start, min(start + 100, PRODUCERS))
            for i in ids:
                c.send(0, 3, produce_request("many-producers", batch(i)))
            for i in ids:
                r = produce_response(c.recv())
                self.assertEqual(r, (NONE, offset), f"producer {i}")
                offset += 1
            for i in ids:
                if i < PRODUCERS - 10:
                    batches.pop(i, None)
        self.assertIsNone(self.broker.proc.poll(), "stromd died")
        grown = rss_kib(pid) - rss_before
        print(f"\n  RSS grew by {grown} KiB over {PRODUCERS} producer ids", file=sys.stderr)
        # 10000 remembered producers take about 3 MiB; 100000 unbounded took over 100 MiB.
        if not SANITIZED:
            self.assertLess(grown, 16 * 1024, f"RSS grew by {grown} KiB")
        self.assertLessEqual(open_fds(pid), fds_before + 8)

        # The most recent producers are remembered: a retry is a duplicate.
        last = PRODUCERS - 1
        self.assertEqual(c.produce("many-producers", 0, batch(last), acks=1), (NONE, last))
        # The first ones were forgotten to make room: unknown again, so the same batch is
        # accepted once more (at the log end) instead of being recognised, and a sequence that
        # would be a gap for a remembered producer is accepted too.
        self.assertEqual(c.produce("many-producers", 0, batch(0), acks=1), (NONE, PRODUCERS))
        gap = record_batch([b"gap"], producer=(FIRST_PID + 1, 0, 77))
        self.assertEqual(c.produce("many-producers", 0, gap, acks=1), (NONE, PRODUCERS + 1))
        # ... and then checked again like any producer.
        gap2 = record_batch([b"gap"], producer=(FIRST_PID + 1, 0, 99))
        self.assertEqual(c.produce("many-producers", 0, gap2, acks=1)[0], OUT_OF_ORDER)
        c.close()
        self.canary.check(self)

    def bulk(self, topic, mib):
        """`mib` MiB from a plain producer: several rolls of 1 MiB segments."""
        p = Producer({"bootstrap.servers": self.broker.bootstrap, "linger.ms": 10,
                      "acks": "all"})
        chunk = os.urandom(16 * 1024)
        for _ in range(mib * 64):
            while True:
                try:
                    p.produce(topic, value=chunk, partition=0)
                    break
                except BufferError:
                    p.poll(0.05)
        self.assertEqual(p.flush(60), 0)

    def segments(self, topic):
        d = os.path.join(self.broker.data, f"{topic}-0")
        return sum(1 for n in os.listdir(d) if n.endswith(".log"))

    def test_a_producer_many_segments_back_continues_after_restarts(self):
        topic = "idem-restart"
        c = Client(self.broker.port, timeout=30)
        self.assertEqual(create_topic(c, topic, 1, [("segment.bytes", "1048576")])[0], NONE)
        err, pid, epoch = c.init_producer_id()
        self.assertEqual(err, NONE)

        def send(seq, n=1):
            return c.produce(topic, 0, record_batch([b"idem-%d" % (seq + i) for i in range(n)],
                                                    producer=(pid, epoch, seq)))

        self.assertEqual(send(0, 3), (NONE, 0))
        self.assertEqual(send(3, 2), (NONE, 3))
        next_seq, last_seq, last_offset = 5, 3, 3
        for stop in (signal.SIGTERM, signal.SIGKILL):
            self.bulk(topic, 5)
            self.assertGreaterEqual(self.segments(topic), 4)
            end = c.fetch(topic, 0, 0)[1]
            c.close()
            self.canary.check(self)
            self.broker.stop(stop)
            self.broker.start()
            self.canary = Canary(self.broker.port, topic=f"canary-{int(stop)}").start()
            c = Client(self.broker.port, timeout=30)
            self.assertEqual(c.fetch(topic, 0, 0)[1], end, "acknowledged data lost")
            # The retry of its last batch: the original offsets, nothing appended.
            n = next_seq - last_seq
            self.assertEqual(send(last_seq, n), (NONE, last_offset), f"after {stop!r}")
            self.assertEqual(c.fetch(topic, 0, 0)[1], end, "a retry was appended again")
            # A gap is refused; the next sequence goes on.
            self.assertEqual(send(next_seq + 10)[0], OUT_OF_ORDER)
            self.assertEqual(send(next_seq), (NONE, end))
            last_seq, last_offset, next_seq = next_seq, end, next_seq + 1
        c.close()
        self.canary.check(self)
        self.assertIsNone(self.broker.proc.poll(), "stromd died")


if __name__ == "__main__":
    unittest.main(verbosity=2)
