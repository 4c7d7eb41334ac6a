#!/usr/bin/env python3
"""AV manifests for Kinetics(-600) (<split>/<class>/<ytid>_<start>_<end>.mp4 + annotations/<split>.csv).

    local/prepare_kinetics.py DATA/kinetics600 --out data/manifests/k600 [--split train ...] \
        [--extract-audio] [--num-workers 8]

Writes ``<split>.tsv`` per annotation CSV with :func:`asrkit.data.av_corpora.prepare_kinetics` (ids
``<ytid>_<start>_<end>``, speaker the YouTube id, the class in ``label``). Clips listed but not on disk,
without an audio stream, with a silent track (cav-mae#5) or undecodable are left out and counted.
"""
import sys

from asrkit.cli.data import av_prepare_parser, run_av_prepare
from asrkit.data.av_corpora import prepare_kinetics


def main(argv: list[str] | None = None) -> None:
    parser = av_prepare_parser(__doc__, "Kinetics directory (annotations/, <split>/).")
    parser.add_argument("--silence-db", type=float, default=-60.0,
                        help="A track whose peak is below this (dBFS) counts as silent and is left out.")
    args = parser.parse_args(argv)
    run_av_prepare(prepare_kinetics, args, silence_db=args.silence_db)


if __name__ == "__main__":
    sys.exit(main())
