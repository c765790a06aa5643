#!/usr/bin/python3
"""Fault injection on a three-broker cluster (config/cluster files, free loopback ports,
temporary data directories), with a checker that proves nothing acknowledged is lost.

Faults, on a schedule drawn from the seed: kill -9 and restart; SIGSTOP/SIGCONT pauses;
network partitions between brokers (a broker isolated from the other two, a bridge where one
broker sees both sides that no longer see each other, one-way cuts) made with relays the
harness puts between the brokers (tests/chaos/links.py); slow links; a data directory that
fills up (each on a small file system of its own, in a mount namespace of the run's own:
root only), healed by freeing the space and restarting the broker; fsync errors (stromd built
with -DSTROM_FAULT_HOOKS=ON), healed by restarting the broker. Workloads meanwhile:
idempotent acks=all producers writing unique values over six partitions, a consumer group
reading and committing with members leaving and joining, and topic creation and deletion
churn. Afterwards every fault is healed, the partitions are read from the start, the brokers
are stopped, every replica's log is read from its files, and tests/chaos/checker.py lists
every broken guarantee. A report (Markdown and JSON) and a timeline picture go to --out.
Exits 1 on any anomaly, naming the seed.

  scripts/chaos.sh --time SECONDS --seed S --faults kill,pause,partition,slow,disk,fsync [--out DIR]

The seed draws the schedule: each fault's kind, shape, length and the pauses between them;
which broker a fault hits follows the leaders of the moment, and the interleaving with the
workloads is the machine's (as in any test of real processes), so a replay of an anomaly may
take a few runs."""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)

from cluster import Cluster  # noqa: E402
import checker  # noqa: E402
import kafka_wire  # noqa: E402
import segments  # noqa: E402
from links import Network  # noqa: E402

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "chaos"
PARTITIONS = 6
FAULTS = ("kill", "pause", "partition", "slow", "disk", "fsync", "move")
DATA_FS_BYTES = 256 << 20  # each broker's data directory: a file system of its own
RECOVERY_BOUND = 90  # seconds from the last heal to leaders and full ISR everywhere
HOLD = (3.0, 8.0)  # how long a fault lasts
GAP = (2.0, 5.0)  # quiet time after a fault healed


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def fill(path):
    """Writes zeros to `path` until the file system is full."""
    chunk = bytes(1 << 20)
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError:
                break
        while True:  # the last few blocks
            try:
                f.write(bytes(4096))
            except OSError:
                return


class History:
    """What the clients did and saw; thread-safe appends. Times are seconds since the start."""

    def __init__(self):
        self.t0 = time.time()
        self.mu = threading.Lock()
        self.attempted = {}
        self.acked = {}
        self.failed = []
        self.latency = []  # (ack time, seconds from send to ack)
        self.reads = []
        self.commits = []
        self.committed = []
        self.hw = []
        self.faults = []  # (kind, detail, start, end, recovery seconds or None)
        self.churn = {"ok": 0, "failed": 0}
        self.fatal = []  # (time, producer, error): errors a client could not retry

    def now(self):
        return time.time() - self.t0


class ChaosRun:
    def __init__(self, seed, seconds, faults, out, acks="all"):
        self.seed, self.seconds, self.faults, self.out = seed, seconds, faults, out
        self.acks = acks
        self.rng = random.Random(seed)
        self.h = History()
        self.stop = threading.Event()
        self.paused = set()
        self.killed = set()
        self.net = Network()
        # fsync errors: stromd built with STROM_FAULT_HOOKS fails every fsync while the file
        # <STROM_FAULT_DIR>/<node id>.fail-sync exists.
        self.fault_dir = os.path.join(out, "fault-hooks")
        os.makedirs(self.fault_dir, exist_ok=True)
        os.environ["STROM_FAULT_DIR"] = self.fault_dir
        self.cluster = Cluster(3, seed_port=self.net.port_for)
        if "disk" in faults:
            # A small file system per data directory (in the run's own mount namespace), so
            # that one can be filled up.
            for node in self.cluster.nodes.values():
                os.makedirs(node.data, exist_ok=True)
                subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DATA_FS_BYTES}", "tmpfs",
                                node.data], check=True)
        self.threads = []
        self.shapes = []

    # ---- the cluster -------------------------------------------------------------------

    def bootstrap(self):
        return self.cluster.bootstrap()

    def running(self):
        return [n for n, node in self.cluster.nodes.items()
                if node.running and n not in self.paused]

    def metadata(self):
        admin = AdminClient({"bootstrap.servers": self.bootstrap(), "socket.timeout.ms": 5000})
        return admin.list_topics(timeout=5)

    def healthy(self):
        """Every partition of the run's topic led, with all three replicas in sync, and three
        brokers registered."""
        md = self.metadata()
        t = md.topics.get(TOPIC)
        if len(md.brokers) != 3 or t is None or t.error is not None:
            return False
        ps = t.partitions
        if len(ps) != PARTITIONS or not all(
                p.leader >= 0 and len(p.isrs) == len(p.replicas) == 3 for p in ps.values()):
            return False
        # The leader Metadata names leads indeed: it answers ListOffsets for the partition.
        for leader in {p.leader for p in ps.values()}:
            if leader not in self.cluster.nodes or leader in self.paused:
                return False
            c = kafka_wire.Client(self.cluster.nodes[leader].port, timeout=2)
            try:
                for p in ps.values():
                    if p.leader == leader and kafka_wire.list_offsets(c, TOPIC, p.id, -1)[0] != 0:
                        return False
            finally:
                c.close()
        return True

    def wait_healthy(self, bound):
        start = time.time()
        while time.time() - start < bound:
            try:
                if self.healthy():
                    return time.time() - start
            except Exception:  # a broker restarting refuses connections
                pass
            time.sleep(0.2)
        return None

    def wait_caught_up(self, bound):
        """Waits until no leader has a follower behind it (strom_replica_max_follower_lag 0 on
        every broker); {broker: lag} of those still behind after `bound` seconds."""
        deadline = time.time() + bound
        behind = {}
        while time.time() < deadline:
            behind = {}
            for n, node in self.cluster.nodes.items():
                try:
                    for line in node.metrics().splitlines():
                        if line.startswith("strom_replica_max_follower_lag"):
                            lag = float(line.split()[-1])
                            if lag > 0:
                                behind[n] = lag
                except Exception as e:
                    behind[n] = repr(e)
            if not behind:
                return {}
            time.sleep(0.5)
        return behind

    def leader_of(self, partition):
        try:
            return self.metadata().topics[TOPIC].partitions[partition].leader
        except Exception:
            return -1

    # ---- workloads -----------------------------------------------------------------------

    def producer(self, pid, rate):
        h = self.h
        sent = {}

        def delivered(err, msg):
            v = msg.value()
            if err is None:
                now = h.now()
                with h.mu:
                    h.acked[v] = (msg.partition(), msg.offset())
                    h.latency.append((now, now - sent.pop(v, now)))
            else:
                with h.mu:
                    h.failed.append((v, str(err)))

        def new_producer():
            return Producer({"bootstrap.servers": self.bootstrap(),
                             "enable.idempotence": self.acks == "all", "acks": self.acks,
                             "compression.type": "none", "linger.ms": 5,
                             "message.timeout.ms": 60000,
                             "topic.metadata.refresh.interval.ms": 1000})
        p = new_producer()
        i = 0
        while not self.stop.is_set():
            v = b"p%d-%08d" % (pid, i)
            part = (i * 7 + pid) % PARTITIONS
            with h.mu:
                h.attempted[v] = part
            sent[v] = h.now()
            while not self.stop.is_set():
                try:
                    p.produce(TOPIC, value=v, partition=part, on_delivery=delivered)
                    break
                except BufferError:
                    p.poll(0.05)
                except KafkaException as e:
                    if not e.args[0].fatal():
                        p.poll(0.05)  # a passing error (stale metadata): the write again
                        continue
                    # A fatal error (the idempotent producer gave up): recorded for the report;
                    # a new producer carries on with the values after it.
                    with h.mu:
                        h.fatal.append((h.now(), pid, str(e)))
                    p.flush(5)
                    p = new_producer()
            p.poll(0)
            i += 1
            time.sleep(1.0 / rate)
        p.flush(90)

    def consumer(self, member):
        h = self.h
        rng = random.Random(self.seed * 1000 + member)
        while not self.stop.is_set():
            c = Consumer({"bootstrap.servers": self.bootstrap(), "group.id": "chaos-group",
                          "enable.auto.commit": False, "auto.offset.reset": "earliest",
                          "session.timeout.ms": 10000, "heartbeat.interval.ms": 1000,
                          "topic.metadata.refresh.interval.ms": 1000})
            c.subscribe([TOPIC])
            leave_at = time.time() + rng.uniform(15, 40)  # then leave the group and come back
            last_commit = time.time()
            try:
                while not self.stop.is_set() and time.time() < leave_at:
                    msg = c.poll(0.5)
                    if msg is not None and msg.error() is None:
                        with h.mu:
                            h.reads.append((msg.partition(), msg.offset(), msg.value()))
                    if time.time() - last_commit >= 1.0:
                        last_commit = time.time()
                        self.commit(c)
                self.commit(c)
            finally:
                c.close()

    def commit(self, c):
        try:
            done = c.commit(asynchronous=False)
        except KafkaException:
            return  # nothing to commit, or a fault: not answered, not counted
        now = self.h.now()
        with self.h.mu:
            for tp in done or []:
                if tp.error is None and tp.offset >= 0:
                    self.h.commits.append((now, tp.partition, tp.offset))

    def churn(self):
        admin = AdminClient({"bootstrap.servers": self.bootstrap()})
        k = 0
        while not self.stop.wait(3.0):
            name = f"churn-{k}"
            k += 1
            try:
                admin.create_topics([NewTopic(name, 1, 3)], request_timeout=15)[name].result(20)
                admin.delete_topics([name], request_timeout=15)[name].result(20)
                self.h.churn["ok"] += 1
            except Exception:
                self.h.churn["failed"] += 1

    def sample_high_watermarks(self):
        h = self.h
        while not self.stop.wait(0.5):
            for n in self.running():
                node = self.cluster.nodes[n]
                try:
                    c = kafka_wire.Client(node.port, timeout=2)
                except OSError:
                    continue
                try:
                    for p in range(PARTITIONS):
                        err, _, offset = kafka_wire.list_offsets(c, TOPIC, p, -1)
                        if err == 0:
                            with h.mu:
                                h.hw.append((h.now(), n, p, offset))
                except Exception:
                    pass
                finally:
                    c.close()

    def sample_committed(self):
        h = self.h
        c = Consumer({"bootstrap.servers": self.bootstrap(), "group.id": "chaos-group",
                      "enable.auto.commit": False})
        try:
            while not self.stop.wait(1.0):
                sent = h.now()
                try:
                    got = c.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)],
                                      timeout=5)
                except KafkaException:
                    continue
                offsets = {tp.partition: tp.offset for tp in got if tp.error is None}
                with h.mu:
                    h.committed.append((sent, h.now(), offsets))
        finally:
            c.close()

    # ---- faults --------------------------------------------------------------------------

    def target(self):
        """A broker to hurt: the leader of a random partition when there is one."""
        leader = self.leader_of(self.rng.randrange(PARTITIONS))
        nodes = sorted(self.cluster.nodes)
        pick = self.rng.choice(nodes)  # drawn always, so that the schedule replays
        return leader if leader in nodes else pick

    def reassign(self, partition, replicas, bound=60):
        """Moves `partition` to `replicas` (AlterPartitionReassignments, asked of any broker
        that answers) and waits, up to `bound` seconds, until no move of it is in flight."""
        deadline = time.time() + bound
        asked = False
        while time.time() < deadline:
            for node in self.cluster.nodes.values():
                try:
                    c = kafka_wire.Client(node.port, timeout=10)
                    try:
                        if not asked:
                            err, parts = kafka_wire.alter_partition_reassignments(
                                c, TOPIC, {partition: replicas})
                            asked = err == 0 and parts.get(partition, (-1,))[0] == 0
                        elif (TOPIC, partition) not in kafka_wire.list_partition_reassignments(c):
                            return
                    finally:
                        c.close()
                except Exception:  # a broker down or restarting: the next one
                    continue
                break
            time.sleep(0.2)
        log(f"move of partition {partition} to {replicas}: not done within {bound} s")

    def inject(self, kind):
        """Starts a fault; returns (description, heal function)."""
        nodes = sorted(self.cluster.nodes)
        victim = self.target()
        if kind == "kill":
            self.cluster.nodes[victim].kill()
            self.killed.add(victim)

            def heal():
                self.cluster.nodes[victim].start()
                self.killed.discard(victim)
            return f"kill -9 broker {victim}", heal
        if kind == "pause":
            os.kill(self.cluster.nodes[victim].proc.pid, signal.SIGSTOP)
            self.paused.add(victim)

            def heal():
                os.kill(self.cluster.nodes[victim].proc.pid, signal.SIGCONT)
                self.paused.discard(victim)
            return f"SIGSTOP broker {victim}", heal
        if kind == "partition":
            if not self.shapes:
                self.shapes = ["isolate", "bridge", "one-way"]  # each once, then again
                self.rng.shuffle(self.shapes)
            shape = self.shapes.pop()
            others = [n for n in nodes if n != victim]
            if shape == "isolate":
                self.net.isolate(victim)
                what = f"broker {victim} cut off from {others}"
            elif shape == "bridge":
                a, b = others
                self.net.cut(a, b)
                self.net.cut(b, a)
                what = f"brokers {a} and {b} cut apart, broker {victim} sees both (bridge)"
            else:
                for o in others:
                    self.net.cut(victim, o)
                what = f"broker {victim}'s messages to {others} dropped (one-way)"
            return what, self.net.heal
        if kind in ("disk", "fsync"):
            node = self.cluster.nodes[victim]
            if kind == "disk":
                cause = os.path.join(node.data, "filler")
                fill(cause)
                what = f"data directory of broker {victim} full"
            else:
                cause = os.path.join(self.fault_dir, f"{victim}.fail-sync")
                open(cause, "w").close()
                what = f"every fsync of broker {victim} fails"

            def heal():
                # A data directory a write error took offline stays so until the broker
                # restarts: the operator removes the cause and restarts it.
                os.remove(cause)
                node.kill()
                node.start()
            return what, heal
        if kind == "move":
            # A partition moves off the broker (its leader, usually: the leadership is handed
            # over first), then back: a learner catching up and promoted, under the load.
            p = self.rng.randrange(PARTITIONS)
            keep = [n for n in nodes if n != victim]
            self.reassign(p, keep)

            def heal():
                self.reassign(p, keep + [victim])
            return f"partition {p} moved off broker {victim} (to {keep})", heal
        if kind == "slow":
            delay = self.rng.uniform(0.05, 0.3)
            self.net.slow(victim, delay)
            return f"links of broker {victim} delayed {delay * 1000:.0f} ms", self.net.heal
        raise ValueError(kind)

    def schedule(self, end):
        h = self.h
        # Every kind once first (in an order drawn from the seed), then at random.
        first = list(self.faults)
        self.rng.shuffle(first)
        while time.time() < end:
            kind = first.pop() if first else self.rng.choice(self.faults)
            hold = self.rng.uniform(*HOLD)
            gap = self.rng.uniform(*GAP)
            start = h.now()
            what, heal = self.inject(kind)
            log(f"fault: {what} for {hold:.1f} s")
            time.sleep(hold)
            heal()
            healed = h.now()
            took = self.wait_healthy(RECOVERY_BOUND)
            log(f"healed: {what}; recovered in "
                + (f"{took:.1f} s" if took is not None else f"more than {RECOVERY_BOUND} s"))
            h.faults.append((kind, what, start, healed, took))
            time.sleep(gap)

    # ---- the run -------------------------------------------------------------------------

    def run(self):
        log(f"seed {self.seed}, {self.seconds} s, faults {','.join(self.faults)}")
        self.cluster.start()
        if "fsync" in self.faults and not all(
                "fault hooks:" in n.output() for n in self.cluster.nodes.values()):
            log("fsync faults need stromd built with -DSTROM_FAULT_HOOKS=ON: left out")
            self.faults = tuple(f for f in self.faults if f != "fsync")
        admin = AdminClient({"bootstrap.servers": self.bootstrap()})

        def create():
            md = admin.list_topics(timeout=5)
            if len(md.brokers) < 3:
                return False
            fs = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3,
                                               config={"min.insync.replicas": "2"})])
            try:
                fs[TOPIC].result(30)
            except KafkaException as e:
                if "already exists" not in str(e):
                    return False
            return True
        self.cluster.wait_until(create, "the chaos topic")
        if self.wait_healthy(60) is None:
            raise AssertionError("the cluster did not become healthy")
        log("cluster ready")
        work = [(self.producer, (1, 150)), (self.producer, (2, 150)), (self.consumer, (1,)),
                (self.consumer, (2,)), (self.churn, ()), (self.sample_high_watermarks, ()),
                (self.sample_committed, ())]
        for fn, args in work:
            t = threading.Thread(target=fn, args=args, daemon=True)
            t.start()
            self.threads.append(t)
        time.sleep(3)  # some writes before the first fault
        self.schedule(time.time() + self.seconds)

        # Heal everything, then measure the recovery from the last heal.
        for n in list(self.paused):
            os.kill(self.cluster.nodes[n].proc.pid, signal.SIGCONT)
        self.paused.clear()
        self.net.heal()
        for n in list(self.killed):
            self.cluster.nodes[n].start()
        self.killed.clear()
        took = self.wait_healthy(RECOVERY_BOUND)
        log("final recovery: " + (f"{took:.1f} s" if took is not None else "none"))
        time.sleep(3)  # the workloads run on a healed cluster for a moment
        self.stop.set()
        for t in self.threads:
            t.join(120)
        lagging = self.wait_caught_up(RECOVERY_BOUND)
        final = self.read_all()
        replicas = self.read_replicas()
        history = {"attempted": self.h.attempted, "acked": self.h.acked, "reads": self.h.reads,
                   "commits": self.h.commits, "committed": self.h.committed, "hw": self.h.hw,
                   "final": final, "replicas": replicas, "fatal": self.h.fatal,
                   "recovery": {"bound": RECOVERY_BOUND, "took": took}}
        anomalies, summary = checker.check(history)
        if lagging:
            anomalies.append(("not-caught-up", f"followers still behind their leaders "
                                               f"{RECOVERY_BOUND} s after the writes stopped: "
                                               f"{lagging}"))
        return self.report(anomalies, summary, took)

    def read_all(self):
        """Every partition from offset 0 to its high watermark."""
        c = Consumer({"bootstrap.servers": self.bootstrap(), "group.id": "chaos-final",
                      "enable.auto.commit": False, "enable.partition.eof": True})
        out = {}
        try:
            for p in range(PARTITIONS):
                high = None
                deadline = time.time() + 60
                while high is None:
                    try:
                        _, high = c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)
                    except KafkaException:  # a leader that just moved
                        if time.time() > deadline:
                            raise
                        time.sleep(0.5)
                c.assign([TopicPartition(TOPIC, p, 0)])
                recs = []
                deadline = time.time() + 120
                while (not recs or recs[-1][0] < high - 1) and high > 0 and \
                        time.time() < deadline:
                    msg = c.poll(1.0)
                    if msg is not None and msg.error() is None:
                        recs.append((msg.offset(), msg.value()))
                out[p] = recs
        finally:
            c.close()
        return out

    def read_replicas(self):
        """Each replica's records from its files, after a clean stop of every broker."""
        for node in self.cluster.nodes.values():
            node.stop()
        out = defaultdict(dict)
        for n, node in self.cluster.nodes.items():
            for p in range(PARTITIONS):
                out[p][n] = segments.partition_records(node.data, TOPIC, p)
        return dict(out)

    def report(self, anomalies, summary, took):
        os.makedirs(self.out, exist_ok=True)
        h = self.h
        kinds = defaultdict(list)
        for kind, _, _, _, rec in h.faults:
            kinds[kind].append(rec)
        lines = [f"# Chaos run, seed {self.seed}", "",
                 f"{self.seconds} s of faults ({', '.join(self.faults)}), producers with "
                 f"acks={self.acks}; command: `scripts/chaos.sh --time {self.seconds} "
                 f"--seed {self.seed} --faults {','.join(self.faults)}"
                 + (f" --acks {self.acks}" if self.acks != "all" else "") + "`", "",
                 "| fault | injected | recovery (max) |", "|---|---|---|"]
        for kind in self.faults:
            recs = kinds.get(kind, [])
            worst = max((r for r in recs if r is not None), default=None)
            failed = sum(1 for r in recs if r is None)
            lines.append(f"| {kind} | {len(recs)} | "
                         + (f"{worst:.1f} s" if worst is not None else "-")
                         + (f", {failed} not within {RECOVERY_BOUND} s" if failed else "") + " |")
        lines += ["", "| measure | value |", "|---|---|"]
        for k, v in summary.items():
            lines.append(f"| {k} | {v} |")
        reasons = defaultdict(int)
        for _, why in h.failed:
            reasons[why] += 1
        lines.append(f"| writes failed (not acknowledged) | {len(h.failed)}"
                     + "".join(f"; {n}× {why}" for why, n in sorted(reasons.items())) + " |")
        lines.append(f"| topic churn (ok / failed) | {h.churn['ok']} / {h.churn['failed']} |")
        lines.append(f"| producers' fatal errors | {len(h.fatal)}"
                     + "".join(f"; at {t:.1f} s producer {pid}: {e}" for t, pid, e in h.fatal)
                     + " |")
        lines.append("| recovery after the last heal | "
                     + (f"{took:.1f} s" if took is not None else "none") + " |")
        lines += ["", "Faults in order:", ""]
        for kind, what, start, end, rec in h.faults:
            lines.append(f"- {start:6.1f}–{end:6.1f} s {what}; recovered "
                         + (f"in {rec:.1f} s" if rec is not None else "not in time"))
        if anomalies:
            lines += ["", f"## {len(anomalies)} anomalies", ""]
            lines += [f"- {k}: {d}" for k, d in anomalies[:200]]
        text = "\n".join(lines) + "\n"
        with open(os.path.join(self.out, "report.md"), "w") as f:
            f.write(text)
        with open(os.path.join(self.out, "report.json"), "w") as f:
            json.dump({"seed": self.seed, "seconds": self.seconds, "faults": h.faults,
                       "producer_fatal_errors": h.fatal,
                       "summary": summary, "anomalies": anomalies[:1000]}, f, indent=1,
                      default=repr)
        self.timeline()
        for n, node in self.cluster.nodes.items():
            shutil.copy(node.err_path, os.path.join(self.out, f"stromd-{n}.log"))
        print(text)
        return anomalies

    def timeline(self):
        """Acknowledged writes per second, the p99 latency of each second, and the faults."""
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            log("no matplotlib: no timeline picture")
            return
        per_sec = defaultdict(list)
        for t, lat in self.h.latency:
            per_sec[int(t)].append(lat)
        secs = sorted(per_sec)
        fig, (a, b) = plt.subplots(2, 1, sharex=True, figsize=(12, 6))
        a.plot(secs, [len(per_sec[s]) for s in secs], lw=1)
        a.set_ylabel("acks/s")
        b.plot(secs, [sorted(per_sec[s])[int(len(per_sec[s]) * 0.99)] * 1000 for s in secs], lw=1)
        b.set_ylabel("p99 latency (ms)")
        b.set_yscale("log")
        b.set_xlabel("seconds")
        colors = {"kill": "red", "pause": "orange", "partition": "purple", "slow": "gray",
                  "disk": "brown", "fsync": "olive", "move": "teal"}
        for kind, what, start, end, _ in self.h.faults:
            for ax in (a, b):
                ax.axvspan(start, end, color=colors.get(kind, "blue"), alpha=0.2)
            a.text(start, a.get_ylim()[1] * 0.95, kind, fontsize=7, rotation=90, va="top")
        a.set_title(f"chaos run, seed {self.seed}")
        fig.tight_layout()
        fig.savefig(os.path.join(self.out, "timeline.png"), dpi=100)
        plt.close(fig)

    def close(self):
        self.stop.set()
        for n in list(self.paused):
            try:
                os.kill(self.cluster.nodes[n].proc.pid, signal.SIGCONT)
            except OSError:
                pass
        if "disk" in self.faults:
            for node in self.cluster.nodes.values():
                node.close()  # nothing may hold the file systems
                subprocess.run(["umount", node.data], capture_output=True)
        self.cluster.close()
        self.net.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--time", type=int, default=180, help="seconds of faults")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--faults", default=",".join(FAULTS))
    ap.add_argument("--out", default=None, help="where the report goes")
    ap.add_argument("--acks", default="all", choices=("all", "1"),
                    help="the producers' acks (1: no idempotence; acknowledged writes may be "
                         "lost, which shows the checker finds them)")
    args = ap.parse_args()
    faults = tuple(f for f in args.faults.split(",") if f)
    for f in faults:
        if f not in FAULTS:
            ap.error(f"unknown fault {f!r}: {', '.join(FAULTS)}")
    if "disk" in faults and not os.environ.get("STROM_CHAOS_NAMESPACE"):
        # Disk faults mount small file systems: in a mount namespace of the run's own, which
        # goes (mounts and all) when the run ends. That takes root.
        if subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode == 0:
            os.environ["STROM_CHAOS_NAMESPACE"] = "1"
            os.execvp("unshare", ["unshare", "--mount", "--propagation", "private",
                                  sys.executable, os.path.abspath(__file__), *sys.argv[1:]])
        log("disk faults need a mount namespace of their own (root): left out")
        faults = tuple(f for f in faults if f != "disk")
    out = args.out or os.path.join(os.getcwd(), f"chaos-{args.seed}")
    run = ChaosRun(args.seed, args.time, faults, out, args.acks)
    try:
        anomalies = run.run()
    finally:
        run.close()
    if anomalies:
        print(f"FAILED: {len(anomalies)} anomalies; replay: scripts/chaos.sh --time {args.time} "
              f"--seed {args.seed} --faults {','.join(faults)}"
              + (f" --acks {args.acks}" if args.acks != "all" else "") + f" (report in {out})")
        return 1
    print(f"OK: no anomaly (report in {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
