"""Reads the records of one partition straight from a stopped broker's data directory
(docs/storage-format.md): the segment files in offset order, every data batch (magic 2,
uncompressed: the chaos producers send no compression), each record's offset and value.
Internal entries (Raft term starts and the like) take no offset and are skipped. Standard
library only."""

import os
import re
import struct

HEADER = 61
DATA_MAGIC = 2


def _varint(buf, pos):
    """A zigzag varint at `pos`: (value, next position)."""
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
    return (result >> 1) ^ -(result & 1), pos


def _records(body, count, base_offset):
    pos = 0
    for _ in range(count):
        length, pos = _varint(body, pos)
        end = pos + length
        pos += 1  # attributes
        _, pos = _varint(body, pos)  # timestamp delta
        delta, pos = _varint(body, pos)
        klen, pos = _varint(body, pos)
        pos += max(klen, 0)
        vlen, pos = _varint(body, pos)
        value = None if vlen < 0 else bytes(body[pos:pos + vlen])
        yield base_offset + delta, value
        pos = end


def partition_records(data_dir, topic, partition):
    """[(offset, value)] of every record the replica holds, in log order; None when the
    replica has no directory for the partition."""
    pdir = os.path.join(data_dir, f"{topic}-{partition}")
    if not os.path.isdir(pdir):
        return None
    logs = []
    for name in os.listdir(pdir):
        m = re.match(r"^(\d+)", name)
        if m and name.endswith(".log"):
            logs.append((int(m.group(1)), name))
    out = []
    for _, name in sorted(logs):
        with open(os.path.join(pdir, name), "rb") as f:
            buf = f.read()
        pos = 0
        while pos + HEADER <= len(buf):
            base, length = struct.unpack_from(">qi", buf, pos)
            size = 12 + length
            if length <= 0 or pos + size > len(buf):
                break  # a torn tail (not after a clean stop)
            magic = buf[pos + 16]
            if magic == DATA_MAGIC:
                attributes, = struct.unpack_from(">h", buf, pos + 21)
                if attributes & 0x7:
                    raise ValueError(f"{pdir}/{name}: a compressed batch at {base}")
                if not attributes & 0x20:  # control batches hold no values
                    count, = struct.unpack_from(">i", buf, pos + 57)
                    out.extend(_records(buf[pos + HEADER:pos + size], count, base))
            pos += size
    return out
