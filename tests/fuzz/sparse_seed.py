#!/usr/bin/env python3
# Turn an image file into a small fuzz seed in the sparse record format of
# tests/fuzz/sparse_image.h: "SPRS" then [u32 page][u16 len][bytes] for every
# non-zero 4 KiB page, plus the file's last byte range so its size survives.
import struct
import sys

src, dst = sys.argv[1], sys.argv[2]
out = bytearray(b"SPRS")
with open(src, "rb") as f:
    data = f.read()
size = len(data)
last = (size - 1) // 4096 if size else 0
for page in range(0, last + 1):
    chunk = data[page * 4096:(page + 1) * 4096]
    if page != last and not any(chunk):
        continue
    out += struct.pack("<IH", page, len(chunk)) + chunk
with open(dst, "wb") as f:
    f.write(out)
print(f"{dst}: {len(out)} bytes from {size}")
