#!/usr/bin/python3
"""ACLs on a real stromd with `authorization.enabled` and a SASL listener: ACLs created, listed
and deleted with kafka-python's admin client (CreateAcls, DescribeAcls, DeleteAcls); Read
without Write refuses produce with TOPIC_AUTHORIZATION_FAILED; prefixed allows; a deny wins;
consumer groups need Read on the group; Metadata lists only what a user may describe; the
superuser may do everything; denials reach the audit log. A broker without authorization
answers the ACL APIs with SECURITY_DISABLED."""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import kafka_wire  # noqa: E402
from broker import Broker  # noqa: E402

TIMEOUT = 60
ADMIN = ("admin", "admin-secret")
USERS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}


def props(user, password):
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256",
            "sasl.username": user, "sasl.password": password}


class AclTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="strom-acl-")
        cls.audit = os.path.join(cls.tmp.name, "audit.log")
        cls.broker = Broker(workdir=cls.tmp.name, protocol="SASL_PLAINTEXT",
                            env={"STROM_BOOTSTRAP_USER": f"{ADMIN[0]}:{ADMIN[1]}"},
                            extra=f"""authorization:
  enabled: true
  superusers: ["User:{ADMIN[0]}"]
security:
  audit_log:
    path: {cls.audit}
""")
        cls.broker.start()
        c = kafka_wire.Client(cls.broker.port, timeout=TIMEOUT)
        try:
            assert kafka_wire.scram_login(c, "SCRAM-SHA-256", *ADMIN)[0] == 0
            res = kafka_wire.alter_user_scram(
                c, upsertions=[(u, "SCRAM-SHA-256", p, 4096) for u, p in USERS.items()])
            assert all(e == 0 for e, _ in res.values()), res
            for topic in ("clicks", "billing-eu", "secret", "other"):
                assert c.create_topic(topic, 1) == 0
        finally:
            c.close()
        cls.admin = cls.admin_client(*ADMIN)
        from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                                 ResourcePattern, ResourceType)

        def acl(user, op, rtype, name, pattern=ACLResourcePatternType.LITERAL,
                perm=ACLPermissionType.ALLOW):
            return ACL(f"User:{user}", "*", op, perm, ResourcePattern(rtype, name, pattern))
        T, G = ResourceType.TOPIC, ResourceType.GROUP
        cls.created = [
            acl("alice", ACLOperation.READ, T, "clicks"),
            acl("alice", ACLOperation.READ, G, "alice-group"),
            acl("bob", ACLOperation.WRITE, T, "billing-", ACLResourcePatternType.PREFIXED),
            acl("carol", ACLOperation.ALL, T, "*"),
            acl("carol", ACLOperation.READ, G, "carol-group"),
            acl("carol", ACLOperation.READ, T, "secret", perm=ACLPermissionType.DENY),
        ]
        res = cls.admin.create_acls(cls.created)
        assert not res["failed"], res

    @classmethod
    def tearDownClass(cls):
        cls.admin.close()
        cls.broker.close()
        cls.tmp.cleanup()

    @classmethod
    def admin_client(cls, user, password):
        from kafka import KafkaAdminClient
        return KafkaAdminClient(bootstrap_servers=cls.broker.bootstrap,
                                security_protocol="SASL_PLAINTEXT",
                                sasl_mechanism="SCRAM-SHA-256", sasl_plain_username=user,
                                sasl_plain_password=password, api_version=(2, 5, 0),
                                request_timeout_ms=TIMEOUT * 1000)

    def produce(self, user, topic, n=5):
        """Delivery errors of `n` messages produced by `user` (confluent-kafka, acks=all)."""
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": self.broker.bootstrap, "acks": "all",
                      "message.timeout.ms": 10000, **props(user, USERS[user])})
        errors = []
        for i in range(n):
            p.produce(topic, f"{user}-{i}".encode(), partition=0,
                      on_delivery=lambda err, _m: errors.append(err.name() if err else None))
        p.flush(TIMEOUT)
        return errors

    def consume(self, user, topic, group, n):
        from confluent_kafka import Consumer, KafkaException
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": group,
                      "auto.offset.reset": "earliest", **props(user, USERS[user])})
        c.subscribe([topic])
        got, errors = [], []
        deadline = time.time() + 15
        try:
            while len(got) < n and time.time() < deadline:
                m = c.poll(0.5)
                if m is None:
                    continue
                if m.error():
                    errors.append(m.error().name())
                    if m.error().fatal() or "AUTHORIZATION" in m.error().name():
                        break
                    continue
                got.append(m.value().decode())
        except KafkaException as e:
            errors.append(e.args[0].name())
        finally:
            c.close()
        return got, errors

    def test_read_without_write_refuses_produce(self):
        self.assertEqual(self.produce("carol", "clicks"), [None] * 5)  # carol: All on *
        self.assertEqual(self.produce("alice", "clicks"), ["TOPIC_AUTHORIZATION_FAILED"] * 5)
        got, errors = self.consume("alice", "clicks", "alice-group", 5)
        self.assertEqual(got, [f"carol-{i}" for i in range(5)], errors)

    def test_prefixed_allow(self):
        self.assertEqual(self.produce("bob", "billing-eu"), [None] * 5)
        self.assertEqual(self.produce("bob", "clicks"), ["TOPIC_AUTHORIZATION_FAILED"] * 5)

    def test_deny_wins_over_allow(self):
        self.assertEqual(self.produce("carol", "secret"), [None] * 5)  # Write: not denied
        got, errors = self.consume("carol", "secret", "carol-group", 5)
        self.assertEqual(got, [])
        self.assertIn("TOPIC_AUTHORIZATION_FAILED", errors)

    def test_groups_need_read_on_the_group(self):
        got, errors = self.consume("alice", "clicks", "not-alices-group", 1)
        self.assertEqual(got, [])
        self.assertIn("GROUP_AUTHORIZATION_FAILED", errors)

    def test_metadata_lists_only_what_a_user_may_describe(self):
        def topics(user, password):
            a = self.admin_client(user, password)
            try:
                return set(a.list_topics())
            finally:
                a.close()
        self.assertEqual(topics("alice", USERS["alice"]), {"clicks"})
        self.assertEqual(topics("bob", USERS["bob"]), {"billing-eu"})
        self.assertTrue({"clicks", "billing-eu", "secret", "other"} <=
                        topics(*ADMIN))  # the superuser sees everything

    def test_acls_are_described_and_deleted(self):
        from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType,
                                 ACLResourcePatternType, ResourcePatternFilter, ResourceType)
        everything = ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                               ResourcePatternFilter(ResourceType.ANY, None,
                                                     ACLResourcePatternType.ANY))
        acls, err = self.admin.describe_acls(everything)
        self.assertEqual(err.errno, 0)
        self.assertEqual(len(acls), len(self.created))
        # Those that apply to topic billing-eu: bob's prefix and carol's wildcard.
        match = ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                          ResourcePatternFilter(ResourceType.TOPIC, "billing-eu",
                                                ACLResourcePatternType.MATCH))
        acls, _ = self.admin.describe_acls(match)
        self.assertEqual(sorted(a.principal for a in acls), ["User:bob", "User:carol"])
        # A user who is not allowed to see the ACLs gets CLUSTER_AUTHORIZATION_FAILED.
        c = kafka_wire.Client(self.broker.port, timeout=TIMEOUT)
        self.assertEqual(kafka_wire.scram_login(c, "SCRAM-SHA-256", "alice", USERS["alice"])[0], 0)
        self.assertEqual(kafka_wire.describe_user_scram(c)[0], 31)
        c.close()
        # A temporary ACL, deleted again.
        from kafka.admin import ACL, ResourcePattern
        temp = ACL("User:bob", "*", ACLOperation.READ, ACLPermissionType.ALLOW,
                   ResourcePattern(ResourceType.TOPIC, "other"))
        self.assertFalse(self.admin.create_acls([temp])["failed"])
        got, errors = self.consume("bob", "other", "bob-group", 1)  # no group ACL yet
        self.assertIn("GROUP_AUTHORIZATION_FAILED", errors)
        res = self.admin.delete_acls([ACLFilter("User:bob", None, ACLOperation.READ,
                                                ACLPermissionType.ALLOW,
                                                ResourcePatternFilter(ResourceType.TOPIC,
                                                                      "other",
                                                                      ACLResourcePatternType.LITERAL))])
        self.assertEqual(len(res), 1)
        _, deleted, error = res[0]
        self.assertEqual(error.errno, 0)
        self.assertEqual(len(deleted), 1)
        acls, _ = self.admin.describe_acls(everything)
        self.assertEqual(len(acls), len(self.created))

    def test_stromctl_manages_acls(self):
        stromctl = os.environ.get("STROMCTL")
        if not stromctl:
            self.skipTest("STROMCTL is not set")
        admin = ["-b", self.broker.bootstrap, "-X", "security.protocol=SASL_PLAINTEXT",
                 "-X", "sasl.mechanism=SCRAM-SHA-256", "-X", f"sasl.username={ADMIN[0]}",
                 "-X", f"sasl.password={ADMIN[1]}"]

        def run(*args, check=True):
            r = subprocess.run([stromctl, *admin, *args], capture_output=True, text=True,
                               timeout=TIMEOUT)
            if check:
                self.assertEqual(r.returncode, 0, r.stderr)
            return r
        self.assertEqual(self.produce("alice", "other", n=1), ["TOPIC_AUTHORIZATION_FAILED"])
        run("acl", "create", "--principal", "User:alice", "--operation", "Write,Describe",
            "--topic", "oth", "--prefixed")
        self.assertEqual(self.produce("alice", "other", n=1), [None])
        listed = json.loads(run("--format", "json", "acl", "list", "--principal",
                                "User:alice").stdout)
        self.assertEqual(len([b for b in listed if b["resource_name"] == "oth"]), 2, listed)
        run("acl", "delete", "--principal", "User:alice", "--topic", "oth", "--prefixed")
        self.assertEqual(self.produce("alice", "other", n=1), ["TOPIC_AUTHORIZATION_FAILED"])
        # alice may not change ACLs: one line naming the error, exit 1.
        r = subprocess.run([stromctl, "-b", self.broker.bootstrap, "-X",
                            "security.protocol=SASL_PLAINTEXT", "-X",
                            "sasl.mechanism=SCRAM-SHA-256", "-X", "sasl.username=alice", "-X",
                            f"sasl.password={USERS['alice']}", "acl", "create", "--principal",
                            "User:alice", "--operation", "All", "--cluster"],
                           capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 1)
        self.assertIn("CLUSTER_AUTHORIZATION_FAILED", r.stderr)

    def test_admin_api_needs_authentication(self):
        import base64
        import urllib.error
        import urllib.request
        base = f"http://127.0.0.1:{self.broker.admin_port}"

        def status(path, user=None, password=None):
            req = urllib.request.Request(base + path)
            if user:
                token = base64.b64encode(f"{user}:{password}".encode()).decode()
                req.add_header("Authorization", f"Basic {token}")
            try:
                with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code
        self.assertEqual(status("/v1/status/live"), 200)  # probes stay open
        self.assertEqual(status("/v1/status/ready"), 200)
        for path in ("/metrics", "/v1/cluster/health", "/v1/config"):
            self.assertEqual(status(path), 401, path)
            self.assertEqual(status(path, "alice", "wrong"), 401, path)
            self.assertEqual(status(path, "nobody", "x"), 401, path)
            self.assertEqual(status(path, "alice", USERS["alice"]), 200, path)
            self.assertEqual(status(path, *ADMIN), 200, path)  # the bootstrap user

    def test_denials_are_audited(self):
        self.produce("alice", "clicks", n=1)
        deadline = time.time() + TIMEOUT
        while True:
            with open(self.audit) as f:
                lines = [json.loads(line) for line in f]
            denied = [e for e in lines if e["type"] == "authorization" and
                      e["principal"] == "User:alice" and e["resource"] == "Topic:clicks"]
            if denied or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertTrue(denied, lines[-5:])
        self.assertEqual(denied[0]["result"], "denied")
        self.assertEqual(denied[0]["detail"], "Write")
        created = [e for e in lines if e["operation"] == "CreateAcls"]
        self.assertGreaterEqual(len(created), len(self.created))

    def audited(self, pred):
        """The audit lines `pred` holds for, once there is one (or none at the deadline)."""
        deadline = time.time() + TIMEOUT
        while True:
            with open(self.audit) as f:
                found = [e for e in map(json.loads, f) if pred(e)]
            if found or time.time() > deadline:
                return found
            time.sleep(0.1)

    def test_admin_operations_are_audited(self):
        import base64
        import urllib.request
        from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
        admin = self.admin
        admin.create_topics([NewTopic("audited", 1, 1)])
        admin.create_partitions({"audited": NewPartitions(2)})
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "audited",
                                            configs={"retention.ms": "3600000"})])
        admin.delete_topics(["audited"])
        carol = self.admin_client("carol", USERS["carol"])  # All on topics, not on the cluster
        try:
            carol.delete_consumer_groups(["carol-group"])
        except Exception:  # kafka-python raises for the group's error
            pass
        finally:
            carol.close()
        for api in ("CreateTopics", "CreatePartitions", "AlterConfigs", "DeleteTopics"):
            lines = self.audited(lambda e, api=api: e["type"] == "admin" and
                                 e["operation"] == api and e["resource"] == "Topic:audited")
            self.assertTrue(lines, api)
            self.assertEqual(lines[0]["principal"], f"User:{ADMIN[0]}", lines[0])
            self.assertEqual(lines[0]["result"], "success", lines[0])
            self.assertTrue(lines[0]["client"].startswith("127.0.0.1:"), lines[0])
        # A deletion refused: a failure, with Kafka's error name (beside the denial's line).
        lines = self.audited(lambda e: e["type"] == "admin" and
                             e["operation"] == "DeleteGroups" and
                             e["resource"] == "Group:carol-group")
        self.assertTrue(lines)
        self.assertEqual(lines[0]["principal"], "User:carol")
        self.assertEqual(lines[0]["result"], "failure")
        self.assertTrue(lines[0]["detail"], lines[0])
        # A change through the admin HTTP API.
        url = (f"http://127.0.0.1:{self.broker.admin_port}/v1/log-level/kafka"
               "?level=debug&expires=1")
        req = urllib.request.Request(url, method="PUT")
        token = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            self.assertEqual(r.status, 200)
        lines = self.audited(lambda e: e["operation"] == "PUT /v1/log-level/kafka")
        self.assertTrue(lines)
        self.assertEqual(lines[0]["principal"], f"User:{ADMIN[0]}")
        self.assertEqual(lines[0]["result"], "success")
        self.assertIn("level=debug", lines[0]["detail"])


class NoAuthorizerTest(unittest.TestCase):
    def test_acl_apis_answer_security_disabled(self):
        from kafka import KafkaAdminClient
        from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType,
                                 ACLResourcePatternType, ResourcePatternFilter, ResourceType)
        broker = Broker().start()
        try:
            a = KafkaAdminClient(bootstrap_servers=broker.bootstrap, api_version=(2, 5, 0))
            _, err = a.describe_acls(ACLFilter(None, None, ACLOperation.ANY,
                                               ACLPermissionType.ANY,
                                               ResourcePatternFilter(ResourceType.ANY, None,
                                                                     ACLResourcePatternType.ANY)))
            a.close()
        except Exception as e:  # kafka-python raises for a top-level error
            err = e
        finally:
            broker.close()
        self.assertIn("SecurityDisabled", type(err).__name__ if not hasattr(err, "errno")
                      else type(err).__name__)


if __name__ == "__main__":
    unittest.main()
