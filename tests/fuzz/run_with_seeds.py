#!/usr/bin/python3
"""Runs a libFuzzer binary over a corpus directory seeded with request frames that real
clients sent (hex files, one payload each, as tests/unit/kafka_protocol/captured holds them).

usage: run_with_seeds.py FUZZER CORPUS_DIR SEED_HEX_DIR [libFuzzer flags...]"""

import os
import sys

fuzzer, corpus, seeds, *flags = sys.argv[1:]
os.makedirs(corpus, exist_ok=True)
for name in sorted(os.listdir(seeds)):
    if name.endswith(".hex"):
        with open(os.path.join(seeds, name)) as f:
            payload = bytes.fromhex("".join(f.read().split()))
        with open(os.path.join(corpus, "seed-" + name[:-4]), "wb") as f:
            f.write(payload)
os.execv(fuzzer, [fuzzer, *flags, corpus])
