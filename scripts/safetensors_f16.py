#!/usr/bin/env python3
"""Rewrites a model.safetensors file with every F32 tensor stored as F16 (half the size), standard library only.

Used to commit training snapshots compactly (semsearch's encoder upcasts F16 to f32 on load).
    scripts/safetensors_f16.py IN.safetensors OUT.safetensors
"""
import json
import struct
import sys
from array import array


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f:
        blob = f.read()
    (hlen,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + hlen])
    data = memoryview(blob)[8 + hlen:]
    meta = header.pop("__metadata__", None)
    out_header, chunks, off = {}, [], 0
    for name, t in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        a, b = t["data_offsets"]
        raw = bytes(data[a:b])
        dtype = t["dtype"]
        if dtype == "F32":
            vals = array("f")
            vals.frombytes(raw)
            if sys.byteorder != "little":
                vals.byteswap()
            raw = struct.pack("<%de" % len(vals), *vals)
            dtype = "F16"
        out_header[name] = {"dtype": dtype, "shape": t["shape"], "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    if meta is not None:
        out_header["__metadata__"] = meta
    hj = json.dumps(out_header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for c in chunks:
            f.write(c)


if __name__ == "__main__":
    main()
