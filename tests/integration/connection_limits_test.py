#!/usr/bin/python3
"""Connections and descriptors: a broker out of descriptors backs off instead of spinning and
flooding its log, serves the clients it has, and resumes when connections close; connection
limits per listener and per client address close the excess at once. Floods come from
127.0.0.2, the canary from 127.0.0.1 (both loopback)."""

import os
import select
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker  # noqa: E402
from kafka_wire import Client, record_batch  # noqa: E402

NONE = 0
FLOOD_SOURCE = "127.0.0.2"
# A sanitizer's runtime itself needs descriptors (UBSan checks a pointer's memory through a
# pipe) and reports false errors once they run out: exhaustion is tested in regular builds.
SANITIZED = os.environ.get("STROM_SANITIZED") == "1"


class Canary:
    def __init__(self, port, topic):
        self.client = Client(port)
        self.topic = topic
        assert self.client.create_topic(topic, 1) == NONE
        self.stored = 0

    def check(self, test):
        err, base = self.client.produce(self.topic, 0, record_batch([b"alive"]))
        test.assertEqual((err, base), (NONE, self.stored))
        self.stored += 1
        err, hw, records = self.client.fetch(self.topic, 0, self.stored - 1)
        test.assertEqual((err, hw), (NONE, self.stored))
        test.assertIn(b"alive", records)


def open_flood(port, n, source=FLOOD_SOURCE):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(10)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        socks.append(s)
    return socks


def closed_by_peer(socks, expected, timeout=10):
    """The sockets the broker closed: waits until `expected` are, or `timeout`, then a little
    more to catch any beyond."""
    closed = set()
    deadline = time.time() + timeout
    settle = None
    while time.time() < (settle or deadline):
        readable, _, _ = select.select([s for s in socks if s not in closed], [], [], 0.1)
        for s in readable:
            try:
                if s.recv(1) == b"":
                    closed.add(s)
            except ConnectionResetError:
                closed.add(s)
        if settle is None and len(closed) >= expected:
            settle = time.time() + 0.5
    return closed


class DescriptorExhaustionTest(unittest.TestCase):
    @unittest.skipIf(SANITIZED, "the sanitizer runtime cannot run without descriptors")
    def test_600_connections_with_400_descriptors(self):
        b = Broker(shards=2, nofile=400)
        try:
            b.start()
            canary = Canary(b.port, "canary")
            canary.check(self)
            log_before = len(b.output().splitlines())
            flood = open_flood(b.port, 600)  # accepted by the kernel; stromd runs out of fds
            try:
                cpu_before = b.cpu_seconds()
                deadline = time.time() + 3
                while time.time() < deadline:
                    canary.check(self)  # the clients it has are still served
                    time.sleep(0.1)
                cpu = b.cpu_seconds() - cpu_before
                self.assertLess(cpu, 1.5, f"stromd used {cpu:.1f} s of CPU in 3 s: spinning")
                lines = b.output().splitlines()[log_before:]
                self.assertLess(len(lines), 60, "the log is flooded:\n" + "\n".join(lines[:20]))
                self.assertTrue(any("Too many open files" in line for line in lines),
                                "the test did not exhaust descriptors")
                self.assertIsNone(b.proc.poll(), "stromd died")
            finally:
                for s in flood:
                    s.close()
            # Service resumes: new connections are accepted and served.
            deadline = time.time() + 20
            while True:
                try:
                    c = Client(b.port, timeout=5)
                    self.assertIsNotNone(c.api_versions())
                    c.close()
                    break
                except (OSError, AssertionError):
                    if time.time() > deadline:
                        raise
                    time.sleep(0.2)
            canary.check(self)
            # No data directory went offline: a new topic can be created and written.
            c = Client(b.port)
            self.assertEqual(c.create_topic("after", 1), NONE)
            self.assertEqual(c.produce("after", 0, record_batch([b"x"]))[0], NONE)
            c.close()
            canary.client.close()
        finally:
            b.close()


class ConnectionLimitTest(unittest.TestCase):
    def test_per_address_and_total_limits(self):
        b = Broker(shards=2, extra="  max_connections: 40\n  max_connections_per_ip: 20\n")
        try:
            b.start()
            canary = Canary(b.port, "canary")
            flood = open_flood(b.port, 30)
            try:
                refused = closed_by_peer(flood, 10)
                self.assertEqual(len(refused), 10, "20 connections from one address at most")
                canary.check(self)
                # Another address still gets in, up to the total of 40 (canary included).
                others = open_flood(b.port, 25, source="127.0.0.3")
                try:
                    refused = closed_by_peer(others, 6)
                    self.assertEqual(len(refused), 6)
                finally:
                    for s in others:
                        s.close()
                canary.check(self)
            finally:
                for s in flood:
                    s.close()
            # Closed connections free their places.
            deadline = time.time() + 20
            while True:
                again = open_flood(b.port, 20)
                ok = not closed_by_peer(again, 1, timeout=0.5)
                for s in again:
                    s.close()
                if ok:
                    break
                self.assertLess(time.time(), deadline, "places were not given back")
                time.sleep(0.2)
            canary.check(self)
            self.assertIsNone(b.proc.poll())
            canary.client.close()
        finally:
            b.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
