#!/usr/bin/env python3
"""AV manifests for LRS3 (pretrain/, trainval/, test/), shared by all recipes.

    local/prepare_lrs3.py DATA/lrs3 --out data/manifests/lrs3 [--split trainval ...] [--max-seconds 15] \
        [--extract-audio] [--num-workers 8]

Writes ``<split>.tsv`` per split with :func:`asrkit.data.av_corpora.prepare_lrs3` (ids
``<split>/<speaker>/<clip>``); ``--max-seconds 15`` cuts long clips that have word times (pretrain) at word
boundaries as AV-HuBERT does. Clips without audio, silent or undecodable are left out and counted.
"""
import argparse
import sys
from pathlib import Path

from asrkit.cli.ui import console, fail, progress_bars, summary_table
from asrkit.data.av_corpora import prepare_lrs3, skip_lines
from asrkit.data.manifest import ManifestError, summarize_manifests


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus_dir", type=Path, help="LRS3 directory (pretrain/, trainval/, test/).")
    parser.add_argument("--out", required=True, type=Path, help="Directory for the <split>.tsv manifests.")
    parser.add_argument("--split", action="append", help="Split to include (repeatable); default: all found.")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="Cut clips longer than this at word boundaries (AV-HuBERT: 15); default: keep whole.")
    parser.add_argument("--extract-audio", action="store_true",
                        help="Write each clip's 16 kHz audio as FLAC under OUT/audio/ (faster training).")
    parser.add_argument("--num-workers", type=int, default=2, help="Processes probing clips.")
    args = parser.parse_args(argv)
    try:
        with progress_bars(transient=True) as progress:
            written = prepare_lrs3(args.corpus_dir, args.out, args.split, max_seconds=args.max_seconds,
                                   extract_audio=args.extract_audio, num_workers=args.num_workers, progress=progress)
        summary = summarize_manifests({s: p.manifest for s, p in written.items()})
    except ManifestError as e:
        fail(str(e))
    console.print(summary_table(f"manifests in {args.out}", summary))
    for line in skip_lines(written):
        console.print(line, soft_wrap=True)


if __name__ == "__main__":
    sys.exit(main())
