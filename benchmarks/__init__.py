"""``make bench``: asrkit against ``transformers`` (speed, parity of outputs) and its own data throughput.

Developer tooling, not part of the installed package: run from the repository root as
``python -m benchmarks`` (``make bench``). The user-facing measurement of a model's size, inference
time and pre-training throughput is ``asrkit benchmark`` (:mod:`asrkit.benchmark`).
"""
