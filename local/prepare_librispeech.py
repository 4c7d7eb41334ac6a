#!/usr/bin/env python3
"""Manifests for LibriSpeech (+ Libri-light limited-supervision sets), shared by all recipes.

    local/prepare_librispeech.py DATA/LibriSpeech --out data/manifests \
        [--finetuning-dir DATA/librispeech_finetuning] [--split train-clean-100 ...]

Writes ``<split>.tsv`` per LibriSpeech split and ``10m``/``1h``/``10h`` from Libri-light
(10m = fold 0 of 1h; 10h = 1h + 9h). Same code as ``asrkit prepare librispeech``.
"""
import sys

from asrkit.cli import prepare_librispeech_cmd

if __name__ == "__main__":
    sys.exit(prepare_librispeech_cmd(prog_name="prepare_librispeech.py"))
