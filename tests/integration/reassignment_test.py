"""Moving partition replicas on real brokers (config/cluster, plus node 4 outside the seeds):
AlterPartitionReassignments from kafkajs and from the wire, ListPartitionReassignments, a
replication factor raised under acks=all load, every replica of a partition moved to other
brokers, a move cancelled half way, a broker decommissioned under load, ElectLeaders.

Run by ctest with STROMD pointing at the binary."""

import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import kafka_wire  # noqa: E402
from cluster import Cluster, TIMEOUT  # noqa: E402
from replication_test import ClusterHelpers  # noqa: E402

JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


class ReassignmentTest(ClusterHelpers, unittest.TestCase):
    def setUp(self):
        self.cluster = None

    def tearDown(self):
        if self.cluster:
            self.cluster.close()

    def start(self, size=3, insert=None):
        self.cluster = Cluster(3, insert=insert)
        for n in range(4, size + 1):
            self.cluster.add_node(n)
        self.cluster.start()
        self.admin()
        # Every broker knows them all (a move to a broker its view lacks is refused).
        from confluent_kafka.admin import AdminClient
        for node in self.cluster.nodes.values():
            admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{node.port}"})
            self.cluster.wait_until(lambda: len(admin.list_topics(timeout=5).brokers) == size,
                                    f"broker {node.node_id} knows {size} brokers")

    def kafkajs(self, *args):
        """reassign.mjs through kafkajs's admin client: its JSON answer."""
        out = subprocess.run(["node", os.path.join(JS, "reassign.mjs"), self.cluster.bootstrap(),
                              *args], cwd=JS, capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout.strip().splitlines()[-1])

    def wire(self, fn, *args):
        c = kafka_wire.Client(self.cluster.nodes[1].port, timeout=TIMEOUT)
        try:
            return fn(c, *args)
        finally:
            c.close()

    def replicas(self, topic):
        """{partition: replica list} as Metadata (confluent-kafka) names them."""
        md = self.admin().list_topics(topic, timeout=10)
        return {p: list(m.replicas) for p, m in md.topics[topic].partitions.items()}

    def moves(self):
        return self.wire(kafka_wire.list_partition_reassignments)

    def wait_moves_done(self, topic, want):
        """No move in flight, and Metadata names `want` ({partition: replicas}) on every
        running broker's answer."""
        self.cluster.wait_until(lambda: not self.moves(), "the moves to end", timeout=120)
        self.cluster.wait_until(lambda: all(self.replicas(topic)[p] == r
                                            for p, r in want.items()),
                                f"the replicas of {topic} to be {want}")

    def test_a_replication_factor_raised_under_load_loses_nothing(self):
        """An idempotent acks=all producer writes to two partitions with one replica each while
        kafkajs moves each to three replicas; once the moves ended, the broker that held each
        partition alone is killed -9 and restarted: every acknowledged write is read back once,
        in order, at contiguous offsets."""
        self.start()
        topic, partitions = "grow", 2
        self.create(topic, partitions, rf=1)
        before = self.replicas(topic)
        want = {}
        for p in range(partitions):
            only = before[p][0]
            want[p] = [only] + [n for n in (1, 2, 3) if n != only]

        def fault(k, leaders):
            if k == 0:
                answer = self.kafkajs("alter", topic,
                                      *[f"{p}={','.join(map(str, r))}" for p, r in want.items()])
                self.assertEqual(answer, {"ok": True})
            elif k == 1:
                self.wait_moves_done(topic, want)
            else:
                victim = before[k - 2][0]
                self.cluster.nodes[victim].kill()
                self.wait_leaders(topic, partitions, exclude=(victim,))
                self.cluster.nodes[victim].start()
        self.write_through(topic, partitions, 6000, fault, 2 + partitions)
        self.assertEqual({p: sorted(r) for p, r in self.replicas(topic).items()},
                         {p: [1, 2, 3] for p in range(partitions)})
        # Every replica in sync once the restarted ones have caught up (the leaders' ISR).
        self.cluster.wait_until(
            lambda: all(len(m.isrs) == 3 for m in self.admin().list_topics(
                topic, timeout=10).topics[topic].partitions.values()),
            "every replica in the ISR")

    def test_every_replica_moves_to_other_brokers_and_the_old_ones_go(self):
        """A partition on brokers 1, 2, 3 moves to 4, 3, 2 while written (the leader leaves if
        it was 1, handing the leadership over first): broker 1 loses its replica and its data
        directory, broker 4 holds every record and, as the preferred replica, leads."""
        self.start(size=4)
        topic = "wander"
        self.create(topic, 1, rf=3)
        self.assertEqual(sorted(self.replicas(topic)[0]), [1, 2, 3])
        if self.replicas(topic)[0] != [1, 2, 3]:
            # Broker 1 leads first, so that the move hands the leadership away.
            self.wire(kafka_wire.alter_partition_reassignments, topic, {0: [1, 2, 3]})
            self.wait_moves_done(topic, {0: [1, 2, 3]})
        self.transfer_to(topic, 1)

        def fault(k, leaders):
            if k == 0:
                err, parts = self.wire(kafka_wire.alter_partition_reassignments, topic,
                                       {0: [4, 3, 2]})
                self.assertEqual((err, parts[0][0]), (0, 0))
                moving = self.moves()
                if moving:  # it may have ended already
                    replicas, adding, removing = moving[(topic, 0)]
                    self.assertEqual((adding, removing), ([4], [1]))
                    self.assertEqual(sorted(replicas), [1, 2, 3, 4])
            else:
                self.wait_moves_done(topic, {0: [4, 3, 2]})
        self.write_through(topic, 1, 4000, fault, 2)
        self.assertEqual(self.replicas(topic)[0], [4, 3, 2])
        gone = os.path.join(self.cluster.nodes[1].data, f"{topic}-0")
        self.cluster.wait_until(lambda: not os.path.exists(gone), "broker 1's replica removed")
        # Broker 4 leads (preferred) and serves every record.
        self.transfer_to(topic, 4)
        self.assertEqual(len(self.consume_all(topic, 1, 4000)[0]), 4000)

    def test_a_move_survives_its_leaders_killed_half_way(self):
        """A partition holding 2 MiB moves from brokers 1, 2, 3 to 4, 3, 2 with recovery
        throttled to 512 KiB/s, while an idempotent acks=all producer writes; its leader is
        killed -9 (and restarted) twice during the move: the move still ends with the target
        replicas, and every acknowledged write is read back once, in order."""
        self.start(size=4, insert={"  replication:\n":
                                   "    recovery_max_bytes_per_sec: 524288\n"})
        topic = "hurried"
        self.create(topic, 1, rf=3)
        if sorted(self.replicas(topic)[0]) != [1, 2, 3]:
            self.wire(kafka_wire.alter_partition_reassignments, topic, {0: [1, 2, 3]})
            self.wait_moves_done(topic, {0: [1, 2, 3]})
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": self.cluster.bootstrap(), "acks": "all",
                             "linger.ms": 5, "batch.size": 16384})
        for _ in range(2048):
            producer.produce(topic, value=b"p" * 1024, partition=0)
            producer.poll(0)
        self.assertEqual(producer.flush(TIMEOUT), 0)

        def fault(k, leaders):
            if k == 0:
                err, parts = self.wire(kafka_wire.alter_partition_reassignments, topic,
                                       {0: [4, 3, 2]})
                self.assertEqual((err, parts[0][0]), (0, 0))
            elif k < 3:
                if k == 1:  # the learner needs 4 s to catch up: the move is under way
                    self.assertIn((topic, 0), self.moves())
                victim = leaders[0][0]
                self.cluster.nodes[victim].kill()
                self.wait_leaders(topic, 1, exclude=(victim,))
                self.cluster.nodes[victim].start()
            else:
                self.wait_moves_done(topic, {0: [4, 3, 2]})
        self.write_through(topic, 1, 3000, fault, 4, skip=2048)
        self.assertEqual(self.replicas(topic)[0], [4, 3, 2])

    def test_a_cancelled_move_keeps_the_original_replicas_and_data(self):
        """With recovery throttled to 256 KiB/s, a move of a partition holding 4 MiB to broker 4
        is cancelled while broker 4 catches up: the partition keeps brokers 1, 2, 3 and every
        record, broker 4 drops what it had, and a new write is acknowledged by all three."""
        self.start(size=4, insert={"  replication:\n":
                                   "    recovery_max_bytes_per_sec: 262144\n"})
        topic = "stay"
        self.create(topic, 1, rf=3)
        original = self.replicas(topic)[0]
        value = b"s" * 1024
        self.write_acked(topic, [value] * 4096)
        target = [4] + original[1:]
        err, parts = self.wire(kafka_wire.alter_partition_reassignments, topic, {0: target})
        self.assertEqual((err, parts[0][0]), (0, 0))
        self.assertEqual(self.moves()[(topic, 0)][1:], ([4], [original[0]]))
        on_4 = os.path.join(self.cluster.nodes[4].data, f"{topic}-0")
        self.cluster.wait_until(lambda: os.path.exists(on_4), "broker 4's replica")
        # Cancelled: kafkajs cannot send a null replica list, the wire can.
        err, parts = self.wire(kafka_wire.alter_partition_reassignments, topic, {0: None})
        self.assertEqual((err, parts[0][0]), (0, 0))
        self.assertEqual(self.moves(), {})
        # A second cancellation finds nothing to cancel.
        err, parts = self.wire(kafka_wire.alter_partition_reassignments, topic, {0: None})
        self.assertEqual(parts[0][0], 85)  # NO_REASSIGNMENT_IN_PROGRESS
        # Every broker names the original replicas once it applied the cancellation.
        self.cluster.wait_until(lambda: self.replicas(topic)[0] == original,
                                "the original replicas in Metadata")
        self.cluster.wait_until(lambda: not os.path.exists(on_4), "broker 4's replica removed")
        self.write_acked(topic, [b"after"])
        got = self.consume_all(topic, 1, 4097)[0]
        self.assertEqual(len(got), 4097)
        self.assertEqual(got[-1][1], b"after")

    def test_bad_reassignments_get_an_error_each(self):
        """Unknown topic or partition, an unregistered broker, a broker twice, no replica: one
        clear error per partition, and nothing moves."""
        self.start()
        topic = "fixed"
        self.create(topic, 2, rf=1)
        cases = [({0: [9]}, 39), ({0: [1, 1]}, 39), ({0: []}, 39), ({5: [1]}, 3)]
        for moves, code in cases:
            err, parts = self.wire(kafka_wire.alter_partition_reassignments, topic, moves)
            self.assertEqual(err, 0)
            self.assertEqual([e for e, _ in parts.values()], [code], moves)
        err, parts = self.wire(kafka_wire.alter_partition_reassignments, "nope", {0: [1]})
        self.assertEqual(parts[0][0], 3)  # UNKNOWN_TOPIC_OR_PARTITION
        self.assertEqual(self.moves(), {})
        answer = self.kafkajs("alter", topic, "0=1,9")
        self.assertIn("error", answer)

    def admin_http(self, method, path, node=1):
        """(status, JSON body) of an admin API request to `node`."""
        import urllib.error
        import urllib.request
        url = f"http://127.0.0.1:{self.cluster.nodes[node].admin_port}{path}"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method=method),
                                        timeout=TIMEOUT) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def metric_sum(self, series):
        """The sum over the running brokers of one series of /metrics (name with its labels,
        as Prometheus writes them)."""
        import urllib.request
        total = 0.0
        for node in self.cluster.nodes.values():
            if not node.running:
                continue
            url = f"http://127.0.0.1:{node.admin_port}/metrics"
            with urllib.request.urlopen(url, timeout=TIMEOUT) as r:
                for line in r.read().decode().splitlines():
                    name, _, value = line.rpartition(" ")
                    if name == series:
                        total += float(value)
        return total

    def test_a_decommissioned_broker_is_emptied_under_load_and_can_then_stop(self):
        """Broker 4 of four is decommissioned while an idempotent acks=all producer writes to
        four partitions of three replicas: every replica it held moves to the other brokers
        (a few at a time), new topics get none on it, it can then be stopped without any
        partition losing its leader, and nothing acknowledged is lost or doubled. Recommission
        takes it back."""
        self.start(size=4)
        topic, partitions = "busy", 4
        self.create(topic, partitions, rf=3)
        held = [p for p, r in self.replicas(topic).items() if 4 in r]
        self.assertTrue(held, "placement put no replica on broker 4")
        self.assertEqual(self.admin_http("GET", "/v1/brokers/9/decommission")[0], 404)
        seen = []

        def fault(k, leaders):
            if k == 0:
                status, body = self.admin_http("PUT", "/v1/brokers/4/decommission", node=2)
                self.assertEqual((status, body), (200, {"broker": 4, "decommissioned": True}))
            else:
                def done():
                    status, body = self.admin_http("GET", "/v1/brokers/4/decommission")
                    self.assertEqual(status, 200)
                    seen.append(body)
                    return body["done"]
                self.cluster.wait_until(done, "broker 4 emptied", timeout=180)
        self.write_through(topic, partitions, 6000, fault, 2)
        self.assertTrue(all(4 not in r for r in self.replicas(topic).values()))
        self.assertTrue(all(b["moving"] <= 4 and b["stuck"] == 0 for b in seen), seen)
        # The moves the controller leader started, and the bytes the new replicas received.
        self.assertGreaterEqual(
            self.metric_sum('strom_cluster_automatic_moves_total{reason="decommission"}'),
            len(held))
        self.assertEqual(
            self.metric_sum('strom_cluster_automatic_moves_total{reason="balancing"}'), 0)
        self.assertGreater(self.metric_sum("strom_replication_recovery_bytes_total"), 0)
        self.create("after", 4, rf=3)
        self.assertTrue(all(4 not in r for r in self.replicas("after").values()))
        # Broker 4 stops: every partition keeps its leader.
        self.cluster.nodes[4].stop()
        self.wait_leaders(topic, partitions, exclude=(4,))
        self.assertEqual(self.admin_http("PUT", "/v1/brokers/4/recommission"),
                         (200, {"broker": 4, "decommissioned": False}))
        self.assertFalse(self.admin_http("GET", "/v1/brokers/4/decommission")[1]["decommissioned"])

    def test_stromctl_apply_raises_factor_and_partitions_under_a_producer_and_a_group(self):
        """`stromctl apply` takes a topic from one replica and three partitions to three
        replicas and six partitions while an idempotent acks=all confluent-kafka producer
        writes and a kafka-python group consumes (committing after each batch): every
        acknowledged record is consumed, none twice."""
        import tempfile
        import threading
        from confluent_kafka import Producer
        from kafka import KafkaConsumer
        self.start()
        stromctl = os.environ["STROMCTL"]
        topic = "orders"

        def apply(partitions, rf):
            fd, path = tempfile.mkstemp(suffix=".yaml")
            with os.fdopen(fd, "w") as f:
                f.write(f"topics:\n  - name: {topic}\n    partitions: {partitions}\n"
                        f"    replication_factor: {rf}\n")
            try:
                out = subprocess.run([stromctl, "-b", self.cluster.bootstrap(), "--timeout", "120s",
                                      "apply", "-f", path], capture_output=True, text=True,
                                     timeout=300)
            finally:
                os.unlink(path)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            return out.stdout
        apply(3, 1)
        self.wait_leaders(topic, 3)
        total = 6000
        acked, failed, consumed = set(), [], []
        stop = threading.Event()
        producer = Producer({"bootstrap.servers": self.cluster.bootstrap(),
                             "enable.idempotence": True, "acks": "all", "linger.ms": 5,
                             "topic.metadata.refresh.interval.ms": 1000})

        def on_delivery(err, msg):
            (failed.append(err) if err else acked.add(msg.value()))

        def produce():
            for i in range(total):
                while True:
                    try:
                        producer.produce(topic, key=b"k%d" % i, value=b"o%06d" % i,
                                         on_delivery=on_delivery)
                        break
                    except BufferError:
                        producer.poll(0.1)
                producer.poll(0)
                if i % 100 == 0:
                    time.sleep(0.05)
            producer.flush(180)

        def consume():
            c = KafkaConsumer(topic, bootstrap_servers=self.cluster.bootstrap(),
                              group_id="orders-readers", enable_auto_commit=False,
                              auto_offset_reset="earliest", metadata_max_age_ms=1000,
                              request_timeout_ms=30000, api_version_auto_timeout_ms=30000)
            try:
                while not stop.is_set():
                    batch = c.poll(timeout_ms=500)
                    for msgs in batch.values():
                        consumed.extend(m.value for m in msgs)
                    if batch:
                        c.commit()
            finally:
                c.close()
        writer = threading.Thread(target=produce)
        reader = threading.Thread(target=consume)
        reader.start()
        writer.start()
        try:
            self.cluster.wait_until(lambda: len(acked) > 500, "writes before the change")
            out = apply(6, 3)
            self.assertIn("applied", out)
            writer.join(240)
            self.assertFalse(writer.is_alive(), "the producer did not finish")
            self.cluster.wait_until(lambda: acked <= set(consumed), "every write consumed",
                                    timeout=120)
        finally:
            stop.set()
            writer.join(240)
            reader.join(60)
        self.assertEqual(failed, [])
        self.assertEqual(len(acked), total)
        self.assertEqual(len(consumed), len(set(consumed)), "a record consumed twice")
        self.assertTrue(all(sorted(r) == [1, 2, 3] for r in self.replicas(topic).values()))
        self.assertEqual(len(self.replicas(topic)), 6)

    def test_continuous_balancing_moves_replicas_onto_a_broker_that_joins(self):
        """With continuous balancing on, a fourth broker joins a cluster of three holding a
        topic of six partitions of three replicas, while an idempotent acks=all producer
        writes: replicas move onto it until the brokers' replica counts differ by at most one,
        and nothing acknowledged is lost or doubled."""
        self.start(insert={"  replication:\n": "    continuous_balancing: true\n"})
        fourth = self.cluster.add_node(4)
        topic, partitions = "spread", 6
        self.create(topic, partitions, rf=3)

        def counts():
            held = {n: 0 for n in (1, 2, 3, 4)}
            for r in self.replicas(topic).values():
                for n in r:
                    held[n] += 1
            return held

        def fault(k, leaders):
            if k == 0:
                fourth.start()
            else:
                def balanced():
                    held = counts()
                    return not self.moves() and max(held.values()) - min(held.values()) <= 1
                self.cluster.wait_until(balanced, "replica counts within one", timeout=180)
        self.write_through(topic, partitions, 6000, fault, 2)
        self.assertEqual(sorted(counts().values()), [4, 4, 5, 5])
        # The balancer's decisions (broker 4 holds at least four replicas now) and the bytes
        # they moved.
        self.assertGreaterEqual(
            self.metric_sum('strom_cluster_automatic_moves_total{reason="balancing"}'), 4)
        self.assertGreater(self.metric_sum("strom_replication_recovery_bytes_total"), 0)

    def test_continuous_balancing_evens_out_disk_usage(self):
        """With continuous balancing on and even replica counts (six partitions of one replica,
        two per broker), both partitions of one broker get 4 MiB and the others a few
        records: the controller leader, from the sizes the brokers report, swaps one of the
        large replicas for a small one of another broker (the copy moves its data), so the two
        end on different brokers; the counts stay two each and every record is still there."""
        self.start(insert={"  replication:\n": "    continuous_balancing: true\n"
                                               "    balancing_disk_min_bytes: 1048576\n"})
        topic, partitions = "skew", 6
        self.create(topic, partitions, rf=1)

        def per_broker():
            held = {n: [] for n in (1, 2, 3)}
            for p, r in self.replicas(topic).items():
                held[r[0]].append(p)
            return held
        held = per_broker()
        self.assertEqual([len(v) for v in held.values()], [2, 2, 2])
        heavy = held[1]
        from confluent_kafka import Producer
        failed = []
        producer = Producer({"bootstrap.servers": self.cluster.bootstrap(), "acks": "all",
                             "linger.ms": 5, "compression.type": "none",
                             "message.timeout.ms": TIMEOUT * 1000})
        value = os.urandom(4096)  # incompressible
        sent = {p: 1024 if p in heavy else 16 for p in range(partitions)}
        for p, n in sent.items():
            for i in range(n):
                while True:
                    try:
                        producer.produce(topic, value, partition=p,
                                         on_delivery=lambda err, msg: err and failed.append(err))
                        break
                    except BufferError:
                        producer.poll(0.1)
                producer.poll(0)
        self.assertEqual(producer.flush(TIMEOUT), 0)
        self.assertEqual(failed, [])

        def apart():
            # The moves listed by one broker and Metadata from another: wait for both to
            # show the end of the swap (a broker may apply its last step a moment later).
            if self.moves():
                return False
            now = self.replicas(topic)
            counts = [len(v) for v in per_broker().values()]
            return now[heavy[0]][0] != now[heavy[1]][0] and counts == [2, 2, 2]
        self.cluster.wait_until(apart, "the two large partitions on different brokers, two "
                                "partitions on each", timeout=120)
        # One swap, and then nothing left that evens out more (4 MiB against 4 MiB and a few
        # records).
        self.assertEqual(
            self.metric_sum('strom_cluster_automatic_moves_total{reason="disk"}'), 2)
        self.assertEqual(
            self.metric_sum('strom_cluster_automatic_moves_total{reason="balancing"}'), 0)
        got = self.consume_all(topic, partitions, sum(sent.values()))
        self.assertEqual({p: len(v) for p, v in got.items()}, sent)
        self.assertTrue(all(v == value for msgs in got.values() for _, v in msgs))

    def test_elect_leaders_hands_partitions_to_their_preferred_replicas(self):
        """With leader balancing off, partition 0 led away from its preferred replica: a
        preferred ElectLeaders (the wire, v2) hands it back and answers 0 for it and
        ELECTION_NOT_NEEDED for the others; asked for every partition, only those that needed
        an election are answered; an unclean election is never needed where a leader is."""
        self.start(insert={"  replication:\n": "    auto_leader_rebalance: false\n"})
        topic = "lead"
        self.create(topic, 3, rf=3)
        preferred = {p: r[0] for p, r in self.replicas(topic).items()}
        other = [n for n in (1, 2, 3) if n != preferred[0]][0]
        self.transfer_to_partition(topic, 0, 3, other)
        leaders = self.wait_leaders(topic, 3)
        want = {(topic, p): 0 if leaders[p][0] != preferred[p] else 84 for p in range(3)}
        want[(topic, 7)] = 3  # UNKNOWN_TOPIC_OR_PARTITION
        err, results = self.wire(kafka_wire.elect_leaders, {topic: [0, 1, 2, 7]})
        self.assertEqual(err, 0)
        self.assertEqual({k: e for k, (e, _) in results.items()}, want)
        self.assertEqual({p: l for p, (l, _) in self.wait_leaders(topic, 3).items()}, preferred)
        self.transfer_to_partition(topic, 0, 3, other)
        err, results = self.wire(kafka_wire.elect_leaders, None)
        self.assertEqual((err, {k: e for k, (e, _) in results.items()}), (0, {(topic, 0): 0}))
        self.assertEqual(self.wait_leaders(topic, 3)[0][0], preferred[0])
        err, results = self.wire(kafka_wire.elect_leaders, {topic: [1]}, 1)
        self.assertEqual(results[(topic, 1)][0], 84)


if __name__ == "__main__":
    unittest.main()
