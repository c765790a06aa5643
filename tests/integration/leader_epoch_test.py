#!/usr/bin/python3
"""Leader epochs on the wire (KIP-320): OffsetForLeaderEpoch answers, and the
current_leader_epoch checks of Fetch, ListOffsets and OffsetForLeaderEpoch, against a real
broker over raw requests (the Python and C clients here send -1 and never ask)."""

import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker  # noqa: E402
import kafka_wire  # noqa: E402
from kafka_wire import Client  # noqa: E402

NONE, UNKNOWN_TOPIC_OR_PARTITION = 0, 3
FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH = 74, 75


class LeaderEpochTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()
        c = Client(cls.broker.port)
        try:
            assert c.create_topic("epochs", 2) == 0
            assert c.create_topic("empty", 1) == 0
            for i in range(3):
                err, _ = c.produce("epochs", 0, kafka_wire.record_batch([b"a", b"b"]))
                assert err == 0, err
        finally:
            c.close()

    @classmethod
    def tearDownClass(cls):
        cls.broker.close()

    def setUp(self):
        self.c = Client(self.broker.port)

    def tearDown(self):
        self.c.close()

    def test_api_versions_lists_offset_for_leader_epoch(self):
        r = self.c.api_versions()
        (err, n) = struct.unpack_from(">hi", r, 0)
        self.assertEqual(err, 0)
        keys = {}
        for i in range(n):
            k, lo, hi = struct.unpack_from(">hhh", r, 6 + 6 * i)
            keys[k] = (lo, hi)
        self.assertEqual(keys.get(23), (2, 4))

    def test_the_current_epoch_ends_at_the_log_end(self):
        self.assertEqual(kafka_wire.offset_for_leader_epoch(self.c, "epochs", 0, 0), (NONE, 0, 6))
        # A consumer is never told more than the high watermark; a follower the log end.
        self.assertEqual(kafka_wire.offset_for_leader_epoch(self.c, "epochs", 0, 0, replica=2),
                         (NONE, 0, 6))
        self.assertEqual(kafka_wire.offset_for_leader_epoch(self.c, "epochs", 1, 0), (NONE, 0, 0))
        self.assertEqual(kafka_wire.offset_for_leader_epoch(self.c, "empty", 0, 0), (NONE, 0, 0))

    def test_unknown_epochs_and_partitions(self):
        # An epoch the partition has not reached, and "no epoch": undefined, without an error.
        self.assertEqual(kafka_wire.offset_for_leader_epoch(self.c, "epochs", 0, 7),
                         (NONE, -1, -1))
        self.assertEqual(kafka_wire.offset_for_leader_epoch(self.c, "epochs", 0, -1),
                         (NONE, -1, -1))
        self.assertEqual(kafka_wire.offset_for_leader_epoch(self.c, "epochs", 9, 0),
                         (UNKNOWN_TOPIC_OR_PARTITION, -1, -1))
        self.assertEqual(kafka_wire.offset_for_leader_epoch(self.c, "nope", 0, 0),
                         (UNKNOWN_TOPIC_OR_PARTITION, -1, -1))

    def test_a_newer_current_epoch_than_the_broker_knows_is_unknown(self):
        self.assertEqual(kafka_wire.offset_for_leader_epoch(self.c, "epochs", 0, 0, current=3),
                         (UNKNOWN_LEADER_EPOCH, -1, -1))
        self.assertEqual(kafka_wire.fetch_v9(self.c, "epochs", 0, 0, 3)[0], UNKNOWN_LEADER_EPOCH)
        self.assertEqual(kafka_wire.list_offsets_v4(self.c, "epochs", 0, -1, 3)[0],
                         UNKNOWN_LEADER_EPOCH)

    def test_the_current_epoch_and_none_are_served(self):
        for current in (0, -1):
            self.assertEqual(
                kafka_wire.offset_for_leader_epoch(self.c, "epochs", 0, 0, current=current),
                (NONE, 0, 6))
            self.assertEqual(kafka_wire.fetch_v9(self.c, "epochs", 0, 0, current), (NONE, 6))
            self.assertEqual(kafka_wire.list_offsets_v4(self.c, "epochs", 0, -1, current),
                             (NONE, -1, 6, 0))
        # A timestamp lookup names the epoch too; one past every record finds nothing.
        err, ts, offset, epoch = kafka_wire.list_offsets_v4(self.c, "epochs", 0, 0)
        self.assertEqual((err, offset, epoch), (NONE, 0, 0))
        self.assertEqual(kafka_wire.list_offsets_v4(self.c, "epochs", 0, 1 << 50)[:3],
                         (NONE, -1, -1))


if __name__ == "__main__":
    unittest.main()
