#!/usr/bin/python3
"""strom-bench (bench/load) against a real stromd at a low rate: every acknowledged message is
consumed in e2e mode (--check), a consume run reads back exactly what a produce run wrote, and
a workload file runs with command-line overrides. Consumers use assign(), and once as one
consumer group. No timing is asserted."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker  # noqa: E402

STROM_BENCH = os.environ.get("STROM_BENCH", "")
SOURCE_DIR = os.environ.get("STROM_SOURCE_DIR", "")
TIMEOUT = 120


class StromBenchTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker().start()
        self.tmp = tempfile.TemporaryDirectory(prefix="strom-bench-it-")

    def tearDown(self):
        self.broker.close()
        self.tmp.cleanup()

    def bench(self, *args, expect_rc=0):
        out = os.path.join(self.tmp.name, "summary.json")
        r = subprocess.run([STROM_BENCH, "-b", self.broker.bootstrap, "--json", out, *args],
                           capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, expect_rc, r.stdout + r.stderr)
        with open(out) as f:
            return json.load(f), r.stdout

    def test_e2e_consumes_every_acknowledged_message(self):
        summary, out = self.bench("e2e", "-t", "e2e", "--create-topic", "-p", "4", "-P", "2",
                                  "-C", "2", "-s", "200", "-r", "1000", "-d", "2",
                                  "--warmup", "1", "-a", "all", "--keys", "random", "--check",
                                  "-X", "socket.nagle.disable=true", "-X", "client.rack=r1")
        self.assertEqual(summary["check"]["result"], "ok", out)
        self.assertEqual(summary["check"]["missing"], 0)
        self.assertEqual(summary["produce"]["errors"], 0)
        self.assertGreater(summary["produce"]["msgs"], 0)
        self.assertGreaterEqual(summary["e2e"]["msgs"], summary["produce"]["msgs"])
        lat = summary["e2e"]["latency_us"]
        self.assertGreater(lat["count"], 0)
        self.assertLessEqual(lat["p50"], lat["p99"])
        self.assertLessEqual(lat["p99"], lat["max"])
        self.assertIn("check: ", out)

    def test_e2e_with_a_consumer_group(self):
        summary, out = self.bench("e2e", "-t", "grouped", "--create-topic", "-p", "4", "-C", "2",
                                  "--group", "-s", "100", "-r", "1000", "-d", "2", "--warmup",
                                  "1", "--check", "-q")
        self.assertEqual(summary["check"]["result"], "ok", out)
        self.assertEqual(summary["check"]["missing"], 0)

    def test_consume_reads_back_what_was_produced(self):
        produced, _ = self.bench("produce", "-t", "pc", "--create-topic", "-p", "3", "-s", "100",
                                 "-r", "2000", "-d", "1", "--warmup", "0", "--keys",
                                 "sequential", "--key-count", "10", "--idempotence", "-a", "all",
                                 "--compression", "lz4", "-q")
        self.assertGreater(produced["produce"]["msgs"], 0)
        self.assertEqual(produced["produce"]["errors"], 0)
        consumed, _ = self.bench("consume", "-t", "pc", "-C", "2", "-d", "60", "--warmup", "0",
                                 "-q")
        self.assertEqual(consumed["consume"]["msgs"], produced["produce"]["msgs"])
        self.assertEqual(consumed["consume"]["errors"], 0)
        r = subprocess.run([STROM_BENCH, "-b", self.broker.bootstrap, "delete", "-t", "pc"],
                           capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")

    def test_workload_file_with_overrides(self):
        workload = os.path.join(SOURCE_DIR, "bench", "workloads",
                                "1-topic-1-partition-1kb-50k-rate.yaml")
        summary, _ = self.bench("--workload", workload, "-r", "500", "-d", "1", "--warmup", "0",
                                "--check", "-q")
        self.assertEqual(summary["mode"], "e2e")
        self.assertEqual(summary["config"]["partitions"], 1)
        self.assertEqual(summary["config"]["rate"], 500)
        self.assertEqual(summary["check"]["result"], "ok")

    def test_bad_workload_key_names_the_line(self):
        bad = os.path.join(self.tmp.name, "bad.yaml")
        with open(bad, "w") as f:
            f.write("mode: e2e\nno-such-option: 1\n")
        r = subprocess.run([STROM_BENCH, "--workload", bad], capture_output=True, text=True,
                           timeout=TIMEOUT)
        self.assertEqual(r.returncode, 2)
        self.assertIn("bad.yaml:2: unknown option 'no-such-option'", r.stderr)


if __name__ == "__main__":
    unittest.main()
