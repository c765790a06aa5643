#!/usr/bin/python3
"""Consumer groups against a real stromd: partitions shared and moved when members leave or
die, committed offsets across restarts, cooperative rebalancing, and the admin views."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from broker import Broker  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 60


def create_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fs = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    fs[name].result(timeout=30)


def produce(bootstrap, topic, partitions, start, count):
    """Messages start..start+count-1, message i to partition i % partitions. Returns the
    delivered (partition, offset) pairs."""
    delivered, errors = [], []
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 2})

    def done(err, msg):
        if err:
            errors.append(err)
        else:
            delivered.append((msg.partition(), msg.offset()))

    for i in range(start, start + count):
        p.produce(topic, value=f"m{i}".encode(), partition=i % partitions, on_delivery=done)
    assert p.flush(30) == 0
    assert not errors, errors
    return delivered


class Member:
    """A group_consumer.py process and the events it logged."""

    def __init__(self, bootstrap, group, topic, workdir, name, strategy="range"):
        self.log = os.path.join(workdir, f"{name}.jsonl")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(HERE, "group_consumer.py"), bootstrap, group, topic, self.log,
             strategy], stderr=subprocess.DEVNULL)

    def events(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.endswith("\n")]

    def assignment(self):
        now = None
        for e in self.events():
            if e["ev"] in ("assign", "revoke"):
                now = e["now"]
        return now

    def consumed(self):
        return {(e["p"], e["o"]) for e in self.events() if e["ev"] == "msg"}

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wait_until(what, predicate, timeout=TIMEOUT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class GroupTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="strom-groups-")
        self.broker = Broker(workdir=self.tmp.name)
        self.broker.start()
        self.members = []

    def tearDown(self):
        for m in self.members:
            m.stop(signal.SIGKILL)
        self.broker.stop()
        self.tmp.cleanup()

    def member(self, group, topic, name, strategy="range"):
        m = Member(self.broker.bootstrap, group, topic, self.tmp.name, name, strategy)
        self.members.append(m)
        return m

    def test_members_share_partitions_and_take_over_from_leavers_and_the_dead(self):
        topic, group = "shared", "g-shared"
        create_topic(self.broker.bootstrap, topic, 6)
        ms = [self.member(group, topic, f"c{i}") for i in range(3)]

        def spread(members, each):
            a = [m.assignment() for m in members]
            return (all(x is not None and len(x) == each for x in a) and
                    len(set().union(*map(set, a))) == 6)

        wait_until("two partitions each", lambda: spread(ms, 2))
        produced = set(produce(self.broker.bootstrap, topic, 6, 0, 600))

        def all_consumed():
            return produced <= set().union(*(m.consumed() for m in ms))

        wait_until("600 messages consumed", all_consumed)

        # A clean close: its partitions move to the other two at once.
        ms[0].stop(signal.SIGTERM)
        wait_until("three partitions each after a close", lambda: spread(ms[1:], 3))
        produced |= set(produce(self.broker.bootstrap, topic, 6, 600, 600))
        wait_until("1200 messages consumed", all_consumed)

        # A killed member: its partitions move after the session timeout.
        ms[1].stop(signal.SIGKILL)
        wait_until("all six on the survivor", lambda: spread(ms[2:], 6))
        produced |= set(produce(self.broker.bootstrap, topic, 6, 1200, 600))
        wait_until("1800 messages consumed", all_consumed)
        consumed = set().union(*(m.consumed() for m in ms))
        self.assertEqual(len(produced), 1800)
        self.assertEqual(produced - consumed, set())

    def consume_and_commit(self, group, topic, count):
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": group,
                      "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        c.subscribe([topic])
        got = []
        deadline = time.time() + TIMEOUT
        while len(got) < count and time.time() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            got.append(m.offset())
            c.commit(message=m, asynchronous=False)
        c.close()
        return got

    def first_offset_after_restart(self, group, topic):
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": group,
                      "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        committed = c.committed([TopicPartition(topic, 0)], timeout=30)[0].offset
        c.subscribe([topic])
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                c.close()
                return committed, m.offset()
        c.close()
        raise AssertionError("nothing consumed after the restart")

    def test_committed_offsets_survive_clean_and_killed_restarts(self):
        topic = "resume"
        create_topic(self.broker.bootstrap, topic, 1)
        produce(self.broker.bootstrap, topic, 1, 0, 200)
        for sig, group, count in ((signal.SIGTERM, "g-clean", 60), (signal.SIGKILL, "g-killed", 77)):
            got = self.consume_and_commit(group, topic, count)
            self.assertEqual(got, list(range(count)))
            self.broker.stop(sig)
            self.broker.start()
            committed, first = self.first_offset_after_restart(group, topic)
            self.assertEqual(committed, count, sig)
            self.assertEqual(first, count, sig)

    def test_cooperative_sticky_rebalances_incrementally(self):
        topic, group = "coop", "g-coop"
        create_topic(self.broker.bootstrap, topic, 4)
        a = self.member(group, topic, "a", "cooperative-sticky")
        wait_until("a owns all four", lambda: a.assignment() is not None and len(a.assignment()) == 4)
        b = self.member(group, topic, "b", "cooperative-sticky")
        wait_until("two each", lambda: (b.assignment() is not None and len(b.assignment()) == 2 and
                                        len(a.assignment()) == 2))
        # Incremental: a gave up only what b took, and never held nothing in between.
        revokes = [e for e in a.events() if e["ev"] == "revoke"]
        self.assertTrue(revokes)
        for e in revokes:
            self.assertEqual(len(e["parts"]), 2, e)
            self.assertEqual(len(e["now"]), 2, e)
        self.assertEqual(set(a.assignment()) | set(b.assignment()), {0, 1, 2, 3})

    def test_admin_lists_describes_and_deletes_groups(self):
        from kafka import KafkaAdminClient
        from kafka.structs import TopicPartition as KTP
        topic = "admin"
        create_topic(self.broker.bootstrap, topic, 2)
        produce(self.broker.bootstrap, topic, 2, 0, 10)
        m = self.member("g-admin", topic, "m")
        wait_until("assignment", lambda: m.assignment() is not None and len(m.assignment()) == 2)
        wait_until("10 consumed", lambda: len(m.consumed()) == 10)
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
        try:
            groups = dict(admin.list_consumer_groups())
            self.assertEqual(groups.get("g-admin"), "consumer")
            (desc,) = admin.describe_consumer_groups(["g-admin"])
            self.assertEqual(desc.state, "Stable")
            self.assertEqual(desc.protocol, "range")
            self.assertEqual(len(desc.members), 1)
            self.assertEqual(desc.members[0].client_host, "/127.0.0.1")
            wait_until("commits", lambda: sum(
                o.offset for o in admin.list_consumer_group_offsets("g-admin").values()) == 10)
            offsets = admin.list_consumer_group_offsets("g-admin")
            self.assertEqual({tp.partition: o.offset for tp, o in offsets.items()}, {0: 5, 1: 5})
            # A group with members cannot be deleted; an empty one can.
            self.assertEqual(dict(admin.delete_consumer_groups(["g-admin"]))["g-admin"].errno, 68)
            m.stop(signal.SIGTERM)
            wait_until("empty", lambda: admin.describe_consumer_groups(["g-admin"])[0].state == "Empty")
            res = dict(admin.delete_consumer_groups(["g-admin"]))
            self.assertEqual(res["g-admin"].errno, 0)
            self.assertNotIn("g-admin", dict(admin.list_consumer_groups()))
            self.assertEqual(admin.list_consumer_group_offsets(
                "g-admin", partitions=[KTP(topic, 0)])[KTP(topic, 0)].offset, -1)
        finally:
            admin.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
