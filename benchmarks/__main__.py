"""``python -m benchmarks``: the ``make bench`` tables (``benchmarks.bench.main``)."""
from benchmarks.bench import main

main()
