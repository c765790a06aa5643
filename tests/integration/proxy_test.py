#!/usr/bin/python3
"""Through a frame-aware proxy: a librdkafka idempotent producer whose Produce response is lost
retries and leaves no duplicate; batches of every codec are stored and served byte for byte
as the producer sent them (only baseOffset and partitionLeaderEpoch rewritten)."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker, free_port  # noqa: E402
from kafka_wire import Client  # noqa: E402
from proxy import Proxy  # noqa: E402

TIMEOUT = 30


class ProxyTest(unittest.TestCase):
    def setUp(self):
        port = free_port()
        self.broker = Broker(advertise_port=port).start()
        self.proxy = Proxy(self.broker.port, port=port)

    def tearDown(self):
        self.proxy.close()
        self.broker.close()

    def direct(self):
        return Client(self.broker.port)

    def test_lost_produce_response_is_retried_without_duplicates(self):
        from confluent_kafka import Producer
        c = self.direct()
        self.assertEqual(c.create_topic("retry", 1), 0)
        self.proxy.drop_produce_responses = 1
        p = Producer({"bootstrap.servers": f"127.0.0.1:{self.proxy.port}",
                      "enable.idempotence": True, "acks": "all", "linger.ms": 50,
                      "retry.backoff.ms": 50})
        delivered, errors = [], []

        def report(err, msg):
            (errors if err else delivered).append(err or msg.offset())

        for i in range(100):
            p.produce("retry", value=b"v%d" % i, partition=0, on_delivery=report)
        self.assertEqual(p.flush(TIMEOUT), 0)
        self.assertEqual(errors, [])
        self.assertEqual(self.proxy.dropped, 1, "the proxy should have swallowed a response")
        self.assertEqual(sorted(delivered), list(range(100)))
        err, hw, _ = c.fetch("retry", 0, 0)
        self.assertEqual((err, hw), (0, 100), "the retried batch must not be stored twice")
        c.close()

    def test_every_codec_is_stored_byte_for_byte(self):
        c = self.direct()
        for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
            topic = f"bytes-{codec}"
            self.assertEqual(c.create_topic(topic, 1), 0)
            lines = "".join(f"key{i}:value {codec} {i} " + "x" * 200 + "\n"
                            for i in range(300))
            r = subprocess.run(["kcat", "-b", f"127.0.0.1:{self.proxy.port}", "-P", "-t", topic,
                                "-K:", "-z", codec, "-X", "linger.ms=20"], input=lines,
                               capture_output=True, text=True, timeout=TIMEOUT)
            self.assertEqual(r.returncode, 0, r.stderr)
            sent = [b for t, _, b in self.proxy.produced_batches() if t == topic]
            self.assertTrue(sent)
            err, hw, stored = c.fetch(topic, 0, 0)
            self.assertEqual((err, hw), (0, 300))
            pos = 0
            for batch in sent:
                got = stored[pos:pos + len(batch)]
                self.assertEqual(len(got), len(batch), codec)
                # baseOffset (bytes 0-7) and partitionLeaderEpoch (12-15) are the broker's
                self.assertEqual(got[8:12], batch[8:12], codec)
                self.assertEqual(got[16:], batch[16:], f"{codec}: stored bytes differ")
                attributes = int.from_bytes(batch[21:23], "big")
                # (librdkafka 2.0.2 compresses lz4 only when FindCoordinator is advertised.)
                if codec != "none":
                    self.assertNotEqual(attributes & 7, 0, f"{codec}: batch not compressed")
                pos += len(batch)
            self.assertEqual(pos, len(stored))
        c.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
