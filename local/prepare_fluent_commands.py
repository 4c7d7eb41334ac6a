#!/usr/bin/env python3
"""Intent-classification manifests (SUPERB IC) for Fluent Speech Commands, shared by all recipes.

    local/prepare_fluent_commands.py DATA/fluent_speech_commands_dataset --out data/manifests/ic

Writes ``<out>/{train,dev,test}.tsv`` with :func:`asrkit.data.superb_corpora.prepare_fluent_commands` from
``data/{train,valid,test}_data.csv``: the ``action``, ``object`` and ``location`` slots as given, ``text`` the
transcription, ``speaker`` the speakerId.
"""
import argparse
import sys
from pathlib import Path

from asrkit.cli.ui import console, dataframe_table, fail
from asrkit.data.superb_corpora import counts_frame, prepare_fluent_commands


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus_dir", type=Path, help="fluent_speech_commands_dataset/ (holding data/ and wavs/).")
    parser.add_argument("--out", required=True, type=Path, help="Directory for the <split>.tsv manifests.")
    args = parser.parse_args(argv)
    try:
        counts = prepare_fluent_commands(args.corpus_dir, args.out)
    except (ValueError, OSError) as e:
        fail(str(e))
    console.print(dataframe_table(counts_frame(counts), f"intent-classification manifests in {args.out}"))


if __name__ == "__main__":
    sys.exit(main())
