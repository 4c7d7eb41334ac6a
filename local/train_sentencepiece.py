#!/usr/bin/env python3
"""A sentencepiece model on one text column of a manifest, shared by all recipes.

    local/train_sentencepiece.py data/manifests/mustc/en-de/train.tsv --column translation \
        --vocab-size 8000 --model-type unigram --out data/tokenizer/en-de/de

Writes ``OUT.txt`` (the column, one line per utterance, as the manifest has it), ``OUT.model`` and ``OUT.vocab``
with :func:`asrkit.data.tokenizer.train_sentencepiece` (character coverage 1.0 as fairseq's speech-to-text
vocabularies; id 0 is both ``<unk>`` and the CTC blank / decoder padding of asrkit's tokenizers).
"""
import argparse
import sys
from pathlib import Path

from asrkit.data.manifest import ManifestError, read_manifest
from asrkit.data.tokenizer import train_sentencepiece


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest", type=Path, help="Manifest whose column holds the training text.")
    parser.add_argument("--column", default="text", help="Text column: text (the transcript) or translation.")
    parser.add_argument("--vocab-size", type=int, required=True, help="Pieces, <unk> included.")
    parser.add_argument("--model-type", default="unigram", choices=["unigram", "bpe", "char", "word"])
    parser.add_argument("--out", required=True, type=Path, help="Output prefix: writes OUT.model, OUT.vocab, OUT.txt.")
    args = parser.parse_args(argv)
    try:
        df = read_manifest(args.manifest)
    except ManifestError as e:
        sys.exit(f"error: {e}")
    if args.column not in df.columns:
        sys.exit(f"error: {args.manifest}: no column {args.column!r} (columns: {', '.join(df.columns)})")
    lines = [str(t) for t in df[args.column] if str(t).strip()]
    if not lines:
        sys.exit(f"error: {args.manifest}: column {args.column!r} is empty in every row; nothing to train on")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = args.out.with_name(args.out.name + ".txt")
    text.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    try:
        tok = train_sentencepiece(text, args.out, vocab_size=args.vocab_size, model_type=args.model_type)
    except RuntimeError as e:  # sentencepiece's own message, e.g. a vocabulary larger than the text allows
        sys.exit(f"error: {args.manifest} ({args.column}): sentencepiece: {e}")
    print(f"{args.out}.model: {len(tok)} tokens from {len(lines)} lines of {args.manifest} ({args.column})")


if __name__ == "__main__":
    sys.exit(main())
