#!/usr/bin/python3
"""Descriptors stay bounded with many partitions and many segments: closed segments close
their index files and leave their log file to a cache of `storage.max_open_segment_files`
(here 32). stromd's open descriptors (/proc/<pid>/fd) stay within the cache size plus the
active segments, the connections and a margin while it writes dozens of segments, while every
old segment is read back (byte for byte), and after clean and unclean restarts. Without the
cache each closed segment would hold three descriptors for life. A canary client produces and
consumes throughout."""

import os
import random
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker  # noqa: E402
from storage_helpers import Canary, open_fds, wait_until  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

CACHE = 32
PARTITIONS = 6
SEGMENTS_PER_PARTITION = 8
VALUE = 8 * 1024
# Enough to fill SEGMENTS_PER_PARTITION segments of 1 MiB (the smallest allowed) per partition.
MESSAGES = PARTITIONS * SEGMENTS_PER_PARTITION * (1 << 20) // VALUE
TOPIC = "many-segments"
EXTRA = f"""storage:
  max_open_segment_files: {CACHE}
cluster_defaults:
  log:
    retention_check_interval_ms: 200
  groups:
    offsets_topic_partitions: 1
"""
POOL = random.Random(7).randbytes(1 << 20)


def value(p, seq):
    start = (p * 7919 + seq * 104729) % (len(POOL) - VALUE)
    head = b"%d-%d-" % (p, seq)
    return head + POOL[start:start + VALUE - len(head)]


def describe_fds(pid):
    """What stromd's descriptors point at, counted by kind (for failure messages)."""
    kinds = {}
    d = f"/proc/{pid}/fd"
    for fd in os.listdir(d):
        try:
            target = os.readlink(os.path.join(d, fd))
        except OSError:
            continue
        kind = target.rsplit(".", 1)[-1] if "/" in target and "." in target else \
            target.split(":", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


class FdSampler:
    """Records the peak of stromd's open descriptors while it runs."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = 0
        self.at_peak = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                n = open_fds(self.pid)
                if n > self.peak:
                    self.peak = n
                    self.at_peak = describe_fds(self.pid)
            except FileNotFoundError:
                return
            self._stop.wait(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)


class DescriptorsTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker(extra=EXTRA).start()
        self.canary = Canary(self.broker.port).start()

    def tearDown(self):
        self.canary.stop()
        self.broker.close()

    def segments_on_disk(self):
        n = 0
        for p in range(PARTITIONS):
            d = os.path.join(self.broker.data, f"{TOPIC}-{p}")
            n += sum(1 for f in os.listdir(d) if f.endswith(".log"))
        return n

    def bound(self, baseline):
        """The cache, plus room for the segments closed since the last flush (3 files each)
        and the reads in flight."""
        return baseline + CACHE + 3 * PARTITIONS + 16

    def produce_all(self):
        p = Producer({"bootstrap.servers": self.broker.bootstrap, "linger.ms": 20,
                      "batch.size": 256 * 1024, "acks": "all"})
        errors = []
        for seq in range(MESSAGES):
            part = seq % PARTITIONS
            while True:
                try:
                    p.produce(TOPIC, value=value(part, seq // PARTITIONS), partition=part,
                              on_delivery=lambda e, m: errors.append(e) if e else None)
                    break
                except BufferError:
                    p.poll(0.05)
        self.assertEqual(p.flush(60), 0)
        self.assertEqual(errors, [])

    def read_all(self):
        """Every message of every partition from offset 0, checked."""
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "fd-reader",
                      "enable.auto.commit": False, "fetch.wait.max.ms": 10})
        c.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
        per_partition = MESSAGES // PARTITIONS
        next_seq = [0] * PARTITIONS
        deadline = time.time() + 60
        while sum(next_seq) < MESSAGES and time.time() < deadline:
            for m in c.consume(500, 1.0):
                self.assertIsNone(m.error())
                p = m.partition()
                self.assertEqual(m.offset(), next_seq[p])
                self.assertEqual(m.value(), value(p, next_seq[p]), f"partition {p} offset "
                                 f"{m.offset()}")
                next_seq[p] += 1
        c.close()
        self.assertEqual(next_seq, [per_partition] * PARTITIONS)

    def test_many_segments_hold_a_bounded_number_of_descriptors(self):
        admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
        admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1,
                                      config={"segment.bytes": "1048576"})])[TOPIC].result(30)
        # The consumers below use a group id: should that create the offsets topic (one
        # partition here), its three files fall within the margin.
        pid = self.broker.proc.pid
        baseline = open_fds(pid)  # active segments, listeners, the canary's connection

        with FdSampler(pid) as writing:
            self.produce_all()
        segments = self.segments_on_disk()
        self.assertGreaterEqual(segments, PARTITIONS * (SEGMENTS_PER_PARTITION - 1))
        # Without the cache: three descriptors per closed segment, far above the bound.
        self.assertGreater(3 * segments, self.bound(baseline) - baseline + 3 * PARTITIONS)
        self.assertLessEqual(writing.peak, self.bound(baseline) + 8,
                             f"while writing: {writing.at_peak}, baseline {baseline}")
        wait_until(lambda: open_fds(pid) <= baseline + CACHE + 8, what="closed segments released")

        with FdSampler(pid) as reading:
            self.read_all()
        self.assertLessEqual(reading.peak, self.bound(baseline) + 8,
                             f"while reading: {reading.at_peak}, baseline {baseline}")

        # A clean restart, then a crash: opening the logs releases each closed segment too.
        for stop in (signal.SIGTERM, signal.SIGKILL):
            self.canary.check(self)
            self.broker.stop(stop)
            self.broker.start()
            pid = self.broker.proc.pid
            self.canary = Canary(self.broker.port, topic=f"canary-{int(stop)}").start()
            wait_until(lambda: open_fds(pid) <= self.bound(baseline), what="after a restart")
            with FdSampler(pid) as rereading:
                self.read_all()
            self.assertLessEqual(rereading.peak, self.bound(baseline) + 8,
                                 f"after {stop!r}: {rereading.at_peak}, baseline {baseline}")
        self.canary.check(self)
        self.assertIsNone(self.broker.proc.poll(), "stromd died")


if __name__ == "__main__":
    unittest.main(verbosity=2)
