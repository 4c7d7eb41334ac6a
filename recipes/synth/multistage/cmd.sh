# shellcheck shell=bash
# Parallelism for this recipe; edit for your machine.
nj=${nj:-$(nproc)}   # CPU processes for corpus synthesis, manifest preparation and validation
