#!/usr/bin/python3
"""Three real stromd processes from config/cluster form one cluster: every broker, asked
through kcat, confluent-kafka-python and kafka-python, lists the same three brokers and the same
controller; a broker killed with SIGKILL is reported down and back when it restarts; killing the
controller leader elects another; a full restart keeps the cluster id."""

import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from cluster import Cluster  # noqa: E402

TIMEOUT = 30
# cluster_defaults.replication.election_timeout_ms in config/cluster; a broker is fenced after
# three election timeouts without a heartbeat.
ELECTION_TIMEOUT = 1.5
FENCE_TIMEOUT = 3 * ELECTION_TIMEOUT


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

    def test_a_killed_broker_is_reported_down_then_back(self):
        controller = self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster")
        victim = 3 if controller != 3 else 2
        node = self.cluster.nodes[victim]
        node.kill()
        killed = time.time()
        rest = {1, 2, 3} - {victim}
        self.cluster.wait_until(lambda: self.agreed(rest), f"broker {victim} reported down")
        # Not before its session ran out, and not long after.
        self.assertGreater(time.time() - killed, FENCE_TIMEOUT * 0.5)
        node.start()
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), f"broker {victim} back")

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
        self.cluster.start()
        self.cluster.wait_until(lambda: self.agreed({1, 2, 3}), "one cluster after the restart")
        self.assertEqual(cluster_id(), before)


if __name__ == "__main__":
    unittest.main()
