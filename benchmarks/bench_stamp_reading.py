"""Reading training batches from the stamp file: through the memory map or with pread.

Usage: python benchmarks/bench_stamp_reading.py [--n 100000] [--batch 64] [--repeats 2]

Writes an (N, 51, 51, 3) uint8 stamps.npy (random pixels; N=100,000 is 780 MB), then, each in
a fresh process so that one's pages do not count for the other, goes once through every
batch of a shuffled epoch of StampBatches (the CNN's data pipeline) two ways: with the
stamps indexed through the memory map (how it read before) and with ``pread`` on the file
(``StampFile``, how it reads now).  Prints, per way, the seconds per epoch and the process's
peak RSS, split into anonymous and file-backed pages at the end of the epoch: pages read
through a mapping stay resident in the process (file-backed RSS grows with the file), pages
read with pread are the kernel's page cache, outside it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

_EPOCH = textwrap.dedent(
    """
    import json, re, sys, time
    from pathlib import Path
    import numpy as np
    from realbogus.cnn import data

    path, batch, way = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if way == "memmap":
        data.StampFile.for_array = staticmethod(lambda stamps: None)  # index through the mapping
    stamps = np.load(path, mmap_mode="r")
    labels = np.zeros(len(stamps), dtype=np.int64)
    batches = data.StampBatches(stamps=stamps, labels=labels, rows=np.arange(len(stamps)), batch_size=batch,
                                shuffle=True, seed=1)
    started = time.perf_counter()
    checksum = 0
    for index in range(len(batches)):
        checksum += int(batches[index][0][:, 25, 25, 2].sum())
    seconds = time.perf_counter() - started
    status = Path("/proc/self/status").read_text()
    kib = {key: int(re.search(rf"^{key}:\\s+(\\d+) kB", status, re.M).group(1))
           for key in ("VmHWM", "RssAnon", "RssFile")}
    print(json.dumps({"seconds_per_epoch": round(seconds, 2), "peak_rss_mib": round(kib["VmHWM"] / 1024, 1),
                      "anon_rss_mib_at_end": round(kib["RssAnon"] / 1024, 1),
                      "file_rss_mib_at_end": round(kib["RssFile"] / 1024, 1), "checksum": checksum}))
    """
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    result: dict = {"benchmark": "stamp_reading", "n": args.n, "batch": args.batch,
                    "load_average_1min_before": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stamps.npy"
        array = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(args.n, 51, 51, 3))
        rng = np.random.default_rng(0)
        for start in range(0, args.n, 10_000):
            array[start:start + 10_000] = rng.integers(0, 256, size=array[start:start + 10_000].shape, dtype=np.uint8)
        array.flush()
        del array
        result["file_mib"] = round(path.stat().st_size / 2**20, 1)
        for repeat in range(args.repeats):
            for way in ("memmap", "pread"):  # alternated, so both see the same page-cache state
                done = subprocess.run([sys.executable, "-c", _EPOCH, str(path), str(args.batch), way],
                                      capture_output=True, text=True, check=True)
                result.setdefault(way, []).append(json.loads(done.stdout.strip().splitlines()[-1]))
    checksums = {run["checksum"] for way in ("memmap", "pread") for run in result[way]}
    if len(checksums) != 1:
        raise RuntimeError(f"the two ways read different pixels: {checksums}")
    result["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
