#!/usr/bin/python3
"""The chaos checker on recorded histories: a clean one passes, and each broken guarantee is
reported as what it is (so that a chaos run without anomalies means something)."""

import copy
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker  # noqa: E402


def clean():
    values = {0: [b"a0", b"a1", b"a2"], 1: [b"b0", b"b1"]}
    final = {p: list(enumerate(vs)) for p, vs in values.items()}
    return {
        "attempted": {v: p for p, vs in values.items() for v in vs} | {b"never-acked": 0},
        "acked": {v: (p, o) for p, vs in values.items() for o, v in enumerate(vs)},
        "reads": [(0, 0, b"a0"), (0, 1, b"a1"), (1, 0, b"b0")],
        "commits": [(1.0, 0, 1), (2.0, 0, 2), (2.5, 1, 1)],
        "committed": [(1.5, 1.6, {0: 1}), (3.0, 3.1, {0: 2, 1: 1}), (4.0, 4.1, {0: 2, 1: -1001})],
        "hw": [(1.0, 1, 0, 2), (2.0, 1, 0, 3), (2.0, 2, 0, 1), (3.0, 2, 0, 3)],
        "final": final,
        "replicas": {p: {b: list(recs) for b in (1, 2, 3)} for p, recs in final.items()},
        "recovery": {"bound": 90, "took": 4.2},
    }


def kinds(h):
    anomalies, _ = checker.check(h)
    return sorted({k for k, _ in anomalies})


class CheckerTest(unittest.TestCase):
    def test_a_clean_history_has_no_anomaly(self):
        anomalies, summary = checker.check(clean())
        self.assertEqual(anomalies, [])
        self.assertEqual(summary["acknowledged"], 5)
        self.assertEqual(summary["lost"], 0)

    def test_an_acknowledged_write_missing_is_lost(self):
        h = clean()
        h["final"][0] = [(0, b"a0"), (1, b"a1")]
        for b in (1, 2, 3):
            h["replicas"][0][b] = list(h["final"][0])
        self.assertEqual(kinds(h), ["lost"])
        self.assertEqual(checker.check(h)[1]["lost"], 1)

    def test_a_value_stored_twice_is_a_duplicate(self):
        h = clean()
        h["final"][1].append((2, b"b1"))
        for b in (1, 2, 3):
            h["replicas"][1][b] = list(h["final"][1])
        self.assertEqual(kinds(h), ["duplicate"])

    def test_a_gap_and_a_write_at_another_offset(self):
        h = clean()
        h["final"][0] = [(0, b"a0"), (2, b"a1"), (3, b"a2")]
        for b in (1, 2, 3):
            h["replicas"][0][b] = list(h["final"][0])
        h["reads"] = []
        self.assertEqual(kinds(h), ["gap", "moved"])

    def test_a_producers_fatal_error(self):
        h = clean()
        h["fatal"] = [(12.5, 1, "OUT_OF_ORDER_SEQUENCE_NUMBER")]
        self.assertEqual(kinds(h), ["client-fatal"])

    def test_a_value_never_written(self):
        h = clean()
        h["final"][1].append((2, b"zz"))
        for b in (1, 2, 3):
            h["replicas"][1][b] = list(h["final"][1])
        self.assertEqual(kinds(h), ["phantom"])

    def test_a_read_that_the_log_no_longer_holds(self):
        h = clean()
        h["reads"].append((1, 1, b"other"))
        self.assertEqual(kinds(h), ["lost-after-read"])

    def test_committed_offsets_going_back_or_below_an_answered_commit(self):
        h = clean()
        h["committed"].append((5.0, 5.1, {0: 1}))
        self.assertEqual(kinds(h), ["commit-backwards", "commit-lost"])
        h = clean()
        h["commits"].append((3.5, 1, 2))
        h["committed"].append((5.0, 5.1, {0: 2, 1: 1}))
        self.assertEqual(kinds(h), ["commit-lost"])

    def test_a_high_watermark_going_back_on_one_broker(self):
        h = clean()
        h["hw"].append((4.0, 1, 0, 2))
        self.assertEqual(kinds(h), ["hw-backwards"])

    def test_replicas_that_differ_or_lack_the_partition(self):
        h = clean()
        h["replicas"][0][2] = [(0, b"a0"), (1, b"xx"), (2, b"a2")]
        h["replicas"][1][3] = None
        self.assertEqual(kinds(h), ["replica-diverged", "replica-missing"])

    def test_no_recovery_within_the_bound(self):
        h = clean()
        h["recovery"]["took"] = None
        self.assertEqual(kinds(h), ["no-recovery"])
        h["recovery"]["took"] = 91
        self.assertEqual(kinds(h), ["no-recovery"])


if __name__ == "__main__":
    unittest.main()
