#!/usr/bin/env python3
"""Phone-recognition manifests for TIMIT (LDC93S1), shared by all recipes.

    local/prepare_timit.py DATA/TIMIT --out data/manifests
    local/prepare_timit.py DATA/TIMIT --check      # the layout only: where TRAIN/ and TEST/ are, or what is missing

Writes ``train.tsv`` (TRAIN without SA: 3,696 utterances), ``dev.tsv`` (Kaldi's 50 dev speakers: 400) and
``test.tsv`` (the 24-speaker core test set: 192), their text the 39-class phones (61 -> 48 -> 39), and
``tokens.txt`` (the blank and the 38 phones of the 39-class set, silence dropped) with
:func:`asrkit.data.timit.prepare_timit`. DATA/TIMIT holds TRAIN/ and TEST/ (in either case, or one directory below).
"""
import argparse
import sys
from pathlib import Path

from asrkit.cli.ui import console, dataframe_table, fail
from asrkit.data.manifest import ManifestError
from asrkit.data.superb_corpora import counts_frame
from asrkit.data.timit import SPLIT_UTTERANCES, check_timit, prepare_timit


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus_dir", type=Path, help="TIMIT/ with TRAIN/ and TEST/ (LDC93S1's layout).")
    parser.add_argument("--out", type=Path, help="Directory for the manifests and tokens.txt.")
    parser.add_argument("--check", action="store_true", help="Check the layout only; write nothing.")
    args = parser.parse_args(argv)
    if args.check:
        try:
            root, counts = check_timit(args.corpus_dir)
        except (ManifestError, OSError) as e:
            fail(str(e))
        console.print(f"TIMIT at {root}: " + ", ".join(f"{d} {n} SI/SX sentences" for d, n in counts.items()))
        return
    if args.out is None:
        parser.error("--out is required (or --check)")
    try:
        counts = prepare_timit(args.corpus_dir, args.out, progress=lambda s: console.log(f"scanning {s}"))
    except (ManifestError, OSError) as e:
        fail(str(e))
    console.print(dataframe_table(counts_frame({k: {**c, "missing": len(c["missing"])} for k, c in counts.items()}),
                                  f"TIMIT manifests in {args.out}"))
    partial = {k: c["utterances"] for k, c in counts.items() if c["utterances"] != SPLIT_UTTERANCES[k]}
    if partial:
        console.print("[yellow]not the complete corpus: " + ", ".join(
            f"{k} {n} utterances (complete: {SPLIT_UTTERANCES[k]})" for k, n in partial.items()))


if __name__ == "__main__":
    sys.exit(main())
