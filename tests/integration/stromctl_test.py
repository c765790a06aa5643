#!/usr/bin/python3
"""stromctl against a real stromd, its answers checked against what confluent-kafka-python (and
the broker itself) show: topics, produce/consume, configs, group lag, seek and delete,
api-versions, cluster health with and without an admin API, one-line errors, partition moves
(refused by a single broker; carried out by a three-broker cluster, with the progress of a
throttled one), preferred leader elections and broker decommissioning (refused by a single
broker)."""

import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker, free_port  # noqa: E402
from cluster import Cluster  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource  # noqa: E402

STROMCTL = os.environ.get("STROMCTL", "")
TIMEOUT = 60


class Result:
    def __init__(self, p):
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr

    def json(self):
        return json.loads(self.out)

    def table(self):
        """Rows of an aligned table as lists of cells (header first)."""
        return [line.split() for line in self.out.splitlines() if line.strip()]


class StromctlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()
        cls.admin = AdminClient({"bootstrap.servers": cls.broker.bootstrap})

    @classmethod
    def tearDownClass(cls):
        del cls.admin
        cls.broker.stop()
        cls.broker.close()

    def ctl(self, *args, stdin=None, ok=True, env=None):
        full_env = dict(os.environ, STROM_BROKERS=self.broker.bootstrap)
        full_env.update(env or {})
        p = subprocess.run([STROMCTL, *args], input=stdin, capture_output=True, text=True,
                           timeout=TIMEOUT, env=full_env)
        r = Result(p)
        if ok:
            self.assertEqual(r.rc, 0, f"stromctl {' '.join(args)}: {r.err}")
        return r

    def partitions(self, topic):
        md = self.admin.list_topics(timeout=10)
        return len(md.topics[topic].partitions) if topic in md.topics else None

    # --- topics ---------------------------------------------------------------------------------

    def test_topic_create_list_add_partitions_delete(self):
        r = self.ctl("topic", "create", "ctl-a", "ctl-b", "-p", "3", "-c", "retention.ms=3600000")
        self.assertEqual(r.table(), [["TOPIC", "STATUS"], ["ctl-a", "OK"], ["ctl-b", "OK"]])
        self.assertEqual(self.partitions("ctl-a"), 3)
        listed = {t["name"]: t for t in self.ctl("topic", "list", "--format", "json").json()}
        self.assertEqual(listed["ctl-a"]["partitions"], 3)
        self.assertEqual(listed["ctl-b"]["replicas"], 1)
        self.assertFalse(any(name.startswith("__") for name in listed))
        rows = {row[0]: row for row in self.ctl("topic", "list").table()[1:]}
        self.assertEqual(rows["ctl-a"], ["ctl-a", "3", "1"])

        again = self.ctl("topic", "create", "ctl-a", ok=False)
        self.assertEqual(again.rc, 1)
        self.assertIn("TOPIC_ALREADY_EXISTS", again.out)
        self.assertEqual(len(again.err.strip().splitlines()), 1)

        self.ctl("topic", "add-partitions", "ctl-a", "-n", "2")
        self.assertEqual(self.partitions("ctl-a"), 5)
        self.ctl("topic", "add-partitions", "ctl-b", "--total", "4")
        self.assertEqual(self.partitions("ctl-b"), 4)

        d = self.ctl("topic", "describe", "ctl-a", "--format", "json").json()[0]
        self.assertEqual(d["partitions"], 5)
        self.assertEqual([p["partition"] for p in d["partition_list"]], [0, 1, 2, 3, 4])
        self.assertTrue(all(p["leader"] == 1 for p in d["partition_list"]))
        configs = {c["name"]: c for c in d["configs"]}
        self.assertEqual(configs["retention.ms"]["value"], "3600000")
        self.assertEqual(configs["retention.ms"]["source"], "DYNAMIC_TOPIC_CONFIG")
        text = self.ctl("topic", "describe", "ctl-a").out
        self.assertTrue(text.startswith("NAME        ctl-a\nPARTITIONS  5\n"), text)
        self.assertIn("PARTITION  LEADER  REPLICAS  ISR  LOG-START-OFFSET  HIGH-WATERMARK", text)

        r = self.ctl("topic", "delete", "ctl-a", "ctl-b")
        self.assertEqual(r.table()[1:], [["ctl-a", "OK"], ["ctl-b", "OK"]])
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and self.partitions("ctl-a") is not None:
            time.sleep(0.1)
        self.assertIsNone(self.partitions("ctl-a"))
        self.assertNotIn("ctl-b", [t["name"] for t in self.ctl("topic", "list", "--format",
                                                                "json").json()])
        missing = self.ctl("topic", "describe", "ctl-a", ok=False)
        self.assertEqual(missing.rc, 1)
        self.assertEqual(missing.err.strip(), "stromctl: topic ctl-a does not exist")

    def test_alter_config_is_visible_in_describe(self):
        self.ctl("topic", "create", "ctl-cfg", "-c", "cleanup.policy=compact")
        self.ctl("topic", "alter-config", "ctl-cfg", "--set", "retention.ms=1234",
                 "--set", "segment.bytes=1048576")

        def configs():
            d = self.ctl("topic", "describe", "ctl-cfg", "--format", "json").json()[0]
            return {c["name"]: (c["value"], c["source"]) for c in d["configs"]}

        c = configs()
        self.assertEqual(c["retention.ms"], ("1234", "DYNAMIC_TOPIC_CONFIG"))
        self.assertEqual(c["segment.bytes"], ("1048576", "DYNAMIC_TOPIC_CONFIG"))
        # The earlier override survives: alter-config merges.
        self.assertEqual(c["cleanup.policy"], ("compact", "DYNAMIC_TOPIC_CONFIG"))
        res = ConfigResource(ConfigResource.Type.TOPIC, "ctl-cfg")
        seen = self.admin.describe_configs([res])[res].result(timeout=10)
        self.assertEqual(seen["retention.ms"].value, "1234")

        self.ctl("topic", "alter-config", "ctl-cfg", "--delete", "retention.ms")
        c = configs()
        self.assertNotEqual(c["retention.ms"][1], "DYNAMIC_TOPIC_CONFIG")
        self.assertEqual(c["segment.bytes"][0], "1048576")
        bad = self.ctl("topic", "alter-config", "ctl-cfg", "--set", "retention.ms=soon", ok=False)
        self.assertNotEqual(bad.rc, 0)
        self.assertEqual(len(bad.err.strip().splitlines()), 1)

    def test_cluster_wide_config_defaults(self):
        self.ctl("topic", "create", "ctl-dyn")
        self.assertEqual(self.ctl("cluster", "config", "--format", "json").json(), {})
        try:
            self.ctl("cluster", "alter-config", "--set", "log.retention.ms=4321",
                     "--set", "log.segment.bytes=2097152")
            self.assertEqual(self.ctl("cluster", "config", "--format", "json").json(),
                             {"log.retention.ms": "4321", "log.segment.bytes": "2097152"})
            table = self.ctl("cluster", "config").table()
            self.assertIn(["log.retention.ms", "4321"], table)
            d = self.ctl("topic", "describe", "ctl-dyn", "--format", "json").json()[0]
            c = {c["name"]: (c["value"], c["source"]) for c in d["configs"]}
            self.assertEqual(c["retention.ms"], ("4321", "DYNAMIC_DEFAULT_BROKER_CONFIG"))
            self.ctl("cluster", "alter-config", "--delete", "log.retention.ms")
            self.assertEqual(self.ctl("cluster", "config", "--format", "json").json(),
                             {"log.segment.bytes": "2097152"})
            for bad_set in ("num.io.threads=3", "log.segment.bytes=10", "retention.ms=5"):
                bad = self.ctl("cluster", "alter-config", "--set", bad_set, ok=False)
                self.assertNotEqual(bad.rc, 0)
                self.assertEqual(len(bad.err.strip().splitlines()), 1, bad.err)
                self.assertIn(bad_set.split("=")[0], bad.err)
        finally:
            self.ctl("cluster", "alter-config", "--delete", "log.retention.ms",
                     "--delete", "log.segment.bytes")
        self.assertEqual(self.ctl("cluster", "config", "--format", "json").json(), {})

    def write(self, text):
        fd, path = tempfile.mkstemp(suffix=".yaml")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.addCleanup(os.unlink, path)
        return path

    def test_apply_a_topics_file_and_export_it(self):
        first = self.write("""topics:
  - name: apply-clicks
    partitions: 3
    configs:
      retention.ms: 3600000
  - name: apply-payments
    partitions: 2
    replication_factor: 1
""")
        dry = self.ctl("apply", "-f", first, "--dry-run")
        self.assertIn("create apply-clicks", dry.out)
        self.assertIn("dry run: nothing changed", dry.out)
        self.assertIsNone(self.partitions("apply-clicks"))
        r = self.ctl("apply", "-f", first)
        self.assertIn("applied", r.out)
        self.assertEqual(self.partitions("apply-clicks"), 3)
        self.assertEqual(self.partitions("apply-payments"), 2)
        again = self.ctl("apply", "-f", first)
        self.assertIn("nothing to change", again.out)

        # More partitions, a changed and a removed override, and --prune of what is not named.
        self.ctl("topic", "create", "apply-stray")
        second = self.write("""topics:
  - name: apply-clicks
    partitions: 5
    configs: {retention.ms: "7200000", cleanup.policy: compact}
  - name: apply-payments
    partitions: 2
""")
        plan = self.ctl("apply", "-f", second, "--dry-run", "--prune", "--format", "json").json()
        self.assertIn("add partitions to apply-clicks: 3 -> 5", plan)
        self.assertTrue(any(c.startswith("delete apply-stray") for c in plan), plan)
        # Every other topic of the shared broker is pruned too: keep them out of this run.
        self.ctl("apply", "-f", second)
        self.assertEqual(self.partitions("apply-clicks"), 5)
        res = ConfigResource(ConfigResource.Type.TOPIC, "apply-clicks")
        seen = self.admin.describe_configs([res])[res].result(timeout=10)
        self.assertEqual(seen["retention.ms"].value, "7200000")
        self.assertEqual(seen["cleanup.policy"].value, "compact")
        exported = self.ctl("topic", "export", "apply-clicks", "apply-payments").out
        path = self.write(exported)
        self.assertIn("nothing to change", self.ctl("apply", "-f", path).out)
        self.assertIn('retention.ms: "7200000"', exported)

        # Refused, with one line naming the topic and key, and nothing changed.
        for text, words in (
                ("topics:\n  - name: apply-clicks\n    partitions: 2\n",
                 "topic apply-clicks: partitions 2"),
                ("topics:\n  - name: apply-x\n    partitions: 1\n    replicas: 1\n",
                 "unknown key 'replicas'"),
                ("topics:\n  - name: apply-x\n    partitions: -1\n", "'partitions'"),
                ("topics:\n  - name: apply-x\n    partitions: 1\n    replication_factor: 3\n",
                 "replication_factor 3 is more than the 1 broker"),
                # A replication factor change moves partitions: a single broker has no other.
                ("topics:\n  - name: apply-clicks\n    partitions: 6\n    replication_factor: 2\n",
                 "only 1 live broker(s)")):
            bad = self.ctl("apply", "-f", self.write(text), ok=False)
            self.assertNotEqual(bad.rc, 0)
            self.assertEqual(len(bad.err.strip().splitlines()), 1, bad.err)
            self.assertIn(words, bad.err)
        self.assertIn("nothing was changed", bad.err)
        self.assertIsNone(self.partitions("apply-x"))
        self.assertEqual(self.partitions("apply-clicks"), 5)
        bad = self.ctl("apply", "-f", self.write("topics:\n  - name: apply-y\n    partitions: 1\n"
                                                 "    configs: {retention.ms: soon}\n"), ok=False)
        self.assertIn("apply-y", bad.err)

    # --- records --------------------------------------------------------------------------------

    def test_produce_then_consume_back(self):
        self.ctl("topic", "create", "ctl-rec", "-p", "1")
        lines = "".join(f"key{i}:value {i}\n" for i in range(50))
        r = self.ctl("produce", "ctl-rec", "-k", ":", "-H", "origin=ctl", "--format", "json",
                     stdin=lines)
        self.assertEqual(r.json()["records"], 50)
        self.assertEqual(r.json()["partitions"],
                         [{"partition": 0, "records": 50, "first_offset": 0, "last_offset": 49}])

        out = self.ctl("consume", "ctl-rec", "-n", "50", "--format", "%p %o %k %s|%h\\n").out
        expected = "".join(f"0 {i} key{i} value {i}|origin=ctl\n" for i in range(50))
        self.assertEqual(out, expected)

        # What a real client reads agrees.
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "ctl-check",
                      "auto.offset.reset": "earliest", "enable.auto.commit": False})
        c.assign([TopicPartition("ctl-rec", 0, 0)])
        got = []
        deadline = time.time() + TIMEOUT
        while len(got) < 50 and time.time() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                got.append((m.offset(), m.key().decode(), m.value().decode()))
        c.close()
        self.assertEqual(got, [(i, f"key{i}", f"value {i}") for i in range(50)])

        # JSON lines, from an offset, to the end.
        out = self.ctl("consume", "ctl-rec", "-o", "45", "-e", "--format", "json").out
        recs = [json.loads(line) for line in out.splitlines()]
        self.assertEqual([(x["offset"], x["key"], x["value"]) for x in recs],
                         [(i, f"key{i}", f"value {i}") for i in range(45, 50)])
        self.assertEqual(recs[0]["headers"], [{"key": "origin", "value": "ctl"}])
        tail = self.ctl("consume", "ctl-rec", "-o", "-3", "-e").out
        self.assertEqual(tail, "value 47\nvalue 48\nvalue 49\n")
        by_time = self.ctl("consume", "ctl-rec", "-o", "@0", "-n", "1", "--format", "%o\\n").out
        self.assertEqual(by_time, "0\n")

        # Progress on stderr when asked, never on stdout.
        r = self.ctl("consume", "ctl-rec", "-n", "5", "--progress")
        self.assertEqual(r.out.count("\n"), 5)
        self.assertIn("consumed 5/5 records", r.err)

    def test_produce_to_a_chosen_partition(self):
        self.ctl("topic", "create", "ctl-part", "-p", "3")
        r = self.ctl("produce", "ctl-part", "-p", "2", stdin="a\nb\nc\n")
        self.assertEqual(r.table(), [["PARTITION", "RECORDS", "FIRST-OFFSET", "LAST-OFFSET"],
                                     ["2", "3", "0", "2"]])
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "x"})
        lo, hi = c.get_watermark_offsets(TopicPartition("ctl-part", 2), timeout=10)
        c.close()
        self.assertEqual((lo, hi), (0, 3))
        out = self.ctl("consume", "ctl-part", "-p", "2", "-e", "--format", "%p:%o:%s\\n").out
        self.assertEqual(out, "2:0:a\n2:1:b\n2:2:c\n")

    # --- groups ---------------------------------------------------------------------------------

    def produce(self, topic, partitions, count):
        p = Producer({"bootstrap.servers": self.broker.bootstrap})
        for i in range(count):
            p.produce(topic, value=f"m{i}".encode(), partition=i % partitions)
        self.assertEqual(p.flush(30), 0)

    def describe_rows(self, group):
        rows = self.ctl("group", "describe", group).table()
        self.assertEqual(rows[0], ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET",
                                   "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"])
        return {int(r[2]): r for r in rows[1:]}

    def test_group_describe_lag_seek_and_delete(self):
        topic, group = "ctl-lag", "ctl-g"
        self.ctl("topic", "create", topic, "-p", "2")
        self.produce(topic, 2, 10)
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": group,
                      "client.id": "lag-reader", "enable.auto.commit": False,
                      "auto.offset.reset": "earliest"})
        c.subscribe([topic])
        seen = 0
        deadline = time.time() + TIMEOUT
        while seen < 10 and time.time() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                seen += 1
                c.commit(message=m, asynchronous=False)
        self.assertEqual(seen, 10)

        # While the consumer is a member: its id, host and client id own the partitions.
        rows = self.describe_rows(group)
        self.assertEqual(sorted(rows), [0, 1])
        for p, r in rows.items():
            self.assertEqual(r[:6], [group, topic, str(p), "5", "5", "0"])
            self.assertTrue(r[6].startswith("lag-reader"), r)
            self.assertEqual(r[7], "/127.0.0.1")
            self.assertEqual(r[8], "lag-reader")
        refused = self.ctl("group", "seek", group, "--to", "earliest", ok=False)
        self.assertEqual(refused.rc, 1)
        self.assertIn("active member", refused.err)
        self.assertEqual(len(refused.err.strip().splitlines()), 1)
        not_empty = self.ctl("group", "delete", group, ok=False)
        self.assertIn("NON_EMPTY_GROUP", not_empty.out)
        c.close()

        # The consumer stopped and more arrived: lag = log end - committed.
        self.produce(topic, 2, 6)
        rows = self.describe_rows(group)
        reader = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": group})
        committed = {tp.partition: tp.offset for tp in reader.committed(
            [TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=10)}
        reader.close()
        for p, r in rows.items():
            self.assertEqual(r, [group, topic, str(p), str(committed[p]), "8", "3", "-", "-", "-"])
        d = self.ctl("group", "describe", group, "--format", "json").json()[0]
        self.assertEqual(d["state"], "Empty")
        self.assertEqual(d["total_lag"], 6)
        self.assertEqual([(x["partition"], x["current_offset"], x["lag"]) for x in d["partitions"]],
                         [(0, 5, 3), (1, 5, 3)])

        # Seek: dry run changes nothing; earliest; an offset; beyond the end is clamped.
        dry = self.ctl("group", "seek", group, "--to", "earliest", "--dry-run", "--format", "json")
        self.assertEqual([x["new_offset"] for x in dry.json()["partitions"]], [0, 0])
        self.assertEqual(self.describe_rows(group)[0][3], "5")
        self.ctl("group", "seek", group, "--to", "earliest")
        rows = self.describe_rows(group)
        self.assertEqual([(r[3], r[5]) for r in rows.values()], [("0", "8"), ("0", "8")])
        r = self.ctl("group", "seek", group, "--to", "2", "--topic", topic, "--progress")
        self.assertIn("resolved 2/2 partitions", r.err)
        self.assertEqual([row[3:5] for row in r.table()[1:]], [["0", "2"], ["0", "2"]])
        self.assertEqual([r[3] for r in self.describe_rows(group).values()], ["2", "2"])
        self.ctl("group", "seek", group, "--to", "1000")
        self.assertEqual([r[3] for r in self.describe_rows(group).values()], ["8", "8"])

        # A consumer of the group resumes where seek put it.
        self.ctl("group", "seek", group, "--to", "-1")
        out = self.ctl("consume", topic, "-g", group, "-n", "2", "--format", "%p %o\\n").out
        self.assertEqual(sorted(out.splitlines()), ["0 7", "1 7"])

        listed = {g["group"]: g["state"] for g in self.ctl("group", "list", "--format",
                                                             "json").json()}
        self.assertEqual(listed.get(group), "Empty")
        r = self.ctl("group", "delete", group)
        self.assertEqual(r.table(), [["GROUP", "STATUS"], [group, "OK"]])
        self.assertNotIn(group, [g["group"] for g in self.ctl("group", "list", "--format",
                                                               "json").json()])
        gone = self.ctl("group", "describe", group, ok=False)
        self.assertEqual(gone.err.strip(), f"stromctl: group {group} does not exist")

    def test_seek_sets_offsets_of_a_new_group_and_outlives_its_topic(self):
        self.ctl("topic", "create", "ctl-empty", "-p", "2")
        self.assertEqual(self.ctl("consume", "ctl-empty", "-e").out, "")
        self.produce("ctl-empty", 2, 4)
        self.ctl("group", "seek", "ctl-new", "--to", "latest", "--topic", "ctl-empty")
        rows = self.describe_rows("ctl-new")
        self.assertEqual([r[3:6] for r in rows.values()], [["2", "2", "0"], ["2", "2", "0"]])
        self.ctl("topic", "delete", "ctl-empty")
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and self.partitions("ctl-empty") is not None:
            time.sleep(0.1)
        # Offsets that outlive their topic (if the broker keeps them) have no log end or lag.
        r = self.ctl("group", "describe", "ctl-new", "--format", "json", ok=False)
        if r.rc == 0:
            for p in r.json()[0]["partitions"]:
                self.assertEqual((p["current_offset"], p["log_end_offset"], p["lag"]),
                                 (2, None, None))
        else:
            self.assertIn("does not exist", r.err)

    # --- cluster and broker ---------------------------------------------------------------------

    def test_api_versions_lists_the_advertised_apis(self):
        rows = self.ctl("broker", "api-versions").table()
        self.assertEqual(rows[0], ["KEY", "NAME", "MIN", "MAX"])
        by_name = {r[1]: (int(r[2]), int(r[3])) for r in rows[1:]}
        self.assertEqual(by_name["Produce"], (0, 11))
        self.assertEqual(by_name["Fetch"], (4, 13))
        self.assertEqual(by_name["Metadata"], (0, 12))
        self.assertEqual(by_name["ApiVersions"], (0, 4))
        j = self.ctl("broker", "api-versions", "--format", "json").json()
        self.assertIn({"key": 1, "name": "Fetch", "min": 4, "max": 13}, j)

    def test_cluster_info_and_health(self):
        info = self.ctl("cluster", "info", "--format", "json").json()
        self.assertEqual(info["controller_id"], 1)
        self.assertEqual(info["brokers"], [{"id": 1, "host": "127.0.0.1", "port": self.broker.port,
                                            "controller": True}])
        self.assertIn("1*", self.ctl("cluster", "info").out)

        # The broker's own admin API.
        real = f"http://127.0.0.1:{self.broker.admin_port}"
        j = self.ctl("cluster", "health", "--admin-url", real, "--format", "json").json()
        self.assertEqual((j["source"], j["is_healthy"], j["controller_id"], j["nodes_down"]),
                         ("admin", True, 1, []))
        self.assertEqual(j["nodes"][0]["node_id"], 1)

        # No admin API there: one line says so, then the Kafka view.
        closed = f"http://127.0.0.1:{free_port()}"
        r = self.ctl("cluster", "health", "--admin-url", closed)
        self.assertEqual(len(r.err.strip().splitlines()), 1)
        self.assertIn("showing what the Kafka protocol reports", r.err)
        self.assertIn("Healthy:", r.out)
        j = self.ctl("cluster", "health", "--admin-url", closed, "--format", "json").json()
        self.assertEqual((j["source"], j["healthy"], j["nodes"], j["leaderless_partitions"]),
                         ("kafka", True, ["1"], []))

        # An admin API that answers: its JSON is shown, and unhealthy exits 10.
        answer = {"is_healthy": False, "nodes_down": [2], "controller_id": 1}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                body = json.dumps(answer).encode() if self.path == "/v1/cluster/health" else b""
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        t = threading.Thread(target=server.serve_forever, daemon=True)
        t.start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}"
            r = self.ctl("cluster", "health", "--admin-url", url, ok=False)
            self.assertEqual(r.rc, 10, r.err)
            self.assertEqual(r.err, "")
            self.assertIn("nodes_down:     [2]", r.out)
            j = self.ctl("cluster", "health", "--admin-url", url, "--format", "json",
                         ok=False).json()
            self.assertEqual((j["source"], j["is_healthy"], j["nodes_down"]), ("admin", False, [2]))
        finally:
            server.shutdown()
            server.server_close()

    # --- partition moves ------------------------------------------------------------------------

    def test_partition_moves_on_a_single_broker(self):
        self.ctl("topic", "create", "ctl-move", "-p", "2")
        # A single broker has nowhere to move a partition to, and no move in flight.
        r = self.ctl("partition", "move", "ctl-move/0", "--replicas", "7", ok=False)
        self.assertEqual(r.rc, 1)
        self.assertEqual(r.table()[0], ["TOPIC", "PARTITION", "REPLICAS", "STATUS"])
        self.assertIn("INVALID_REPLICA_ASSIGNMENT", r.out)
        self.assertEqual(len(r.err.strip().splitlines()), 1, r.err)
        rows = self.ctl("partition", "move", "ctl-move/1", "--replicas", "1,2", "--format",
                        "json", ok=False).json()
        self.assertEqual(len(rows), 1)
        self.assertEqual((rows[0]["topic"], rows[0]["partition"], rows[0]["replicas"],
                          rows[0]["ok"]), ("ctl-move", 1, [1, 2], False))
        self.assertIn("INVALID_REPLICA_ASSIGNMENT", rows[0]["error"])
        r = self.ctl("partition", "move", "ctl-nope/0", "--replicas", "1", ok=False)
        self.assertIn("UNKNOWN_TOPIC_OR_PARTITION", r.out)

        self.assertIn("no partition move in flight", self.ctl("reassignments").out)
        self.assertEqual(self.ctl("reassignments", "--format", "json").json(), [])
        r = self.ctl("reassignments", "cancel", "ctl-move/1", "ctl-move/9", ok=False)
        self.assertEqual(r.rc, 1)
        rows = {row[1]: row for row in r.table()[1:]}
        self.assertEqual(rows["1"][2], "NO_REASSIGNMENT_IN_PROGRESS:")
        self.assertEqual(rows["9"][2], "UNKNOWN_TOPIC_OR_PARTITION:")

        # The replication factor: already 1, and 2 needs a second broker.
        r = self.ctl("topic", "alter", "ctl-move", "--replication-factor", "1")
        self.assertIn("nothing to change", r.out)
        r = self.ctl("topic", "alter", "ctl-move", "--replication-factor", "2", ok=False)
        self.assertEqual(r.rc, 1)
        self.assertIn("needs 2 replicas but only 1 live broker(s)", r.err)
        r = self.ctl("topic", "alter", "ctl-nope", "--replication-factor", "2", ok=False)
        self.assertIn("topic ctl-nope does not exist", r.err)

        # Command-line mistakes: one line, exit status 2, nothing sent.
        for args in (["partition", "move", "ctl-move", "--replicas", "1"],
                     ["partition", "move", "ctl-move/x", "--replicas", "1"],
                     ["partition", "move", "ctl-move/0", "--replicas", "1,1"],
                     ["partition", "move", "ctl-move/0", "--replicas", "a"],
                     ["partition", "move", "ctl-move/0"],
                     ["reassignments", "cancel", "ctl-move"],
                     ["reassignments", "cancel"],
                     ["topic", "alter", "ctl-move", "--replication-factor", "0"],
                     ["topic", "alter", "ctl-move"]):
            r = self.ctl(*args, ok=False)
            self.assertEqual(r.rc, 2, args)
            self.assertEqual(len(r.err.strip().splitlines()), 1, r.err)

    def test_elect_leaders_and_decommission_on_a_single_broker(self):
        self.ctl("topic", "create", "ctl-elect", "-p", "3")
        # The only replica of each partition leads it already.
        r = self.ctl("partition", "elect-leaders", "ctl-elect")
        self.assertEqual(r.table(), [["TOPIC", "PARTITION", "RESULT"],
                                     ["ctl-elect", "0", "not", "needed"],
                                     ["ctl-elect", "1", "not", "needed"],
                                     ["ctl-elect", "2", "not", "needed"]])
        rows = self.ctl("partition", "elect-leaders", "ctl-elect/1", "ctl-elect/2", "--format",
                        "json").json()
        self.assertEqual(rows, [{"topic": "ctl-elect", "partition": p, "result": "not needed",
                                 "ok": True} for p in (1, 2)])
        # Every partition: the broker answers only for those that needed an election.
        r = self.ctl("partition", "elect-leaders")
        self.assertNotIn("ctl-elect", r.out)
        r = self.ctl("partition", "elect-leaders", "ctl-nope", ok=False)
        self.assertEqual((r.rc, r.err.strip()), (1, "stromctl: topic ctl-nope does not exist"))
        r = self.ctl("partition", "elect-leaders", "ctl-elect/7", ok=False)
        self.assertEqual(r.rc, 1)
        self.assertIn("UNKNOWN_TOPIC_OR_PARTITION", r.out)
        self.assertEqual(len(r.err.strip().splitlines()), 1, r.err)

        # A single-node broker has no other broker to move replicas to: it answers 503, and
        # stromctl says what it said.
        admin = f"http://127.0.0.1:{self.broker.admin_port}"
        req = urllib.request.Request(f"{admin}/v1/brokers/1/decommission", method="PUT")
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(refused.exception.code, 503)
        message = json.loads(refused.exception.read())["error"]
        for wait in ([], ["--wait"]):
            r = self.ctl("broker", "decommission", "1", *wait, "--admin-url", admin, ok=False)
            self.assertEqual(r.rc, 1, r.err)
            self.assertEqual(r.out, "")
            self.assertEqual(r.err.strip(),
                             f"stromctl: decommissioning broker 1: {message} (HTTP 503)")
        r = self.ctl("broker", "status", "--admin-url", admin, ok=False)
        self.assertEqual(r.rc, 1)
        self.assertEqual(len(r.err.strip().splitlines()), 1, r.err)
        # No admin API there: one line naming it.
        closed = f"http://127.0.0.1:{free_port()}"
        r = self.ctl("broker", "recommission", "1", "--admin-url", closed, ok=False)
        self.assertEqual(r.rc, 1)
        self.assertEqual(len(r.err.strip().splitlines()), 1, r.err)
        self.assertIn(closed, r.err)

        # Command-line mistakes: one line, exit status 2, nothing sent.
        for args in (["partition", "elect-leaders", "ctl-elect/x"],
                     ["partition", "elect-leaders", "ctl-elect/"],
                     ["partition", "elect-leaders", ""],
                     ["broker", "decommission"],
                     ["broker", "decommission", "x"],
                     ["broker", "decommission", "-1"],
                     ["broker", "recommission", "1,2"],
                     ["broker", "status", "one"]):
            r = self.ctl(*args, ok=False)
            self.assertEqual(r.rc, 2, args)
            self.assertEqual(len(r.err.strip().splitlines()), 1, r.err)

    # --- errors and help ------------------------------------------------------------------------

    def test_bad_broker_address_is_one_line_and_non_zero(self):
        port = free_port()
        for args in (["topic", "list"], ["group", "list"], ["broker", "api-versions"],
                     ["consume", "x", "-n", "1"]):
            r = self.ctl("-b", f"127.0.0.1:{port}", *args, ok=False)
            self.assertNotEqual(r.rc, 0, args)
            self.assertEqual(r.out, "", args)
            lines = r.err.strip().splitlines()
            self.assertEqual(len(lines), 1, r.err)
            self.assertIn(f"127.0.0.1:{port}", lines[0])
        # The environment variable is the default for --brokers.
        r = self.ctl("topic", "list", ok=False, env={"STROM_BROKERS": "127.0.0.1:1"})
        self.assertIn("127.0.0.1:1", r.err)
        r = self.ctl("topic", "list", "--format", "yaml", ok=False)
        self.assertEqual(r.err.strip(), "stromctl: --format must be text or json, not 'yaml'")
        r = self.ctl("consume", "x", "-o", "sometime", ok=False)
        self.assertEqual(len(r.err.strip().splitlines()), 1)
        self.assertIn("not a position", r.err)
        r = self.ctl("topic", "frobnicate", ok=False)
        self.assertEqual(r.rc, 2)
        self.assertEqual(len(r.err.strip().splitlines()), 1)

    def test_every_command_has_help_with_examples(self):
        for cmd in (["topic", "create"], ["topic", "list"], ["topic", "describe"],
                    ["topic", "delete"], ["topic", "alter-config"], ["topic", "add-partitions"],
                    ["produce"], ["consume"], ["group", "list"], ["group", "describe"],
                    ["group", "seek"], ["group", "delete"], ["cluster", "info"],
                    ["cluster", "health"], ["cluster", "config"], ["cluster", "alter-config"],
                    ["apply"], ["topic", "export"], ["topic", "alter"], ["partition"],
                    ["partition", "move"], ["partition", "elect-leaders"], ["reassignments"],
                    ["reassignments", "cancel"], ["broker", "api-versions"],
                    ["broker", "decommission"], ["broker", "recommission"], ["broker", "status"],
                    ["topic"], ["group"],
                    ["cluster"], ["broker"], []):
            r = self.ctl(*cmd, "--help")
            self.assertIn("Examples:", r.out, cmd)


class StromctlClusterTest(unittest.TestCase):
    """Partition moves and replication factor changes on three real brokers."""

    @classmethod
    def setUpClass(cls):
        # Catching up is throttled to 256 KiB/s, so that a move of a few MiB lasts long enough to
        # be seen (new writes are not held back).
        cls.cluster = Cluster(3, insert={"  replication:\n":
                                         "    recovery_max_bytes_per_sec: 262144\n"}).start()
        # Every broker knows the three (a move to a broker its view lacks is refused).
        from confluent_kafka.admin import AdminClient
        for node in cls.cluster.nodes.values():
            admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{node.port}"})
            cls.cluster.wait_until(lambda: len(admin.list_topics(timeout=5).brokers) == 3,
                                   f"broker {node.node_id} knows three brokers")

    @classmethod
    def tearDownClass(cls):
        cls.cluster.close()

    def ctl(self, *args, ok=True, timeout="60s"):
        p = subprocess.run([STROMCTL, "-b", self.cluster.bootstrap(), "--timeout", timeout, *args],
                           capture_output=True, text=True, timeout=TIMEOUT * 2)
        r = Result(p)
        if ok:
            self.assertEqual(r.rc, 0, f"stromctl {' '.join(args)}: {r.err}")
        return r

    def replicas(self, topic):
        """Partition -> replicas, as Metadata shows them."""
        parts = self.ctl("topic", "describe", topic, "--format", "json").json()[0]
        return {p["partition"]: p["replicas"] for p in parts["partition_list"]}

    def test_move_a_partition_and_change_the_replication_factor(self):
        def created():
            r = self.ctl("topic", "create", "moved", "-p", "3", "-r", "1", ok=False, timeout="5s")
            return r.rc == 0 or "TOPIC_ALREADY_EXISTS" in r.out  # a retry after a timeout

        self.cluster.wait_until(created, "a topic created")
        self.cluster.wait_until(lambda: len(self.replicas("moved")) == 3, "three partitions")
        before = self.replicas("moved")
        others = [b for b in (1, 2, 3) if b not in before[0]]
        r = self.ctl("partition", "move", "moved/0", "--replicas",
                     ",".join(map(str, others)), "--wait")
        self.assertIn(f"done: moved/0 is on {','.join(map(str, others))}", r.out)
        self.cluster.wait_until(lambda: self.replicas("moved")[0] == others, "the move shown")
        self.assertEqual(self.ctl("reassignments", "--format", "json").json(), [])

        # Up to three replicas: each partition keeps its own first, then goes to every broker.
        plan = self.ctl("topic", "alter", "moved", "--replication-factor", "3", "--dry-run",
                        "--format", "json").json()
        self.assertEqual(sorted(row["partition"] for row in plan), [0, 1, 2])
        self.assertEqual(self.replicas("moved")[1], before[1])  # a dry run changes nothing
        r = self.ctl("topic", "alter", "moved", "--replication-factor", "3")
        self.assertIn("done: moved has replication factor 3", r.out)
        self.cluster.wait_until(
            lambda: all(sorted(r) == [1, 2, 3] for r in self.replicas("moved").values()),
            "three replicas each")
        now = self.replicas("moved")
        self.assertEqual(now[0][:2], others)
        self.assertEqual(now[1][0], before[1][0])

        # Down to one through apply: the first replica of each stays.
        fd, path = tempfile.mkstemp(suffix=".yaml")
        with os.fdopen(fd, "w") as f:
            f.write("topics:\n  - name: moved\n    partitions: 3\n    replication_factor: 1\n")
        self.addCleanup(os.unlink, path)
        r = self.ctl("apply", "-f", path)
        self.assertIn("change the replication factor of moved: 3 -> 1", r.out)
        self.assertIn("applied", r.out)
        self.cluster.wait_until(
            lambda: self.replicas("moved") == {p: r[:1] for p, r in now.items()},
            "one replica each, the first")
        self.assertIn("nothing to change", self.ctl("apply", "-f", path).out)

    def test_reassignments_show_the_progress_of_a_throttled_move(self):
        """A partition with one replica holding 4 MiB gets a second one, which catches up at
        256 KiB/s (some 16 s): meanwhile `reassignments` shows the bytes on the new replica
        against those on the leader, below 100 %. Cancelled, nothing is left moving."""
        self.assertIn("no partition move in flight", self.ctl("reassignments").out)

        def created():
            r = self.ctl("topic", "create", "copied", "-p", "1", "-r", "1", ok=False,
                         timeout="5s")
            return r.rc == 0 or "TOPIC_ALREADY_EXISTS" in r.out

        self.cluster.wait_until(created, "a topic created")
        self.cluster.wait_until(lambda: len(self.replicas("copied")) == 1, "one partition")
        producer = Producer({"bootstrap.servers": self.cluster.bootstrap(), "acks": "all",
                             "linger.ms": 5})
        for _ in range(4096):
            producer.produce("copied", value=b"c" * 1024, partition=0)
            producer.poll(0)
        self.assertEqual(producer.flush(TIMEOUT), 0)
        leader = self.replicas("copied")[0][0]
        other = next(b for b in (1, 2, 3) if b != leader)
        self.ctl("partition", "move", "copied/0", "--replicas", f"{leader},{other}")
        self.addCleanup(self.ctl, "reassignments", "cancel", "copied/0", ok=False)

        def moving():
            rows = [r for r in self.ctl("reassignments", "--format", "json").json()
                    if r["topic"] == "copied"]
            self.assertEqual(len(rows), 1, "the move ended before its progress was known")
            # Metadata names no leader for a moment as the move begins: the progress is then
            # unknown.
            return rows[0] if rows[0]["progress_percent"] is not None else None

        row = self.cluster.wait_until(moving, "the progress of the move")
        self.assertEqual((row["partition"], row["adding"]), (0, [other]))
        self.assertGreaterEqual(row["leader_bytes"], 4 << 20, row)
        self.assertIsNotNone(row["copied_bytes"], row)
        self.assertLess(row["copied_bytes"], row["leader_bytes"], row)
        self.assertIsNotNone(row["progress_percent"], row)
        self.assertGreaterEqual(row["progress_percent"], 0, row)
        self.assertLess(row["progress_percent"], 100, row)

        def line():
            # Another broker may answer this time, and name the new group's leader a moment
            # later than the one before: the progress is unknown ("-") until then.
            table = self.ctl("reassignments").table()
            self.assertEqual(table[0], ["TOPIC", "PARTITION", "REPLICAS", "ADDING", "REMOVING",
                                        "COPIED", "OF", "PROGRESS"])
            row = next(r for r in table[1:] if r[0] == "copied")
            return row if row[-1].endswith("%") else None
        self.cluster.wait_until(line, "the progress in the table")

        self.ctl("reassignments", "cancel", "copied/0")
        self.cluster.wait_until(
            lambda: not any(r["topic"] == "copied"
                            for r in self.ctl("reassignments", "--format", "json").json()),
            "the move cancelled")


if __name__ == "__main__":
    unittest.main(verbosity=2)
