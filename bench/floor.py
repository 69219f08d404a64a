"""The baselines: stdin -> decode and re-encode every line -> stdout, nothing else.

``python -m bench.floor`` uses msgspec's untyped codec (JSON to dicts and back),
the cheapest bare loop there is. ``python -m bench.floor --typed`` uses mdc's
own codec (``decode_fast`` into the attrs event classes, ``encode_event`` back),
which is what every mdc command pays before doing its job. Both read and write
like the commands (chunked reads, batched writes), so a ratio measures what the
command adds, not how it reads.
"""

from __future__ import annotations

import os
import sys

import msgspec

from mdc.core.codec import decode_fast, encode_event


def main() -> None:
    """Decode and encode each line of stdin."""
    typed = "--typed" in sys.argv[1:]
    decoder = msgspec.json.Decoder()
    encoder = msgspec.json.Encoder()
    pending = b""
    while chunk := os.read(0, 1 << 20):
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        if typed:
            out = [encode_event(decode_fast(line)) for line in lines]  # type: ignore[arg-type]
        else:
            out = [encoder.encode(decoder.decode(line)) for line in lines]
        out.append(b"")
        sys.stdout.buffer.write(b"\n".join(out))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
