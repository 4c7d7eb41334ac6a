#!/usr/bin/env python3
"""AV manifests for VoxCeleb2 (dev/mp4/, test/mp4/), shared by all recipes.

    local/prepare_voxceleb2.py DATA/voxceleb2 --out data/manifests/voxceleb2 [--split dev ...] \
        [--id-list vox-en.id.gz] [--extract-audio] [--num-workers 8]

Writes ``<split>.tsv`` per split with :func:`asrkit.data.av_corpora.prepare_voxceleb2` (ids
``id<N>/<ytid>/<clip>``, speaker ``id<N>``, no text); ``--id-list`` keeps only the clips it names (AV-HuBERT's
English-only ``vox-en.id``). Clips without audio, silent or undecodable are left out and counted.
"""
import sys
from pathlib import Path

from asrkit.cli.data import av_prepare_parser, run_av_prepare
from asrkit.data.av_corpora import prepare_voxceleb2


def main(argv: list[str] | None = None) -> None:
    parser = av_prepare_parser(__doc__, "VoxCeleb2 directory (dev/mp4/, test/mp4/).")
    parser.add_argument("--id-list", type=Path, default=None,
                        help="Keep only these clips (one id<N>/<ytid>/<clip> a line; AV-HuBERT's vox-en.id[.gz]).")
    args = parser.parse_args(argv)
    run_av_prepare(prepare_voxceleb2, args, id_list=args.id_list)


if __name__ == "__main__":
    sys.exit(main())
