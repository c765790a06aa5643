"""Helpers for the storage hardening tests: a canary client that produces and consumes on its
own connection while a test runs, the broker's open descriptors and resident memory, and raw
encoders for the admin requests whose error messages the tests check. Standard library only."""

import os
import struct
import threading
import time

from kafka_wire import Client, record_batch, string

NONE = 0
INVALID_CONFIG = 40
TOPIC = 2  # resource type of a topic in (Incremental)AlterConfigs
# AddressSanitizer keeps freed memory in quarantine: resident size says nothing there.
SANITIZED = os.environ.get("STROM_SANITIZED") == "1"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def _nullable_string(r, pos):
    (n,) = struct.unpack_from(">h", r, pos)
    pos += 2
    if n < 0:
        return None, pos
    return r[pos:pos + n].decode(), pos + n


def create_topic(client, name, partitions, configs=()):
    """CreateTopics v2: (error code, error message)."""
    body = struct.pack(">i", 1) + string(name) + struct.pack(">ih", partitions, 1) + \
        struct.pack(">i", 0) + struct.pack(">i", len(configs))
    for k, v in configs:
        body += string(k) + string(v)
    body += struct.pack(">i?", 10000, False)
    client.send(19, 2, body)
    r = client.recv()
    pos = 4 + 4  # throttle, topic count
    (nlen,) = struct.unpack_from(">h", r, pos)
    pos += 2 + nlen
    (err,) = struct.unpack_from(">h", r, pos)
    msg, _ = _nullable_string(r, pos + 2)
    return err, msg


def _alter_response(r):
    pos = 4 + 4  # throttle, response count
    (err,) = struct.unpack_from(">h", r, pos)
    msg, _ = _nullable_string(r, pos + 2)
    return err, msg


def alter_configs(client, topic, configs):
    """AlterConfigs v0 of one topic (the whole set): (error code, error message)."""
    body = struct.pack(">i", 1) + struct.pack(">b", TOPIC) + string(topic) + \
        struct.pack(">i", len(configs))
    for k, v in configs:
        body += string(k) + string(v)
    body += struct.pack(">?", False)
    client.send(33, 0, body)
    return _alter_response(client.recv())


def incremental_alter_configs(client, topic, configs):
    """IncrementalAlterConfigs v0, SET of each (name, value): (error code, error message)."""
    body = struct.pack(">i", 1) + struct.pack(">b", TOPIC) + string(topic) + \
        struct.pack(">i", len(configs))
    for k, v in configs:
        body += string(k) + struct.pack(">b", 0) + string(v)
    body += struct.pack(">?", False)
    client.send(44, 0, body)
    return _alter_response(client.recv())


class Canary:
    """Produces one record and fetches it back on its own connection every `period` seconds
    while the test runs; check() says whether every round succeeded (and that there were
    rounds at all)."""

    def __init__(self, port, topic="canary", period=0.05):
        self.port = port
        self.topic = topic
        self.period = period
        self.rounds = 0
        self.failures = []
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        c = Client(self.port)
        err, _ = create_topic(c, self.topic, 1)
        assert err == NONE, f"canary topic: error {err}"
        c.close()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        c = Client(self.port, timeout=30)
        expected = 0
        try:
            while not self._stop.is_set():
                # Stamped now: retention (7 days) must not delete the canary's own records.
                batch = record_batch([b"canary-%d" % expected], ts=int(time.time() * 1000))
                r = c.produce(self.topic, 0, batch)
                if r != (NONE, expected):
                    self.failures.append(f"produce {expected}: {r}")
                    return
                f = c.fetch(self.topic, 0, expected)
                if f is None or f[0] != NONE or f[1] != expected + 1 or \
                        (b"canary-%d" % expected) not in f[2]:
                    self.failures.append(f"fetch {expected}: {f and f[:2]}")
                    return
                expected += 1
                self.rounds += 1
                self._stop.wait(self.period)
        except OSError as e:
            self.failures.append(f"connection: {e}")
        finally:
            c.close()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def check(self, testcase, min_rounds=3):
        # A fast test may end before the canary got going: let it make a few rounds first.
        deadline = time.time() + 10
        while self.rounds < min_rounds and not self.failures and time.time() < deadline:
            time.sleep(0.02)
        self.stop()
        testcase.assertEqual(self.failures, [], "the canary client was not served")
        testcase.assertGreaterEqual(self.rounds, min_rounds, "the canary hardly ran")


def wait_until(cond, timeout=30, what="condition"):
    """Polls `cond` (bounded) until it holds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
