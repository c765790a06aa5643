#!/usr/bin/python3
"""Client quotas on a real stromd: AlterClientQuotas and DescribeClientQuotas (filters, strict,
refusals), and producer_byte_rate and consumer_byte_rate enforced: a client over its quota gets
throttle_time_ms and its response held back, another client is not slowed, a removed quota no
longer applies. Byte rates are not asserted from elapsed times: throttle_time_ms says the quota
acted. request_percentage: a client sending many cheap requests under a small quota is
throttled and slowed down, one of another client id is not, and a consumer waiting in long
polls under the same quota is not throttled (waiting is not request time)."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import kafka_wire  # noqa: E402
from broker import Broker  # noqa: E402

TIMEOUT = 60
RATE = 25000.0  # bytes per second
CLIENT = [("client-id", "slow")]


class QuotaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.close()

    def client(self, client_id="strom-test"):
        c = kafka_wire.Client(self.broker.port, timeout=TIMEOUT)
        c.client_id = client_id
        return c

    def test_quotas_are_altered_described_and_refused(self):
        c = self.client()
        try:
            res = kafka_wire.alter_client_quotas(c, [
                ([("user", "alice"), ("client-id", None)], [("producer_byte_rate", 1e6, False)]),
                ([("user", None)], [("consumer_byte_rate", 2e6, False)]),
                ([("user", "bob")], [("request_percentage", 12.5, False)]),
                ([("user", "bob")], [("producer_byte_rate", -1.0, False)]),
                ([("group", "g")], [("producer_byte_rate", 1.0, False)]),
                ([("user", "carol")], [("request_percentage", 0.0, False)]),
                ([("user", "carol")], [("controller_mutation_rate", 1.0, False)]),
            ])
            self.assertEqual([e for e, _ in res], [0, 0, 0, 42, 42, 42, 42])
            _, _, everything = kafka_wire.describe_client_quotas(c, [])
            self.assertEqual(everything[(("user", "alice"), ("client-id", None))],
                             {"producer_byte_rate": 1e6})
            self.assertEqual(everything[(("user", None),)], {"consumer_byte_rate": 2e6})
            self.assertEqual(everything[(("user", "bob"),)], {"request_percentage": 12.5})
            self.assertNotIn((("user", "carol"),), everything)
            # user=alice exactly; strict leaves out entities with other parts.
            _, _, alice = kafka_wire.describe_client_quotas(c, [("user", 0, "alice")])
            self.assertEqual(list(alice), [(("user", "alice"), ("client-id", None))])
            _, _, strict = kafka_wire.describe_client_quotas(c, [("user", 0, "alice")], True)
            self.assertEqual(strict, {})
            _, _, defaults = kafka_wire.describe_client_quotas(c, [("user", 1, None)], True)
            self.assertEqual(list(defaults), [(("user", None),)])
            err, _, _ = kafka_wire.describe_client_quotas(c, [("user", 0, None)])
            self.assertEqual(err, 42)
            # Removed again.
            res = kafka_wire.alter_client_quotas(c, [
                ([("user", "alice"), ("client-id", None)], [("producer_byte_rate", 0, True)]),
                ([("user", None)], [("consumer_byte_rate", 0, True)]),
                ([("user", "bob")], [("request_percentage", 0, True)])])
            self.assertEqual([e for e, _ in res], [0, 0, 0])
            self.assertEqual(kafka_wire.describe_client_quotas(c, [])[2], {})
        finally:
            c.close()

    def test_byte_rates_throttle_the_client_over_its_quota(self):
        admin = self.client()
        self.assertEqual(admin.create_topic("q", 1), 0)
        res = kafka_wire.alter_client_quotas(admin, [
            (CLIENT, [("producer_byte_rate", RATE, False), ("consumer_byte_rate", RATE, False)])])
        self.assertEqual(res, [(0, None)])
        # 300 KB at once: twelve seconds of a 25 KB/s quota, more than its window holds.
        batch = kafka_wire.record_batch([b"x" * 1000] * 300)
        slow, fast = self.client("slow"), self.client("fast")
        try:
            err, throttle = kafka_wire.produce_throttle(slow, "q", 0, batch)
            self.assertEqual(err, 0)
            self.assertGreater(throttle, 0)
            err, throttle = kafka_wire.produce_throttle(fast, "q", 0, batch)
            self.assertEqual((err, throttle), (0, 0))
            throttle, size = kafka_wire.fetch_throttle(slow, "q", 0, 0)
            self.assertGreater(size, 300000)
            self.assertGreater(throttle, 0)
            self.assertEqual(kafka_wire.fetch_throttle(fast, "q", 0, 0)[0], 0)
            # Without the quota the same client goes unthrottled.
            res = kafka_wire.alter_client_quotas(admin, [
                (CLIENT, [("producer_byte_rate", 0, True), ("consumer_byte_rate", 0, True)])])
            self.assertEqual(res, [(0, None)])
            self.assertEqual(kafka_wire.produce_throttle(slow, "q", 0, batch), (0, 0))
        finally:
            slow.close()
            fast.close()
            admin.close()

    def rate(self, client, seconds):
        """Metadata requests one after another for `seconds`: (requests per second, the
        throttle_time_ms of each)."""
        throttles = []
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            throttles.append(kafka_wire.metadata_throttle(client))
        return len(throttles) / (time.monotonic() - started), throttles

    def test_request_percentage_throttles_busy_clients_and_not_waiting_ones(self):
        admin = self.client()
        self.assertEqual(admin.create_topic("idle", 1), 0)
        # 1 percent of a thread: 10 ms of run time a second, for each of these client ids.
        res = kafka_wire.alter_client_quotas(admin, [
            ([("client-id", "busy")], [("request_percentage", 1.0, False)]),
            ([("client-id", "poller")], [("request_percentage", 1.0, False)])])
        self.assertEqual(res, [(0, None), (0, None)])
        busy, free, poller = self.client("busy"), self.client("free"), self.client("poller")
        try:
            # A consumer waiting at the end of an empty partition: each fetch is held for
            # max_wait, seconds of wall time in all, and runs for microseconds of it. Were
            # waiting counted, one such fetch would be 100 percent of a thread.
            for _ in range(3):
                started = time.monotonic()
                throttle, _ = kafka_wire.fetch_throttle(poller, "idle", 0, 0, max_wait=1500)
                self.assertGreaterEqual(time.monotonic() - started, 1.4)
                self.assertEqual(throttle, 0)
            # Without a quota: as fast as one connection goes.
            free_rate, throttles = self.rate(free, 2)
            self.assertEqual(max(throttles), 0)
            # Under the quota: many cheap requests until the broker throttles them (bounded).
            deadline = time.monotonic() + TIMEOUT
            sent = 0
            while kafka_wire.metadata_throttle(busy) == 0:
                sent += 1
                self.assertLess(time.monotonic(), deadline,
                                f"no throttle_time_ms after {sent} requests")
            busy_rate, throttles = self.rate(busy, 3)
            self.assertGreater(sum(1 for t in throttles if t > 0), len(throttles) // 2,
                               throttles[:50])
            self.assertLess(busy_rate, free_rate / 3,
                            f"throttled {busy_rate:.0f}/s, unthrottled {free_rate:.0f}/s")
            # Meanwhile the other client ids are still not throttled.
            self.assertEqual(kafka_wire.metadata_throttle(free), 0)
            throttle, _ = kafka_wire.fetch_throttle(poller, "idle", 0, 0, max_wait=100)
            self.assertEqual(throttle, 0)
            # Without the quota, the busy client goes unthrottled again.
            res = kafka_wire.alter_client_quotas(admin, [
                ([("client-id", "busy")], [("request_percentage", 0, True)]),
                ([("client-id", "poller")], [("request_percentage", 0, True)])])
            self.assertEqual(res, [(0, None), (0, None)])
            self.assertEqual(kafka_wire.metadata_throttle(busy), 0)
        finally:
            busy.close()
            free.close()
            poller.close()
            admin.close()

    def test_stromctl_sets_lists_and_deletes_quotas(self):
        import json
        import subprocess
        stromctl = os.environ.get("STROMCTL")
        if not stromctl:
            self.skipTest("STROMCTL is not set")

        def run(*args, check=True):
            r = subprocess.run([stromctl, "-b", self.broker.bootstrap, *args],
                               capture_output=True, text=True, timeout=TIMEOUT)
            if check:
                self.assertEqual(r.returncode, 0, r.stderr)
            return r
        run("quota", "set", "--user", "carol", "--client-id-default", "--producer-byte-rate",
            "4096")
        rows = json.loads(run("--format", "json", "quota", "list", "--user", "carol").stdout)
        self.assertEqual(rows, [{"entity": {"user": "carol", "client-id": None},
                                 "key": "producer_byte_rate", "value": 4096}], rows)
        run("quota", "set", "--user", "carol", "--quota", "request_percentage=12.5")
        rows = json.loads(run("--format", "json", "quota", "list", "--user", "carol").stdout)
        self.assertIn({"entity": {"user": "carol"}, "key": "request_percentage", "value": 12.5},
                      rows)
        r = run("quota", "set", "--user", "carol", "--quota", "controller_mutation_rate=5",
                check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("INVALID_REQUEST", r.stderr)
        run("quota", "delete", "--user", "carol", "--client-id-default")
        run("quota", "delete", "--user", "carol")
        self.assertEqual(json.loads(run("--format", "json", "quota", "list").stdout), [])


if __name__ == "__main__":
    unittest.main()
