#!/usr/bin/python3
"""The idempotent producer on the wire: InitProducerId, retries answered with their original
offsets and not appended twice, out-of-order sequences and stale epochs refused, the state
rebuilt after a restart; and confluent-kafka-python with enable.idempotence=true."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker  # noqa: E402
from kafka_wire import Client, record_batch  # noqa: E402

NONE, OUT_OF_ORDER, INVALID_PRODUCER_EPOCH = 0, 45, 47


class IdempotenceTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker().start()
        c = Client(self.broker.port)
        self.assertEqual(c.create_topic("idem", 1), NONE)
        c.close()

    def tearDown(self):
        self.broker.close()

    def test_retries_sequences_and_epochs(self):
        c = Client(self.broker.port)
        err, pid, epoch = c.init_producer_id()
        self.assertEqual(err, NONE)
        self.assertGreaterEqual(pid, 0)
        self.assertEqual(epoch, 0)
        _, pid2, _ = c.init_producer_id()
        self.assertNotEqual(pid, pid2)

        def send(seq, n=3, ep=epoch):
            return c.produce("idem", 0, record_batch([b"v%d" % i for i in range(n)],
                                                     producer=(pid, ep, seq)))

        self.assertEqual(send(0), (NONE, 0))
        self.assertEqual(send(3), (NONE, 3))
        # A retry of either batch returns its original offsets and appends nothing.
        self.assertEqual(send(0), (NONE, 0))
        self.assertEqual(send(3), (NONE, 3))
        self.assertEqual(c.fetch("idem", 0, 0)[1], 6)
        # A gap is refused; the next in-order batch still works.
        self.assertEqual(send(10)[0], OUT_OF_ORDER)
        self.assertEqual(send(6), (NONE, 6))
        # A new epoch restarts at sequence 0; the old epoch is then fenced.
        self.assertEqual(send(0, ep=1), (NONE, 9))
        self.assertEqual(send(9, ep=0)[0], INVALID_PRODUCER_EPOCH)
        self.assertEqual(c.fetch("idem", 0, 0)[1], 12)
        c.close()

        # After a restart the last batches are still recognised as duplicates.
        self.assertEqual(self.broker.stop(), 0)
        self.broker.start()
        c = Client(self.broker.port)
        self.assertEqual(c.produce("idem", 0, record_batch([b"v%d" % i for i in range(3)],
                                                          producer=(pid, 1, 0))), (NONE, 9))
        self.assertEqual(c.fetch("idem", 0, 0)[1], 12)
        _, pid3, _ = c.init_producer_id()
        self.assertNotIn(pid3, (pid, pid2), "producer ids are never reused after a restart")
        c.close()

    def test_describe_log_dirs_reports_partition_sizes(self):
        c = Client(self.broker.port)
        self.assertEqual(c.produce("idem", 0, record_batch([b"x" * 100])), (NONE, 0))
        dirs = c.describe_log_dirs()
        self.assertEqual(len(dirs), 1)
        err, path, topics = dirs[0]
        self.assertEqual(err, NONE)
        self.assertTrue(path.endswith("data"))
        self.assertIn("idem", topics)
        self.assertGreater(topics["idem"][0], 100)
        c.close()

    def test_confluent_idempotent_producer(self):
        from confluent_kafka import Consumer, Producer, TopicPartition
        b = self.broker.bootstrap
        p = Producer({"bootstrap.servers": b, "enable.idempotence": True, "linger.ms": 2})
        errors = []
        for i in range(2000):
            p.produce("idem", value=b"m%d" % i, partition=0,
                      on_delivery=lambda e, m: errors.append(e) if e else None)
        self.assertEqual(p.flush(30), 0)
        self.assertEqual(errors, [])
        c = Consumer({"bootstrap.servers": b, "group.id": "idem-reader",
                      "enable.auto.commit": False})
        c.assign([TopicPartition("idem", 0, 0)])
        got = []
        while len(got) < 2000:
            m = c.poll(5)
            self.assertIsNotNone(m, "timed out reading")
            self.assertIsNone(m.error())
            got.append(m.value())
        c.close()
        self.assertEqual(got, [b"m%d" % i for i in range(2000)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
