"""Benchmarks: scripts, not timed tests. `python -m bench` (or `make bench`) runs them all.

Each benchmark is a module `bench/<name>.py` with a `main()` and its own arguments; the runner in
`bench/__main__.py` starts it in a subprocess with small (default) or large sizes, reads its
figures from its output and prints each beside its named baseline. A script may also print
machine-readable figures, one per line, which the runner prefers to its text patterns:

    BENCH {"figure": "classify_posts_per_s", "value": 812.5, "unit": "posts/s"}

Large data sets come from `bench.datagen` (real and hand-written posts mixed and perturbed).
"""

import json

FIGURE_PREFIX = "BENCH "


def emit(figure: str, value: float, unit: str = "") -> None:
    """Print one figure in the runner's machine-readable form."""
    print(FIGURE_PREFIX + json.dumps({"figure": figure, "value": value, "unit": unit}), flush=True)
