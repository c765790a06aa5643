#!/usr/bin/python3
"""stromd as a process: configuration checks, start and clean stop on signals, recovery after
a SIGKILL of a log writer, and data-directory locking. Uses temporary directories only."""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

STROMD = os.environ["STROMD"]
LOG_WRITER = os.environ["STROM_LOG_WRITER"]
SOURCE_DIR = os.environ["STROM_SOURCE_DIR"]
TIMEOUT = 30


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker import free_port  # noqa: E402


def write_config(tmp, data_dir, extra=""):
    path = os.path.join(tmp, "broker.yaml")
    client, admin = free_port(), free_port()
    while admin == client:  # a port just released may come out again
        admin = free_port()
    with open(path, "w") as f:
        f.write(f"""mode: dev
node:
  id: 1
  data_dirs: ["{data_dir}"]
listeners:
  - name: client
    bind: {{ host: 127.0.0.1, port: {client} }}
admin:
  bind: {{ host: 127.0.0.1, port: {admin} }}
{extra}""")
    return path


class Broker:
    """A running stromd whose stderr is collected; killed on exit if still running."""

    def __init__(self, config):
        self.err_path = config + ".stderr"
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen([STROMD, "--config", config], stdout=subprocess.DEVNULL,
                                     stderr=self.err)

    def output(self):
        with open(self.err_path) as f:
            return f.read()

    def wait_for(self, pattern):
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            if re.search(pattern, self.output()):
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"stromd exited ({self.proc.returncode}):\n{self.output()}")
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {pattern!r}:\n{self.output()}")

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=TIMEOUT)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.err.close()


class StromdTest(unittest.TestCase):
    def setUp(self):
        self.tmp_obj = tempfile.TemporaryDirectory(prefix="strom-it-")
        self.tmp = self.tmp_obj.name
        self.data = os.path.join(self.tmp, "data")
        self.brokers = []

    def tearDown(self):
        for b in self.brokers:
            b.close()
        self.tmp_obj.cleanup()

    def start(self, config):
        b = Broker(config)
        self.brokers.append(b)
        return b

    def test_check_prints_effective_configuration(self):
        r = subprocess.run([STROMD, "--config", os.path.join(SOURCE_DIR, "config/strom.yaml"),
                            "--check"], capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("mode: dev", r.stdout)
        self.assertIn("segment_bytes: 134217728", r.stdout)
        for name in ("config/cluster/node-1", "config/cluster/node-2", "config/cluster/node-3",
                     "config/cluster/node-4",
                     "docker/strom", "docker/cluster/node-1", "docker/cluster/node-2",
                     "docker/cluster/node-3"):
            path = os.path.join(SOURCE_DIR, name + ".yaml")
            r = subprocess.run([STROMD, "--config", path, "--check"], capture_output=True,
                               text=True, timeout=TIMEOUT)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_invalid_configuration_names_file_line_and_key(self):
        cfg = write_config(self.tmp, self.data, "cluster_defaults:\n  log:\n    segmnt_bytes: 5\n")
        r = subprocess.run([STROMD, "--config", cfg], capture_output=True, text=True,
                           timeout=TIMEOUT)
        self.assertEqual(r.returncode, 78)
        self.assertRegex(r.stderr, r"broker\.yaml:12")
        self.assertIn("cluster_defaults.log.segmnt_bytes", r.stderr)
        cfg = write_config(self.tmp, self.data,
                           "cluster_defaults:\n  log:\n    segment_bytes: -5\n")
        r = subprocess.run([STROMD, "--config", cfg], capture_output=True, text=True,
                           timeout=TIMEOUT)
        self.assertEqual(r.returncode, 78)
        self.assertIn("cluster_defaults.log.segment_bytes", r.stderr)
        self.assertFalse(os.path.exists(self.data), "nothing may start on a bad config")

    def test_starts_and_stops_cleanly_on_sigterm_and_sigint(self):
        cfg = write_config(self.tmp, self.data)
        for sig in (signal.SIGTERM, signal.SIGINT):
            b = self.start(cfg)
            b.wait_for(r"stromd started")
            self.assertEqual(b.stop(sig), 0, b.output())
            self.assertIn("stopped cleanly", b.output())
            self.assertTrue(os.path.exists(os.path.join(self.data, ".strom_clean_shutdown")))

    def test_recovers_logs_after_a_killed_writer(self):
        writer = subprocess.Popen([LOG_WRITER, self.data, "3", "30"], stdout=subprocess.PIPE,
                                  text=True)
        flushed = 0
        for line in writer.stdout:
            if line.startswith("flushed "):
                flushed = int(line.split()[1])
                if flushed > 200:
                    break
        writer.kill()
        writer.wait()
        writer.stdout.close()
        self.assertGreater(flushed, 200)

        cfg = write_config(self.tmp, self.data)
        b = self.start(cfg)
        b.wait_for(r"stromd started: 1 partition log")
        self.assertIn("an unclean shutdown", b.output())
        self.assertEqual(b.stop(), 0, b.output())

        b = self.start(cfg)
        b.wait_for(r"stromd started: 1 partition log")
        self.assertIn("a clean shutdown", b.output())
        self.assertEqual(b.stop(), 0, b.output())

    def test_json_logs_and_per_component_levels(self):
        cfg = write_config(self.tmp, self.data,
                           "logging:\n  format: json\n  loggers: { storage: warn }\n")
        b = self.start(cfg)
        b.wait_for(r"stromd started")
        self.assertEqual(b.stop(), 0, b.output())
        records = [json.loads(line) for line in b.output().splitlines() if line.strip()]
        self.assertTrue(records)
        for r in records:
            self.assertEqual(set(r), {"ts_ms", "level", "component", "node", "thread", "msg"})
            self.assertEqual(r["node"], 1, r)  # every line names the node (node.id)
        self.assertTrue(any(r["component"] == "main" and r["level"] == "info" for r in records))
        self.assertFalse(any(r["component"] == "storage" and r["level"] == "info"
                             for r in records), "storage is at warn")
        # The effective configuration is logged as one record with embedded newlines.
        self.assertTrue(any("effective configuration" in r["msg"] and "\n" in r["msg"]
                            for r in records))

    def test_second_broker_on_the_same_data_dir_is_refused(self):
        cfg = write_config(self.tmp, self.data)
        first = self.start(cfg)
        first.wait_for(r"stromd started")
        second = self.start(cfg)
        self.assertEqual(second.proc.wait(timeout=TIMEOUT), 1)
        self.assertIn("in use by another process", second.output())
        self.assertEqual(first.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
