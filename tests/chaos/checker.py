"""The checker of a chaos run: given what the clients did and saw, and what every replica
holds at the end, lists every broken guarantee. Pure functions over a recorded history, so
that tests/chaos/checker_test.py can show each check fires on a history that breaks it.

A history is a dict:
  attempted        {value: partition} every value a producer handed to its client
  acked            {value: (partition, offset)} every acknowledged write (acks=all)
  reads            [(partition, offset, value)] what the group's consumers were given
  commits          [(time, partition, offset)] offset commits answered without error
  committed        [(time_sent, time_answered, {partition: offset})] the group's committed
                   offsets as asked for during the run (OffsetFetch)
  hw               [(time, broker, partition, high watermark)] ListOffsets(latest) answers
  final            {partition: [(offset, value)]} the partitions read from the start after
                   the faults healed
  replicas         {partition: {broker: [(offset, value)]}} each replica's log, read from its
                   files after a clean stop
  recovery         {"bound": seconds, "took": seconds or None} time from the last heal until
                   every partition had a leader and all its replicas in sync
"""

from collections import defaultdict


def check(h):
    """[(kind, detail)] of every anomaly in history `h`, and a summary of counts."""
    anomalies = []

    def anomaly(kind, detail):
        anomalies.append((kind, detail))

    final_at = {}  # (partition, offset) -> value
    where = defaultdict(list)  # value -> [(partition, offset)]
    for p, recs in h["final"].items():
        prev = None
        for o, v in recs:
            if prev is not None and o != prev + 1:
                anomaly("gap", f"partition {p}: offset {o} follows {prev}")
            prev = o
            final_at[(p, o)] = v
            where[v].append((p, o))
        if recs and recs[0][0] != 0:
            anomaly("gap", f"partition {p}: starts at offset {recs[0][0]}")

    # Every acknowledged write is there, once, where its acknowledgement said.
    lost = duplicated = 0
    for v, (p, o) in h["acked"].items():
        found = where.get(v, [])
        if not found:
            lost += 1
            anomaly("lost", f"{v!r} acknowledged at {p}/{o}, not in the log")
        elif found != [(p, o)]:
            if len(found) > 1:
                duplicated += 1
                anomaly("duplicate", f"{v!r} acknowledged at {p}/{o}, stored at {found}")
            else:
                anomaly("moved", f"{v!r} acknowledged at {p}/{o}, stored at {found[0]}")
    # Nothing stored twice, nothing stored that was never sent.
    for v, found in where.items():
        if v in h["acked"]:
            continue
        if len(found) > 1:
            duplicated += 1
            anomaly("duplicate", f"{v!r} (not acknowledged) stored at {found}")
        if v not in h["attempted"]:
            anomaly("phantom", f"{v!r} stored at {found} was never written")

    # A consumer never saw a value that is not in the log at that offset.
    for p, o, v in h["reads"]:
        if final_at.get((p, o), object()) != v:
            anomaly("lost-after-read",
                    f"a consumer read {v!r} at {p}/{o}; the log holds {final_at.get((p, o))!r}")

    # Committed offsets never go backwards, and never below a commit answered before asking.
    last = {}
    for sent, answered, offsets in sorted(h["committed"], key=lambda c: c[1]):
        for p, o in offsets.items():
            if o is None or o < 0:
                continue
            if p in last and o < last[p][0]:
                anomaly("commit-backwards",
                        f"partition {p}: committed offset {o} after {last[p][0]} "
                        f"(seen at {last[p][1]:.1f} s)")
            last[p] = (o, answered)
            floor = max((c for t, cp, c in h["commits"] if cp == p and t < sent), default=None)
            if floor is not None and o < floor:
                anomaly("commit-lost",
                        f"partition {p}: committed offset {o} at {answered:.1f} s, below "
                        f"{floor} committed before")

    # The high watermark never goes backwards on any broker.
    seen = {}
    for t, b, p, hw in sorted(h["hw"], key=lambda x: x[0]):
        if (b, p) in seen and hw < seen[(b, p)][0]:
            anomaly("hw-backwards", f"broker {b} partition {p}: high watermark {hw} at {t:.1f} s "
                                    f"after {seen[(b, p)][0]} at {seen[(b, p)][1]:.1f} s")
        seen[(b, p)] = max(seen.get((b, p), (hw, t)), (hw, t))

    # Every replica holds the same records, and what clients read.
    for p, by_broker in h["replicas"].items():
        reference = h["final"].get(p, [])
        for b, recs in by_broker.items():
            if recs is None:
                anomaly("replica-missing", f"partition {p}: broker {b} has no log")
            elif recs != reference:
                diff = next((i for i, (x, y) in enumerate(zip(recs, reference)) if x != y),
                            min(len(recs), len(reference)))
                anomaly("replica-diverged",
                        f"partition {p}: broker {b} holds {len(recs)} records, clients read "
                        f"{len(reference)}; first difference at position {diff}")

    # A client never met an error it could not retry (a fatal error of an idempotent producer:
    # a broker answered what only a broken sequence would earn).
    for t, producer, e in h.get("fatal", []):
        anomaly("client-fatal", f"producer {producer} at {t:.1f} s: {e}")

    rec = h["recovery"]
    if rec.get("took") is None or rec["took"] > rec["bound"]:
        anomaly("no-recovery", f"not every partition had a leader and all replicas in sync "
                               f"within {rec['bound']} s of the last heal")

    summary = {
        "attempted": len(h["attempted"]),
        "acknowledged": len(h["acked"]),
        "stored": sum(len(r) for r in h["final"].values()),
        "lost": lost,
        "duplicated": duplicated,
        "read by consumers": len(h["reads"]),
        "commits": len(h["commits"]),
        "anomalies": len(anomalies),
    }
    return anomalies, summary
