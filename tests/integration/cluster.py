"""A local cluster of real stromd processes for integration tests: each node's configuration is
the repository's config/cluster/node-N.yaml with free loopback ports and a temporary data
directory; the nodes are stopped (or killed) by the test and always cleaned up."""

import os
import re
import shutil
import tempfile
import time

from broker import Broker, free_port

SOURCE_DIR = os.environ.get(
    "STROM_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TIMEOUT = 60


class Node(Broker):
    """One node of a Cluster: a Broker whose configuration the Cluster wrote."""

    def __init__(self, workdir, config_text, node_id, port, admin_port, internal_port):
        self._tmp = None
        self.nofile = None
        self.workdir = workdir
        self.node_id = node_id
        self.data = os.path.join(workdir, "data")
        self.port = port
        self.admin_port = admin_port
        self.internal_port = internal_port
        self.config = os.path.join(workdir, "broker.yaml")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.proc = None
        self.err_path = os.path.join(workdir, "stromd.log")

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None


class Cluster:
    """`size` nodes from config/cluster/node-{1..size}.yaml (nodes 1-3 are the seeds, node 4 a
    broker outside them); `extra` is appended to every node's YAML, and `insert` maps a line
    of the files to lines put right after it (keys inside a section). `seed_port(n, m, port)`,
    when given, names the port node n reaches seed m at instead of m's internal port (a relay
    between them). `edit(n, text)`, when given, returns node n's YAML changed."""

    def __init__(self, size=3, extra="", insert=None, seed_port=None, edit=None):
        self._tmp = tempfile.TemporaryDirectory(prefix="strom-cluster-")
        self.extra = extra
        self.insert = insert or {}
        self.seed_port = seed_port
        self.edit = edit
        self.ports = {}
        self.nodes = {}
        for n in range(1, size + 1):
            self.ports[n] = self._fresh_ports()
        for n in range(1, size + 1):
            self.nodes[n] = self._node(n)

    def _node(self, n):
        """Node n from its file: every known node's ports replaced by its free ports, seeds
        beyond the cluster dropped, a temporary data directory."""
        with open(os.path.join(SOURCE_DIR, "config", "cluster", f"node-{n}.yaml")) as f:
            text = f.read()
        # One pass, so that a free port is never itself rewritten as another node's.
        def port(mm):
            m = int(mm.group(1))
            if m not in self.ports:
                return mm.group(0)
            return str(self.ports[m][("9092", "9093", "9644").index(mm.group(2))])
        text = re.sub(r"\b([1-9])(9092|9093|9644)\b", port, text)
        text = re.sub(r"\n    - \{ node_id: (\d+),[^\n]*",
                      lambda mm: mm.group(0) if int(mm.group(1)) in self.ports else "", text)
        if self.seed_port:
            def seed(mm):
                m = int(mm.group(1))
                if m == n:
                    return mm.group(0)
                return f"node_id: {m}, host: {mm.group(2)}, port: " + str(
                    self.seed_port(n, m, int(mm.group(3))))
            text = re.sub(r"node_id: (\d+), host: ([0-9.]+), port: (\d+)", seed, text)
        workdir = os.path.join(self._tmp.name, f"node-{n}")
        os.makedirs(workdir)
        text = text.replace(f"./data/node-{n}", os.path.join(workdir, "data"))
        for after, lines in self.insert.items():
            text = text.replace(after, after + lines, 1)
        text += "\n" + self.extra
        if self.edit:
            text = self.edit(n, text)
        kafka, internal, admin = self.ports[n]
        return Node(workdir, text, n, kafka, admin, internal)

    def _fresh_ports(self):
        """Three free ports, distinct from each other and from every node's (the system may
        hand a port just released out again)."""
        taken = {p for ports in self.ports.values() for p in ports}
        out = []
        while len(out) < 3:
            p = free_port()
            if p not in taken and p not in out:
                out.append(p)
        return tuple(out)

    def add_node(self, node_id):
        """Node `node_id` from config/cluster/node-<id>.yaml (node 4: a broker outside the
        seeds, a controller learner) with free ports; not started."""
        self.ports[node_id] = self._fresh_ports()
        self.nodes[node_id] = self._node(node_id)
        return self.nodes[node_id]

    def bootstrap(self, *ids):
        ids = ids or sorted(self.nodes)
        return ",".join(f"127.0.0.1:{self.nodes[i].port}" for i in ids)

    def start(self):
        # Every node starts before any waits: the controller group needs a majority. A free
        # port can be taken by another process before a node binds it: then every node gets
        # new ports and the cluster starts again (at most three times).
        for attempt in range(3):
            try:
                for node in self.nodes.values():
                    node.start()
                return self
            except AssertionError as e:
                if "Address already in use" not in str(e) or attempt == 2:
                    raise
                for n, node in self.nodes.items():
                    node.close()
                    shutil.rmtree(node.workdir, ignore_errors=True)
                for n in self.nodes:
                    self.ports[n] = self._fresh_ports()
                for n in list(self.nodes):
                    self.nodes[n] = self._node(n)
        return self

    def close(self):
        for node in self.nodes.values():
            node.close()
        self._tmp.cleanup()

    def wait_until(self, pred, what, timeout=TIMEOUT):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = pred()
                if last:
                    return last
            except Exception as e:  # a node that is restarting refuses connections
                last = e
            time.sleep(0.1)
        logs = "\n".join(f"--- node {n} ---\n{node.output()[-4000:]}"
                         for n, node in self.nodes.items())
        raise AssertionError(f"timed out waiting for {what} (last: {last!r})\n{logs}")


def kcat_path():
    return shutil.which("kcat")
