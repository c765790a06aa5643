#!/usr/bin/python3
"""Three real stromd processes from config/cluster form one cluster: every broker, asked
through kcat, confluent-kafka-python and kafka-python, lists the same three brokers and the same
controller; a broker killed with SIGKILL is reported down and back when it restarts; killing the
controller leader elects another; a full restart keeps the cluster id and every topic. Topics
are created through the controller and spread over the brokers: clients produce through one
bootstrap address and read back through another; a broker that does not lead a partition
answers NOT_LEADER_OR_FOLLOWER; topics acknowledged while the controller leader is killed
exist on every broker; producer ids never repeat; consumer groups work whichever broker a
client bootstraps from. Brokers whose internal listener says SSL talk over mutual TLS and
refuse whoever has no certificate their CA signed."""

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from certs import make_ca, make_cert  # noqa: E402
from cluster import Cluster  # noqa: E402
import kafka_wire  # noqa: E402

TIMEOUT = 30
# cluster_defaults.replication.election_timeout_ms in config/cluster; a broker is fenced after
# three election timeouts without a heartbeat.
ELECTION_TIMEOUT = 1.5
FENCE_TIMEOUT = 3 * ELECTION_TIMEOUT


def kcat_topics(port):
    """{topic: {partition: leader}} as the broker on `port` describes them."""
    r = subprocess.run(["kcat", "-b", f"127.0.0.1:{port}", "-L", "-m", "10"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    topics = {}
    current = None
    for line in r.stdout.splitlines():
        m = re.match(r'\s*topic "([^"]+)" with (\d+) partitions', line)
        if m:
            current = topics.setdefault(m.group(1), {})
            continue
        m = re.match(r"\s*partition (\d+), leader (-?\d+)", line)
        if m and current is not None:
            current[int(m.group(1))] = int(m.group(2))
    return topics


def kcat_brokers(port):
    """(brokers {id: "host:port"}, controller id) as the broker on `port` describes them."""
    r = subprocess.run(["kcat", "-b", f"127.0.0.1:{port}", "-L", "-m", "10"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    brokers = {}
    controller = None
    for m in re.finditer(r"broker (\d+) at (\S+)( \(controller\))?", r.stdout):
        brokers[int(m.group(1))] = m.group(2)
        if m.group(3):
            controller = int(m.group(1))
    return brokers, controller


class ClusterTest(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster(3).start()

    def tearDown(self):
        self.cluster.close()

    def agreed(self, ids):
        """Every running node lists exactly `ids` and names the same controller, one of them."""
        controllers = set()
        for node in self.cluster.nodes.values():
            if not node.running:
                continue
            brokers, controller = kcat_brokers(node.port)
            if set(brokers) != set(ids) or controller is None:
                return None
            for i in ids:
                if brokers[i] != f"127.0.0.1:{self.cluster.nodes[i].port}":
                    return None
            controllers.add(controller)
        if len(controllers) != 1 or next(iter(controllers)) not in ids:
            return None
        return next(iter(controllers))

    def test_every_client_sees_three_brokers_and_one_controller(self):
        controller = self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        from confluent_kafka.admin import AdminClient
        from kafka import KafkaAdminClient
        cluster_ids = set()
        for n, node in self.cluster.nodes.items():
            md = AdminClient({"bootstrap.servers": f"127.0.0.1:{node.port}"}).list_topics(
                timeout=TIMEOUT)
            self.assertEqual(sorted(md.brokers), [1, 2, 3])
            self.assertEqual(md.controller_id, controller)
            cluster_ids.add(md.cluster_id)
            admin = KafkaAdminClient(bootstrap_servers=f"127.0.0.1:{node.port}",
                                     request_timeout_ms=TIMEOUT * 1000)
            try:
                info = admin.describe_cluster()
            finally:
                admin.close()
            self.assertEqual(sorted(b["node_id"] for b in info["brokers"]), [1, 2, 3])
            self.assertEqual(info["controller_id"], controller)
            cluster_ids.add(info["cluster_id"])
        self.assertEqual(len(cluster_ids), 1, cluster_ids)
        self.assertTrue(next(iter(cluster_ids)))

    def health(self, n):
        url = f"http://127.0.0.1:{self.cluster.nodes[n].admin_port}/v1/cluster/health"
        with urllib.request.urlopen(url, timeout=TIMEOUT) as r:
            return json.loads(r.read())

    def metrics(self, n):
        """{series: value} of the node's /metrics (series without labels, or with them as
        Prometheus writes them)."""
        url = f"http://127.0.0.1:{self.cluster.nodes[n].admin_port}/metrics"
        with urllib.request.urlopen(url, timeout=TIMEOUT) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def test_a_killed_broker_is_reported_down_then_back(self):
        controller = self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        self.create_topic("down", 3)
        leaders = self.wait_topic("down", 3)
        self.cluster.wait_until(lambda: self.health(1)["is_healthy"], "a healthy cluster")
        victim = 3 if controller != 3 else 2
        node = self.cluster.nodes[victim]
        node.kill()
        killed = time.time()
        rest = {1, 2, 3} - {victim}
        self.cluster.wait_until(lambda: self.agreed(rest), f"broker {victim} reported down")
        # Not before its session ran out, and not long after.
        self.assertGreater(time.time() - killed, FENCE_TIMEOUT * 0.5)
        # Its partitions have no leader: every other broker's health says so.
        theirs = [{"topic": "down", "partition": p} for p in sorted(leaders)
                  if leaders[p] == victim]
        self.assertTrue(theirs)
        for n in rest:
            self.cluster.wait_until(
                lambda: self.health(n)["leaderless_partitions"] == theirs,
                f"node {n} reporting {theirs} leaderless")
            h = self.health(n)
            self.assertFalse(h["is_healthy"])
            self.assertEqual(h["nodes_down"], [victim])
            m = self.metrics(n)
            self.assertEqual(m['strom_cluster_leaderless_partitions'], len(theirs))
            self.assertEqual(m['strom_cluster_brokers{state="fenced"}'], 1)
            self.assertEqual(m['strom_cluster_brokers{state="live"}'], 2)
        self.assertEqual(sum(self.metrics(n)["strom_controller_leader"] for n in rest), 1)
        node.start()
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), f"broker {victim} back")
        for n in (1, 2, 3):
            self.cluster.wait_until(lambda: self.health(n)["is_healthy"]
                                    and not self.health(n)["leaderless_partitions"],
                                    f"node {n} healthy again")

    def test_killing_the_controller_leader_elects_another(self):
        controller = self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        self.cluster.nodes[controller].kill()
        killed = time.time()
        rest = {1, 2, 3} - {controller}

        def new_controller():
            c = None
            for n in rest:
                _, c2 = kcat_brokers(self.cluster.nodes[n].port)
                if c2 is None or c2 == controller or (c is not None and c2 != c):
                    return None
                c = c2
            return c

        self.cluster.wait_until(new_controller, "a new controller")
        elected = time.time() - killed
        # Election timeout plus a margin (check-quorum, pre-vote and a busy machine).
        self.assertLess(elected, ELECTION_TIMEOUT * 2 + 10)
        self.cluster.wait_until(lambda: self.agreed(rest), "the old controller reported down")
        self.cluster.nodes[controller].start()
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "all three again")

    def test_a_controlled_shutdown_hands_over_before_it_exits(self):
        controller = self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        node = self.cluster.nodes[controller]
        self.assertEqual(node.stop(signal.SIGTERM), 0, node.output())
        out = node.output()
        self.assertIn("handing the controller leadership to broker", out)
        self.assertIn("done with the controller", out)
        # The others agree on a new controller without it well before its broker session (three
        # election timeouts) would have run out: it was fenced before it exited.
        rest = {1, 2, 3} - {controller}
        new = self.cluster.wait_until(lambda: self.agreed(rest), "a new controller",
                                      timeout=FENCE_TIMEOUT * 0.6)
        self.assertIn(new, rest)
        # The second hands over to the last; the last, alone, has no quorum of live voters to
        # hand anything to and stops at once.
        second = self.cluster.nodes[new]
        self.assertEqual(second.stop(signal.SIGTERM), 0, second.output())
        last = self.cluster.nodes[next(iter(rest - {new}))]
        self.assertEqual(last.stop(signal.SIGTERM), 0, last.output())
        self.assertIn("no quorum of live controller voters", last.output())
        self.cluster.start()
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "all three again")

    def test_a_full_restart_keeps_the_cluster_id(self):
        from confluent_kafka.admin import AdminClient
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")

        def cluster_id():
            md = AdminClient({"bootstrap.servers": self.cluster.bootstrap()}).list_topics(
                timeout=TIMEOUT)
            return md.cluster_id

        before = self.cluster.wait_until(cluster_id, "a cluster id")
        for node in self.cluster.nodes.values():
            self.assertEqual(node.stop(signal.SIGTERM), 0, node.output())
        # Alone, a broker cannot reach its controller: it names no cluster id rather than
        # another one (a client that saw two ids would think it had met two clusters). Not
        # caught up with the controller, it answers no Metadata and no DescribeCluster at all:
        # it closes the connection (after waiting a while to catch up: both asked at once).
        import kafka_wire
        first = self.cluster.nodes[1]
        first.start()
        conns = []
        try:
            for ask in (lambda c: kafka_wire.send_metadata_v12(c, []),
                        lambda c: c.send(60, 0, b"\x00\x00", header_version=2)):
                conns.append(kafka_wire.Client(first.port, timeout=TIMEOUT))
                ask(conns[-1])
            for c in conns:
                self.assertTrue(c.closed_by_peer(timeout=TIMEOUT))
        finally:
            for c in conns:
                c.close()
        for n, node in self.cluster.nodes.items():
            if n != 1:
                node.start()
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster after the restart")
        self.assertEqual(cluster_id(), before)

    def wait_topic(self, name, partitions):
        """Every running node lists `name` with `partitions` partitions, each with a leader,
        all nodes alike; returns {partition: leader}."""
        def same():
            views = []
            for node in self.cluster.nodes.values():
                if node.running:
                    views.append(kcat_topics(node.port).get(name))
            first = views[0]
            if first is None or len(first) != partitions or -1 in first.values():
                return None
            return first if all(v == first for v in views) else None
        return self.cluster.wait_until(same, f"topic {name} on every broker")

    def create_topic(self, name, partitions, port=None):
        from confluent_kafka.admin import AdminClient, NewTopic
        port = port or self.cluster.nodes[1].port
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"})
        fs = admin.create_topics([NewTopic(name, num_partitions=partitions,
                                           replication_factor=1)], request_timeout=TIMEOUT)
        fs[name].result(timeout=TIMEOUT)

    def test_a_spread_topic_takes_every_client_through_any_broker(self):
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        self.create_topic("spread", 6, port=self.cluster.nodes[2].port)
        leaders = self.wait_topic("spread", 6)
        counts = {}
        for leader in leaders.values():
            counts[leader] = counts.get(leader, 0) + 1
        self.assertEqual(counts, {1: 2, 2: 2, 3: 2}, leaders)

        n1, n2, n3 = (self.cluster.nodes[i].port for i in (1, 2, 3))
        sent = set()
        # kcat through node 1.
        lines = "".join(f"kcat-{i}:kcat-{i}\n" for i in range(60))
        r = subprocess.run(["kcat", "-b", f"127.0.0.1:{n1}", "-P", "-t", "spread", "-K:",
                            "-X", "topic.request.required.acks=all"],
                           input=lines, capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        sent |= {f"kcat-{i}" for i in range(60)}
        # confluent-kafka through node 2, idempotent.
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": f"127.0.0.1:{n2}", "enable.idempotence": True})
        for i in range(60):
            p.produce("spread", key=f"ck-{i}", value=f"ck-{i}")
        self.assertEqual(p.flush(TIMEOUT), 0)
        sent |= {f"ck-{i}" for i in range(60)}
        # kafka-python through node 3.
        from kafka import KafkaProducer
        kp = KafkaProducer(bootstrap_servers=f"127.0.0.1:{n3}", acks="all",
                           request_timeout_ms=TIMEOUT * 1000)
        for i in range(60):
            kp.send("spread", key=f"kp-{i}".encode(), value=f"kp-{i}".encode())
        kp.flush(timeout=TIMEOUT)
        kp.close()
        sent |= {f"kp-{i}" for i in range(60)}

        # Everything back exactly once, read through another broker than it was written to.
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": f"127.0.0.1:{n3}", "group.id": "unused",
                      "enable.auto.commit": False})
        c.assign([TopicPartition("spread", p, 0) for p in range(6)])
        got = []
        deadline = time.time() + TIMEOUT
        while len(got) < len(sent) and time.time() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            got.append(m.value().decode())
        c.close()
        self.assertEqual(len(got), len(sent))
        self.assertEqual(set(got), sent)
        # kafka-python reads it through node 1 too.
        from kafka import KafkaConsumer, TopicPartition as KTP
        kc = KafkaConsumer(bootstrap_servers=f"127.0.0.1:{n1}", enable_auto_commit=False,
                           consumer_timeout_ms=5000)
        kc.assign([KTP("spread", p) for p in range(6)])
        kc.seek_to_beginning()
        values = [m.value.decode() for m in kc]
        kc.close()
        self.assertEqual(sorted(values), sorted(got))

    def test_a_broker_outside_the_seeds_joins_as_a_learner(self):
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        self.create_topic("before", 4)
        node = self.cluster.add_node(4)
        node.start()
        controller = self.cluster.wait_until(lambda: self.agreed({1, 2, 3, 4}), "broker 4 in")
        self.assertNotEqual(controller, 4)
        self.assertIn("joins the controller group as a learner",
                      self.cluster.nodes[controller].output())
        # It follows the controller log: it knows what was created before it joined, takes
        # topic admin, and gets its share of new partitions.
        self.assertEqual(len(kcat_topics(node.port).get("before", {})), 4)
        self.create_topic("joined", 8, port=node.port)
        leaders = self.wait_topic("joined", 8)
        self.assertEqual(sorted(set(leaders.values())), [1, 2, 3, 4], leaders)

        from confluent_kafka import Consumer, Producer, TopicPartition
        p = Producer({"bootstrap.servers": f"127.0.0.1:{node.port}", "acks": "all"})
        for i in range(80):
            p.produce("joined", value=f"v-{i}", partition=i % 8)
        self.assertEqual(p.flush(TIMEOUT), 0)
        c = Consumer({"bootstrap.servers": f"127.0.0.1:{self.cluster.nodes[1].port}",
                      "group.id": "unused", "enable.auto.commit": False})
        c.assign([TopicPartition("joined", i, 0) for i in range(8)])
        got = []
        deadline = time.time() + TIMEOUT
        while len(got) < 80 and time.time() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                got.append(m.value().decode())
        c.close()
        self.assertEqual(sorted(got), sorted(f"v-{i}" for i in range(80)))

        # A learner never leads the controller group: the seeds elect a new leader among
        # themselves, and the learner finds it.
        self.cluster.nodes[controller].kill()
        rest = {1, 2, 3, 4} - {controller}
        new = self.cluster.wait_until(lambda: self.agreed(rest), "a new controller")
        self.assertNotIn(new, (controller, 4))
        self.create_topic("after", 2, port=node.port)
        self.wait_topic("after", 2)
        # It rejoins after a restart with what it knew.
        self.assertEqual(node.stop(signal.SIGTERM), 0, node.output())
        node.start()
        self.cluster.wait_until(lambda: self.agreed(rest), "broker 4 back")
        self.assertEqual(len(kcat_topics(node.port).get("joined", {})), 8)
        self.cluster.nodes[controller].start()
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3, 4}), "all four again")

    def test_cluster_wide_configs_reach_every_broker(self):
        from kafka import KafkaAdminClient
        from kafka.admin import ConfigResource as KRes, ConfigResourceType
        from kafka.protocol.admin import DescribeConfigsRequest
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        self.create_topic("cfgd", 3)
        leaders = self.wait_topic("cfgd", 3)
        ka = KafkaAdminClient(bootstrap_servers=self.cluster.bootstrap(2),
                              request_timeout_ms=TIMEOUT * 1000)

        def described(node_id, resource):
            f = ka._send_request_to_node(node_id, DescribeConfigsRequest[1](
                resources=[resource], include_synonyms=False))
            ka._wait_for_futures([f])
            return {e[0]: e[1] for e in f.value.resources[0][4]}

        def everywhere(value):
            for n, node in self.cluster.nodes.items():
                if not node.running:
                    continue
                if described(n, (4, "", None)) != ({"message.max.bytes": value} if value else {}):
                    return False
                topic = described(n, (2, "cfgd", ["max.message.bytes"]))
                if topic != {"max.message.bytes": value or "1048588"}:
                    return False
            return True

        try:
            r = ka.alter_configs([KRes(ConfigResourceType.BROKER, "",
                                       configs={"message.max.bytes": "3000"})])
            self.assertEqual(r.resources[0][0], 0, r)
            self.cluster.wait_until(lambda: everywhere("3000"), "the default on every broker")
            # In force on each partition's leader.
            from confluent_kafka import Producer
            p = Producer({"bootstrap.servers": self.cluster.bootstrap()})
            errors = []
            for partition in leaders:
                p.produce("cfgd", value=b"x" * 5000, partition=partition,
                          on_delivery=lambda e, m: errors.append(e))
            p.flush(TIMEOUT)
            self.assertEqual([e.name() if e else None for e in errors],
                             ["MSG_SIZE_TOO_LARGE"] * 3)
            # A broker killed and restarted gets them back from the controller.
            victim = leaders[0]
            self.cluster.nodes[victim].kill()
            self.cluster.nodes[victim].start()
            self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "all three again")
            self.cluster.wait_until(lambda: everywhere("3000"), "the default after a restart")
            # Every broker keeps its copy, which it applies when it starts.
            for node in self.cluster.nodes.values():
                with open(os.path.join(node.data, ".strom", "topics", "cluster.configs")) as f:
                    self.assertEqual(f.read(), "config.message.max.bytes=3000\n")
            r = ka.alter_configs([KRes(ConfigResourceType.BROKER, "", configs={})])
            self.assertEqual(r.resources[0][0], 0, r)
            self.cluster.wait_until(lambda: everywhere(None), "no default on any broker")
        finally:
            ka.close()

    def test_users_reach_every_broker_and_survive_restarts(self):
        controller = self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")

        def on(node_id, fn, *args):
            c = kafka_wire.Client(self.cluster.nodes[node_id].port, timeout=TIMEOUT)
            try:
                return fn(c, *args)
            finally:
                c.close()

        res = on(1, kafka_wire.alter_user_scram, [("zoe", "SCRAM-SHA-512", "zoe-pw", 8192)])
        self.assertEqual(res, {"zoe": (0, None)})

        def everywhere(expected):
            for n, node in self.cluster.nodes.items():
                if node.running and on(n, kafka_wire.describe_user_scram, ["zoe"])[1] != expected:
                    return False
            return True

        self.cluster.wait_until(lambda: everywhere({"zoe": (0, [(2, 8192)])}), "zoe everywhere")
        # The controller leader killed and restarted: the users come back from its log.
        self.cluster.nodes[controller].kill()
        self.cluster.nodes[controller].start()
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "all three again")
        self.cluster.wait_until(lambda: everywhere({"zoe": (0, [(2, 8192)])}), "zoe after it")
        res = on(2, kafka_wire.alter_user_scram, [], [("zoe", 2)])
        self.assertEqual(res, {"zoe": (0, None)})
        self.cluster.wait_until(lambda: everywhere({"zoe": (91, [])}), "zoe gone everywhere")

    def test_a_broker_that_does_not_lead_a_partition_says_so(self):
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        self.create_topic("led", 3)
        leaders = self.wait_topic("led", 3)
        batch = kafka_wire.record_batch([b"v"])
        for partition, leader in leaders.items():
            for n, node in self.cluster.nodes.items():
                client = kafka_wire.Client(node.port)
                try:
                    err, _ = client.produce("led", partition, batch)
                    fetched = client.fetch("led", partition, 0)
                finally:
                    client.close()
                if n == leader:
                    self.assertEqual(err, 0)
                    self.assertEqual(fetched[0], 0)
                else:
                    self.assertEqual(err, 6, f"partition {partition} produced to node {n}")
                    self.assertEqual(fetched[0], 6)
        # A partition beyond the topic's is still unknown.
        client = kafka_wire.Client(self.cluster.nodes[1].port)
        try:
            self.assertEqual(client.produce("led", 7, batch)[0], 3)
        finally:
            client.close()

    def test_explicit_assignments_place_partitions_where_asked(self):
        from kafka.admin import KafkaAdminClient, NewTopic
        # kafka-python's name of 39, Kafka's INVALID_REPLICA_ASSIGNMENT.
        from kafka.errors import InvalidReplicationAssignmentError
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        admin = KafkaAdminClient(bootstrap_servers=self.cluster.bootstrap(3),
                                 request_timeout_ms=TIMEOUT * 1000)
        try:
            admin.create_topics([NewTopic("placed", -1, -1,
                                          replica_assignments={0: [2], 1: [2], 2: [1]})])
            # As Kafka: a broker that does not exist, a broker twice, lists of different
            # lengths are each INVALID_REPLICA_ASSIGNMENT, and nothing is created.
            for bad in ({0: [9]}, {0: [1, 2, 99]}, {0: [1, 1, 2]}, {0: [1, 2, 3], 1: [2, 3]}):
                with self.subTest(bad=bad):
                    with self.assertRaises(InvalidReplicationAssignmentError):
                        admin.create_topics([NewTopic("nowhere", -1, -1,
                                                      replica_assignments=bad)])
                    with self.assertRaises(InvalidReplicationAssignmentError):
                        admin.create_topics([NewTopic("nowhere", -1, -1,
                                                      replica_assignments=bad)],
                                            validate_only=True)
        finally:
            admin.close()
        self.assertEqual(self.wait_topic("placed", 3), {0: 2, 1: 2, 2: 1})
        self.assertNotIn("nowhere", kcat_topics(self.cluster.nodes[1].port))

    def metadata_replicas(self, topic):
        """{partition: replicas} of `topic` if every running broker's Metadata lists the same
        (the replicas in the order the broker gives them), else None."""
        from confluent_kafka.admin import AdminClient
        views = []
        for node in self.cluster.nodes.values():
            if not node.running:
                continue
            md = AdminClient({"bootstrap.servers": f"127.0.0.1:{node.port}"}).list_topics(
                topic, timeout=TIMEOUT)
            t = md.topics.get(topic)
            if t is None or t.error is not None:
                return None
            views.append({p: list(pm.replicas) for p, pm in t.partitions.items()})
        return views[0] if all(v == views[0] for v in views) else None

    def test_create_partitions_places_new_partitions_where_asked(self):
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient, NewPartitions
        from kafka.admin import KafkaAdminClient, NewTopic
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        ka = KafkaAdminClient(bootstrap_servers=self.cluster.bootstrap(3),
                              request_timeout_ms=TIMEOUT * 1000)
        try:
            ka.create_topics([NewTopic("grown", -1, -1,
                                       replica_assignments={0: [1, 2, 3], 1: [3, 1, 2]})])
        finally:
            ka.close()
        self.wait_topic("grown", 2)
        admin = AdminClient({"bootstrap.servers": self.cluster.bootstrap(2)})

        def grow(count, assignment, validate_only=False):
            """Raises grown to `count` partitions placed by `assignment`: None, or the
            error's name."""
            fs = admin.create_partitions(
                [NewPartitions("grown", count, replica_assignment=assignment)],
                validate_only=validate_only, request_timeout=TIMEOUT)
            try:
                fs["grown"].result(timeout=TIMEOUT)
            except KafkaException as e:
                return e.args[0].name()
            return None

        bad = {"a broker that does not exist": (3, [[2, 1, 99]]),
               "a broker twice": (3, [[1, 1, 2]]),
               "fewer replicas than the replication factor": (3, [[2, 1]]),
               "more replicas than the replication factor": (3, [[2, 1, 3, 4]]),
               "more lists than new partitions": (3, [[2, 1, 3], [1, 2, 3]]),
               "fewer lists than new partitions": (4, [[2, 1, 3]])}
        for why, (count, assignment) in bad.items():
            for validate_only in (True, False):
                with self.subTest(why, validate_only=validate_only):
                    self.assertEqual(grow(count, assignment, validate_only),
                                     "INVALID_REPLICA_ASSIGNMENT")
        self.assertIsNone(grow(3, [[2, 1, 3]], validate_only=True))
        replicas = self.cluster.wait_until(lambda: self.metadata_replicas("grown"),
                                           "every broker's Metadata of grown")
        self.assertEqual(len(replicas), 2)  # nothing created yet
        self.assertIsNone(grow(3, [[2, 1, 3]]))
        self.wait_topic("grown", 3)
        self.cluster.wait_until(
            lambda: self.metadata_replicas("grown") == {0: [1, 2, 3], 1: [3, 1, 2],
                                                        2: [2, 1, 3]},
            "partition 2 on brokers 2, 1, 3 in every broker's Metadata")

    def test_topics_have_ids_in_metadata_and_go_by_id(self):
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        self.create_topic("ided", 2)
        self.wait_topic("ided", 2)
        ids = set()
        for node in self.cluster.nodes.values():
            client = kafka_wire.Client(node.port)
            try:
                [(err, name, tid, n)] = kafka_wire.metadata_v12(client, [(None, "ided")])
                self.assertEqual((err, name, n), (0, "ided", 2))
                self.assertNotEqual(tid, bytes(16))
                ids.add(tid)
                # By id alone; an unknown id is UNKNOWN_TOPIC_ID (100).
                [(err, name, tid2, n)] = kafka_wire.metadata_v12(client, [(tid, None)])
                self.assertEqual((err, name, tid2, n), (0, "ided", tid, 2))
                [(err, name, _, _)] = kafka_wire.metadata_v12(client, [(b"\x01" * 16, None)])
                self.assertEqual((err, name), (100, None))
            finally:
                client.close()
        self.assertEqual(len(ids), 1)  # the same id on every broker
        tid = ids.pop()
        # Fetch v13 names topics by id: the leader answers with the records, the others with
        # NOT_LEADER_OR_FOLLOWER, everyone with UNKNOWN_TOPIC_ID for an id no topic has.
        leaders = self.wait_topic("ided", 2)
        batch = kafka_wire.record_batch([b"by-id"])
        leader = self.cluster.nodes[leaders[0]]
        client = kafka_wire.Client(leader.port)
        try:
            self.assertEqual(client.produce("ided", 0, batch)[0], 0)
            [(rtid, index, err, hw, records)] = kafka_wire.fetch_v13(client, tid, 0, 0)
            self.assertEqual((rtid, index, err, hw), (tid, 0, 0, 1))
            self.assertIn(b"by-id", records)
            [(_, _, err, _, _)] = kafka_wire.fetch_v13(client, b"\x03" * 16, 0, 0)
            self.assertEqual(err, 100)
        finally:
            client.close()
        other = self.cluster.nodes[next(n for n in (1, 2, 3) if n != leaders[0])]
        client = kafka_wire.Client(other.port)
        try:
            [(_, _, err, _, _)] = kafka_wire.fetch_v13(client, tid, 0, 0)
            self.assertEqual(err, 6)
        finally:
            client.close()
        client = kafka_wire.Client(self.cluster.nodes[2].port)
        try:
            self.assertEqual(kafka_wire.delete_topics_v6(client, [(None, b"\x02" * 16)]),
                             [(None, b"\x02" * 16, 100)])
            self.assertEqual(kafka_wire.delete_topics_v6(client, [(None, tid)]),
                             [("ided", tid, 0)])
        finally:
            client.close()
        self.cluster.wait_until(
            lambda: all("ided" not in kcat_topics(n.port) for n in self.cluster.nodes.values()),
            "the topic gone from every broker")

    def test_topics_acknowledged_while_the_controller_dies_exist_everywhere(self):
        from confluent_kafka.admin import AdminClient, NewTopic
        controller = self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        other = next(n for n in (1, 2, 3) if n != controller)
        # librdkafka sends CreateTopics to the controller it last saw in Metadata: a short
        # refresh interval lets it find the new one soon after the old one died.
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{self.cluster.nodes[other].port}",
                             "topic.metadata.refresh.interval.ms": 1000})
        acked = []
        for i in range(20):
            if i == 5:
                self.cluster.nodes[controller].kill()
            name = f"race-{i}"
            fs = admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)],
                                     request_timeout=10)
            try:
                fs[name].result(timeout=15)
                acked.append(name)
            except Exception:
                pass  # not acknowledged: it may exist or not, but never half
        self.assertGreaterEqual(len(acked), 5, acked)
        rest = {1, 2, 3} - {controller}
        self.cluster.wait_until(lambda: self.agreed(rest), "a new controller")
        # The cluster takes topics again.
        self.create_topic("after", 2, port=self.cluster.nodes[other].port)
        self.cluster.nodes[controller].start()
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "all three again")
        for name in acked + ["after"]:
            self.wait_topic(name, 2)
        # Nothing half-created: every topic any broker lists is whole, and the same everywhere.
        views = [kcat_topics(node.port) for node in self.cluster.nodes.values()]
        for v in views:
            self.assertEqual(v, views[0])
            for name, parts in v.items():
                if name.startswith("race-"):
                    self.assertEqual(sorted(parts), [0, 1], name)

    def test_producer_ids_never_repeat_across_brokers_and_restarts(self):
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        seen = set()
        for round_ in range(3):
            for n, node in self.cluster.nodes.items():
                client = kafka_wire.Client(node.port, timeout=TIMEOUT)
                try:
                    for _ in range(1000 // 3 + 1):
                        err, pid, epoch = client.init_producer_id()
                        self.assertEqual(err, 0)
                        self.assertNotIn(pid, seen)
                        seen.add(pid)
                finally:
                    client.close()
            # A broker restarts between rounds; the cluster keeps counting.
            victim = self.cluster.nodes[1 + round_ % 3]
            self.assertEqual(victim.stop(signal.SIGTERM), 0)
            victim.start()
            self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "all three again")
        self.assertGreaterEqual(len(seen), 3000)

    def test_consumer_groups_work_from_any_bootstrap_broker(self):
        from confluent_kafka import Consumer, Producer
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        self.create_topic("grouped", 3)
        self.wait_topic("grouped", 3)
        p = Producer({"bootstrap.servers": self.cluster.bootstrap(1)})
        for i in range(30):
            p.produce("grouped", value=f"m-{i}")
        self.assertEqual(p.flush(TIMEOUT), 0)
        # Each group's coordinator is one broker (its __consumer_offsets partition's leader);
        # clients bootstrap from every broker.
        from confluent_kafka import TopicPartition
        for n in (1, 2, 3):
            group = f"group-{n}"
            c = Consumer({"bootstrap.servers": self.cluster.bootstrap(n), "group.id": group,
                          "auto.offset.reset": "earliest", "enable.auto.commit": False})
            c.subscribe(["grouped"])
            got = []
            deadline = time.time() + TIMEOUT
            while len(got) < 30 and time.time() < deadline:
                m = c.poll(0.5)
                if m is None or m.error():
                    continue
                got.append(m.value())
            self.assertEqual(len(got), 30, group)
            c.commit(asynchronous=False)
            c.close()
            # The committed offsets, asked through another broker.
            other = n % 3 + 1
            c = Consumer({"bootstrap.servers": self.cluster.bootstrap(other), "group.id": group})
            committed = c.committed([TopicPartition("grouped", p) for p in range(3)],
                                    timeout=TIMEOUT)
            c.close()
            # A partition the sticky partitioner left empty has no commit (-1001).
            self.assertEqual(sum(max(tp.offset, 0) for tp in committed), 30, (group, committed))

    def test_a_full_restart_keeps_every_topic(self):
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        self.create_topic("kept", 4)
        before = self.wait_topic("kept", 4)
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": self.cluster.bootstrap()})
        for i in range(40):
            p.produce("kept", value=f"k-{i}", partition=i % 4)
        self.assertEqual(p.flush(TIMEOUT), 0)
        for node in self.cluster.nodes.values():
            self.assertEqual(node.stop(signal.SIGTERM), 0, node.output())
        self.cluster.start()
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster after the restart")
        self.assertEqual(self.wait_topic("kept", 4), before)
        r = subprocess.run(["kcat", "-b", self.cluster.bootstrap(), "-C", "-t", "kept", "-e",
                            "-f", "%s\n"], capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.split()), sorted(f"k-{i}" for i in range(40)))

    def test_a_restarted_broker_answers_once_it_caught_up_with_the_controller(self):
        """Broker 3 stops and a topic is created meanwhile. Broker 3 starts again while
        brokers 1 and 2 are paused, so that it cannot catch up with the controller: it answers
        ApiVersions, but no Metadata from what it knew when it stopped (the connection closes
        instead). Once they resume, its first Metadata answer names the new topic."""
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        self.assertEqual(self.cluster.nodes[3].stop(signal.SIGTERM), 0)
        self.create_topic("meanwhile", 2)
        self.wait_topic("meanwhile", 2)
        paused = [self.cluster.nodes[n].proc.pid for n in (1, 2)]
        for pid in paused:
            os.kill(pid, signal.SIGSTOP)
        try:
            self.cluster.nodes[3].start()
            client = kafka_wire.Client(self.cluster.nodes[3].port, timeout=TIMEOUT)
            try:
                self.assertIsNotNone(client.api_versions())
                kafka_wire.send_metadata_v12(client, [(None, "meanwhile")])
                self.assertTrue(client.closed_by_peer(timeout=TIMEOUT))
            finally:
                client.close()
        finally:
            for pid in paused:
                os.kill(pid, signal.SIGCONT)
        client = kafka_wire.Client(self.cluster.nodes[3].port, timeout=TIMEOUT)
        try:
            topics = kafka_wire.metadata_v12(client, [(None, "meanwhile")])
        finally:
            client.close()
        self.assertEqual([(err, name, n) for err, name, _, n in topics], [(0, "meanwhile", 2)])

    def test_a_topic_change_acknowledged_through_one_broker_holds_through_every_other(self):
        """Each round makes a topic through one broker and, at once, asks the two others for
        it by name and by id, deletes it through the second and makes it again through the
        third. No broker answers from a state older than what a client was already told: one
        that does not know a topic catches up with the controller before it says so, and a
        change is checked against what the controller leader has."""
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        clients = {n: kafka_wire.Client(self.cluster.nodes[n].port, timeout=TIMEOUT)
                   for n in (1, 2, 3)}
        try:
            for i in range(12):
                a, b, c = (i % 3) + 1, ((i + 1) % 3) + 1, ((i + 2) % 3) + 1
                name = f"everywhere-{i}"
                self.assertEqual(clients[a].create_topic(name, 2), 0, name)
                for n in (b, c):
                    [(err, got, tid, count)] = kafka_wire.metadata_v12(clients[n], [(None, name)])
                    self.assertEqual((err, got, count), (0, name, 2), f"{name} through {n}")
                    [(err, got, _, _)] = kafka_wire.metadata_v12(clients[n], [(tid, None)])
                    self.assertEqual((err, got), (0, name), f"{name} by id through {n}")
                [(got, _, err)] = kafka_wire.delete_topics_v6(clients[b], [(name, None)])
                self.assertEqual((got, err), (name, 0), f"{name} deleted through {b}")
                self.assertEqual(clients[c].create_topic(name, 1), 0, f"{name} again through {c}")
        finally:
            for client in clients.values():
                client.close()

    def test_a_broker_that_starts_again_takes_replicas_once_it_answers(self):
        """Broker 3 is killed and fenced, then starts again; the first topic made through it
        (its first request waits until it caught up) has a replica on it: a broker answers
        only once the controller knows it is back, so a client never sees a cluster without
        the broker it asks."""
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        self.cluster.nodes[3].stop(signal.SIGKILL)
        self.cluster.wait_until(lambda: self.agreed({1, 2}), "broker 3 fenced")
        self.cluster.nodes[3].start()
        client = kafka_wire.Client(self.cluster.nodes[3].port, timeout=TIMEOUT)
        try:
            self.assertEqual(client.create_topic("back", 3), 0)
        finally:
            client.close()
        leaders = self.wait_topic("back", 3)
        self.assertEqual(sorted(leaders.values()), [1, 2, 3], leaders)


class InterBrokerTlsTest(unittest.TestCase):
    """The internal listener with `security_protocol: SSL` and `client_auth: required`: the
    controller group and the partitions' replication run over mutual TLS."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="strom-mtls-")
        d = self.d = self.tmp.name
        make_ca(d, "ca")
        make_ca(d, "rogue-ca")
        for n in (1, 2, 3):
            make_cert(d, "ca", f"broker-{n}", f"/CN=broker-{n}", san="IP:127.0.0.1")
        make_cert(d, "rogue-ca", "rogue", "/CN=broker-1")

        def internal_over_tls(n, text):
            internal = re.search(r"  - name: internal[^\n]*\n    bind: [^\n]*\n"
                                 r"    security_protocol: PLAINTEXT\n", text)
            assert internal, text
            block = internal.group(0).replace("PLAINTEXT", "SSL") + (
                f"    tls: {{ cert_file: {d}/broker-{n}.pem, key_file: {d}/broker-{n}.key, "
                f"ca_file: {d}/ca.pem, client_auth: required }}\n")
            return text.replace(internal.group(0), block)
        self.cluster = Cluster(3, edit=internal_over_tls).start()

    def tearDown(self):
        self.cluster.close()
        self.tmp.cleanup()

    def internal_session(self, cert=None, ca="ca"):
        """A TLS session with node 1's internal listener, with certificate `cert`; "open" when
        the listener keeps it (nothing to read within a second), else why it ended."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(os.path.join(self.d, f"{ca}.pem"))
        if cert:
            ctx.load_cert_chain(os.path.join(self.d, f"{cert}.pem"),
                                os.path.join(self.d, f"{cert}.key"))
        raw = socket.create_connection(("127.0.0.1", self.cluster.nodes[1].internal_port),
                                       timeout=TIMEOUT)
        try:
            with ctx.wrap_socket(raw) as s:
                s.settimeout(1)
                try:
                    data = s.recv(1)
                    return f"closed ({data!r})"
                except socket.timeout:
                    return "open"
        except (ssl.SSLError, ConnectionError) as e:
            return f"refused ({e})"

    def test_brokers_form_a_cluster_and_replicate_over_mutual_tls(self):
        def agreed():
            views = [kcat_brokers(node.port) for node in self.cluster.nodes.values()]
            ok = all(set(b) == {1, 2, 3} and c is not None for b, c in views)
            return ok and len({c for _, c in views}) == 1
        self.cluster.wait_until(agreed, "one cluster over TLS")
        from confluent_kafka import Consumer, Producer, TopicPartition
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": self.cluster.bootstrap()})
        fs = admin.create_topics([NewTopic("tls-replicated", num_partitions=3,
                                           replication_factor=3)], request_timeout=TIMEOUT)
        fs["tls-replicated"].result(timeout=TIMEOUT)
        # acks=all with min.insync.replicas 2: acknowledged only once a follower has it, which
        # it got over the TLS link.
        p = Producer({"bootstrap.servers": self.cluster.bootstrap(), "acks": "all",
                      "enable.idempotence": True})
        sent = [f"v-{i}" for i in range(300)]
        for v in sent:
            p.produce("tls-replicated", value=v)
        self.assertEqual(p.flush(TIMEOUT), 0)
        # The leaders of every partition killed: the followers elected over TLS serve it all.
        _, controller = kcat_brokers(self.cluster.nodes[1].port)
        victim = next(n for n in (2, 3) if n != controller)  # node 1 is probed below
        self.cluster.nodes[victim].kill()
        c = Consumer({"bootstrap.servers": self.cluster.bootstrap(
            *[n for n in (1, 2, 3) if n != victim]), "group.id": "unused",
            "enable.auto.commit": False})
        c.assign([TopicPartition("tls-replicated", q, 0) for q in range(3)])
        got = []
        deadline = time.time() + TIMEOUT
        while len(got) < len(sent) and time.time() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                got.append(m.value().decode())
        c.close()
        self.assertEqual(sorted(got), sorted(sent))

        # The internal listener keeps a broker's certificate and drops anything else.
        self.assertEqual(self.internal_session("broker-2"), "open")
        self.assertNotEqual(self.internal_session(None), "open")
        self.assertNotEqual(self.internal_session("rogue"), "open")
        # A server whose certificate the client's CA did not sign is refused by the client.
        self.assertIn("certificate verify failed", self.internal_session("broker-2", "rogue-ca"))
        with socket.create_connection(("127.0.0.1", self.cluster.nodes[1].internal_port),
                                      timeout=TIMEOUT) as s:
            s.sendall(b"\x00\x00\x00\x10" + b"\x00" * 16)  # a plaintext frame
            try:
                self.assertEqual(s.recv(1), b"")
            except ConnectionResetError:
                pass
        self.assertIn("TLS handshake", self.cluster.nodes[1].output())


class UpgradeTest(unittest.TestCase):
    def test_a_single_node_data_directory_starts_as_a_cluster_of_one(self):
        from broker import Broker
        from confluent_kafka import Producer
        single = Broker()
        try:
            single.start()
            r = subprocess.run(["kcat", "-b", single.bootstrap, "-P", "-t", "old", "-K:"],
                               input="".join(f"k{i}:v{i}\n" for i in range(50)),
                               capture_output=True, text=True, timeout=TIMEOUT)
            self.assertEqual(r.returncode, 0, r.stderr)
            client = kafka_wire.Client(single.port)
            _, old_pid, _ = client.init_producer_id()
            client.close()
            self.assertEqual(single.stop(signal.SIGTERM), 0)
            # The topic files of earlier versions have no topic id.
            topic_file = os.path.join(single.data, ".strom", "topics", "old.topic")
            with open(topic_file) as f:
                lines = [line for line in f if not line.startswith("topic_id=")]
            with open(topic_file, "w") as f:
                f.writelines(lines)
            cluster = Cluster(1)
            try:
                node = cluster.nodes[1]
                os.rename(single.data, node.data)
                cluster.start()
                cluster.wait_until(lambda: kcat_topics(node.port).get("old"), "topic old")
                r = subprocess.run(["kcat", "-b", f"127.0.0.1:{node.port}", "-C", "-t", "old",
                                    "-e", "-f", "%k:%s\n"], capture_output=True, text=True,
                                   timeout=TIMEOUT)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout.split(), [f"k{i}:v{i}" for i in range(50)])
                # More data goes to the same topic; producer ids move past the old block.
                p = Producer({"bootstrap.servers": f"127.0.0.1:{node.port}",
                              "enable.idempotence": True})
                p.produce("old", key="k50", value="v50")
                self.assertEqual(p.flush(TIMEOUT), 0)
                client = kafka_wire.Client(node.port)
                err, pid, _ = client.init_producer_id()
                client.close()
                self.assertEqual(err, 0)
                self.assertGreater(pid, old_pid)
            finally:
                cluster.close()
        finally:
            single.close()


if __name__ == "__main__":
    unittest.main()
