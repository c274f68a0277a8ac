"""Benchmark: parse a 100,000-row two-column CSV with gmm_app.upload.parse_table.

Run from the repository root: ``python benchmarks/bench_parse.py [--rows N] [--repeats R]``.
The file is generated in a temporary directory from a seeded generator, read back as bytes
(as an upload arrives), and parsed ``repeats`` times. Prints the median time and whether it
meets the target of at most 1 s. Exit status is 0 either way: this reports, it does not test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 1.0


def main(argv: list[str] | None = None) -> None:
    """Generate the file, time the parser, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import numpy as np

    from gmm_app.upload import parse_table

    rng = np.random.default_rng(args.seed)
    X = rng.normal(loc=[2.0, 70.0], scale=[1.0, 13.0], size=(args.rows, 2))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        np.savetxt(path, X, delimiter=",", header="eruptions,waiting", comments="", fmt="%.6f")
        raw = path.read_bytes()

    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        table = parse_table(raw, "bench.csv")
        times.append(time.perf_counter() - start)
    assert table.frame.shape == (args.rows, 2), table.frame.shape
    assert np.allclose(table.frame.to_numpy(), X, atol=5e-7)

    median = statistics.median(times)
    size = f"{len(raw) / 1e6:.1f} MB"
    print(f"parse_table, {args.rows:,} rows x 2 columns ({size}), {args.repeats} runs")
    print(f"  median {median:.3f} s   min {min(times):.3f} s   max {max(times):.3f} s")
    verdict = "yes" if median <= TARGET_SECONDS else "NO"
    print(f"  median <= {TARGET_SECONDS:.0f} s: {verdict}")


if __name__ == "__main__":
    main()
