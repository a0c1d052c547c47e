#!/usr/bin/env python3
"""Remake the recording fuzzer's inputs from the golden recording (tests/unit/data/golden,
after its regen.sh): data/golden-raw.rec, its blocks stored raw but SUMMARY (the head the
fuzzer puts record streams behind), corpus/record/golden.rec (the file itself), and
corpus/record/events-NN (pieces of its first EVENTS block, cut at entry boundaries)."""
import glob
import os
import shutil
import struct
import subprocess
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "unit", "data", "golden", "golden.rec")
SUMMARY, EVENTS, ZSTD = 6, 3, 1


def blocks(data):
    at = 16
    while at + 24 <= len(data):
        magic, typ, stored, raw, crc, codec = struct.unpack_from("<6I", data, at)
        yield magic, typ, raw, codec, data[at + 24:at + 24 + stored]
        at += 24 + stored


def main():
    src = open(GOLDEN, "rb").read()
    out = bytearray(src[:16])
    first_events = None
    for magic, typ, raw, codec, payload in blocks(src):
        if codec == ZSTD and typ != SUMMARY:
            payload = subprocess.run(["zstd", "-dc"], input=payload, capture_output=True,
                                     check=True).stdout
            codec = 0
        if typ == EVENTS and first_events is None:
            first_events = payload
        out += struct.pack("<6I", magic, typ, len(payload), raw if codec else len(payload),
                           zlib.crc32(payload), codec) + payload
    with open(os.path.join(HERE, "data", "golden-raw.rec"), "wb") as f:
        f.write(out)
    corpus = os.path.join(HERE, "corpus", "record")
    for old in glob.glob(os.path.join(corpus, "events-*")):
        os.unlink(old)
    shutil.copy(GOLDEN, os.path.join(corpus, "golden.rec"))
    pos, piece, n = 0, bytearray(), 0
    while pos + 8 <= len(first_events) and n < 12:
        length = struct.unpack_from("<I", first_events, pos)[0]
        whole = 8 + ((length + 7) & ~7)
        entry = first_events[pos:pos + whole]
        pos += whole
        if len(piece) + len(entry) > 2048 and piece:
            with open(os.path.join(corpus, "events-%02d" % n), "wb") as f:
                f.write(piece)
            n, piece = n + 1, bytearray()
        if len(entry) <= 2048:
            piece += entry
    if piece and n < 12:
        with open(os.path.join(corpus, "events-%02d" % n), "wb") as f:
            f.write(piece)


if __name__ == "__main__":
    main()
