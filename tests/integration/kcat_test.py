#!/usr/bin/python3
"""kcat against a real stromd: metadata listing, produce and consume with keys, headers and
timestamps, and every compression codec passing through byte-identical."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker  # noqa: E402

TIMEOUT = 30


class KcatTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker().start()

    def tearDown(self):
        self.broker.close()

    def kcat(self, *args, stdin=None):
        r = subprocess.run(["kcat", "-b", self.broker.bootstrap, *args], input=stdin,
                           capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_metadata_lists_broker_and_topics(self):
        # dev mode auto-creates topics on first produce
        self.kcat("-P", "-t", "auto", stdin="hello\n")
        out = self.kcat("-L")
        self.assertIn(f"broker 1 at 127.0.0.1:{self.broker.port}", out)
        self.assertIn('topic "auto" with 1 partitions', out)

    def test_keys_headers_timestamps_and_codecs(self):
        for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
            topic = f"t-{codec}"
            lines = "".join(f"key{i}:value-{codec}-{i}\n" for i in range(200))
            self.kcat("-P", "-t", topic, "-K:", "-z", codec, "-H", "h1=v1", "-H", "h2=v2",
                      stdin=lines)
            out = self.kcat("-C", "-t", topic, "-e", "-f", "%k|%s|%h|%o|%T\n")
            rows = [r.split("|") for r in out.strip().split("\n")]
            self.assertEqual(len(rows), 200, codec)
            for i, (k, v, h, o, t) in enumerate(rows):
                self.assertEqual(k, f"key{i}")
                self.assertEqual(v, f"value-{codec}-{i}")
                self.assertEqual(h, "h1=v1,h2=v2")
                self.assertEqual(int(o), i)
                self.assertGreater(int(t), 0)

    def test_explicit_timestamps_and_offsets(self):
        self.kcat("-P", "-t", "ts", "-K:", stdin="a:1\nb:2\nc:3\n")
        out = self.kcat("-C", "-t", "ts", "-o", "1", "-e", "-f", "%o %s\n")
        self.assertEqual(out.strip().split("\n"), ["1 2", "2 3"])
        out = self.kcat("-C", "-t", "ts", "-o", "-1", "-e", "-f", "%o %s\n")
        self.assertEqual(out.strip().split("\n"), ["2 3"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
