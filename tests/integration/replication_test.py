"""Replicated partitions on three real brokers (config/cluster): every partition a Raft group
of three replicas, acks=all on a majority, failover when a leader is killed.

Run by ctest with STROMD pointing at the binary."""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from cluster import Cluster, TIMEOUT  # noqa: E402


def partition_leaders(port, topic):
    """{partition: (leader, leader epoch)} as the broker at `port` answers Metadata (leader -1
    while a partition has none)."""
    import kafka_wire
    c = kafka_wire.Client(port)
    try:
        return kafka_wire.metadata_leaders(c, topic)
    finally:
        c.close()


class ReplicationTest(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster(3).start()

    def tearDown(self):
        self.cluster.close()

    def admin(self):
        """An admin client once every broker is registered and the controller is known."""
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": self.cluster.bootstrap()})

        def ready():
            md = admin.list_topics(timeout=5)
            return len(md.brokers) == 3 and md.controller_id >= 0
        self.cluster.wait_until(ready, "three brokers and a controller")
        return admin

    def create(self, topic, partitions=3, rf=3, configs=None):
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import NewTopic
        admin = self.admin()

        def created():
            # Until every broker registered with the controller, a factor of 3 does not fit.
            fs = admin.create_topics([NewTopic(topic, partitions, rf, config=configs or {})],
                                     request_timeout=TIMEOUT)
            try:
                fs[topic].result(timeout=TIMEOUT)
            except KafkaException as e:
                if e.args[0].code() != KafkaError.INVALID_REPLICATION_FACTOR:
                    raise
                return False
            return True
        self.cluster.wait_until(created, f"topic {topic} created")
        return self.wait_leaders(topic, partitions)

    def wait_leaders(self, topic, partitions, exclude=()):
        """Every running broker names the same live leader for every partition."""
        def agreed():
            seen = None
            for n, node in self.cluster.nodes.items():
                if not node.running:
                    continue
                leaders = partition_leaders(node.port, topic)
                if len(leaders) != partitions or any(
                        l < 0 or l in exclude for l, _ in leaders.values()):
                    return None
                if seen is not None and leaders != seen:
                    return None
                seen = leaders
            return seen
        return self.cluster.wait_until(agreed, f"leaders of {topic}")

    def consume_all(self, topic, partitions, expected):
        """Every record of `topic` from the start, by partition, read with kafka-python."""
        from kafka import KafkaConsumer, TopicPartition
        consumer = KafkaConsumer(bootstrap_servers=self.cluster.bootstrap(),
                                 enable_auto_commit=False, auto_offset_reset="earliest",
                                 consumer_timeout_ms=5000, request_timeout_ms=30000,
                                 api_version_auto_timeout_ms=30000)
        try:
            tps = [TopicPartition(topic, p) for p in range(partitions)]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            got = {p: [] for p in range(partitions)}
            deadline = time.time() + TIMEOUT
            while sum(len(v) for v in got.values()) < expected and time.time() < deadline:
                for tp, msgs in consumer.poll(timeout_ms=1000).items():
                    got[tp.partition].extend((m.offset, m.value) for m in msgs)
            return got
        finally:
            consumer.close()

    def test_acks_all_writes_survive_leader_kills(self):
        """An idempotent producer writes acks=all while the leader of a partition is killed
        (-9) and restarted, five times: every acknowledged message is read back exactly once, in
        the order sent, at contiguous offsets."""
        from confluent_kafka import Producer
        topic, partitions, total = "events", 3, 20000
        self.create(topic, partitions)
        acked = {}  # value -> (partition, offset)
        failed = []
        producer = Producer({"bootstrap.servers": self.cluster.bootstrap(),
                             "enable.idempotence": True, "acks": "all",
                             "message.timeout.ms": 120000, "linger.ms": 5,
                             "topic.metadata.refresh.interval.ms": 1000})

        def on_delivery(err, msg):
            if err is None:
                acked[msg.value()] = (msg.partition(), msg.offset())
            else:
                failed.append(err)

        stop = threading.Event()

        def produce():
            for i in range(total):
                if stop.is_set():
                    return
                while True:
                    try:
                        producer.produce(topic, value=b"m%06d" % i, partition=i % partitions,
                                         on_delivery=on_delivery)
                        break
                    except BufferError:
                        producer.poll(0.1)
                producer.poll(0)
                if i % 200 == 0:
                    time.sleep(0.02)  # spread the load over the kills
            producer.flush(180)

        writer = threading.Thread(target=produce)
        writer.start()
        try:
            for k in range(5):
                victim_partition = k % partitions
                leaders = self.wait_leaders(topic, partitions)
                victim = leaders[victim_partition][0]
                before = len(acked)
                self.cluster.wait_until(lambda: len(acked) > before + 200 or not writer.is_alive(),
                                        "writes before a kill")
                self.cluster.nodes[victim].kill()
                self.wait_leaders(topic, partitions, exclude=(victim,))
                self.cluster.nodes[victim].start()
        finally:
            writer.join(240)
            stop.set()
        self.assertFalse(writer.is_alive(), "the producer did not finish")
        self.assertEqual(failed, [])
        self.assertEqual(len(acked), total)

        got = self.consume_all(topic, partitions, total)
        for p in range(partitions):
            offsets = [o for o, _ in got[p]]
            self.assertEqual(offsets, list(range(len(offsets))), f"partition {p}: offsets")
            values = [v for _, v in got[p]]
            self.assertEqual(len(values), len(set(values)), f"partition {p}: duplicates")
            sent = [b"m%06d" % i for i in range(p, total, partitions)]
            self.assertEqual(values, sent, f"partition {p}: not every write, in order")
            for o, v in got[p]:
                self.assertEqual(acked[v], (p, o))

    def test_every_replica_holds_the_records_and_a_new_leader_serves_them(self):
        """acks=all records are on every replica: with the leader gone, another serves them
        all, with a leader epoch above the old one."""
        from confluent_kafka import Producer
        topic = "mirrored"
        leaders = self.create(topic, 1)
        old_leader, old_epoch = leaders[0]
        producer = Producer({"bootstrap.servers": self.cluster.bootstrap(), "acks": "all"})
        for i in range(100):
            producer.produce(topic, value=b"v%d" % i, partition=0)
        self.assertEqual(producer.flush(TIMEOUT), 0)
        self.cluster.nodes[old_leader].kill()
        leaders = self.wait_leaders(topic, 1, exclude=(old_leader,))
        self.assertGreater(leaders[0][1], old_epoch)
        got = self.consume_all(topic, 1, 100)
        self.assertEqual([v for _, v in got[0]], [b"v%d" % i for i in range(100)])

    def test_a_follower_answers_not_leader(self):
        import kafka_wire
        topic = "followers"
        leaders = self.create(topic, 1)
        leader = leaders[0][0]
        for n, node in self.cluster.nodes.items():
            c = kafka_wire.Client(node.port)
            try:
                err, _ = c.produce(topic, 0, kafka_wire.record_batch([b"x"]), acks=-1)
            finally:
                c.close()
            self.assertEqual(err, 0 if n == leader else 6, f"broker {n}")  # NOT_LEADER_OR_FOLLOWER

    def test_min_insync_replicas_above_a_majority_is_refused(self):
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import NewTopic
        admin = self.admin()
        fs = admin.create_topics([NewTopic("strict", 1, 3,
                                           config={"min.insync.replicas": "3"})],
                                 request_timeout=TIMEOUT)
        with self.assertRaises(KafkaException) as ctx:
            fs["strict"].result(timeout=TIMEOUT)
        self.assertEqual(ctx.exception.args[0].code(), KafkaError.INVALID_CONFIG)


if __name__ == "__main__":
    unittest.main()
