#!/usr/bin/env python3
"""AV manifests for VoxCeleb2 (dev/mp4/, test/mp4/), shared by all recipes.

    local/prepare_voxceleb2.py DATA/voxceleb2 --out data/manifests/voxceleb2 [--split dev ...] \
        [--id-list vox-en.id.gz] [--extract-audio] [--num-workers 8]

Writes ``<split>.tsv`` per split with :func:`asrkit.data.av_corpora.prepare_voxceleb2` (ids
``id<N>/<ytid>/<clip>``, speaker ``id<N>``, no text); ``--id-list`` keeps only the clips it names (AV-HuBERT's
English-only ``vox-en.id``). Clips without audio, silent or undecodable are left out and counted.
"""
import argparse
import sys
from pathlib import Path

from asrkit.cli.ui import console, fail, progress_bars, summary_table
from asrkit.data.av_corpora import prepare_voxceleb2, skip_lines
from asrkit.data.manifest import ManifestError, summarize_manifests


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus_dir", type=Path, help="VoxCeleb2 directory (dev/mp4/, test/mp4/).")
    parser.add_argument("--out", required=True, type=Path, help="Directory for the <split>.tsv manifests.")
    parser.add_argument("--split", action="append", help="Split to include (repeatable); default: all found.")
    parser.add_argument("--id-list", type=Path, default=None,
                        help="Keep only these clips (one id<N>/<ytid>/<clip> a line; AV-HuBERT's vox-en.id[.gz]).")
    parser.add_argument("--extract-audio", action="store_true",
                        help="Write each clip's 16 kHz audio as FLAC under OUT/audio/ (faster training).")
    parser.add_argument("--num-workers", type=int, default=2, help="Processes probing clips.")
    args = parser.parse_args(argv)
    try:
        with progress_bars(transient=True) as progress:
            written = prepare_voxceleb2(args.corpus_dir, args.out, args.split, id_list=args.id_list,
                                   extract_audio=args.extract_audio, num_workers=args.num_workers, progress=progress)
        summary = summarize_manifests({s: p.manifest for s, p in written.items()})
    except ManifestError as e:
        fail(str(e))
    console.print(summary_table(f"manifests in {args.out}", summary))
    for line in skip_lines(written):
        console.print(line, soft_wrap=True)


if __name__ == "__main__":
    sys.exit(main())
