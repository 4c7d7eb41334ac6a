#!/usr/bin/env python3
"""AV manifests for Kinetics(-600) (<split>/<class>/<ytid>_<start>_<end>.mp4 + annotations/<split>.csv).

    local/prepare_kinetics.py DATA/kinetics600 --out data/manifests/k600 [--split train ...] \
        [--extract-audio] [--num-workers 8]

Writes ``<split>.tsv`` per annotation CSV with :func:`asrkit.data.av_corpora.prepare_kinetics` (ids
``<ytid>_<start>_<end>``, speaker the YouTube id, the class in ``label``). Clips listed but not on disk,
without an audio stream, with a silent track (cav-mae#5) or undecodable are left out and counted.
"""
import argparse
import sys
from pathlib import Path

from asrkit.cli.ui import console, fail, progress_bars, summary_table
from asrkit.data.av_corpora import prepare_kinetics, skip_lines
from asrkit.data.manifest import ManifestError, summarize_manifests


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus_dir", type=Path, help="Kinetics directory (annotations/, <split>/).")
    parser.add_argument("--out", required=True, type=Path, help="Directory for the <split>.tsv manifests.")
    parser.add_argument("--split", action="append", help="Split to include (repeatable); default: all found.")
    parser.add_argument("--silence-db", type=float, default=-60.0,
                        help="A track whose peak is below this (dBFS) counts as silent and is left out.")
    parser.add_argument("--extract-audio", action="store_true",
                        help="Write each clip's 16 kHz audio as FLAC under OUT/audio/ (faster training).")
    parser.add_argument("--num-workers", type=int, default=2, help="Processes probing clips.")
    args = parser.parse_args(argv)
    try:
        with progress_bars(transient=True) as progress:
            written = prepare_kinetics(args.corpus_dir, args.out, args.split, silence_db=args.silence_db,
                                   extract_audio=args.extract_audio, num_workers=args.num_workers, progress=progress)
        summary = summarize_manifests({s: p.manifest for s, p in written.items()})
    except ManifestError as e:
        fail(str(e))
    console.print(summary_table(f"manifests in {args.out}", summary))
    for line in skip_lines(written):
        console.print(line, soft_wrap=True)


if __name__ == "__main__":
    sys.exit(main())
