"""Replicated partitions on three real brokers (config/cluster): every partition a Raft group
of three replicas, acks=all on a majority, failover when a leader is killed.

Run by ctest with STROMD pointing at the binary."""

import os
import re
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from cluster import Cluster, TIMEOUT  # noqa: E402

# A sanitizer build's brokers run several times slower: the heaviest writes are scaled down there
# (the regular build runs them in full).
SANITIZED = os.environ.get("STROM_SANITIZED") == "1"


def partition_leaders(port, topic):
    """{partition: (leader, leader epoch)} as the broker at `port` answers Metadata (leader -1
    while a partition has none)."""
    import kafka_wire
    c = kafka_wire.Client(port)
    try:
        return kafka_wire.metadata_leaders(c, topic)
    finally:
        c.close()


def sent_queue(pid, port):
    """Bytes waiting, unread, in the receive queues of the connections of process `pid` to its
    listener `port` (its TCP sockets in /proc/<pid>/net/tcp*)."""
    total = 0
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            local, state, queues = cols[1], cols[3], cols[4]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:  # established
                total += int(queues.split(":")[1], 16)
    return total


class ClusterHelpers:
    """What the tests of replicated partitions on a Cluster (`self.cluster`) share; mixed into
    a unittest.TestCase."""

    def admin(self):
        """An admin client once every broker is registered and the controller is known."""
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": self.cluster.bootstrap()})

        def ready():
            md = admin.list_topics(timeout=5)
            return len(md.brokers) >= 3 and md.controller_id >= 0
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
        """Every running broker (but those in `exclude`) names the same leader, none of
        `exclude`, for every partition."""
        def agreed():
            seen = None
            for n, node in self.cluster.nodes.items():
                if not node.running or n in exclude:
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

    def metric(self, n, name, labels=""):
        """The value of series `name{labels}` (labels as a regex) on node n, or None."""
        m = re.search(rf"^{name}{labels} (\S+)$", self.cluster.nodes[n].metrics(), re.M)
        return float(m.group(1)) if m else None

    def wait_rebuilt(self, n, partitions):
        """Node n holds its `partitions` replicas and none of its groups is rebuilding."""
        self.cluster.wait_until(
            lambda: self.metric(n, "strom_controller_rebuilding") == 0 and
            self.metric(n, "strom_replica_rebuilding_partitions") == 0 and
            (self.metric(n, "strom_partitions") or 0) >= partitions,
            f"broker {n} rebuilt")

    def write_acked(self, topic, values):
        """`values` into partition 0 of `topic` with acks=all, every one acknowledged."""
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": self.cluster.bootstrap(), "acks": "all"})
        for v in values:
            producer.produce(topic, value=v, partition=0)
        self.assertEqual(producer.flush(TIMEOUT), 0)

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

    def produce_through(self, topic, messages, fault, rounds, config=None, every=200,
                        pause=0.02, gap=200):
        """An idempotent acks=all producer (`config` added) writes `messages` (dicts of
        produce()'s arguments) to `topic`, pausing `pause` s every `every` messages, while
        `fault(k, leaders)` runs `rounds` times, each once `gap` more writes were acknowledged.
        Checks every write was acknowledged; returns {index in messages: (partition, offset)}."""
        from confluent_kafka import Producer
        acked = {}
        failed = []
        producer = Producer({"bootstrap.servers": self.cluster.bootstrap(),
                             "enable.idempotence": True, "acks": "all",
                             "message.timeout.ms": 120000, "linger.ms": 5,
                             "topic.metadata.refresh.interval.ms": 1000, **(config or {})})

        def produce():
            for i, m in enumerate(messages):
                def on_delivery(err, msg, i=i):
                    if err is None:
                        acked[i] = (msg.partition(), msg.offset())
                    else:
                        failed.append(err)
                while True:
                    try:
                        producer.produce(topic, on_delivery=on_delivery, **m)
                        break
                    except BufferError:
                        producer.poll(0.1)
                producer.poll(0)
                if i % every == 0:
                    time.sleep(pause)  # spread the load over the faults
            producer.flush(180)

        partitions = 1 + max(m["partition"] for m in messages)
        writer = threading.Thread(target=produce)
        writer.start()
        try:
            for k in range(rounds):
                leaders = self.wait_leaders(topic, partitions)
                before = len(acked)
                self.cluster.wait_until(lambda: len(acked) > before + gap or not writer.is_alive(),
                                        "writes before a fault")
                fault(k, leaders)
        finally:
            writer.join(240)
        self.assertFalse(writer.is_alive(), "the producer did not finish")
        self.assertEqual(failed, [])
        self.assertEqual(len(acked), len(messages))
        return acked

    def leader_killer(self, topic, partitions):
        """A fault for produce_through: round k kills (-9) the leader of partition k (modulo
        `partitions`), waits for the others to name a new one, and restarts it."""
        def kill_leader(k, leaders):
            victim = leaders[k % partitions][0]
            self.cluster.nodes[victim].kill()
            self.wait_leaders(topic, partitions, exclude=(victim,))
            self.cluster.nodes[victim].start()
        return kill_leader

    def write_through(self, topic, partitions, total, fault, rounds, skip=0):
        """An idempotent acks=all producer writes `total` values over `partitions` while
        `fault(k, leaders)` runs `rounds` times, each after some writes were acknowledged (the
        first `skip` records of partition 0 were there before); then
        every acknowledged value is read back exactly once, in the order sent, at contiguous
        offsets."""
        messages = [{"value": b"m%06d" % i, "partition": i % partitions} for i in range(total)]
        acked = {messages[i]["value"]: at
                 for i, at in self.produce_through(topic, messages, fault, rounds).items()}

        got = self.consume_all(topic, partitions, total + skip)
        for p in range(partitions):
            offsets = [o for o, _ in got[p]]
            self.assertEqual(offsets, list(range(len(offsets))), f"partition {p}: offsets")
            if p == 0:
                got[p] = got[p][skip:]
            values = [v for _, v in got[p]]
            self.assertEqual(len(values), len(set(values)), f"partition {p}: duplicates")
            sent = [b"m%06d" % i for i in range(p, total, partitions)]
            self.assertEqual(values, sent, f"partition {p}: not every write, in order")
            for o, v in got[p]:
                self.assertEqual(acked[v], (p, o))

    def transfer_to(self, topic, target):
        """Partition 0 of `topic` led by broker `target` (the admin API's transfer)."""
        self.transfer_to_partition(topic, 0, 1, target)

    def transfer_to_partition(self, topic, partition, partitions, target):
        """`partition` of `topic` (of `partitions`) led by broker `target`."""
        while self.wait_leaders(topic, partitions)[partition][0] != target:
            self.transfer_leadership(topic, partition, target, partitions)

    def transfer_leadership(self, topic, partition, target=None, partitions=None):
        """Asks the partition's leader to hand it over (admin API), to `target` or to any
        replica, and waits until every broker names another leader with a higher epoch.
        Returns the new (leader, epoch)."""
        import urllib.error
        import urllib.request
        before = {}

        def moved():
            leader, epoch = self.wait_leaders(topic, partitions or partition + 1)[partition]
            url = (f"http://127.0.0.1:{self.cluster.nodes[leader].admin_port}"
                   f"/v1/partitions/kafka/{topic}/{partition}/transfer_leadership"
                   + (f"?target={target}" if target else ""))
            try:
                with urllib.request.urlopen(urllib.request.Request(url, method="POST"),
                                            timeout=TIMEOUT) as r:
                    self.assertEqual(r.status, 200)
            except urllib.error.HTTPError as e:
                # 409: the leadership moved meanwhile; 503: no replica caught up yet.
                self.assertIn(e.code, (409, 503), e.read())
                return False
            before["leader"], before["epoch"] = leader, epoch
            return True
        self.cluster.wait_until(moved, "a leadership transfer started")
        return self.cluster.wait_until(
            lambda: (lambda l: l if l[0] != before["leader"] and l[1] > before["epoch"] else None)(
                self.wait_leaders(topic, partitions or partition + 1)[partition]),
            "the new leader")


class ReplicationTest(ClusterHelpers, unittest.TestCase):
    def setUp(self):
        # Retention runs every second (it is a Raft snapshot on replicated partitions), and
        # the offsets partitions are compacted every 64 KiB of commits.
        self.cluster = Cluster(
            3, insert={"  log:\n": "    retention_check_interval_ms: 1000\n",
                       "  groups:\n": "    offsets_compaction_bytes: 65536\n"}).start()

    def tearDown(self):
        self.cluster.close()

    def test_acks_all_writes_survive_leader_kills(self):
        """An idempotent producer writes 20,000 values (5,000 under a sanitizer) acks=all while
        the leader of a partition is killed (-9) and restarted, five times: nothing acknowledged
        is lost or doubled."""
        topic, partitions = "events", 3
        self.create(topic, partitions)
        self.write_through(topic, partitions, 5000 if SANITIZED else 20000,
                           self.leader_killer(topic, partitions), 5)

    def test_compressed_batches_of_every_size_survive_leader_kills(self):
        """With each codec (and none), an idempotent acks=all producer writes 300 values (120
        under a sanitizer) from 0 B to 900 KB, with keys and headers, while the leader of a
        partition is killed (-9) and restarted, three times: every acknowledged value is read
        back (confluent-kafka, which has every codec) once, in order, at its acknowledged
        offset, with its key and headers."""
        import random
        from confluent_kafka import Consumer, TopicPartition
        partitions = 2
        rnd = random.Random(7)
        sizes = [0, 1, 100, 1000, 16384, 100000, 500000, 900000]
        for codec in ("zstd", "lz4", "gzip", "snappy", "none"):
            topic = f"sized-{codec}"
            self.create(topic, partitions)
            values = []
            for i in range(120 if SANITIZED else 300):
                n = rnd.choice(sizes)
                # Half incompressible, half not: the codec has work either way.
                values.append(b"%06d" % i + os.urandom(n // 2) + b"a" * (n - n // 2))

            def key(i):
                return b"k%d" % (i % 7)

            def headers(i):
                return [("h", b"x" * (i % 3))]
            messages = [{"value": v, "key": key(i), "headers": headers(i),
                         "partition": i % partitions} for i, v in enumerate(values)]
            acked = self.produce_through(
                topic, messages, self.leader_killer(topic, partitions), 3, every=50, pause=0.05, gap=30,
                config={"compression.type": codec, "message.max.bytes": 1000000})

            consumer = Consumer({"bootstrap.servers": self.cluster.bootstrap(),
                                 "group.id": f"reader-{codec}", "enable.auto.commit": False})
            try:
                consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
                got = {p: [] for p in range(partitions)}
                deadline = time.time() + TIMEOUT
                while sum(len(v) for v in got.values()) < len(values) and time.time() < deadline:
                    m = consumer.poll(1.0)
                    if m is None:
                        continue
                    self.assertIsNone(m.error(), f"{codec}: {m.error()}")
                    got[m.partition()].append(m)
            finally:
                consumer.close()
            for p in range(partitions):
                sent = [i for i in range(len(values)) if i % partitions == p]
                self.assertEqual([int(m.value()[:6]) for m in got[p]], sent,
                                 f"{codec}, partition {p}: not every write, once, in order")
                for m in got[p]:
                    i = int(m.value()[:6])
                    self.assertEqual(m.value(), values[i], f"{codec}: value {i}")
                    self.assertEqual((m.key(), m.headers()), (key(i), headers(i)), codec)
                    self.assertEqual(acked[i], (p, m.offset()), f"{codec}: offset of {i}")

    def test_group_offsets_survive_coordinator_kills(self):
        """A consumer group reads and commits while the broker leading its __consumer_offsets
        partition (its coordinator) is killed (-9) and restarted, three times: the group moves
        to the new leader, no acknowledged commit is lost, and the group ends committed at the
        end of every partition having read every record."""
        from confluent_kafka import Consumer, KafkaException
        topic, partitions, per_partition = "orders", 3, 1000
        self.create(topic, partitions)
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": self.cluster.bootstrap(), "acks": "all"})
        for i in range(partitions * per_partition):
            producer.produce(topic, value=b"v%06d" % i, partition=i % partitions)
        self.assertEqual(producer.flush(TIMEOUT), 0)

        group = "failover-group"
        offsets_partition = self.offsets_partition_of(group)

        def coordinator():
            for node in self.cluster.nodes.values():
                if node.running:
                    leaders = partition_leaders(node.port, "__consumer_offsets")
                    if offsets_partition in leaders and leaders[offsets_partition][0] >= 0:
                        return leaders[offsets_partition]
            return None

        def committed_now():
            """The group's committed offsets as its coordinator answers them (kafka-python)."""
            from kafka import KafkaAdminClient
            from kafka.errors import KafkaError
            alive = [n for n, node in self.cluster.nodes.items() if node.running]
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.cluster.bootstrap(*alive),
                                         request_timeout_ms=10000)
            except KafkaError:
                return None
            try:
                res = admin.list_consumer_group_offsets(group)
            except KafkaError:
                return None
            finally:
                admin.close()
            return {tp.partition: m.offset for tp, m in res.items() if tp.topic == topic}

        consumer = Consumer({"bootstrap.servers": self.cluster.bootstrap(), "group.id": group,
                             "enable.auto.commit": False, "auto.offset.reset": "earliest",
                             "session.timeout.ms": 10000,
                             "topic.metadata.refresh.interval.ms": 1000})
        consumer.subscribe([topic])
        acked = {}  # partition -> offset of the last commit the coordinator acknowledged
        seen = set()
        kills = 0
        total = partitions * per_partition
        deadline = time.time() + 4 * TIMEOUT
        try:
            while time.time() < deadline:
                msgs = consumer.consume(10, timeout=1)
                for m in msgs:
                    if m.error() is None:
                        seen.add(m.value())
                if msgs:
                    try:
                        for tp in consumer.commit(asynchronous=False):
                            if tp.error is None and tp.offset >= 0:
                                acked[tp.partition] = max(acked.get(tp.partition, 0), tp.offset)
                    except KafkaException:
                        pass  # retriable while the coordinator moves; the next commit covers it
                done = len(seen) == total and all(
                    acked.get(p) == per_partition for p in range(partitions))
                if done:
                    break
                if kills < 3 and len(seen) >= (kills + 1) * total // 4 and acked:
                    victim, epoch = self.cluster.wait_until(coordinator, "the coordinator")
                    before = dict(acked)
                    self.cluster.nodes[victim].kill()
                    kills += 1
                    self.cluster.wait_until(
                        lambda: (lambda c: c if c[0] != victim and c[1] > epoch else None)(
                            coordinator() or (-1, -1)), "a new coordinator")
                    # Every commit acknowledged before the kill is there on the new one.
                    now = self.cluster.wait_until(committed_now, "the committed offsets")
                    for p, o in before.items():
                        self.assertGreaterEqual(now.get(p, -1), o, f"partition {p}: commit lost")
                    self.cluster.nodes[victim].start()
        finally:
            consumer.close()
        self.assertEqual(kills, 3)
        self.assertEqual(len(seen), total, "records never read")
        self.assertEqual({p: acked.get(p) for p in range(partitions)},
                         {p: per_partition for p in range(partitions)})
        final = self.cluster.wait_until(committed_now, "the committed offsets")
        self.assertEqual(final, {p: per_partition for p in range(partitions)})

    def test_delete_records_is_a_decision_of_the_group(self):
        """DeleteRecords (kafkajs's admin client) on a replicated partition, with one replica
        down and the new start inside a batch: once answered, every replica that leads the
        partition starts it there (the one that was down too, and every one after a kill -9
        of all brokers), and a consumer from the beginning reads from there on."""
        import subprocess
        import kafka_wire
        from confluent_kafka import Producer
        topic, total, cut = "trim", 1000, 555
        self.create(topic, 1)
        producer = Producer({"bootstrap.servers": self.cluster.bootstrap(), "acks": "all",
                             "linger.ms": 20, "batch.num.messages": 10})
        for i in range(total):
            producer.produce(topic, value=b"t%04d" % i, partition=0)
        self.assertEqual(producer.flush(TIMEOUT), 0)
        leader, _ = self.wait_leaders(topic, 1)[0]
        away = next(n for n in self.cluster.nodes if n != leader)
        self.cluster.nodes[away].kill()
        here = os.path.dirname(os.path.abspath(__file__))
        alive = [n for n in self.cluster.nodes if n != away]
        done = subprocess.run(
            ["node", os.path.join(here, "js", "delete_records.mjs"),
             self.cluster.bootstrap(*alive), topic, "0", str(cut)],
            cwd=os.path.join(here, "js"), capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.strip(), str(cut))
        self.cluster.nodes[away].start()

        def earliest_on_leader():
            leader, _ = self.wait_leaders(topic, 1)[0]
            c = kafka_wire.Client(self.cluster.nodes[leader].port)
            try:
                err, _, offset = kafka_wire.list_offsets(c, topic, 0, -2)
                return offset if err == 0 else None
            finally:
                c.close()

        for n in self.cluster.nodes:
            self.transfer_to(topic, n)
            self.assertEqual(self.cluster.wait_until(earliest_on_leader, "the earliest offset"),
                             cut, f"broker {n} leads")
        for node in self.cluster.nodes.values():
            node.kill()
        for node in self.cluster.nodes.values():
            node.start()
        self.wait_leaders(topic, 1)
        self.assertEqual(self.cluster.wait_until(earliest_on_leader, "the earliest offset"), cut)
        got = self.consume_all(topic, 1, total - cut)[0]
        self.assertEqual([o for o, _ in got], list(range(cut, total)))
        self.assertEqual([v for _, v in got], [b"t%04d" % i for i in range(cut, total)])

    def settle_offsets_topic(self):
        """__consumer_offsets created (by a FindCoordinator) and each of its partitions led by
        its preferred replica, as every broker's Metadata names it."""
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        def created():
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.cluster.bootstrap(),
                                         request_timeout_ms=10000)
            except KafkaError:
                return False
            try:
                admin.list_consumer_group_offsets("settle")
                return True
            except KafkaError:
                return False
            finally:
                admin.close()
        self.cluster.wait_until(created, "__consumer_offsets")
        admin = self.admin()

        def preferred():
            md = admin.list_topics("__consumer_offsets", timeout=10)
            parts = md.topics["__consumer_offsets"].partitions
            return len(parts) == 50 and all(p.leader == p.replicas[0] for p in parts.values())
        self.cluster.wait_until(preferred, "offsets partitions on their preferred replicas")
        self.wait_leaders("__consumer_offsets", 50)

    @staticmethod
    def offsets_partition_of(group):
        """The __consumer_offsets partition of `group` (Java's String.hashCode, 50 partitions)."""
        h = 0
        for ch in group.encode():
            h = (31 * h + ch) & 0xFFFFFFFF
        return (h & 0x7FFFFFFF) % 50

    def test_compacted_group_offsets_reach_a_follower_through_a_snapshot(self):
        """A replica of a group's offsets partition is down while 600 commits are compacted
        away on the others; back, it installs their snapshot, and once it coordinates the
        group it serves the last commit of every partition from that state."""
        from confluent_kafka import Consumer, TopicPartition
        topic, group = "orders", "snapshot-group"
        self.create(topic, 3)
        offsets_partition = self.offsets_partition_of(group)
        committer = Consumer({"bootstrap.servers": self.cluster.bootstrap(), "group.id": group,
                              "enable.auto.commit": False})
        try:
            committer.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
            leader, _ = self.wait_leaders("__consumer_offsets", 50)[offsets_partition]
            follower = next(n for n in self.cluster.nodes if n != leader)
            self.cluster.nodes[follower].kill()
            for i in range(600):
                committer.commit(offsets=[TopicPartition(topic, i % 3, 1000 + i)],
                                 asynchronous=False)
        finally:
            committer.close()
        marker = f"__consumer_offsets-{offsets_partition}: compacted offsets"
        self.cluster.wait_until(
            lambda: all(marker in node.output() for node in self.cluster.nodes.values()
                        if node.running), "compaction on the running replicas")
        node = self.cluster.nodes[follower]
        node.start()
        self.cluster.wait_until(
            lambda: f"__consumer_offsets-{offsets_partition}: installed the leader's snapshot"
            in node.output(), "the snapshot installed on the replica back")
        self.transfer_to_partition("__consumer_offsets", offsets_partition, 50, follower)

        from kafka import KafkaAdminClient
        admin = KafkaAdminClient(bootstrap_servers=self.cluster.bootstrap(),
                                 request_timeout_ms=30000)
        try:
            got = self.cluster.wait_until(
                lambda: {tp.partition: m.offset
                         for tp, m in admin.list_consumer_group_offsets(group).items()
                         if tp.topic == topic} or None, "the committed offsets")
        finally:
            admin.close()
        self.assertEqual(got, {0: 1597, 1: 1598, 2: 1599})

    def test_a_compacted_topic_keeps_each_keys_newest_value_on_every_replica(self):
        """cleanup.policy=compact on RF 3: a follower is down while 20,000 updates of 200 keys
        (a few deleted) are written and compacted on the others (batches whose records all
        went stay empty in the Raft log); back, it catches up from the compacted log, and once
        it leads it serves each key's newest value (or tombstone) at its original offset, and
        nothing that was not written there."""
        from confluent_kafka import Producer
        topic = "table"
        leaders = self.create(topic, 1, configs={"cleanup.policy": "compact",
                                                 "segment.bytes": "1048576",
                                                 "segment.ms": "1000",
                                                 "min.cleanable.dirty.ratio": "0.01"})
        leader = leaders[0][0]
        follower = next(n for n in self.cluster.nodes if n != leader)
        self.cluster.nodes[follower].kill()
        written, newest, errors = {}, {}, []

        def on_delivery(err, msg):
            if err is not None:
                errors.append(err)
                return
            written[msg.offset()] = (msg.key(), msg.value())
            if msg.key() not in newest or newest[msg.key()][0] < msg.offset():
                newest[msg.key()] = (msg.offset(), msg.value())
        producer = Producer({"bootstrap.servers": self.cluster.bootstrap(), "acks": "all",
                             "linger.ms": 5})
        for i in range(20000):
            key = b"key-%d" % (i % 200)
            # The last round deletes every twentieth key.
            value = None if i >= 19800 and i % 20 == 0 else b"value-%d-" % i + b"x" * 200
            while True:
                try:
                    producer.produce(topic, key=key, value=value, partition=0,
                                     on_delivery=on_delivery)
                    break
                except BufferError:
                    producer.poll(0.1)
        self.assertEqual(producer.flush(TIMEOUT), 0)
        self.assertEqual(errors, [])
        marker = re.compile(rf"{topic}-0: compacted \d+ of \d+ segment\(s\) up to offset (\d+)")

        def compacted_to(node):
            return max([int(m) for m in marker.findall(node.output())] or [0])
        # Up to the last segment or so (each holds about 4,500 updates).
        self.cluster.wait_until(
            lambda: all(compacted_to(node) >= 15000 for node in self.cluster.nodes.values()
                        if node.running), "compaction on the running replicas")
        # The leader restarts, so that no append it queued for the follower before the
        # compaction is still on its way: what the follower gets is read from compacted logs.
        self.cluster.nodes[leader].stop()
        self.cluster.nodes[leader].start()
        self.wait_leaders(topic, 1, exclude=(follower,))
        self.cluster.nodes[follower].start()
        self.transfer_to(topic, follower)  # it caught up: a transfer waits for that

        from kafka import KafkaConsumer, TopicPartition
        consumer = KafkaConsumer(bootstrap_servers=self.cluster.bootstrap(),
                                 enable_auto_commit=False, consumer_timeout_ms=5000,
                                 request_timeout_ms=30000, api_version_auto_timeout_ms=30000)
        try:
            tp = TopicPartition(topic, 0)
            consumer.assign([tp])
            consumer.seek(tp, 0)
            got = []
            deadline = time.time() + TIMEOUT
            while (not got or got[-1][0] < 19999) and time.time() < deadline:
                for msgs in consumer.poll(timeout_ms=1000).values():
                    got.extend((m.offset, m.key, m.value) for m in msgs)
        finally:
            consumer.close()
        offsets = [o for o, _, _ in got]
        self.assertEqual(offsets, sorted(set(offsets)), "offsets increase")
        self.assertLess(len(got), 20000 // 2, "compacted")
        for o, k, v in got:
            self.assertEqual(written[o], (k, v), f"offset {o}")
        served = {}
        for o, k, v in got:
            served[k] = (o, v)
        self.assertEqual(served, newest)

    @unittest.skipIf(SANITIZED, "five clients through 20 moves: the regular build runs it")
    def test_clients_tail_a_partition_through_twenty_leadership_changes(self):
        """kcat, kafka-python, confluent-kafka, kafkajs and librdkafka's C API tail a partition
        while an idempotent acks=all producer writes and its leadership moves 20 times: each
        reads every value once, in order, at contiguous offsets (no internal entry, no gap, no
        duplicate), without an error, and librdkafka's fetch size never grows; the leader
        epoch in Metadata never decreases on any broker."""
        import subprocess
        from confluent_kafka import Producer
        topic, chunk, moves = "tail", 300, 20
        total = chunk * (moves + 1)
        self.create(topic, 1)
        # kafkajs gives up a join that finds its coordinator loading (it restarts the consumer,
        # which counts as an error here): the offsets partitions first settle on their
        # preferred replicas, where leader balancing leaves them.
        self.settle_offsets_topic()
        here = os.path.dirname(os.path.abspath(__file__))
        boot = self.cluster.bootstrap()
        args = [boot, topic, "0", str(total), "240"]
        commands = {
            "kcat": ["kcat", "-C", "-b", boot, "-t", topic, "-p", "0", "-o", "beginning",
                     "-c", str(total), "-f", "%o %s\n", "-q"],
            "kafka-python": ["/usr/bin/python3", os.path.join(here, "tail_client.py"),
                             "kafka-python"] + args,
            "confluent": ["/usr/bin/python3", os.path.join(here, "tail_client.py"),
                          "confluent"] + args,
            "kafkajs": ["node", os.path.join(here, "js", "tail.mjs")] + args,
            "librdkafka": [os.environ["RDKAFKA_TAIL"]] + args,
        }
        out_dir = self.cluster._tmp.name
        tailers = {}
        for name, cmd in commands.items():
            out = open(os.path.join(out_dir, f"{name}.out"), "w")
            err = open(os.path.join(out_dir, f"{name}.err"), "w")
            tailers[name] = (subprocess.Popen(cmd, stdout=out, stderr=err,
                                              cwd=os.path.join(here, "js")), out, err)

        # Every broker's Metadata, sampled while the leadership moves: epochs never decrease.
        epochs = {n: [] for n in self.cluster.nodes}
        sampling = threading.Event()

        def sample():
            while not sampling.is_set():
                for n, node in self.cluster.nodes.items():
                    try:
                        l, e = partition_leaders(node.port, topic)[0]
                    except Exception:  # noqa: BLE001 (a broker busy answering: next round)
                        continue
                    if l >= 0:
                        epochs[n].append(e)
                time.sleep(0.05)
        sampler = threading.Thread(target=sample)
        sampler.start()

        acked, failed = [], []

        def on_delivery(err, msg):
            (failed if err is not None else acked).append(err or msg.offset())
        producer = Producer({"bootstrap.servers": boot, "enable.idempotence": True,
                             "acks": "all", "linger.ms": 2, "message.timeout.ms": 120000,
                             "topic.metadata.refresh.interval.ms": 1000})
        try:
            sent = 0
            for k in range(moves + 1):
                start = len(acked)
                moving = k == moves  # the last chunk is written without a move
                for _ in range(chunk):
                    producer.produce(topic, value=b"t%06d" % sent, partition=0,
                                     on_delivery=on_delivery)
                    sent += 1
                    producer.poll(0)
                    time.sleep(0.002)
                    if not moving and len(acked) - start >= chunk // 3:
                        moving = True
                        self.transfer_leadership(topic, 0)
                if not moving:
                    self.transfer_leadership(topic, 0)
            self.assertEqual(producer.flush(TIMEOUT), 0)
            self.assertEqual(failed, [])
            self.assertEqual(len(acked), total)
        finally:
            sampling.set()
            sampler.join()

        for name, (proc, out, err) in tailers.items():
            try:
                rc = proc.wait(timeout=240)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
            out.close()
            err.close()
            with open(os.path.join(out_dir, f"{name}.err")) as f:
                errors = f.read()
            self.assertEqual(rc, 0, f"{name} exited {rc}:\n{errors[-4000:]}")
            with open(os.path.join(out_dir, f"{name}.out")) as f:
                lines = f.read().split("\n")[:-1]
            got = [tuple(line.split(" ", 1)) for line in lines]
            if name == "kafkajs":
                # kafkajs joins its group again when a fetch finds that the leadership moved,
                # and resumes from the group's committed offset: a message it processed but
                # had not committed yet comes again (at least once, by design). It must be
                # the same record at the same offset; it counts once.
                seen, once = {}, []
                for o, v in got:
                    if o in seen:
                        self.assertEqual(seen[o], v, f"kafkajs: offset {o} changed")
                        continue
                    seen[o] = v
                    once.append((o, v))
                got = once
            self.assertEqual([int(o) for o, _ in got], list(range(total)), f"{name}: offsets")
            self.assertEqual([v for _, v in got], ["t%06d" % i for i in range(total)],
                             f"{name}: values")
            if name == "librdkafka":  # its fetch size was watched: fetches were logged
                self.assertRegex(errors, r"fetch size grew 0 time\(s\) in [1-9]\d* fetch log")
        for n, seen in epochs.items():
            self.assertEqual(seen, sorted(seen), f"broker {n}: leader epochs went backwards")
        self.assertGreaterEqual(max(max(s) for s in epochs.values() if s) -
                                min(min(s) for s in epochs.values() if s), moves)

    def test_controlled_shutdown_of_each_broker_under_load(self):
        """SIGTERM of each broker in turn while an idempotent producer writes acks=all: the
        broker hands its partitions over before it stops, so the producer sees no error and
        nothing is lost or doubled."""
        topic, partitions = "rolling", 3
        self.create(topic, partitions)

        def restart(k, leaders):
            node = self.cluster.nodes[k + 1]
            self.assertEqual(node.stop(), 0)
            self.assertRegex(node.output(), "controlled shutdown: no partition led here")
            self.wait_leaders(topic, partitions, exclude=(k + 1,))
            node.start()

        self.write_through(topic, partitions, 6000, restart, 3)

    def test_a_paused_leader_never_exposes_the_writes_it_took_alone(self):
        """A leader stopped with SIGSTOP while acks=1 writes wait in its sockets: the others
        elect a new leader; when it resumes, whatever it did with those writes, none is ever
        consumed, the high watermark never goes backwards, and OffsetForLeaderEpoch places
        the end of the old leader's epoch where its committed records end."""
        import kafka_wire
        from confluent_kafka import Producer
        topic = "paused"
        self.create(topic, 1)
        self.write_acked(topic, [b"before%d" % i for i in range(50)])
        old, old_epoch = self.wait_leaders(topic, 1)[0]
        clients = [kafka_wire.Client(self.cluster.nodes[old].port, timeout=TIMEOUT)
                   for _ in range(5)]
        answers = []
        node = self.cluster.nodes[old]
        node.proc.send_signal(signal.SIGSTOP)

        def stopped():
            # Every thread of the broker stopped: nothing it receives now is handled before
            # it resumes.
            task = f"/proc/{node.proc.pid}/task"
            for t in os.listdir(task):
                with open(f"{task}/{t}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "T":
                        return False
            return True
        self.cluster.wait_until(stopped, "the leader stopped")
        try:
            def write(i, c):
                answers.append(c.produce(topic, 0, kafka_wire.record_batch([b"alone%d" % i]),
                                         acks=1))
            writers = [threading.Thread(target=write, args=(i, c)) for i, c in enumerate(clients)]
            for w in writers:
                w.start()
            new = self.wait_leaders(topic, 1, exclude=(old,))[0][0]
            # A client that knew the old leader would wait out its request timeout: a new one
            # bootstraps from the others.
            others = [n for n in self.cluster.nodes if n != old]
            after = Producer({"bootstrap.servers": self.cluster.bootstrap(*others),
                              "acks": "all"})
            for i in range(50):
                after.produce(topic, value=b"after%d" % i, partition=0)
            self.assertEqual(after.flush(TIMEOUT), 0)
            c = kafka_wire.Client(self.cluster.nodes[new].port)
            hw_before = kafka_wire.list_offsets(c, topic, 0, -1)
            c.close()
        finally:
            node.proc.send_signal(signal.SIGCONT)
        for w in writers:
            w.join(TIMEOUT)
        for c in clients:
            c.close()
        self.assertEqual(len(answers), 5)
        self.wait_leaders(topic, 1)
        got = self.consume_all(topic, 1, 100)
        values = [v for _, v in got[0]]
        self.assertEqual(values, [b"before%d" % i for i in range(50)] +
                         [b"after%d" % i for i in range(50)])
        leader = self.wait_leaders(topic, 1)[0][0]
        c = kafka_wire.Client(self.cluster.nodes[leader].port)
        hw_after = kafka_wire.list_offsets(c, topic, 0, -1)
        c.close()
        self.assertEqual(hw_before[0], 0, hw_before)
        self.assertEqual(hw_after[0], 0, hw_after)
        self.assertGreaterEqual(hw_after[2], hw_before[2])
        # A consumer checking its position after the leader change (KIP-320) learns that the
        # old epoch ends where its committed records end, not after the writes the paused
        # leader took alone.
        c = kafka_wire.Client(self.cluster.nodes[leader].port)
        answer = kafka_wire.offset_for_leader_epoch(c, topic, 0, old_epoch)
        c.close()
        self.assertEqual(answer, (0, old_epoch, 50))

    def test_a_resumed_leader_refuses_an_idempotent_write_it_no_longer_leads(self):
        """A leader stopped with SIGSTOP while the others elect a new one, which takes the
        producer's next batch: a batch after it, waiting in the stopped leader's socket when
        it resumes, is answered NOT_LEADER_OR_FOLLOWER (the producer retries at the new
        leader), never OUT_OF_ORDER_SEQUENCE_NUMBER from the sequence state of a leadership
        it lost while it did not run (a fatal error for an idempotent producer)."""
        import kafka_wire
        topic = "resumed"
        self.create(topic, 1)
        old = self.wait_leaders(topic, 1)[0][0]
        node = self.cluster.nodes[old]
        c = kafka_wire.Client(node.port, timeout=TIMEOUT)
        err, pid, epoch = c.init_producer_id()
        self.assertEqual(err, 0)

        def batch(seq):
            # Stamped now: retention (every second here) would take records of long ago.
            return kafka_wire.record_batch([b"v%d" % seq], producer=(pid, epoch, seq),
                                           ts=int(time.time() * 1000))
        self.assertEqual(c.produce(topic, 0, batch(0))[0], 0)
        node.proc.send_signal(signal.SIGSTOP)
        resumed = False
        try:
            new = self.wait_leaders(topic, 1, exclude=(old,))[0][0]
            n = kafka_wire.Client(self.cluster.nodes[new].port, timeout=TIMEOUT)
            self.assertEqual(n.produce(topic, 0, batch(1))[0], 0)
            answers = []
            writer = threading.Thread(target=lambda: answers.append(c.produce(topic, 0, batch(2))))
            writer.start()
            # The request is in the stopped leader's socket before it resumes.
            self.cluster.wait_until(lambda: sent_queue(node.proc.pid, node.port) > 0,
                                    "the request queued at the stopped leader")
            node.proc.send_signal(signal.SIGCONT)
            resumed = True
            writer.join(TIMEOUT)
        finally:
            if not resumed:
                node.proc.send_signal(signal.SIGCONT)
        self.assertEqual(len(answers), 1)
        self.assertEqual(answers[0][0], 6, answers)  # NOT_LEADER_OR_FOLLOWER
        # The retry at the new leader carries on the producer's sequence.
        self.assertEqual(n.produce(topic, 0, batch(2))[0], 0)
        n.close()
        c.close()
        self.wait_leaders(topic, 1)
        got = self.consume_all(topic, 1, 3)
        self.assertEqual([v for _, v in got[0]], [b"v0", b"v1", b"v2"])

    def test_two_replicas_with_min_insync_two_stop_while_one_is_down(self):
        """RF 2, min.insync.replicas 2: acks=all writes fail while a replica is down
        (NOT_ENOUGH_REPLICAS from the leader Metadata still names, which keeps serving what was
        committed) and go through again once it is back; only the acknowledged ones are read
        back."""
        from confluent_kafka import Producer
        topic = "pair"
        leaders = self.create(topic, 1, rf=2, configs={"min.insync.replicas": "2"})
        acked, failed = [], []

        def deliver(err, msg):
            (failed if err else acked).append(msg.value())

        def send(prefix, n, timeout_ms):
            p = Producer({"bootstrap.servers": self.cluster.bootstrap(), "acks": "all",
                          "message.timeout.ms": timeout_ms, "retry.backoff.ms": 100})
            for i in range(n):
                p.produce(topic, value=b"%s%d" % (prefix, i), partition=0, on_delivery=deliver)
            p.flush(TIMEOUT)

        send(b"up", 20, 30000)
        self.assertEqual(len(acked), 20)
        from confluent_kafka.admin import AdminClient
        md = AdminClient({"bootstrap.servers": self.cluster.bootstrap()}).list_topics(
            topic, timeout=TIMEOUT)
        replicas = md.topics[topic].partitions[0].replicas
        leader = leaders[0][0]
        follower = [r for r in replicas if r != leader][0]
        self.cluster.nodes[follower].kill()
        # The leader cannot commit without its follower and says so: NOT_ENOUGH_REPLICAS (19),
        # as Kafka's leader does below min.insync.replicas, to acks=all and to acks=1 writes
        # (its lost majority steps it down: it takes no write at all). Meanwhile every broker's
        # Metadata still names it, so a client that refreshes comes back to the same answer.
        import kafka_wire
        live = [n for n in self.cluster.nodes if n != follower]

        def refused():
            c = kafka_wire.Client(self.cluster.nodes[leader].port, timeout=20)
            try:
                return c.produce(topic, 0, kafka_wire.record_batch([b"probe"]), acks=-1)[0] == 19
            finally:
                c.close()
        self.cluster.wait_until(refused, "NOT_ENOUGH_REPLICAS from the leader")
        c = kafka_wire.Client(self.cluster.nodes[leader].port, timeout=20)
        try:
            self.assertEqual(c.produce(topic, 0, kafka_wire.record_batch([b"probe"]), acks=1)[0],
                             19)
            # What was committed is still served: Fetch and ListOffsets, at its epoch.
            err, hw, _ = c.fetch(topic, 0, 0)
            self.assertEqual(err, 0)
            self.assertGreaterEqual(hw, 20)
            self.assertEqual(kafka_wire.list_offsets(c, topic, 0, -1)[::2], (0, hw))
        finally:
            c.close()
        for n in live:
            self.assertEqual(partition_leaders(self.cluster.nodes[n].port, topic)[0], leaders[0])
        # A consumer reads every acknowledged record while the follower is down.
        from confluent_kafka import Consumer, TopicPartition
        consumer = Consumer({"bootstrap.servers": self.cluster.bootstrap(*live),
                             "group.id": "pair-reader", "enable.auto.commit": False})
        try:
            consumer.assign([TopicPartition(topic, 0, 0)])
            got, deadline = [], time.time() + TIMEOUT
            while len(got) < 20 and time.time() < deadline:
                m = consumer.poll(1.0)
                if m is not None:
                    self.assertIsNone(m.error())
                    got.append(m.value())
            self.assertEqual(got, acked)
        finally:
            consumer.close()
        # No write can commit: the health of the leader's broker counts it leaderless.
        import json
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{self.cluster.nodes[leader].admin_port}"
                                    "/v1/cluster/health", timeout=TIMEOUT) as r:
            health = json.loads(r.read())
        self.assertIn({"topic": topic, "partition": 0}, health["leaderless_partitions"])
        self.assertFalse(health["is_healthy"])
        send(b"down", 5, 3000)
        self.assertEqual(len(failed), 5)
        self.cluster.nodes[follower].start()
        send(b"back", 20, 60000)
        self.assertEqual(len(acked), 40)
        # A write that timed out may still commit later (it reached the leader's log, as in
        # Kafka): the acknowledged ones are all there, in order, and nothing else but those.
        # Read up to the high watermark (every record below it, offsets from 0).

        def high_watermark():
            now = partition_leaders(self.cluster.nodes[leader].port, topic)[0][0]
            if now < 0:
                return None
            c = kafka_wire.Client(self.cluster.nodes[now].port, timeout=20)
            try:
                err, _, end = kafka_wire.list_offsets(c, topic, 0, -1)
            finally:
                c.close()
            return end if err == 0 else None
        end = self.cluster.wait_until(high_watermark, "the high watermark")
        self.assertGreaterEqual(end, 40)
        got = [v for _, v in self.consume_all(topic, 1, end)[0]]
        self.assertEqual(len(got), end)
        self.assertEqual([v for v in got if not v.startswith((b"down", b"probe"))], acked)
        self.assertTrue(set(got) <= set(acked) | set(failed) | {b"probe"})

    @unittest.skipIf(SANITIZED, "a rate bound on 6 MiB: the regular build runs it")
    def test_recovery_is_throttled_and_new_writes_are_not(self):
        """replication.recovery_max_bytes_per_sec 512 KiB/s: a follower back after 6 MiB were
        written without it catches up no faster than the limit allows (a lower bound on the
        time, which a slow machine cannot break), while acks=all writes on the other two go on
        at once; then it holds every record. Meanwhile it is out of the ISR, in the leader's
        count and in every broker's Metadata, and back in once it has caught up."""
        from confluent_kafka import Producer
        self.cluster.close()
        self.cluster = Cluster(3, insert={
            "  replication:\n": "    recovery_max_bytes_per_sec: 524288\n"
                                 "    auto_leader_rebalance: false\n"}).start()
        topic = "recovering"
        leader = self.create(topic, 1)[0][0]
        follower = [n for n in self.cluster.nodes if n != leader][0]
        self.cluster.nodes[follower].kill()
        # Batches of at most 16 KiB: the appends the leader had sent before it noticed the
        # follower gone (at most 16 of 64 KiB, which the inter-broker connection may deliver
        # when it is back) carry at most 1 MiB; the rest is recovery.
        producer = Producer({"bootstrap.servers": self.cluster.bootstrap(), "acks": "all",
                             "linger.ms": 5, "batch.size": 16384})
        value = b"r" * 1024
        written = 6144
        for i in range(written):
            producer.produce(topic, value=value, partition=0)
            producer.poll(0)
        self.assertEqual(producer.flush(TIMEOUT), 0)

        def lag():
            """The furthest-behind follower's lag as its leader sees it."""
            most = -1
            for node in self.cluster.nodes.values():
                if node.running:
                    m = re.search(r"strom_replica_max_follower_lag (\d+)", node.metrics())
                    most = max(most, int(m.group(1)) if m else -1)
            return most
        self.assertGreater(lag(), 0)

        def under_replicated():
            """The leader's count of partitions it leads with a replica out of sync."""
            m = re.search(r"^strom_replica_under_replicated_partitions (\S+)$",
                          self.cluster.nodes[leader].metrics(), re.M)
            return float(m.group(1))
        # Gone for an election timeout: out of sync, long before replica.lag.time.max.ms.
        self.cluster.wait_until(lambda: under_replicated() == 1, "the partition under-replicated")
        started = time.time()
        self.cluster.nodes[follower].start()
        # New writes are not held back behind the recovery.
        for i in range(100):
            producer.produce(topic, value=b"new%d" % i, partition=0)
        self.assertEqual(producer.flush(TIMEOUT), 0)
        self.assertGreater(lag(), 0, "the follower caught up at once")
        # Back and answering, but not in sync before it caught up (Kafka's ISR, not liveness).
        self.assertEqual(under_replicated(), 1)
        from confluent_kafka.admin import AdminClient

        def isr_views():
            """(live brokers, ISR of partition 0) in each running broker's Metadata."""
            views = []
            for node in self.cluster.nodes.values():
                if node.running:
                    md = AdminClient({"bootstrap.servers": f"127.0.0.1:{node.port}"}).list_topics(
                        topic, timeout=TIMEOUT)
                    views.append((set(md.brokers), set(md.topics[topic].partitions[0].isrs)))
            return views
        self.cluster.wait_until(
            lambda: all(follower in live and follower not in isr for live, isr in isr_views()),
            "every broker's Metadata to list the follower live and out of the ISR")
        self.assertGreater(lag(), 0, "the follower caught up before Metadata left it out")
        self.cluster.wait_until(lambda: lag() == 0, "the follower caught up")
        self.cluster.wait_until(lambda: under_replicated() == 0, "the follower in sync again")
        took = time.time() - started
        self.assertGreater(took, 5 * 1024 * 1024 / 524288 - 1, "recovery was not throttled")
        self.cluster.wait_until(lambda: all(isr == {1, 2, 3} for _, isr in isr_views()),
                                "every broker's Metadata to list the follower in the ISR again")
        # Every record on the follower too: it leads now and serves them.
        self.transfer_to(topic, follower)
        got = self.consume_all(topic, 1, written + 100)[0]
        self.assertEqual(len(got), written + 100)

    def test_retention_cuts_every_replica_and_a_follower_behind_catches_up(self):
        """Retention by size on RF 3: the leader's log start moves through a snapshot; a
        follower that was down while the segments it lacked were deleted catches up; after the
        leader dies the partition serves from its log start with every record after it."""
        import kafka_wire
        from confluent_kafka import Producer
        topic = "trimmed"
        leaders = self.create(topic, 1, configs={"segment.bytes": "1048576",
                                                 "retention.bytes": "1048576"})
        leader = leaders[0][0]
        follower = [n for n in self.cluster.nodes if n != leader][0]
        self.cluster.nodes[follower].kill()
        producer = Producer({"bootstrap.servers": self.cluster.bootstrap(), "acks": "all",
                             "linger.ms": 5})
        payload = b"x" * 1000
        for i in range(5000):
            producer.produce(topic, key=b"%d" % i, value=payload, partition=0)
            if i % 500 == 0:
                producer.poll(0)
        self.assertEqual(producer.flush(TIMEOUT), 0)

        def log_start(node):
            c = kafka_wire.Client(self.cluster.nodes[node].port)
            try:
                err, _, offset = kafka_wire.list_offsets(c, topic, 0, -2)
            finally:
                c.close()
            return offset if err == 0 else None
        start = self.cluster.wait_until(lambda: log_start(leader) or None,
                                        "the leader's log start to move")
        self.assertGreater(start, 0)
        self.cluster.nodes[follower].start()
        for i in range(5000, 5100):
            producer.produce(topic, key=b"%d" % i, value=payload, partition=0)
        self.assertEqual(producer.flush(TIMEOUT), 0)
        self.cluster.nodes[leader].kill()
        new = self.wait_leaders(topic, 1, exclude=(leader,))[0][0]
        first = log_start(new)
        self.assertIsNotNone(first)
        from kafka import KafkaConsumer, TopicPartition
        consumer = KafkaConsumer(bootstrap_servers=self.cluster.bootstrap(
            *[n for n in self.cluster.nodes if n != leader]), enable_auto_commit=False,
            consumer_timeout_ms=5000, request_timeout_ms=30000, api_version_auto_timeout_ms=30000)
        try:
            tp = TopicPartition(topic, 0)
            consumer.assign([tp])
            consumer.seek(tp, first)
            got = []
            deadline = time.time() + TIMEOUT
            while (not got or got[-1][0] < 5099) and time.time() < deadline:
                for msgs in consumer.poll(timeout_ms=1000).values():
                    got.extend((m.offset, m.key) for m in msgs)
        finally:
            consumer.close()
        self.assertEqual([o for o, _ in got], list(range(first, 5100)))
        self.assertEqual([k for _, k in got], [b"%d" % o for o in range(first, 5100)])

    def test_leader_epochs_of_a_name_never_go_backwards_across_recreation(self):
        """A topic deleted and created again under its name starts its leader epochs above
        the ones the name reached, on every broker."""
        topic = "again"
        leaders = self.create(topic, 2)
        # A leadership change or two raises the epochs of the first incarnation.
        first = leaders[0][0]
        self.cluster.nodes[first].stop()
        leaders = self.wait_leaders(topic, 2, exclude=(first,))
        self.cluster.nodes[first].start()
        highest = max(e for _, e in leaders.values())
        admin = self.admin()
        fs = admin.delete_topics([topic], request_timeout=TIMEOUT)
        fs[topic].result(timeout=TIMEOUT)
        self.cluster.wait_until(lambda: all(not partition_leaders(n.port, topic)
                                            for n in self.cluster.nodes.values()),
                                "the topic gone")
        again = self.create(topic, 2)
        self.assertGreater(min(e for _, e in again.values()), highest)

    def test_a_new_topic_is_led_by_its_preferred_replicas_from_its_first_election(self):
        """Each partition of a new topic is led by its first replica (the preferred one) from
        its first election on (leader epoch 1): no other replica wins it, to hand the
        leadership, and its clients, over a few seconds later."""
        topic = "preferred-first"
        leaders = self.create(topic, 6)
        ps = self.admin().list_topics(topic, timeout=5).topics[topic].partitions
        for p, (leader, epoch) in leaders.items():
            self.assertEqual((leader, epoch), (ps[p].replicas[0], 1), f"partition {p}")

    def test_leaders_return_to_their_preferred_replicas(self):
        """Leader balancing: each partition ends up led by its preferred replica (one per
        broker here), also after that broker was killed and came back."""
        topic = "balanced"
        self.create(topic, 3)
        admin = self.admin()

        def preferred():
            ps = admin.list_topics(topic, timeout=5).topics[topic].partitions
            if len(ps) == 3 and all(p.leader == p.replicas[0] for p in ps.values()):
                return ps
            return None
        ps = self.cluster.wait_until(preferred, "preferred leaders")
        self.assertEqual(len({p.leader for p in ps.values()}), 3)
        victim = ps[0].leader
        self.cluster.nodes[victim].kill()
        self.wait_leaders(topic, 3, exclude=(victim,))
        self.cluster.nodes[victim].start()
        self.cluster.wait_until(preferred, "leaders back on their preferred replicas")

    def test_every_replica_holds_the_records_and_a_new_leader_serves_them(self):
        """acks=all records are on every replica: with the leader gone, another serves them
        all, with a leader epoch above the old one. Every replica's flushes of them are timed
        in its strom_storage_flush_latency_seconds, and their commit on the leader in its
        strom_replication_commit_latency_seconds."""
        topic = "mirrored"
        leaders = self.create(topic, 1)
        old_leader, old_epoch = leaders[0]

        def counts(histogram):
            out = {}
            for n, node in self.cluster.nodes.items():
                m = re.search(rf"^{histogram}_count (\S+)$", node.metrics(), re.M)
                out[n] = float(m.group(1)) if m else 0.0
            return out
        flushes = "strom_storage_flush_latency_seconds"
        commits = "strom_replication_commit_latency_seconds"
        before, commits_before = counts(flushes), counts(commits)
        self.write_acked(topic, [b"v%d" % i for i in range(100)])
        self.cluster.wait_until(
            lambda: all(c > before[n] for n, c in counts(flushes).items()),
            "every replica's flush of the acknowledged records timed")
        self.assertGreater(counts(commits)[old_leader], commits_before[old_leader])
        self.cluster.nodes[old_leader].kill()
        leaders = self.wait_leaders(topic, 1, exclude=(old_leader,))
        self.assertGreater(leaders[0][1], old_epoch)
        got = self.consume_all(topic, 1, 100)
        self.assertEqual([v for _, v in got[0]], [b"v%d" % i for i in range(100)])

    def test_a_broker_that_lost_its_disk_is_filled_again(self):
        """A broker killed (-9) whose data directory is then removed (a replaced disk) starts
        empty and fetches everything again, the controller's log and every replica it holds,
        though the leaders knew it had flushed what it lost. Then, with another broker down,
        its copies count toward every majority: acks=all writes and a new topic commit, and a
        partition it leads serves every acknowledged record."""
        import shutil
        topic = "refilled"
        self.create(topic, 2)
        values = [b"v%d" % i for i in range(2000)]
        self.write_acked(topic, values[:1500])
        controller = self.admin().list_topics(timeout=TIMEOUT).controller_id
        leader = self.wait_leaders(topic, 2)[0][0]
        wiped = next(n for n in sorted(self.cluster.nodes) if n not in (controller, leader))
        other = next(n for n in sorted(self.cluster.nodes) if n not in (wiped, leader))
        node = self.cluster.nodes[wiped]
        node.kill()
        shutil.rmtree(node.data)
        node.start()
        self.write_acked(topic, values[1500:1800])
        # Filled again (the operator's signal to take down the next broker): until then its
        # votes do not count, and a group whose other holder is down would wait for it.
        self.wait_rebuilt(wiped, 2)
        self.cluster.nodes[other].kill()
        self.write_acked(topic, values[1800:])
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import AdminClient, NewTopic

        def created():
            # A fresh client each time: librdkafka may hold on to the killed broker as the
            # controller it waits for. A controller that cannot commit fails every attempt.
            admin = AdminClient({"bootstrap.servers": self.cluster.bootstrap(leader, wiped)})
            fs = admin.create_topics([NewTopic("after", 1, 2)], request_timeout=10)
            try:
                fs["after"].result(timeout=15)
            except KafkaException as e:
                if e.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    return True
                raise
            return True
        self.cluster.wait_until(created, "a topic created by the two brokers left")
        self.transfer_to_partition(topic, 0, 2, wiped)
        got = self.consume_all(topic, 1, len(values))
        self.assertEqual([v for _, v in got[0]], values)
        self.assertEqual([o for o, _ in got[0]], list(range(len(values))))

    def test_a_broker_that_lost_its_disk_elects_no_replica_missing_acknowledged_records(self):
        """Two brokers hold acknowledged records that the third missed (stopped with SIGSTOP).
        The leader is killed (-9) and the other holder restarts with an empty data directory
        while the third resumes. The emptied broker does not know what it acknowledged, so it
        says so when it answers a vote request, and its grant does not count until it has
        caught up: the stale broker wins neither the controller nor the partition, both wait
        for the leader, and then every acknowledged record is read back at its offset."""
        import shutil
        topic = "forgetful"
        leader = self.create(topic, 1)[0][0]
        holder, stale = [n for n in sorted(self.cluster.nodes) if n != leader]
        values = [b"f%d" % i for i in range(600)]
        self.write_acked(topic, values[:100])
        stale_node = self.cluster.nodes[stale]
        stale_node.proc.send_signal(signal.SIGSTOP)
        try:
            self.write_acked(topic, values[100:])  # on the leader and the holder only
            self.cluster.nodes[leader].kill()
            node = self.cluster.nodes[holder]
            node.kill()
            shutil.rmtree(node.data)
        finally:
            stale_node.proc.send_signal(signal.SIGCONT)
        node.start()

        def answered_rebuilding(group):
            return self.metric(holder, "strom_raft_votes_while_rebuilding_total",
                               rf'\{{group="{group}"\}}') or 0
        # The stale broker campaigns for the controller, again and again (unless it led the
        # controller all along: then the emptied broker rebuilds the controller's log from it,
        # and takes its replica of the partition), and for the partition. The emptied broker
        # answers each time, rebuilding; counted, its first answers would elect the stale one.
        self.cluster.wait_until(
            lambda: answered_rebuilding("partitions") >= 2 or answered_rebuilding("controller") >= 4,
            "the emptied broker answering the stale one's campaigns")
        self.assertEqual(self.metric(stale, "strom_partition_leaders"), 0)
        self.assertNotEqual(partition_leaders(self.cluster.nodes[stale].port, topic)[0][0],
                            stale)
        self.cluster.nodes[leader].start()
        self.wait_leaders(topic, 1)
        got = self.consume_all(topic, 1, len(values))
        self.assertEqual([v for _, v in got[0]], values)
        self.assertEqual([o for o, _ in got[0]], list(range(len(values))))
        # The emptied broker rebuilds both groups from the leader and votes again.
        self.wait_rebuilt(holder, 1)

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
