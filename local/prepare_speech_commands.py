#!/usr/bin/env python3
"""Keyword-spotting manifests (SUPERB KS) for Speech Commands v0.01, shared by all recipes.

    local/prepare_speech_commands.py DATA/speech_commands_v0.01 --out data/manifests/ks \
        [--test-root DATA/speech_commands_test_set_v0.01] [--keywords speech_commands|synth|w1,w2,...]

Writes ``<out>/{train,dev,test}.tsv`` with :func:`asrkit.data.superb_corpora.prepare_speech_commands`: 12 classes
(the ten keywords, ``_unknown_`` for every other word, ``_silence_`` one-second slices of the background noise),
dev from ``validation_list.txt``, test the separate test set or, without ``--test-root``, ``testing_list.txt``.
"""
import argparse
import sys
from pathlib import Path

from asrkit.cli.ui import console, dataframe_table, fail
from asrkit.data.superb import SPEECH_COMMANDS_KEYWORDS, SYNTH_KEYWORDS
from asrkit.data.superb_corpora import counts_frame, prepare_speech_commands


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus_dir", type=Path, help="speech_commands_v0.01/ (word directories and the lists).")
    parser.add_argument("--out", required=True, type=Path, help="Directory for the <split>.tsv manifests.")
    parser.add_argument("--test-root", type=Path, default=None,
                        help="speech_commands_test_set_v0.01/ (a directory per class); default: testing_list.txt.")
    parser.add_argument("--keywords", default="speech_commands",
                        help="The ten keywords: speech_commands (v0.01's yes, no, ...), synth (the built-in "
                             "analog's, asrkit prepare synth-superb) or a comma-separated list.")
    args = parser.parse_args(argv)
    keywords = {"speech_commands": SPEECH_COMMANDS_KEYWORDS, "synth": SYNTH_KEYWORDS}.get(
        args.keywords, tuple(w.strip() for w in args.keywords.split(",") if w.strip()))
    try:
        counts = prepare_speech_commands(args.corpus_dir, args.out, args.test_root, keywords=keywords)
    except (ValueError, OSError) as e:
        fail(str(e))
    console.print(dataframe_table(counts_frame(counts), f"keyword-spotting manifests in {args.out}"))


if __name__ == "__main__":
    sys.exit(main())
