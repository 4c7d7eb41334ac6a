#!/usr/bin/env python3
"""Speaker-diarization manifests and RTTMs (SUPERB SD) for Libri2Mix, shared by all recipes.

    local/prepare_librimix.py DATA/Libri2Mix --out data/manifests/sd \
        [--split train=train-100 --split dev=dev --split test=test] [--mode max] [--kind mix_clean]

Writes ``<out>/<name>.tsv`` (a row per mixture) and ``<out>/<name>.rttm`` (each source's speech, found by an
energy VAD on it) with :func:`asrkit.data.superb_corpora.prepare_librimix`; metadata paths of another machine
are found by file name in the split's directories.
"""
import argparse
import sys
from pathlib import Path

from asrkit.cli.ui import console, dataframe_table, fail
from asrkit.data.superb_corpora import LIBRIMIX_SPLITS, counts_frame, prepare_librimix


def name_split(value: str) -> tuple[str, str]:
    name, sep, split = value.partition("=")
    if not sep or not name or not split:
        raise argparse.ArgumentTypeError(f"{value!r}: expected NAME=LIBRIMIX_SPLIT, e.g. train=train-100")
    return name, split


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus_dir", type=Path, help="Libri2Mix/ (holding wav16k/).")
    parser.add_argument("--out", required=True, type=Path, help="Directory for the <name>.tsv and .rttm files.")
    parser.add_argument("--split", action="append", type=name_split, default=None,
                        help="NAME=SPLIT, repeatable (default: "
                             + " ".join(f"{k}={v}" for k, v in LIBRIMIX_SPLITS.items()) + ").")
    parser.add_argument("--mode", default="max", help="wav16k/<mode>: max (sources padded) (default: %(default)s).")
    parser.add_argument("--kind", default="mix_clean",
                        help="Mixture directory: mix_clean, mix_both or mix_single (default: %(default)s).")
    args = parser.parse_args(argv)
    try:
        counts = prepare_librimix(args.corpus_dir, args.out, dict(args.split) if args.split else None,
                                  mode=args.mode, kind=args.kind)
    except (ValueError, OSError) as e:
        fail(str(e))
    console.print(dataframe_table(counts_frame(counts), f"diarization manifests and RTTMs in {args.out}"))


if __name__ == "__main__":
    sys.exit(main())
