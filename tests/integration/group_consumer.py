#!/usr/bin/python3
"""One consumer-group member in its own process (so a test can SIGKILL it).

usage: group_consumer.py BOOTSTRAP GROUP TOPIC LOGFILE [STRATEGY]

Appends one JSON line per event to LOGFILE: {"ev": "assign"|"revoke", "parts": [...],
"now": [...]} on rebalances (now = the full assignment after the event) and {"ev": "msg",
"p": partition, "o": offset} for every message, written once it is processed and
before its offset is committed. SIGTERM closes the consumer cleanly (LeaveGroup)."""

import json
import signal
import sys

from confluent_kafka import Consumer

bootstrap, group, topic, logfile = sys.argv[1:5]
strategy = sys.argv[5] if len(sys.argv) > 5 else "range"
log = open(logfile, "a", buffering=1)
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
              "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
              "heartbeat.interval.ms": 500, "partition.assignment.strategy": strategy})
current = set()


def on_assign(consumer, parts):
    global current
    got = {p.partition for p in parts}
    current = current | got if strategy == "cooperative-sticky" else got
    log.write(json.dumps({"ev": "assign", "parts": sorted(got), "now": sorted(current)}) + "\n")


def on_revoke(consumer, parts):
    global current
    gone = {p.partition for p in parts}
    current = current - gone
    log.write(json.dumps({"ev": "revoke", "parts": sorted(gone), "now": sorted(current)}) + "\n")


c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
while not stop:
    m = c.poll(0.2)
    if m is None or m.error():
        continue
    # Process, then commit: at least once.
    log.write(json.dumps({"ev": "msg", "p": m.partition(), "o": m.offset()}) + "\n")
    try:
        c.commit(message=m, asynchronous=False)
    except Exception as e:  # e.g. a rebalance in progress: the message may be seen again
        log.write(json.dumps({"ev": "commit-failed", "error": str(e)}) + "\n")
c.close()
log.write(json.dumps({"ev": "closed"}) + "\n")
