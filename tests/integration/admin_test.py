#!/usr/bin/python3
"""The admin HTTP API of a real stromd: Prometheus counters move by what clients did, health
and readiness across a SIGKILL and recovery, run-time log levels, and hostile HTTP."""

import json
import os
import re
import socket
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker  # noqa: E402

from confluent_kafka import Consumer, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TIMEOUT = 30
EXTRA = """metrics:
  per_partition: true
  consumer_lag: true
"""


def http(broker, method, path):
    req = urllib.request.Request(f"http://127.0.0.1:{broker.admin_port}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scrape(broker):
    status, text = http(broker, "GET", "/metrics")
    assert status == 200, status
    values = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, value = line.rsplit(" ", 1)
        values[name] = float(value)
    return values


def metric(values, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for key, v in values.items():
        m = re.fullmatch(r"([a-z_:]+)(?:\{(.*)\})?", key)
        if m.group(1) != name:
            continue
        got = ",".join(sorted((m.group(2) or "").split(","))) if m.group(2) else ""
        if got == want:
            return v
    return None


def raw(broker, data, timeout=15):
    """Sends raw bytes and returns everything the server answers before it closes."""
    s = socket.create_connection(("127.0.0.1", broker.admin_port), timeout=timeout)
    s.sendall(data)
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        out += chunk
    s.close()
    return out


class AdminTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="strom-admin-")
        self.broker = Broker(workdir=self.tmp.name, extra=EXTRA)
        self.broker.start()

    def tearDown(self):
        self.broker.stop()
        self.tmp.cleanup()

    def test_counters_move_by_what_the_clients_did(self):
        b = self.broker
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        admin.create_topics([NewTopic("metered", 1, 1)])["metered"].result(TIMEOUT)
        before = scrape(b)
        p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 0})
        for i in range(40):
            p.produce("metered", value=b"x" * 100, partition=0)
            p.flush(TIMEOUT)  # one batch per message
        after = scrape(b)
        self.assertEqual(metric(after, "strom_kafka_records_in_total", topic="metered"), 40)
        # Each batch: a 61-byte header and one record of 109 bytes (2-byte length, attributes,
        # timestamp and offset deltas, null key, 2-byte value length, 100 bytes, no headers).
        self.assertEqual(metric(after, "strom_kafka_bytes_in_total", topic="metered"), 40 * 170)
        self.assertGreaterEqual(metric(after, "strom_kafka_requests_total", api="Produce") -
                                (metric(before, "strom_kafka_requests_total", api="Produce") or 0), 40)
        self.assertGreater(metric(after, "strom_storage_flush_latency_seconds_count"),
                           metric(before, "strom_storage_flush_latency_seconds_count") or 0)
        self.assertEqual(metric(after, "strom_log_end_offset", topic="metered", partition="0"), 40)

        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "metered-group",
                      "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        c.subscribe(["metered"])
        got, deadline = 0, time.time() + TIMEOUT
        while got < 40 and time.time() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                got += 1
                if got == 40:
                    c.commit(message=m, asynchronous=False)
        self.assertEqual(got, 40)
        live = scrape(b)
        self.assertEqual(metric(live, "strom_group_members", group="metered-group"), 1)
        self.assertEqual(metric(live, "strom_group_lag", group="metered-group"), 0)
        self.assertGreaterEqual(metric(live, "strom_kafka_records_out_total", topic="metered"), 40)
        self.assertGreaterEqual(metric(live, "strom_group_rebalances_total"), 1)
        self.assertGreaterEqual(metric(live, "strom_active_connections"), 1)
        c.close()
        for i in range(5):
            p.produce("metered", value=b"y", partition=0)
        p.flush(TIMEOUT)
        idle = scrape(b)
        self.assertEqual(metric(idle, "strom_group_members", group="metered-group"), 0)
        self.assertEqual(metric(idle, "strom_group_lag", group="metered-group"), 5)
        self.assertEqual(metric(idle, "strom_group_partition_lag", group="metered-group",
                                topic="metered", partition="0"), 5)
        self.assertEqual(metric(idle, "strom_build_info", version="0.1.0"), 1)

    def test_health_and_readiness_across_a_crash(self):
        b = self.broker
        self.assertEqual(http(b, "GET", "/v1/status/live")[0], 200)
        self.assertEqual(http(b, "GET", "/v1/status/ready")[0], 200)
        p = Producer({"bootstrap.servers": b.bootstrap})
        for i in range(100):
            p.produce("crashy", value=b"v")
        p.flush(TIMEOUT)
        b.stop(sig=9)
        b.start()
        status, body = http(b, "GET", "/v1/status/ready")
        self.assertEqual(status, 200, body)
        status, body = http(b, "GET", "/v1/cluster/health")
        health = json.loads(body)
        self.assertTrue(health["is_healthy"])
        self.assertEqual(health["leaderless_partitions"], [])
        self.assertEqual(health["nodes"][0]["node_id"], 1)
        self.assertEqual(metric(scrape(b), "strom_log_end_offset", topic="crashy", partition="0"),
                         100)
        cfg = json.loads(http(b, "GET", "/v1/config")[1])
        self.assertEqual(cfg["node.id"], "1")
        self.assertEqual(cfg["metrics.per_partition"], "true")

    def test_log_level_changes_at_run_time_and_expires(self):
        b = self.broker
        mark = os.path.getsize(b.err_path)
        status, body = http(b, "PUT", "/v1/log-level/net?level=debug&expires=2")
        self.assertEqual(status, 200, body)
        socket.create_connection(("127.0.0.1", b.port)).close()
        b.wait_for(r"\[net/\d+\] connection \d+ from", since=mark)
        time.sleep(3)
        b.wait_for(r"log level of net back to info", since=mark)
        mark = os.path.getsize(b.err_path)
        socket.create_connection(("127.0.0.1", b.port)).close()
        time.sleep(0.5)
        with open(b.err_path) as f:
            f.seek(mark)
            self.assertNotRegex(f.read(), r"\[net/\d+\] connection \d+ from")
        self.assertEqual(http(b, "PUT", "/v1/log-level/nope?level=debug")[0], 404)
        self.assertEqual(http(b, "PUT", "/v1/log-level/net?level=loud")[0], 400)
        self.assertEqual(http(b, "GET", "/v1/log-level/net")[0], 405)

    def test_leadership_transfer_answers_what_it_cannot_do(self):
        """The transfer endpoint on a single broker: a partition of one replica has nobody to
        hand over to (400), an unknown one is 404, malformed requests are 400/405."""
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
        admin.create_topics([NewTopic("moving", 1, 1)])["moving"].result(timeout=TIMEOUT)
        path = "/v1/partitions/kafka/moving/{}/transfer_leadership"
        b = self.broker
        status, body = http(b, "POST", path.format(0))
        self.assertEqual(status, 400, body)
        self.assertIn("not a replicated partition", body)
        self.assertEqual(http(b, "POST", path.format(7))[0], 404)
        self.assertEqual(http(b, "POST", path.format("x"))[0], 400)
        self.assertEqual(http(b, "POST", path.format(0) + "?target=one")[0], 400)
        self.assertEqual(http(b, "GET", path.format(0))[0], 405)

    def test_hostile_http_gets_an_error_and_a_closed_connection(self):
        b = self.broker
        self.assertIn(b" 400 ", raw(b, b"GARBAGE\r\n\r\n").split(b"\r\n")[0] + b" ")
        huge = b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
        self.assertIn(b"431", raw(b, huge).split(b"\r\n")[0])
        self.assertEqual(http(b, "GET", "/nope")[0], 404)
        # A client that stops half-way through its headers is dropped after the I/O timeout.
        started = time.time()
        self.assertEqual(raw(b, b"GET /metrics HTTP/1.1\r\nHost: x\r\n", timeout=30), b"")
        self.assertLess(time.time() - started, 29)
        # The listener still serves.
        self.assertEqual(http(b, "GET", "/v1/status/live")[0], 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
