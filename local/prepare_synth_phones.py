#!/usr/bin/env python3
"""Phone transcription of the built-in corpus (``asrkit prepare synth``), for phone recognition with CTC.

    local/prepare_synth_phones.py ../w2v2_tiny/data/synth ../w2v2_tiny/data/manifests --out data/manifests \
        [--split 10m --split dev ...]

Writes ``<out>/<split>.tsv`` for each word manifest of the corpus (default: all but pretrain) with
:func:`asrkit.data.librispeech.prepare_synth_phone_manifests`: the same rows, ``text`` = the phones espeak-ng
reported speaking the utterance (``metadata/<split>.jsonl``) folded to the 39-class set, ``words`` = the words;
and ``<out>/tokens.txt``, the blank and the phones (fine-tuning's ``data.tokenizer``).
"""
import argparse
import sys
from pathlib import Path

from asrkit.cli.ui import console, dataframe_table, fail
from asrkit.data.librispeech import prepare_synth_phone_manifests
from asrkit.data.manifest import ManifestError
from asrkit.data.superb_corpora import counts_frame
from asrkit.data.tokenizer import PhoneTokenizer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus_dir", type=Path, help="The corpus `asrkit prepare synth` wrote (with metadata/).")
    parser.add_argument("manifest_dir", type=Path, help="Its word manifests (`asrkit prepare librispeech`).")
    parser.add_argument("--out", required=True, type=Path, help="Directory for the phone manifests and tokens.txt.")
    parser.add_argument("--split", action="append", default=None, help="Manifest to transcribe (repeatable).")
    args = parser.parse_args(argv)
    try:
        counts = prepare_synth_phone_manifests(args.corpus_dir, args.manifest_dir, args.out, args.split)
    except (ManifestError, OSError) as e:
        fail(str(e))
    PhoneTokenizer().save(args.out / "tokens.txt")
    console.print(dataframe_table(counts_frame(counts), f"phone manifests in {args.out}"))


if __name__ == "__main__":
    sys.exit(main())
