#!/usr/bin/python3
"""SASL on a real stromd (a SASL_PLAINTEXT listener): SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN
with kcat, confluent-kafka-python, kafka-python (SaslHandshake v0 and bare tokens) and kafkajs;
users created and deleted through AlterUserScramCredentials by the bootstrap user; wrong
passwords, requests before authentication, oversized tokens, expired sessions and
re-authentication; the audit trail."""

import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import kafka_wire  # noqa: E402
from broker import Broker  # noqa: E402

TIMEOUT = 60
JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")
ADMIN = ("admin", "admin-secret")
REAUTH_MS = 3000
USERS = [("alice", "SCRAM-SHA-256", "alice-pw"), ("bob", "SCRAM-SHA-512", "bob-pw")]


def client_props(mechanism, user, password):
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism,
            "sasl.username": user, "sasl.password": password}


class SaslTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="strom-sasl-")
        cls.audit = os.path.join(cls.tmp.name, "audit", "audit.log")
        cls.broker = Broker(workdir=cls.tmp.name, protocol="SASL_PLAINTEXT",
                            env={"STROM_BOOTSTRAP_USER": f"{ADMIN[0]}:{ADMIN[1]}"},
                            extra=f"""  connections_max_reauth_ms: {REAUTH_MS}
security:
  audit_log:
    path: {cls.audit}
""")
        cls.broker.start()
        c = cls.admin_client()
        try:
            res = kafka_wire.alter_user_scram(c, upsertions=[(u, m, p, 4096) for u, m, p in USERS])
        finally:
            c.close()
        assert res == {u: (0, None) for u, _, _ in USERS}, res

    @classmethod
    def tearDownClass(cls):
        cls.broker.close()
        cls.tmp.cleanup()

    @classmethod
    def admin_client(cls):
        c = kafka_wire.Client(cls.broker.port, timeout=TIMEOUT)
        err, message, _ = kafka_wire.scram_login(c, "SCRAM-SHA-256", *ADMIN)
        assert err == 0, message
        return c

    def kcat(self, props, *args, stdin=None, check=True, wait_s=10):
        cmd = ["kcat", "-b", self.broker.bootstrap, "-m", str(wait_s)]
        for k, v in props.items():
            cmd += ["-X", f"{k}={v}"]
        r = subprocess.run(cmd + list(args), input=stdin, capture_output=True, text=True,
                           timeout=TIMEOUT)
        if check:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_kcat_with_each_mechanism(self):
        for topic, (mechanism, user, password) in {
                "kcat-256": ("SCRAM-SHA-256", "alice", "alice-pw"),
                "kcat-512": ("SCRAM-SHA-512", "bob", "bob-pw"),
                "kcat-plain": ("PLAIN", "alice", "alice-pw")}.items():
            props = client_props(mechanism, user, password)
            lines = "".join(f"{topic}-{i}\n" for i in range(100))
            self.kcat(props, "-P", "-t", topic, "-p", "0", stdin=lines)
            out = self.kcat(props, "-C", "-t", topic, "-o", "beginning", "-e", "-q").stdout
            self.assertEqual(out, lines, mechanism)

    def test_confluent_kafka_python_scram_sha_512(self):
        from confluent_kafka import Consumer, Producer
        props = client_props("SCRAM-SHA-512", "bob", "bob-pw")
        p = Producer({"bootstrap.servers": self.broker.bootstrap, "acks": "all", **props})
        failures = []
        for i in range(500):
            p.produce("confluent-sasl", f"v{i}".encode(), partition=0,
                      on_delivery=lambda err, _m: err and failures.append(err))
        self.assertEqual(p.flush(TIMEOUT), 0)
        self.assertEqual(failures, [])
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "confluent-sasl",
                      "auto.offset.reset": "earliest", **props})
        c.subscribe(["confluent-sasl"])
        got = []
        deadline = time.time() + TIMEOUT
        while len(got) < 500 and time.time() < deadline:
            m = c.poll(1)
            if m is not None and not m.error():
                got.append(m.value().decode())
        c.close()
        self.assertEqual(got, [f"v{i}" for i in range(500)])

    def test_kafka_python_handshake_v0_plain_and_scram(self):
        # kafka-python sends SaslHandshake v0 and then the tokens as bare frames.
        from kafka import KafkaConsumer, KafkaProducer
        for mechanism, user, password in (("PLAIN", "alice", "alice-pw"),
                                          ("SCRAM-SHA-256", "alice", "alice-pw"),
                                          ("SCRAM-SHA-512", "bob", "bob-pw")):
            topic = "kp-" + mechanism.lower()
            kw = dict(bootstrap_servers=self.broker.bootstrap, security_protocol="SASL_PLAINTEXT",
                      sasl_mechanism=mechanism, sasl_plain_username=user,
                      sasl_plain_password=password, api_version=(2, 5, 0))
            p = KafkaProducer(acks="all", **kw)
            for i in range(50):
                p.send(topic, f"{mechanism}-{i}".encode(), partition=0)
            p.flush(TIMEOUT)
            p.close()
            c = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=5000,
                              **kw)
            got = []
            for m in c:  # ends at consumer_timeout_ms without a record
                got.append(m.value.decode())
                if len(got) == 50:
                    break
            c.close()
            self.assertEqual(got, [f"{mechanism}-{i}" for i in range(50)], mechanism)

    def test_kafkajs_scram_and_plain(self):
        for mechanism, user, password in (("scram-sha-256", "alice", "alice-pw"),
                                          ("scram-sha-512", "bob", "bob-pw"),
                                          ("plain", "bob", "bob-pw")):
            out = subprocess.run(["node", os.path.join(JS, "sasl.mjs"), self.broker.bootstrap,
                                  mechanism, user, password, "js-" + mechanism, "100"],
                                 cwd=JS, capture_output=True, text=True, timeout=TIMEOUT)
            self.assertEqual(out.returncode, 0, out.stderr)
            res = json.loads(out.stdout.strip().splitlines()[-1])
            self.assertNotIn("error", res, res)
            self.assertEqual(res["consumed"], [f"{mechanism}-{i}" for i in range(100)])

    def test_wrong_password_gets_an_authentication_error_and_no_data(self):
        self.kcat(client_props("SCRAM-SHA-256", "alice", "alice-pw"), "-P", "-t", "secret",
                  "-p", "0", stdin="hidden\n")
        for mechanism, user in (("SCRAM-SHA-256", "alice"), ("SCRAM-SHA-512", "nobody"),
                                ("PLAIN", "alice")):
            r = self.kcat(client_props(mechanism, user, "wrong"), "-C", "-t", "secret",
                          "-o", "beginning", "-e", check=False, wait_s=2)
            self.assertNotEqual(r.returncode, 0, mechanism)
            self.assertNotIn("hidden", r.stdout)
            self.assertIn("Authentication failed", r.stderr, mechanism)
        # On the wire: SASL_AUTHENTICATION_FAILED (58), the same text for an unknown user and a
        # wrong password, and then the connection closes.
        texts = set()
        for user in ("alice", "nobody"):
            c = kafka_wire.Client(self.broker.port, timeout=TIMEOUT)
            err, message, _ = kafka_wire.scram_login(c, "SCRAM-SHA-256", user, "wrong")
            self.assertEqual(err, 58)
            texts.add(message)
            self.assertTrue(c.closed_by_peer())
            c.close()
        self.assertEqual(len(texts), 1, texts)
        # A mechanism the listener does not offer: UNSUPPORTED_SASL_MECHANISM with the list.
        c = kafka_wire.Client(self.broker.port, timeout=TIMEOUT)
        err, mechanisms = kafka_wire.sasl_handshake(c, "GSSAPI")
        self.assertEqual(err, 33)
        self.assertEqual(mechanisms, ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"])
        c.close()

    def test_requests_before_authentication_close_the_connection(self):
        c = kafka_wire.Client(self.broker.port, timeout=TIMEOUT)
        self.assertIsNotNone(c.api_versions())  # allowed before authentication
        c.send(3, 1, struct.pack(">i", -1))  # Metadata
        self.assertIsNone(c.recv())
        c.close()
        # An authentication token larger than a SASL exchange needs: closed unread.
        c = kafka_wire.Client(self.broker.port, timeout=TIMEOUT)
        self.assertEqual(kafka_wire.sasl_handshake(c, "PLAIN")[0], 0)
        try:
            c.send_raw(struct.pack(">i", 1 << 20) + b"\x00" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertTrue(c.closed_by_peer())
        c.close()
        # A second handshake in the middle of an exchange: ILLEGAL_SASL_STATE, then closed.
        c = kafka_wire.Client(self.broker.port, timeout=TIMEOUT)
        self.assertEqual(kafka_wire.sasl_handshake(c, "SCRAM-SHA-256")[0], 0)
        self.assertEqual(kafka_wire.sasl_handshake(c, "SCRAM-SHA-256")[0], 34)
        self.assertTrue(c.closed_by_peer())
        c.close()
        # The broker still serves authenticated clients.
        self.kcat(client_props("PLAIN", "alice", "alice-pw"), "-L")

    def test_sessions_expire_and_can_be_renewed(self):
        c = kafka_wire.Client(self.broker.port, timeout=TIMEOUT)
        err, _, lifetime = kafka_wire.scram_login(c, "SCRAM-SHA-512", "bob", "bob-pw")
        self.assertEqual(err, 0)
        self.assertEqual(lifetime, REAUTH_MS)
        c.send(3, 1, struct.pack(">i", -1))
        self.assertIsNotNone(c.recv())
        # Re-authentication on the same connection renews the session (KIP-368)...
        time.sleep(REAUTH_MS / 2000)
        err, _, lifetime = kafka_wire.scram_login(c, "SCRAM-SHA-512", "bob", "bob-pw")
        self.assertEqual((err, lifetime), (0, REAUTH_MS))
        time.sleep(REAUTH_MS / 2000 + 0.5)  # past the first session's end, within the second's
        c.send(3, 1, struct.pack(">i", -1))
        self.assertIsNotNone(c.recv())
        # ... but not as another user.
        err, _, _ = kafka_wire.scram_login(c, "SCRAM-SHA-256", "alice", "alice-pw")
        self.assertEqual(err, 58)
        c.close()
        # Past the end of a session, the next request closes the connection.
        c = kafka_wire.Client(self.broker.port, timeout=TIMEOUT)
        self.assertEqual(kafka_wire.scram_login(c, "SCRAM-SHA-256", "alice", "alice-pw")[0], 0)
        time.sleep(REAUTH_MS / 1000 + 0.5)
        c.send(3, 1, struct.pack(">i", -1))
        self.assertIsNone(c.recv())
        c.close()
        # A client that keeps producing across several session lifetimes keeps working.
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": self.broker.bootstrap, "acks": "all",
                      **client_props("SCRAM-SHA-256", "alice", "alice-pw")})
        failures = []
        end = time.time() + 3 * REAUTH_MS / 1000
        sent = 0
        while time.time() < end:
            p.produce("long-session", b"x", partition=0,
                      on_delivery=lambda err, _m: err and failures.append(err))
            sent += 1
            p.poll(0.1)
        self.assertEqual(p.flush(TIMEOUT), 0)
        self.assertEqual(failures, [])

    def test_users_are_described_altered_and_deleted(self):
        c = self.admin_client()
        try:
            err, users = kafka_wire.describe_user_scram(c)
            self.assertEqual(err, 0)
            self.assertEqual(users["alice"], (0, [(1, 4096)]))
            self.assertEqual(users["bob"], (0, [(2, 4096)]))
            # Refusals, each for its user: too few iterations, an unknown mechanism, a user
            # named twice, a deletion of a credential that does not exist.
            res = kafka_wire.alter_user_scram(
                c, upsertions=[("carol", "SCRAM-SHA-256", "pw", 1000),
                               ("dave", "SCRAM-SHA-1", "pw", 4096),
                               ("erin", "SCRAM-SHA-256", "pw", 4096)],
                deletions=[("erin", 1), ("frank", 2)])
            self.assertEqual({u: e for u, (e, _) in res.items()},
                             {"carol": 93, "dave": 33, "erin": 92, "frank": 91})
            self.assertEqual(kafka_wire.describe_user_scram(c, ["carol", "frank"])[1],
                             {"carol": (91, []), "frank": (91, [])})
            # A user added, used, then deleted: it can no longer authenticate.
            res = kafka_wire.alter_user_scram(c, upsertions=[("gina", "SCRAM-SHA-512", "g", 8192)])
            self.assertEqual(res, {"gina": (0, None)})
            self.kcat(client_props("SCRAM-SHA-512", "gina", "g"), "-L")
            self.kcat(client_props("PLAIN", "gina", "g"), "-L")
            res = kafka_wire.alter_user_scram(c, deletions=[("gina", 2)])
            self.assertEqual(res, {"gina": (0, None)})
            r = self.kcat(client_props("SCRAM-SHA-512", "gina", "g"), "-L", check=False,
                          wait_s=2)
            self.assertNotEqual(r.returncode, 0)
        finally:
            c.close()

    def test_stromctl_manages_users_over_sasl(self):
        stromctl = os.environ.get("STROMCTL")
        if not stromctl:
            self.skipTest("STROMCTL is not set")
        admin = ["-b", self.broker.bootstrap, "-X", "security.protocol=SASL_PLAINTEXT",
                 "-X", "sasl.mechanism=SCRAM-SHA-512", "-X", f"sasl.username={ADMIN[0]}",
                 "-X", f"sasl.password={ADMIN[1]}"]

        def run(*args, check=True, **kw):
            r = subprocess.run([stromctl, *args], capture_output=True, text=True,
                               timeout=TIMEOUT, **kw)
            if check:
                self.assertEqual(r.returncode, 0, r.stderr)
            return r
        # The bootstrap user has a SCRAM-SHA-256 credential only: SCRAM-SHA-512 fails.
        r = run(*admin, "user", "list", check=False)
        self.assertNotEqual(r.returncode, 0)
        admin[admin.index("sasl.mechanism=SCRAM-SHA-512")] = "sasl.mechanism=SCRAM-SHA-256"
        run(*admin, "user", "create", "henry", "--mechanism", "SCRAM-SHA-512",
            env=dict(os.environ, STROM_USER_PASSWORD="henry-pw"))
        listed = json.loads(run(*admin, "--format", "json", "user", "list").stdout)
        self.assertIn("henry", json.dumps(listed))
        # henry produces and consumes through stromctl's librdkafka commands (SCRAM-SHA-512).
        props = os.path.join(self.tmp.name, "henry.properties")
        with open(props, "w") as f:
            f.write("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
                    "sasl.username=henry\nsasl.password=henry-pw\n")
        run("-b", self.broker.bootstrap, "--command-config", props, "produce", "henry-topic",
            input="one\ntwo\n")
        out = run("-b", self.broker.bootstrap, "--command-config", props, "consume",
                  "henry-topic", "-n", "2").stdout
        self.assertEqual(sorted(out.split()), ["one", "two"])
        run(*admin, "user", "delete", "henry")
        r = run("-b", self.broker.bootstrap, "--command-config", props, "topic", "list",
                check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_users_survive_a_restart(self):
        self.broker.stop()
        self.broker.start()
        self.kcat(client_props("SCRAM-SHA-512", "bob", "bob-pw"), "-L")

    def test_audit_log_records_authentications_and_user_changes_without_secrets(self):
        c = kafka_wire.Client(self.broker.port, timeout=TIMEOUT)
        kafka_wire.scram_login(c, "SCRAM-SHA-256", "alice", "not-the-password")
        c.close()
        c = self.admin_client()
        kafka_wire.alter_user_scram(c, upsertions=[("audited", "SCRAM-SHA-256", "pw-x1", 4096)])
        c.close()
        deadline = time.time() + TIMEOUT
        while True:
            with open(self.audit) as f:
                lines = [json.loads(line) for line in f]
            kinds = {(e["type"], e["result"], e["principal"]) for e in lines}
            if ({("authentication", "failure", "User:ANONYMOUS"),
                 ("authentication", "success", "User:admin"),
                 ("admin", "success", "User:admin")} <= kinds) or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertIn(("authentication", "failure", "User:ANONYMOUS"), kinds)
        self.assertIn(("authentication", "success", "User:admin"), kinds)
        change = [e for e in lines if e["type"] == "admin" and e.get("resource") == "User:audited"]
        self.assertEqual(len(change), 1, lines)
        self.assertEqual(change[0]["operation"], "AlterUserScramCredentials")
        for e in lines:
            self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(":", e["client"])
        with open(self.audit) as f:
            text = f.read()
        for secret in ("not-the-password", "pw-x1", "alice-pw", ADMIN[1]):
            self.assertNotIn(secret, text)
        self.assertNotIn("alice-pw", self.broker.output())
        self.assertNotIn(ADMIN[1], self.broker.output())


if __name__ == "__main__":
    unittest.main()
