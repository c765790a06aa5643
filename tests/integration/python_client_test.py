#!/usr/bin/python3
"""confluent-kafka-python (librdkafka) against a real stromd: admin, produce, consume,
offsets for times, and durability across clean and SIGKILL restarts."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker  # noqa: E402

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402

TIMEOUT = 30


def create_topic(bootstrap, name, partitions, config=None):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fs = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1,
                                       config=config or {})], operation_timeout=10)
    fs[name].result(timeout=TIMEOUT)


def produce(bootstrap, topic, messages, **conf):
    """Produces (partition, key, value, timestamp) tuples; returns delivered (partition, offset,
    key, value) in order of delivery."""
    delivered, errors = [], []
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **conf})

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            delivered.append((msg.partition(), msg.offset(), msg.key(), msg.value()))

    for part, key, value, ts in messages:
        kwargs = {"partition": part, "key": key, "value": value, "on_delivery": on_delivery}
        if ts is not None:
            kwargs["timestamp"] = ts
        while True:
            try:
                p.produce(topic, **kwargs)
                break
            except BufferError:
                p.poll(0.1)
    remaining = p.flush(TIMEOUT)
    assert remaining == 0, f"{remaining} messages not delivered"
    assert not errors, errors
    return delivered


def consume_all(bootstrap, topic, partitions, expected):
    """Reads every partition from the beginning until `expected` messages arrived."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "strom-it-reader",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = []
    deadline = time.time() + TIMEOUT
    while len(got) < expected and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            raise KafkaException(m.error())
        got.append((m.partition(), m.offset(), m.key(), m.value(), m.timestamp()[1]))
    c.close()
    return got


class PythonClientTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker().start()

    def tearDown(self):
        self.broker.close()

    def test_admin_produce_consume(self):
        b = self.broker.bootstrap
        create_topic(b, "clicks", 3)
        md = AdminClient({"bootstrap.servers": b}).list_topics(timeout=TIMEOUT)
        self.assertIn("clicks", md.topics)
        self.assertEqual(len(md.topics["clicks"].partitions), 3)
        self.assertEqual(list(md.brokers.keys()), [1])
        self.assertEqual(md.brokers[1].port, self.broker.port)

        msgs = [(i % 3, f"k{i}".encode(), f"value-{i}".encode() * 10, None) for i in range(3000)]
        delivered = produce(b, "clicks", msgs, acks="all")
        self.assertEqual(len(delivered), 3000)
        got = consume_all(b, "clicks", 3, 3000)
        self.assertEqual(len(got), 3000)
        for part in range(3):
            mine = [g for g in got if g[0] == part]
            self.assertEqual([g[1] for g in mine], list(range(1000)))  # offsets in order
            self.assertEqual([g[2] for g in mine],
                             [f"k{i}".encode() for i in range(3000) if i % 3 == part])

    def test_create_topic_errors(self):
        b = self.broker.bootstrap
        create_topic(b, "dup", 1)
        admin = AdminClient({"bootstrap.servers": b})
        fs = admin.create_topics([NewTopic("dup", 1, 1)])
        with self.assertRaises(KafkaException) as e:
            fs["dup"].result(timeout=TIMEOUT)
        self.assertEqual(e.exception.args[0].name(), "TOPIC_ALREADY_EXISTS")
        fs = admin.create_topics([NewTopic("bad name!", 1, 1)])
        with self.assertRaises(KafkaException) as e:
            fs["bad name!"].result(timeout=TIMEOUT)
        self.assertEqual(e.exception.args[0].code(), 17)  # INVALID_TOPIC_EXCEPTION
        fs = admin.create_topics([NewTopic("rf3", 1, 3)])
        with self.assertRaises(KafkaException) as e:
            fs["rf3"].result(timeout=TIMEOUT)
        self.assertEqual(e.exception.args[0].name(), "INVALID_REPLICATION_FACTOR")

    def test_describe_and_alter_configs(self):
        b = self.broker.bootstrap
        create_topic(b, "cfg", 1, {"retention.ms": "7200000"})
        admin = AdminClient({"bootstrap.servers": b})
        res = ConfigResource(ConfigResource.Type.TOPIC, "cfg")
        configs = admin.describe_configs([res])[res].result(timeout=TIMEOUT)
        self.assertEqual(configs["retention.ms"].value, "7200000")
        self.assertFalse(configs["retention.ms"].is_default)
        self.assertTrue(configs["segment.bytes"].is_default)
        self.assertEqual(configs["cleanup.policy"].value, "delete")
        res.set_config("max.message.bytes", "2000")
        admin.alter_configs([res])[res].result(timeout=TIMEOUT)
        res = ConfigResource(ConfigResource.Type.TOPIC, "cfg")
        configs = admin.describe_configs([res])[res].result(timeout=TIMEOUT)
        self.assertEqual(configs["max.message.bytes"].value, "2000")
        # The new limit is in force at once, without a restart.
        p = Producer({"bootstrap.servers": b})
        errors = []
        p.produce("cfg", value=b"x" * 5000, on_delivery=lambda e, m: errors.append(e))
        p.flush(TIMEOUT)
        self.assertEqual(len(errors), 1)
        self.assertIsNotNone(errors[0])
        self.assertEqual(errors[0].name(), "MSG_SIZE_TOO_LARGE")
        broker_res = ConfigResource(ConfigResource.Type.BROKER, "1")
        bc = admin.describe_configs([broker_res])[broker_res].result(timeout=TIMEOUT)
        self.assertEqual(bc["node.id"].value, "1")

    def test_cluster_wide_configs(self):
        # kafka-configs --entity-type brokers --entity-default: a broker resource without a
        # name holds the defaults of every topic without its own value, changed at run time.
        # librdkafka refuses a broker resource without a name: kafka-python sets them.
        from kafka import KafkaAdminClient
        from kafka.admin import ConfigResource as KRes, ConfigResourceType
        from kafka.errors import InvalidConfigurationError
        b = self.broker.bootstrap
        create_topic(b, "dyn", 1)
        create_topic(b, "dyn-own", 1, {"max.message.bytes": "100000"})

        def kadmin():
            return KafkaAdminClient(bootstrap_servers=b, request_timeout_ms=TIMEOUT * 1000)

        def defaults(ka):
            """{name: (value, source)} of the broker resource without a name."""
            # Its describe_configs() wants a broker id: the request goes out as it is built.
            from kafka.protocol.admin import DescribeConfigsRequest
            f = ka._send_request_to_node(ka._client.least_loaded_node(),
                                         DescribeConfigsRequest[1](resources=[(4, "", None)],
                                                                   include_synonyms=True))
            ka._wait_for_futures([f])
            err, _, _, name, entries = f.value.resources[0][:5]
            self.assertEqual((err, name), (0, ""))
            # kafka-python's v1 schema reads config_source as a boolean: the synonym has it.
            return {e[0]: (e[1], e[5][0][2]) for e in entries}

        ka = kadmin()
        self.assertEqual(defaults(ka), {})
        ka.alter_configs([KRes(ConfigResourceType.BROKER, "",
                               configs={"message.max.bytes": "3000",
                                        "log.retention.ms": "86400000"})])
        # Refused: an unknown or static name, a bad value, one broker's own config.
        for res in (KRes(ConfigResourceType.BROKER, "", configs={"num.io.threads": "8"}),
                    KRes(ConfigResourceType.BROKER, "", configs={"log.segment.bytes": "10"}),
                    KRes(ConfigResourceType.BROKER, "1", configs={"log.retention.ms": "1"})):
            r = ka.alter_configs([res])
            self.assertEqual(r.resources[0][0], InvalidConfigurationError.errno, res)
        ka.close()

        def check():
            ka = kadmin()
            try:
                # DYNAMIC_DEFAULT_BROKER_CONFIG (3)
                self.assertEqual(defaults(ka), {"message.max.bytes": ("3000", 3),
                                                "log.retention.ms": ("86400000", 3)})
            finally:
                ka.close()
            admin = AdminClient({"bootstrap.servers": b})
            res = ConfigResource(ConfigResource.Type.TOPIC, "dyn")
            got = admin.describe_configs([res])[res].result(timeout=TIMEOUT)
            self.assertEqual(got["max.message.bytes"].value, "3000")
            self.assertEqual(got["max.message.bytes"].source, 3)
            self.assertEqual(got["retention.ms"].value, "86400000")
            self.assertTrue(got["segment.bytes"].is_default)
            res = ConfigResource(ConfigResource.Type.TOPIC, "dyn-own")
            got = admin.describe_configs([res])[res].result(timeout=TIMEOUT)
            self.assertEqual(got["max.message.bytes"].value, "100000")
            self.assertEqual(got["max.message.bytes"].source, 1)  # the topic's own
            res = ConfigResource(ConfigResource.Type.BROKER, "1")
            got = admin.describe_configs([res])[res].result(timeout=TIMEOUT)
            self.assertEqual(got["message.max.bytes"].value, "3000")
            self.assertEqual(got["message.max.bytes"].source, 3)
            self.assertFalse(got["message.max.bytes"].is_read_only)
            self.assertTrue(got["node.id"].is_read_only)
            # In force at once: the topic without its own limit takes the new one.
            p = Producer({"bootstrap.servers": b})
            errors = []
            p.produce("dyn", value=b"x" * 5000, on_delivery=lambda e, m: errors.append(e))
            p.flush(TIMEOUT)
            p.produce("dyn-own", value=b"x" * 5000, on_delivery=lambda e, m: errors.append(e))
            p.flush(TIMEOUT)
            self.assertEqual(len(errors), 2)
            self.assertEqual(errors[0].name(), "MSG_SIZE_TOO_LARGE")
            self.assertIsNone(errors[1])

        check()
        # They survive a restart.
        self.assertEqual(self.broker.stop(), 0)
        self.broker.start()
        check()
        # AlterConfigs replaces the whole set: an empty one clears them.
        ka = kadmin()
        try:
            ka.alter_configs([KRes(ConfigResourceType.BROKER, "", configs={})])
            self.assertEqual(defaults(ka), {})
        finally:
            ka.close()
        admin = AdminClient({"bootstrap.servers": b})
        res = ConfigResource(ConfigResource.Type.TOPIC, "dyn")
        got = admin.describe_configs([res])[res].result(timeout=TIMEOUT)
        self.assertTrue(got["max.message.bytes"].is_default)

    def test_offsets_for_times(self):
        b = self.broker.bootstrap
        create_topic(b, "times", 1)
        base = 1_700_000_000_000
        produce(b, "times", [(0, b"k", f"v{i}".encode(), base + i * 1000) for i in range(10)])
        c = Consumer({"bootstrap.servers": b, "group.id": "times-reader",
                      "enable.auto.commit": False})
        res = c.offsets_for_times([TopicPartition("times", 0, base + 4500)], timeout=TIMEOUT)
        self.assertEqual(res[0].offset, 5)
        res = c.offsets_for_times([TopicPartition("times", 0, base + 99_000)], timeout=TIMEOUT)
        self.assertEqual(res[0].offset, -1)  # later than everything: end
        low, high = c.get_watermark_offsets(TopicPartition("times", 0), timeout=TIMEOUT)
        self.assertEqual((low, high), (0, 10))
        c.close()

    def test_restart_clean_and_after_sigkill(self):
        b = self.broker.bootstrap
        create_topic(b, "durable", 2)
        first = [(i % 2, None, f"a{i}".encode(), None) for i in range(500)]
        produce(b, "durable", first, acks="all")
        self.assertEqual(self.broker.stop(), 0)
        self.broker.start()
        b = self.broker.bootstrap
        self.assertEqual(len(consume_all(b, "durable", 2, 500)), 500)
        # acks=all on a flush-before-ack topic (write.caching=false, the default): every
        # acknowledged message survives a SIGKILL.
        second = [(i % 2, None, f"b{i}".encode(), None) for i in range(500)]
        produce(b, "durable", second, acks="all")
        self.broker.kill()
        self.broker.start()
        got = consume_all(self.broker.bootstrap, "durable", 2, 1000)
        values = sorted(g[3] for g in got)
        self.assertEqual(values, sorted(m[2] for m in first + second))


if __name__ == "__main__":
    unittest.main(verbosity=2)
