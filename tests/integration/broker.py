"""Shared helpers for integration tests: a real stromd on free loopback ports, in a temporary
directory, stopped (or killed) by the test and always cleaned up."""

import os
import random
import re
import resource
import signal
import socket
import subprocess
import tempfile
import time

STROMD = os.environ.get("STROMD", "")
TIMEOUT = 30


_given = set()


def free_port():
    """A free loopback port below the kernel's ephemeral range (ip_local_port_range), never
    the same twice in one process: a broker restarted on its ports finds them free, not taken
    meanwhile as the local port of some client's connection (a port the kernel hands out for
    bind(0) is one of those)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    top = low - 1
    bottom = max(10000, top - 12000)
    rng = random.SystemRandom()
    for _ in range(1000 if top - bottom >= 1000 else 0):
        port = rng.randint(bottom, top)
        if port in _given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """One stromd. `extra` is appended to its YAML configuration."""

    def __init__(self, workdir=None, extra="", shards=2, advertise_port=None, nofile=None,
                 protocol="PLAINTEXT", env=None, listener_yaml="", more_listeners="",
                 admin_yaml=""):
        """`nofile` caps the descriptors stromd may open (soft and hard RLIMIT_NOFILE);
        `protocol` is the client listener's security protocol, `listener_yaml` more of its
        keys (indented for it), `more_listeners` more items of the listener list, `admin_yaml`
        more keys of the admin section (indented for it); `env` is added to stromd's
        environment."""
        self.env = dict(os.environ, **(env or {}))
        self._tmp = None
        self.nofile = nofile
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="strom-it-")
            workdir = self._tmp.name
        self.workdir = workdir
        self.data = os.path.join(workdir, "data")
        self.port = free_port()
        self.admin_port = free_port()
        while self.admin_port == self.port:  # a port just released may come out again
            self.admin_port = free_port()
        self.config = os.path.join(workdir, "broker.yaml")
        with open(self.config, "w") as f:
            f.write(f"""mode: dev
node:
  id: 1
  data_dirs: ["{self.data}"]
listeners:
  - name: client
    bind: {{ host: 127.0.0.1, port: {self.port} }}
    advertise: {{ host: 127.0.0.1, port: {advertise_port or self.port} }}
    security_protocol: {protocol}
{listener_yaml}{more_listeners}admin:
  bind: {{ host: 127.0.0.1, port: {self.admin_port} }}
{admin_yaml}network:
  shards: {shards}
{extra}""")
        self.proc = None
        self.err_path = os.path.join(workdir, "stromd.log")

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        # A restart keeps its ports, and while the broker was down another process may have
        # held one of them for a moment (a client's outgoing connection is given a free port
        # of the same range): then it tries again (at most ten times). A first start fails
        # instead: Cluster.start picks new ports for every node.
        for attempt in range(10):
            since = os.path.getsize(self.err_path) if os.path.exists(self.err_path) else 0
            self.err = open(self.err_path, "a")
            limit = None
            if self.nofile is not None:
                def limit():
                    resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))
            self.proc = subprocess.Popen([STROMD, "--config", self.config],
                                         stdout=subprocess.DEVNULL, stderr=self.err,
                                         preexec_fn=limit, env=getattr(self, "env", None))
            try:
                self.wait_for(r"stromd started", since)
                return self
            except AssertionError as e:
                if since == 0 or attempt == 9 or "Address already in use" not in str(e):
                    raise
                self.err.close()
                time.sleep(0.5)
        return self

    def output(self):
        with open(self.err_path) as f:
            return f.read()

    def wait_for(self, pattern, since=0):
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            if re.search(pattern, self.output()[since:]):
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"stromd exited ({self.proc.returncode}):\n"
                                     f"{self.output_tail(since)}")
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {pattern!r}:\n{self.output_tail(since)}")

    def output_tail(self, since=0, lines=80):
        """The last `lines` lines the broker wrote after offset `since`: what explains a failure
        (a long log's head is the effective configuration)."""
        tail = self.output()[since:].splitlines()[-lines:]
        return "\n".join(tail)

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=TIMEOUT)
        self.err.close()
        return rc

    def open_fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self):
        """User + system CPU time the broker used so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def metrics(self):
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics",
                                    timeout=TIMEOUT) as r:
            return r.read().decode()

    def kill(self):
        return self.stop(signal.SIGKILL)

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if getattr(self, "err", None) is not None and not self.err.closed:
            self.err.close()
        if self._tmp is not None:
            self._tmp.cleanup()
