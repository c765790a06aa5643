#!/usr/bin/python3
"""TLS on a real stromd: an SSL listener that requires client certificates (mutual TLS) and a
SASL_SSL listener, with kcat, confluent-kafka-python, kafka-python and kafkajs; clients without
a certificate, with one another CA signed, speaking plaintext or sending garbage are dropped
without harm to the others; certificates are read again on SIGHUP."""

import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import kafka_wire  # noqa: E402
from broker import Broker, free_port  # noqa: E402
from certs import make_ca, make_cert  # noqa: E402

TIMEOUT = 60
JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")
ADMIN = ("admin", "admin-secret")


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="strom-tls-")
        d = cls.d = cls.tmp.name
        make_ca(d, "ca")
        make_ca(d, "rogue-ca")
        make_cert(d, "ca", "broker", "/CN=broker-1", san="IP:127.0.0.1,DNS:localhost")
        make_cert(d, "ca", "alice", "/CN=alice/O=Example")
        make_cert(d, "rogue-ca", "mallory", "/CN=mallory")
        cls.sasl_port = free_port()
        os.makedirs(os.path.join(d, "broker"))
        cls.broker = Broker(
            workdir=os.path.join(d, "broker"), protocol="SSL",
            env={"STROM_BOOTSTRAP_USER": f"{ADMIN[0]}:{ADMIN[1]}"},
            listener_yaml=f"""    tls:
      cert_file: {d}/broker.pem
      key_file: {d}/broker.key
      ca_file: {d}/ca.pem
      client_auth: required
""",
            more_listeners=f"""  - name: sasl
    bind: {{ host: 127.0.0.1, port: {cls.sasl_port} }}
    security_protocol: SASL_SSL
    tls: {{ cert_file: {d}/broker.pem, key_file: {d}/broker.key }}
""",
            extra="""security:
  audit_log:
    path: {}
""".format(os.path.join(d, "audit.log")))
        cls.broker.start()
        c = cls.sasl_client()
        try:
            err, message, _ = kafka_wire.scram_login(c, "SCRAM-SHA-256", *ADMIN)
            assert err == 0, message
            res = kafka_wire.alter_user_scram(c, upsertions=[("bob", "SCRAM-SHA-512", "bob-pw",
                                                              4096)])
            assert res == {"bob": (0, None)}, res
        finally:
            c.close()

    @classmethod
    def tearDownClass(cls):
        cls.broker.close()
        cls.tmp.cleanup()

    @classmethod
    def client_tls(cls, cert=None):
        ctx = ssl.create_default_context(cafile=os.path.join(cls.d, "ca.pem"))
        if cert:
            ctx.load_cert_chain(os.path.join(cls.d, f"{cert}.pem"),
                                os.path.join(cls.d, f"{cert}.key"))
        return ctx

    @classmethod
    def sasl_client(cls):
        return kafka_wire.Client(cls.sasl_port, timeout=TIMEOUT, tls=cls.client_tls())

    def mtls_props(self, cert="alice"):
        p = {"security.protocol": "SSL", "ssl.ca.location": os.path.join(self.d, "ca.pem")}
        if cert:
            p["ssl.certificate.location"] = os.path.join(self.d, f"{cert}.pem")
            p["ssl.key.location"] = os.path.join(self.d, f"{cert}.key")
        return p

    def sasl_props(self, mechanism="SCRAM-SHA-512", user="bob", password="bob-pw"):
        return {"security.protocol": "SASL_SSL",
                "ssl.ca.location": os.path.join(self.d, "ca.pem"),
                "sasl.mechanism": mechanism, "sasl.username": user, "sasl.password": password}

    def kcat(self, port, props, *args, stdin=None, check=True, wait_s=10):
        cmd = ["kcat", "-b", f"127.0.0.1:{port}", "-m", str(wait_s)]
        for k, v in props.items():
            cmd += ["-X", f"{k}={v}"]
        r = subprocess.run(cmd + list(args), input=stdin, capture_output=True, text=True,
                           timeout=TIMEOUT)
        if check:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_kcat_over_mutual_tls_and_sasl_ssl(self):
        lines = "".join(f"m-{i}-" + "x" * (i * 37 % 3000) + "\n" for i in range(300))
        self.kcat(self.broker.port, self.mtls_props(), "-P", "-t", "mtls", "-p", "0",
                  stdin=lines)
        # Read back through both listeners: ranges of the log files larger than a response
        # holds in memory go through TLS piece by piece.
        out = self.kcat(self.broker.port, self.mtls_props(), "-C", "-t", "mtls", "-o",
                        "beginning", "-e", "-q").stdout
        self.assertEqual(out, lines)
        for mechanism, user, password in (("SCRAM-SHA-512", "bob", "bob-pw"),
                                          ("PLAIN", "bob", "bob-pw")):
            out = self.kcat(self.sasl_port, self.sasl_props(mechanism, user, password), "-C",
                            "-t", "mtls", "-o", "beginning", "-e", "-q").stdout
            self.assertEqual(out, lines, mechanism)

    def test_clients_without_a_trusted_certificate_are_refused(self):
        for cert in (None, "mallory"):
            r = self.kcat(self.broker.port, self.mtls_props(cert), "-L", check=False, wait_s=3)
            self.assertNotEqual(r.returncode, 0, cert)
        # A wrong password over SASL_SSL: refused too.
        r = self.kcat(self.sasl_port, self.sasl_props(password="wrong"), "-L", check=False,
                      wait_s=3)
        self.assertNotEqual(r.returncode, 0)
        self.kcat(self.broker.port, self.mtls_props(), "-L")
        # The audit log has the refused handshakes and the certificate that authenticated.
        audit = os.path.join(self.d, "audit.log")
        deadline = time.time() + TIMEOUT
        while True:
            with open(audit) as f:
                lines = [json.loads(x) for x in f if x.strip()]
            tls = [x for x in lines if x["type"] == "authentication" and x["operation"] == "TLS"]
            ok = [x for x in tls if x["result"] == "success"]
            failed = [x for x in tls if x["result"] == "failure"]
            if (ok and failed) or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertTrue(ok, tls)
        self.assertEqual(ok[0]["principal"], "User:O=Example,CN=alice")  # RFC 2253: last RDN first
        self.assertEqual(ok[0]["detail"], "client certificate")
        self.assertTrue(ok[0]["client"].startswith("127.0.0.1:"), ok[0])
        self.assertTrue(failed, tls)
        self.assertEqual(failed[0]["principal"], "User:ANONYMOUS")
        self.assertTrue(failed[0]["detail"], failed[0])

    def test_plaintext_and_garbage_on_a_tls_port_are_dropped(self):
        started = time.time()
        for payload in (struct.pack(">ihhi", 10, 18, 0, 1) + b"\x00\x00",  # ApiVersions
                        os.urandom(4096),
                        b"\x16\x03\x01\x02\x00" + os.urandom(512)):  # a broken ClientHello
            s = socket.create_connection(("127.0.0.1", self.broker.port), timeout=TIMEOUT)
            try:
                s.sendall(payload)
            except OSError:
                pass
            s.settimeout(TIMEOUT)
            try:
                while s.recv(65536):
                    pass  # a TLS alert at most, then the end
            except (ConnectionResetError, socket.timeout):
                pass
            s.close()
        # A client that connects and says nothing is dropped at the handshake timeout.
        silent = socket.create_connection(("127.0.0.1", self.sasl_port), timeout=TIMEOUT)
        silent.settimeout(TIMEOUT)
        try:
            self.assertEqual(silent.recv(1), b"")
        except ConnectionResetError:
            pass
        silent.close()
        self.assertLess(time.time() - started, TIMEOUT)
        self.kcat(self.broker.port, self.mtls_props(), "-L")

    def test_confluent_kafka_python_over_mutual_tls_and_sasl_ssl(self):
        from confluent_kafka import Consumer, Producer
        for port, props, topic in ((self.broker.port, self.mtls_props(), "ck-mtls"),
                                   (self.sasl_port, self.sasl_props(), "ck-sasl")):
            p = Producer({"bootstrap.servers": f"127.0.0.1:{port}", "acks": "all", **props})
            failures = []
            for i in range(300):
                p.produce(topic, f"v{i}".encode(), partition=0,
                          on_delivery=lambda err, _m: err and failures.append(err))
            self.assertEqual(p.flush(TIMEOUT), 0)
            self.assertEqual(failures, [])
            c = Consumer({"bootstrap.servers": f"127.0.0.1:{port}", "group.id": topic,
                          "auto.offset.reset": "earliest", **props})
            c.subscribe([topic])
            got = []
            deadline = time.time() + TIMEOUT
            while len(got) < 300 and time.time() < deadline:
                m = c.poll(1)
                if m is not None and not m.error():
                    got.append(m.value().decode())
            c.close()
            self.assertEqual(got, [f"v{i}" for i in range(300)], topic)

    def test_kafka_python_over_mutual_tls_and_sasl_ssl(self):
        from kafka import KafkaConsumer, KafkaProducer
        ca = os.path.join(self.d, "ca.pem")
        for topic, kw in (
                ("kp-mtls", dict(bootstrap_servers=f"127.0.0.1:{self.broker.port}",
                                 security_protocol="SSL", ssl_cafile=ca,
                                 ssl_certfile=os.path.join(self.d, "alice.pem"),
                                 ssl_keyfile=os.path.join(self.d, "alice.key"))),
                ("kp-sasl", dict(bootstrap_servers=f"127.0.0.1:{self.sasl_port}",
                                 security_protocol="SASL_SSL", ssl_cafile=ca,
                                 sasl_mechanism="SCRAM-SHA-512", sasl_plain_username="bob",
                                 sasl_plain_password="bob-pw"))):
            p = KafkaProducer(acks="all", api_version=(2, 5, 0), **kw)
            for i in range(50):
                p.send(topic, f"{topic}-{i}".encode(), partition=0)
            p.flush(TIMEOUT)
            p.close()
            c = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=5000,
                              api_version=(2, 5, 0), **kw)
            got = []
            for m in c:
                got.append(m.value.decode())
                if len(got) == 50:
                    break
            c.close()
            self.assertEqual(got, [f"{topic}-{i}" for i in range(50)])

    def test_kafkajs_over_sasl_ssl(self):
        out = subprocess.run(["node", os.path.join(JS, "sasl.mjs"), f"127.0.0.1:{self.sasl_port}",
                              "scram-sha-512", "bob", "bob-pw", "js-tls", "100"],
                             cwd=JS, capture_output=True, text=True, timeout=TIMEOUT,
                             env=dict(os.environ, STROM_TLS_CA=os.path.join(self.d, "ca.pem")))
        self.assertEqual(out.returncode, 0, out.stderr)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        self.assertNotIn("error", res, res)
        self.assertEqual(res["consumed"], [f"scram-sha-512-{i}" for i in range(100)])

    def test_certificates_are_read_again_on_sighup(self):
        def served_subject():
            s = socket.create_connection(("127.0.0.1", self.sasl_port), timeout=TIMEOUT)
            with self.client_tls().wrap_socket(s, server_hostname="127.0.0.1") as t:
                return dict(x[0] for x in t.getpeercert()["subject"])["commonName"]
        self.assertEqual(served_subject(), "broker-1")
        # A renewed certificate in place of the old one (written to a new file, then renamed).
        make_cert(self.d, "ca", "renewed", "/CN=broker-1-renewed", san="IP:127.0.0.1")
        os.replace(os.path.join(self.d, "renewed.key"), os.path.join(self.d, "broker.key.new"))
        os.replace(os.path.join(self.d, "renewed.pem"), os.path.join(self.d, "broker.pem.new"))
        os.replace(os.path.join(self.d, "broker.key.new"), os.path.join(self.d, "broker.key"))
        os.replace(os.path.join(self.d, "broker.pem.new"), os.path.join(self.d, "broker.pem"))
        open_conn = kafka_wire.Client(self.broker.port, timeout=TIMEOUT,
                                      tls=self.client_tls("alice"))
        self.assertIsNotNone(open_conn.api_versions())
        since = len(self.broker.output())
        self.broker.proc.send_signal(signal.SIGHUP)
        self.broker.wait_for(r"TLS reload: .* read again", since)
        # Each listener reads its files in turn: the SASL_SSL one may come after the line.
        deadline = time.time() + TIMEOUT
        while served_subject() != "broker-1-renewed" and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(served_subject(), "broker-1-renewed")
        self.assertIsNotNone(open_conn.api_versions())  # open connections are not touched
        open_conn.close()
        # A file that cannot be read keeps the current certificate.
        with open(os.path.join(self.d, "broker.pem"), "w") as f:
            f.write("not a certificate\n")
        since = len(self.broker.output())
        self.broker.proc.send_signal(signal.SIGHUP)
        self.broker.wait_for(r"keeping the current certificate", since)
        self.assertEqual(served_subject(), "broker-1-renewed")


class AdminTlsTest(unittest.TestCase):
    """The admin API over HTTPS with client certificates requested, authorization enabled, and
    stromctl over TLS: its own Kafka requests on a mutual-TLS listener, the admin API with a
    client certificate or HTTP basic authentication."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="strom-admin-tls-")
        d = cls.d = cls.tmp.name
        make_ca(d, "ca")
        make_ca(d, "rogue-ca")
        make_cert(d, "ca", "broker", "/CN=broker-1", san="IP:127.0.0.1,DNS:localhost")
        make_cert(d, "ca", "alice", "/CN=alice/O=Example")
        os.makedirs(os.path.join(d, "broker"))
        tls = f"{{ cert_file: {d}/broker.pem, key_file: {d}/broker.key, ca_file: {d}/ca.pem, "
        cls.broker = Broker(
            workdir=os.path.join(d, "broker"), protocol="SSL",
            env={"STROM_BOOTSTRAP_USER": f"{ADMIN[0]}:{ADMIN[1]}"},
            listener_yaml=f"    tls: {tls}client_auth: required }}\n",
            admin_yaml=f"  tls: {tls}client_auth: requested }}\n",
            extra=f"""authorization:
  enabled: true
  superusers: ["User:{ADMIN[0]}", "User:O=Example,CN=alice"]
""")
        cls.broker.start()
        cls.url = f"https://127.0.0.1:{cls.broker.admin_port}"

    @classmethod
    def tearDownClass(cls):
        cls.broker.close()
        cls.tmp.cleanup()

    def https_status(self, path, cert=None, user=None):
        import base64
        import urllib.error
        import urllib.request
        ctx = ssl.create_default_context(cafile=os.path.join(self.d, "ca.pem"))
        if cert:
            ctx.load_cert_chain(os.path.join(self.d, f"{cert}.pem"),
                                os.path.join(self.d, f"{cert}.key"))
        req = urllib.request.Request(self.url + path)
        if user:
            token = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT, context=ctx) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def stromctl(self, *args, props=None):
        stromctl = os.environ.get("STROMCTL")
        if not stromctl:
            self.skipTest("STROMCTL is not set")
        cmd = [stromctl, "-b", self.broker.bootstrap, "--admin-url", self.url]
        for k, v in (props or {}).items():
            cmd += ["-X", f"{k}={v}"]
        return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=TIMEOUT)

    def tls_props(self, cert="alice", ca="ca"):
        p = {"security.protocol": "SSL", "ssl.ca.location": os.path.join(self.d, f"{ca}.pem")}
        if cert:
            p["ssl.certificate.location"] = os.path.join(self.d, f"{cert}.pem")
            p["ssl.key.location"] = os.path.join(self.d, f"{cert}.key")
        return p

    def test_the_admin_api_speaks_https_and_takes_a_client_certificate(self):
        self.assertEqual(self.https_status("/v1/status/live"), 200)
        for path in ("/metrics", "/v1/config"):
            self.assertEqual(self.https_status(path), 401, path)
            self.assertEqual(self.https_status(path, cert="alice"), 200, path)
            self.assertEqual(self.https_status(path, user=ADMIN), 200, path)
        # Plain HTTP on the HTTPS port gets no answer.
        with socket.create_connection(("127.0.0.1", self.broker.admin_port), timeout=TIMEOUT) as c:
            c.sendall(b"GET /v1/status/live HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                self.assertNotIn(b"200", c.recv(4096))
            except ConnectionResetError:
                pass

    def test_stromctl_over_mutual_tls_and_https(self):
        # Its own Kafka requests (SCRAM users, ApiVersions) over the mutual-TLS listener.
        r = self.stromctl("user", "list", props=self.tls_props())
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.stromctl("broker", "api-versions", props=self.tls_props())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ApiVersions", r.stdout)
        # The admin API over HTTPS, authenticated by the client certificate.
        r = self.stromctl("cluster", "health", props=self.tls_props())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("CLUSTER HEALTH", r.stdout)
        self.assertNotIn("not available", r.stderr)
        # ... or by HTTP basic authentication as the SASL user.
        basic = dict(self.tls_props(cert=None), **{"sasl.username": ADMIN[0],
                                                   "sasl.password": ADMIN[1]})
        r = self.stromctl("--format", "json", "cluster", "health", props=basic)
        self.assertEqual(json.loads(r.stdout)["source"], "admin", r.stderr)
        # Without either the admin API refuses, and stromctl says why.
        r = self.stromctl("cluster", "health", props=self.tls_props(cert=None))
        self.assertIn("authentication required (HTTP 401)", r.stderr)
        # The decommission endpoints too: authenticated, so a single node's own answer.
        r = self.stromctl("broker", "status", "1", props=self.tls_props())
        self.assertIn("a single-node broker has no other broker", r.stderr)
        self.assertIn("(HTTP 503)", r.stderr)
        # A broker certificate another CA signed is refused, for both kinds of connection.
        r = self.stromctl("user", "list", props=self.tls_props(ca="rogue-ca"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("certificate verify failed", r.stderr)
        r = self.stromctl("broker", "status", "1", props=self.tls_props(ca="rogue-ca"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("certificate verify failed", r.stderr)


if __name__ == "__main__":
    unittest.main()
