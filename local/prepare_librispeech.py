#!/usr/bin/env python3
"""Manifests for LibriSpeech (+ Libri-light limited-supervision sets), shared by all recipes.

    local/prepare_librispeech.py DATA/LibriSpeech --out data/manifests \
        [--finetuning-dir DATA/librispeech_finetuning] [--split train-clean-100 ...]

Writes ``<split>.tsv`` per LibriSpeech split and ``10m``/``1h``/``10h`` from Libri-light
(10m = fold 0 of 1h; 10h = 1h + 9h) with :func:`asrkit.data.librispeech.prepare_librispeech`,
as ``asrkit prepare librispeech`` does.
"""
import argparse
import sys
from pathlib import Path

from asrkit.cli.ui import console, fail, summary_table
from asrkit.data.librispeech import prepare_librispeech
from asrkit.data.manifest import ManifestError, summarize_manifests


def existing_dir(value: str) -> Path:
    if not Path(value).is_dir():
        raise argparse.ArgumentTypeError(f"directory {value!r} does not exist")
    return Path(value)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus_dir", type=existing_dir, help="LibriSpeech/ (or another corpus in its layout)")
    parser.add_argument("--out", required=True, help="Directory for the <split>.tsv manifests.")
    parser.add_argument("--split", action="append", help="Split directory to include (repeatable); default: all.")
    parser.add_argument("--finetuning-dir", type=existing_dir, default=None,
                        help="Libri-light librispeech_finetuning/ (default: CORPUS_DIR/librispeech_finetuning "
                             "if present).")
    args = parser.parse_args(argv)
    try:
        written = prepare_librispeech(args.corpus_dir, args.out, args.split, args.finetuning_dir,
                                      progress=lambda s: console.log(f"scanning {s}"))
        summary = summarize_manifests(written)
    except ManifestError as e:
        fail(str(e))
    console.print(summary_table(f"manifests in {args.out}", summary))


if __name__ == "__main__":
    sys.exit(main())
