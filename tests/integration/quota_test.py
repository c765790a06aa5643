#!/usr/bin/python3
"""Client quotas on a real stromd: AlterClientQuotas and DescribeClientQuotas (filters, strict,
refusals), and producer_byte_rate and consumer_byte_rate enforced: a client over its quota gets
throttle_time_ms and its response held back, another client is not slowed, a removed quota no
longer applies. Rates are not asserted from elapsed times: throttle_time_ms says the quota
acted."""

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
                ([("user", "bob")], [("request_percentage", 50.0, False)]),
                ([("user", "bob")], [("producer_byte_rate", -1.0, False)]),
                ([("group", "g")], [("producer_byte_rate", 1.0, False)]),
            ])
            self.assertEqual([e for e, _ in res], [0, 0, 42, 42, 42])
            _, _, everything = kafka_wire.describe_client_quotas(c, [])
            self.assertEqual(everything[(("user", "alice"), ("client-id", None))],
                             {"producer_byte_rate": 1e6})
            self.assertEqual(everything[(("user", None),)], {"consumer_byte_rate": 2e6})
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
                ([("user", None)], [("consumer_byte_rate", 0, True)])])
            self.assertEqual([e for e, _ in res], [0, 0])
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
        r = run("quota", "set", "--user", "carol", "--quota", "request_percentage=50",
                check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("INVALID_REQUEST", r.stderr)
        run("quota", "delete", "--user", "carol", "--client-id-default")
        self.assertEqual(json.loads(run("--format", "json", "quota", "list").stdout), [])


if __name__ == "__main__":
    unittest.main()
