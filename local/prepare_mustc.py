#!/usr/bin/env python3
"""Speech-translation manifests for MuST-C (en-de, en-it, en-nl, ...), shared by all recipes.

    local/prepare_mustc.py DATA/MUSTC_v1.0 --out data/manifests/mustc [--pairs en-de,en-it,en-nl] \
        [--splits train,dev,tst-COMMON] [--min-seconds 0.05] [--max-seconds 30] [--max-chars 400]

Writes ``<out>/<pair>/<split>.tsv`` with :func:`asrkit.data.mustc.prepare_mustc`:
one row per yaml segment, ``offset`` (samples) into the talk's wav, ``text`` the English and
``translation`` the target line, both as MuST-C has them (stripped). Segments are grouped by talk and sorted by
offset; repeated offsets, unreadable segments and, in train and dev (``--filter-splits``), segments outside
the length limits are left out and counted by reason. Reads ``asrkit prepare synth-mustc``'s corpus too.
"""
import argparse
import sys
from pathlib import Path

from asrkit.cli.data import run_mustc_prepare
from asrkit.data.mustc import FILTER_SPLITS, MAX_CHARS, MAX_SECONDS, MIN_SECONDS, SPLITS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus_dir", type=Path, help="MuST-C directory holding en-<xx>/ (or one en-<xx>/).")
    parser.add_argument("--out", required=True, type=Path, help="Directory for the <pair>/<split>.tsv manifests.")
    parser.add_argument("--pairs", default=None, help="Comma-separated pairs (default: every en-<xx> found).")
    parser.add_argument("--splits", default=",".join(SPLITS), help="Comma-separated splits (default: %(default)s).")
    parser.add_argument("--min-seconds", type=float, default=MIN_SECONDS,
                        help="Leave out shorter segments (default: %(default)s, fairseq's 5 frames of 10 ms).")
    parser.add_argument("--max-seconds", type=float, default=MAX_SECONDS,
                        help="Leave out longer segments (default: %(default)s, fairseq's and ESPnet's 3000 frames).")
    parser.add_argument("--max-chars", type=int, default=MAX_CHARS,
                        help="Leave out segments whose transcript or translation is longer, in characters "
                             "(default: %(default)s, ESPnet's).")
    parser.add_argument("--filter-splits", default=",".join(FILTER_SPLITS),
                        help="Splits the length filters apply to (default: %(default)s; test sets are scored whole).")
    args = parser.parse_args(argv)
    run_mustc_prepare(args.corpus_dir, args.out, args.pairs, args.splits, min_seconds=args.min_seconds,
                      max_seconds=args.max_seconds, max_chars=args.max_chars, filter_splits=args.filter_splits)


if __name__ == "__main__":
    sys.exit(main())
