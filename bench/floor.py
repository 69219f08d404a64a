"""The baseline: stdin -> decode and re-encode every line with msgspec -> stdout, nothing else.

The same chunked reading and batched writing as the commands, so the ratio
measures what mdc adds (typing, rules, collectors), not how it reads.
"""

from __future__ import annotations

import os
import sys

import msgspec


def main() -> None:
    """Decode and encode each line of stdin with msgspec's untyped JSON codec."""
    decoder = msgspec.json.Decoder()
    encoder = msgspec.json.Encoder()
    pending = b""
    while chunk := os.read(0, 1 << 20):
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        out = [encoder.encode(decoder.decode(line)) for line in lines]
        out.append(b"")
        sys.stdout.buffer.write(b"\n".join(out))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
