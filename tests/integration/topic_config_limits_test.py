#!/usr/bin/python3
"""Segment and index configs below Strom's minimums (segment.bytes=14, segment.ms=1, ...) are
refused with INVALID_CONFIG and a message naming the minimum, by CreateTopics, AlterConfigs and
IncrementalAlterConfigs, on raw sockets and through librdkafka's admin client; nothing is
created or changed; the broker's YAML defaults have the same minimums. Throughout, a canary
client on another connection produces and consumes, and the broker's descriptors and memory
stay where they were."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from broker import STROMD, TIMEOUT, Broker  # noqa: E402
from kafka_wire import Client  # noqa: E402
from storage_helpers import (INVALID_CONFIG, NONE, SANITIZED, Canary,  # noqa: E402
                             alter_configs, create_topic, incremental_alter_configs, open_fds,
                             rss_kib)

from confluent_kafka import KafkaException  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402

TOO_SMALL = [
    ("segment.bytes", "14", "1048576"),
    ("segment.bytes", "1048575", "1048576"),
    ("segment.ms", "1", "1000"),
    ("segment.ms", "999", "1000"),
    ("segment.index.bytes", "4", "65536"),
]


class TopicConfigLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()
        cls.pid = cls.broker.proc.pid
        cls.canary = Canary(cls.broker.port).start()
        cls.fds_before = open_fds(cls.pid)
        cls.rss_before = rss_kib(cls.pid)

    @classmethod
    def tearDownClass(cls):
        cls.canary.stop()
        cls.broker.close()

    def tearDown(self):
        self.assertIsNone(self.broker.proc.poll(), "stromd died")

    def topic_dir_exists(self, name):
        return os.path.exists(os.path.join(self.broker.data, f"{name}-0"))

    def test_1_create_topics_refuses_settings_below_the_minimums(self):
        c = Client(self.broker.port)
        for i, (key, value, minimum) in enumerate(TOO_SMALL):
            name = f"tiny-{i}"
            err, msg = create_topic(c, name, 1, [(key, value)])
            self.assertEqual(err, INVALID_CONFIG, f"{key}={value}")
            self.assertIn(f"{key}={value} is below the minimum {minimum}", msg or "")
            self.assertFalse(self.topic_dir_exists(name), f"{name} was created")
        c.close()
        # The same through librdkafka's admin client, the message intact.
        admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
        fs = admin.create_topics([NewTopic("tiny-admin", 3, 1, config={"segment.bytes": "14"})],
                                 operation_timeout=10)
        with self.assertRaises(KafkaException) as ctx:
            fs["tiny-admin"].result(timeout=TIMEOUT)
        e = ctx.exception.args[0]
        self.assertEqual(e.code(), INVALID_CONFIG)
        self.assertIn("segment.bytes=14 is below the minimum 1048576", e.str())
        self.assertFalse(self.topic_dir_exists("tiny-admin"))

    def test_2_the_minimums_themselves_are_accepted(self):
        c = Client(self.broker.port)
        err, msg = create_topic(c, "smallest", 1, [("segment.bytes", "1048576"),
                                                   ("segment.ms", "1000"),
                                                   ("segment.index.bytes", "65536"),
                                                   ("segment.jitter.ms", "0"),
                                                   ("index.interval.bytes", "0")])
        self.assertEqual(err, NONE, msg)
        c.close()

    def test_3_alter_configs_refuse_settings_below_the_minimums(self):
        c = Client(self.broker.port)
        err, _ = create_topic(c, "alterable", 1, [("segment.bytes", "2097152")])
        self.assertEqual(err, NONE)
        for key, value, minimum in TOO_SMALL:
            for alter in (alter_configs, incremental_alter_configs):
                err, msg = alter(c, "alterable", [(key, value)])
                self.assertEqual(err, INVALID_CONFIG, f"{alter.__name__} {key}={value}")
                self.assertIn(f"{key}={value} is below the minimum {minimum}", msg or "")
        c.close()
        # Nothing changed: the override set before is still the topic's.
        admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
        res = ConfigResource("topic", "alterable")
        configs = admin.describe_configs([res])[res].result(timeout=TIMEOUT)
        self.assertEqual(configs["segment.bytes"].value, "2097152")
        self.assertEqual(configs["segment.ms"].value, "604800000")
        with self.assertRaises(KafkaException) as ctx:
            admin.alter_configs([ConfigResource("topic", "alterable",
                                                set_config={"segment.ms": "1"})])[
                ConfigResource("topic", "alterable")].result(timeout=TIMEOUT)
        self.assertEqual(ctx.exception.args[0].code(), INVALID_CONFIG)

    def test_4_yaml_defaults_have_the_same_minimums(self):
        for section in ("    segment_bytes: 14\n", "    segment_ms: 1\n",
                        "    segment_index_bytes: 4\n"):
            cfg = os.path.join(self.broker.workdir, "tiny.yaml")
            with open(self.broker.config) as f:
                text = f.read()
            with open(cfg, "w") as f:
                f.write(text + "cluster_defaults:\n  log:\n" + section)
            r = subprocess.run([STROMD, "--config", cfg, "--check"], capture_output=True,
                               text=True, timeout=TIMEOUT)
            self.assertEqual(r.returncode, 78, section)
            key = section.strip().split(":")[0]
            self.assertIn(f"cluster_defaults.log.{key}", r.stderr)

    def test_5_broker_served_the_canary_and_kept_its_resources(self):
        self.canary.check(self)
        # A refused request leaves nothing behind: no descriptors, no memory to speak of.
        self.assertLessEqual(open_fds(self.pid), self.fds_before + 16)
        if not SANITIZED:
            self.assertLess(rss_kib(self.pid) - self.rss_before, 32 * 1024)


if __name__ == "__main__":
    unittest.main(verbosity=2)
