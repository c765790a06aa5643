#!/usr/bin/python3
"""Record-level validation of produced batches (Kafka's LogValidator and DefaultRecord), on raw
sockets: batches with a valid CRC whose records are malformed get the exact error code, nothing is
appended (the log end offset stays where it was), and throughout the broker stays up, its memory
and descriptors bounded, while a canary producer and consumer (librdkafka) on other connections
keep working. Also: kafka-python's offsets_for_times on gzip-compressed data answers the exact
record."""

import os
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker  # noqa: E402
from kafka_wire import (Client, crc32c, list_offsets, produce_v8, raw_batch,  # noqa: E402
                        record, varint)
from storage_helpers import SANITIZED, open_fds, rss_kib  # noqa: E402

from confluent_kafka import (TIMESTAMP_LOG_APPEND_TIME, Consumer, KafkaException,  # noqa: E402
                             Producer, TopicPartition)

NONE, CORRUPT_MESSAGE, INVALID_TIMESTAMP, UNSUPPORTED_COMPRESSION_TYPE, INVALID_RECORD = \
    0, 2, 32, 76, 87
TIMEOUT = 30
BASE_TS = 1_700_000_000_000
def zstd_raw(data):
    """A zstd frame holding `data` (at most 255 bytes) in one raw block: no compressor needed."""
    assert len(data) <= 255
    block = 1 | (len(data) << 3)  # last block, raw, its size
    return struct.pack("<IBB", 0xFD2FB528, 0x20, len(data)) + block.to_bytes(3, "little") + data


def produce_version(client, topic, partition, batch, version):
    """Produce v3..v8 of one batch, acks=-1: (error, base offset)."""
    body = struct.pack(">hhi", -1, -1, 10000) + struct.pack(">i", 1) + \
        struct.pack(">h", len(topic)) + topic.encode() + struct.pack(">ii", 1, partition) + \
        struct.pack(">i", len(batch)) + batch
    client.send(0, version, body)
    r = client.recv()
    pos = 4  # topic count
    (nlen,) = struct.unpack_from(">h", r, pos)
    pos += 2 + nlen + 4  # name, partition count
    _, err, base = struct.unpack_from(">ihq", r, pos)
    return err, base


class RecordValidationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(shards=2).start()
        cls.pid = cls.broker.proc.pid
        c = Client(cls.broker.port)
        assert c.create_topic("plain", 1) == NONE
        assert c.create_topic("compact", 1, configs=[("cleanup.policy", "compact")]) == NONE
        assert c.create_topic("lat", 1,
                              configs=[("message.timestamp.type", "LogAppendTime")]) == NONE
        assert c.create_topic("canary", 1) == NONE
        c.close()
        b = cls.broker.bootstrap
        cls.producer = Producer({"bootstrap.servers": b, "linger.ms": 0})
        cls.consumer = Consumer({"bootstrap.servers": b, "group.id": "canary",
                                 "enable.auto.commit": False})
        cls.consumer.assign([TopicPartition("canary", 0, 0)])
        cls.canary_sent = 0
        cls.canary_seen = 0
        cls.canary()  # connections up before the baselines are taken
        cls.rss_start = rss_kib(cls.pid)
        cls.fds_start = open_fds(cls.pid)

    @classmethod
    def tearDownClass(cls):
        cls.consumer.close()
        cls.broker.close()

    @classmethod
    def canary(cls):
        """One message produced and consumed on the canary's own connections."""
        errors = []
        value = f"canary-{cls.canary_sent}".encode()
        cls.producer.produce("canary", value=value, partition=0,
                             on_delivery=lambda err, _m: errors.append(err) if err else None)
        assert cls.producer.flush(TIMEOUT) == 0, "canary message not delivered"
        assert not errors, errors
        cls.canary_sent += 1
        deadline = time.time() + TIMEOUT
        while cls.canary_seen < cls.canary_sent:
            assert time.time() < deadline, "canary message not consumed"
            m = cls.consumer.poll(0.5)
            if m is None:
                continue
            if m.error():
                raise KafkaException(m.error())
            assert m.value() == f"canary-{cls.canary_seen}".encode(), m.value()
            cls.canary_seen += 1

    def tearDown(self):
        self.assertIsNone(self.broker.proc.poll(), "stromd died")
        type(self).canary()
        if not SANITIZED:
            self.assertLess(rss_kib(self.pid) - self.rss_start, 128 * 1024,
                            "broker memory grew by more than 128 MiB")
        self.assertLess(open_fds(self.pid) - self.fds_start, 16, "descriptors leaked")

    # --- helpers ---------------------------------------------------------------------------

    def log_end(self, topic):
        c = Client(self.broker.port)
        err, _, offset = list_offsets(c, topic, 0, -1)
        c.close()
        self.assertEqual(err, NONE)
        return offset

    def produce(self, topic, batch):
        c = Client(self.broker.port)
        out = produce_v8(c, topic, 0, batch)
        c.close()
        self.assertIsNotNone(out, "the broker closed the connection")
        return out

    def refused(self, batch, code, topic="plain"):
        """Produces `batch`, expects `code`, and that nothing was appended."""
        before = self.log_end(topic)
        err, base, record_errors, message = self.produce(topic, batch)
        self.assertEqual(err, code, message)
        self.assertEqual(base, -1)
        self.assertEqual(self.log_end(topic), before, "a refused batch was appended")
        return record_errors, message

    def accepted(self, batch, topic="plain"):
        before = self.log_end(topic)
        err, base, _, message = self.produce(topic, batch)
        self.assertEqual(err, NONE, message)
        self.assertEqual(base, before)
        return base

    # --- malformed records with a valid CRC ------------------------------------------------

    def test_valid_hand_made_batch_is_accepted(self):
        # The builders below make batches a broker must accept when nothing is wrong.
        recs = record(0, key=b"a", headers=[(b"h", b"1"), (b"g", None)]) + record(1, key=None)
        self.accepted(raw_batch(recs, 2))
        self.accepted(raw_batch(recs, 2, gzip_records=True))

    def test_truncated_record(self):
        self.refused(raw_batch(record(0, length_adjust=3), 1), INVALID_RECORD)
        self.refused(raw_batch(record(0) + record(1)[:-2], 2), INVALID_RECORD)
        self.refused(raw_batch(record(0, length_adjust=-4), 1), INVALID_RECORD)

    def test_offset_deltas_not_zero_to_n_minus_one(self):
        self.refused(raw_batch(record(0) + record(2), 2), INVALID_RECORD)
        self.refused(raw_batch(record(1) + record(0), 2), INVALID_RECORD)
        self.refused(raw_batch(record(0) + record(0), 2), INVALID_RECORD)
        self.refused(raw_batch(record(7), 1), INVALID_RECORD)

    def test_header_count_too_large_negative_or_null_key(self):
        self.refused(raw_batch(record(0, header_count=1000), 1), INVALID_RECORD)
        self.refused(raw_batch(record(0, header_count=0x7FFFFFFF), 1), INVALID_RECORD)
        self.refused(raw_batch(record(0, header_count=-1), 1), INVALID_RECORD)
        self.refused(raw_batch(record(0, headers=[(None, b"v")]), 1), INVALID_RECORD)

    def test_key_and_value_lengths(self):
        # A key length of -2 and one beyond the record, written by hand.
        for key_len in (-2, 1000):
            body = bytes([0]) + varint(0) + varint(0) + varint(key_len) + b"k" + varint(-1) + \
                varint(0)
            self.refused(raw_batch(varint(len(body)) + body, 1), INVALID_RECORD)

    def test_bytes_left_over_and_missing_records(self):
        self.refused(raw_batch(record(0) + b"\x00", 1), INVALID_RECORD)
        self.refused(raw_batch(record(0) + record(1), 1), INVALID_RECORD)
        self.refused(raw_batch(record(0) + record(1), 3), INVALID_RECORD)

    def test_overlong_varint(self):
        self.refused(raw_batch(b"\x80\x80\x80\x80\x80\x00" + record(0), 1), INVALID_RECORD)

    # --- compressed batches ------------------------------------------------------------------

    def test_gzip_batch_hiding_a_bad_record(self):
        self.refused(raw_batch(record(0) + record(5), 2, gzip_records=True), INVALID_RECORD)
        self.refused(raw_batch(record(0, header_count=50), 1, gzip_records=True),
                     INVALID_RECORD)
        self.refused(raw_batch(record(0) + b"\x00\x00", 1, gzip_records=True), INVALID_RECORD)

    def test_corrupt_compressed_stream(self):
        self.refused(raw_batch(b"\x1f\x8b" + b"\x5a" * 64, 1, attributes=1), CORRUPT_MESSAGE)

    def test_compression_bomb(self):
        # 256 MiB of zeros behind one record, about 250 KiB compressed: refused once the
        # decompressed size passes the limit, without holding the whole of it.
        import zlib
        zeros = zlib.compressobj(9, zlib.DEFLATED, 31)
        chunk = b"\x00" * (1 << 20)
        body = b"".join(zeros.compress(chunk) for _ in range(256)) + zeros.flush()
        self.assertLess(len(body), 1 << 20)
        after_crc = struct.pack(">hiqqqhii", 1, 0, BASE_TS, BASE_TS, -1, -1, -1, 1) + body
        head = struct.pack(">iBI", -1, 2, crc32c(after_crc))
        bomb = struct.pack(">qi", 0, len(head) + len(after_crc)) + head + after_crc
        started = time.time()
        self.refused(bomb, INVALID_RECORD)
        self.assertLess(time.time() - started, 20)

    def test_zstd_needs_produce_v7(self):
        recs = record(0, key=b"z", value=b"zstd")
        batch = raw_batch(zstd_raw(recs), 1, attributes=4)
        before = self.log_end("plain")
        for version in (3, 5, 6):
            c = Client(self.broker.port)
            err, base = produce_version(c, "plain", 0, batch, version)
            c.close()
            self.assertEqual((err, base), (UNSUPPORTED_COMPRESSION_TYPE, -1), version)
        self.assertEqual(self.log_end("plain"), before, "a refused batch was appended")
        self.assertEqual(self.accepted(batch), before)  # v8: a valid zstd batch is stored

    # --- compacted topics ----------------------------------------------------------------------

    def test_compacted_topic_refuses_a_forged_offset_delta(self):
        first = self.accepted(raw_batch(record(0, key=b"a", value=b"1"), 1), topic="compact")
        # One record claiming to sit a million offsets later: it would make compaction treat
        # it as the newest value of "a" and drop every later value of "a".
        self.refused(raw_batch(record(1_000_000, key=b"a", value=b"forged"), 1), INVALID_RECORD,
                     topic="compact")
        self.refused(raw_batch(record(0, key=b"b") + record(5, key=b"a"), 2), INVALID_RECORD,
                     topic="compact")
        self.assertEqual(self.accepted(raw_batch(record(0, key=b"a", value=b"2"), 1),
                                       topic="compact"), first + 1)

    def test_compacted_topic_lists_keyless_records(self):
        recs = record(0, key=b"a") + record(1, key=None) + record(2, key=None)
        record_errors, message = self.refused(raw_batch(recs, 3), INVALID_RECORD, topic="compact")
        self.assertEqual([i for i, _ in record_errors], [1, 2])
        self.assertIn("without key", record_errors[0][1])
        self.assertIsNotNone(message)

    # --- timestamps ------------------------------------------------------------------------------

    def test_log_append_time_set_by_the_producer(self):
        recs = record(0) + record(1)
        record_errors, _ = self.refused(raw_batch(recs, 2, attributes=0x08), INVALID_TIMESTAMP,
                                        topic="lat")
        self.assertEqual([i for i, _ in record_errors], [0, 1])

    def test_log_append_time_topic_stamps_the_time_with_a_valid_crc(self):
        before = int(time.time() * 1000)
        base = self.accepted(raw_batch(record(0) + record(1, ts_delta=5), 2), topic="lat")
        after = int(time.time() * 1000)
        c = Client(self.broker.port)
        err, _, data = c.fetch("lat", 0, base)
        c.close()
        self.assertEqual(err, NONE)
        (length,) = struct.unpack_from(">i", data, 8)
        (stored_crc,) = struct.unpack_from(">I", data, 17)
        (attributes,) = struct.unpack_from(">h", data, 21)
        (max_ts,) = struct.unpack_from(">q", data, 35)
        self.assertEqual(stored_crc, crc32c(data[21:12 + length]))
        self.assertTrue(attributes & 0x08)
        self.assertTrue(before <= max_ts <= after, (before, max_ts, after))
        # librdkafka checks the CRC and reads the append time as every record's timestamp.
        consumer = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "lat",
                             "check.crcs": True, "enable.auto.commit": False})
        consumer.assign([TopicPartition("lat", 0, base)])
        got = []
        deadline = time.time() + TIMEOUT
        while len(got) < 2 and time.time() < deadline:
            m = consumer.poll(0.5)
            if m is None:
                continue
            if m.error():
                raise KafkaException(m.error())
            got.append(m.timestamp())
        consumer.close()
        self.assertEqual(got, [(TIMESTAMP_LOG_APPEND_TIME, max_ts)] * 2)

    def test_max_timestamp_is_rewritten_to_the_records_maximum(self):
        recs = record(0, ts_delta=0) + record(1, ts_delta=25)
        base = self.accepted(raw_batch(recs, 2, max_ts=BASE_TS + 10**9))
        c = Client(self.broker.port)
        err, _, data = c.fetch("plain", 0, base)
        c.close()
        self.assertEqual(err, NONE)
        # The first batch fetched is ours (fetch starts at its base offset).
        (first_offset,) = struct.unpack_from(">q", data, 0)
        self.assertEqual(first_offset, base)
        (max_ts,) = struct.unpack_from(">q", data, 35)
        self.assertEqual(max_ts, BASE_TS + 25)


class OffsetsForTimesTest(unittest.TestCase):
    """kafka-python's offsets_for_times on gzip-produced data."""

    def test_offsets_for_times_inside_gzip_batches(self):
        from kafka import KafkaConsumer, KafkaProducer
        from kafka import TopicPartition as KTopicPartition
        broker = Broker().start()
        try:
            c = Client(broker.port)
            self.assertEqual(c.create_topic("times", 1), NONE)
            c.close()
            producer = KafkaProducer(bootstrap_servers=broker.bootstrap, compression_type="gzip",
                                     linger_ms=500, batch_size=1 << 20)
            t0 = int(time.time() * 1000) - 60_000
            futures = [producer.send("times", value=f"m{i}".encode(), partition=0,
                                     timestamp_ms=t0 + 10 * i) for i in range(50)]
            producer.flush(TIMEOUT)
            offsets = [f.get(timeout=TIMEOUT).offset for f in futures]
            producer.close(TIMEOUT)
            self.assertEqual(offsets, list(range(50)))
            # The messages went out in few gzip batches, so most answers are inside one.
            raw = Client(broker.port)
            err, _, data = raw.fetch("times", 0, 0)
            raw.close()
            self.assertEqual(err, NONE)
            (attributes,) = struct.unpack_from(">h", data, 21)
            self.assertEqual(attributes & 7, 1, "the first batch is not gzip")
            (count,) = struct.unpack_from(">i", data, 57)
            self.assertGreater(count, 1)

            consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap,
                                     enable_auto_commit=False)
            tp = KTopicPartition("times", 0)
            for asked, want in [(t0 + 55, 6), (t0 + 10, 1), (t0 + 491, 50), (t0 - 5, 0),
                                (t0 + 200, 20)]:
                found = consumer.offsets_for_times({tp: asked})[tp]
                if want == 50:
                    self.assertIsNone(found)
                    continue
                self.assertIsNotNone(found, asked)
                self.assertEqual(found.offset, want, asked)
                self.assertEqual(found.timestamp, t0 + 10 * want)
                # The record at that offset carries a timestamp at or after the one asked.
                consumer.assign([tp])
                consumer.seek(tp, found.offset)
                got = []
                deadline = time.time() + TIMEOUT
                while not got and time.time() < deadline:
                    for msgs in consumer.poll(timeout_ms=500).values():
                        got.extend(msgs)
                self.assertTrue(got)
                self.assertEqual(got[0].offset, want)
                self.assertGreaterEqual(got[0].timestamp, asked)
            consumer.close()
        finally:
            broker.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
