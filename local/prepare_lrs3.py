#!/usr/bin/env python3
"""AV manifests for LRS3 (pretrain/, trainval/, test/), shared by all recipes.

    local/prepare_lrs3.py DATA/lrs3 --out data/manifests/lrs3 [--split trainval ...] [--max-seconds 15] \
        [--extract-audio] [--num-workers 8]

Writes ``<split>.tsv`` per split with :func:`asrkit.data.av_corpora.prepare_lrs3` (ids
``<split>/<speaker>/<clip>``); ``--max-seconds 15`` cuts long clips that have word times (pretrain) at word
boundaries as AV-HuBERT does. Clips without audio, silent or undecodable are left out and counted.
"""
import sys

from asrkit.cli.data import av_prepare_parser, run_av_prepare
from asrkit.data.av_corpora import prepare_lrs3


def main(argv: list[str] | None = None) -> None:
    parser = av_prepare_parser(__doc__, "LRS3 directory (pretrain/, trainval/, test/).")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="Cut clips longer than this at word boundaries (AV-HuBERT: 15); default: keep whole.")
    args = parser.parse_args(argv)
    run_av_prepare(prepare_lrs3, args, max_seconds=args.max_seconds)


if __name__ == "__main__":
    sys.exit(main())
