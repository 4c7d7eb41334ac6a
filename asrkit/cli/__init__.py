"""The ``asrkit`` command line: thin click commands, by area, that each call one library function
and print what it returns; each command that runs a job writes the resolved config next to its
outputs. A command's module is imported only when that command runs (:data:`COMMANDS`), and torch
only where a command uses it: ``asrkit score``, ``results``, ``compare``, the reports, ``lm train --type
ngram``, ``prepare lm-text``, ``manifest`` and every ``--help`` start without it
(tests/cli/test_lazy_import.py).

- :mod:`.data`: ``prepare`` (synth, synth-av, synth-mustc, lm-text, librispeech), ``manifest`` (validate, summary,
  combine, from-kaldi, to-fairseq);
- :mod:`.lm`: ``lm`` (train: KenLM n-gram or Transformer LM, lexicon, eval);
- :mod:`.train`: ``pretrain``, ``finetune``, ``import-checkpoint``;
- :mod:`.export`: ``export`` (--to hf): a checkpoint as a transformers directory;
- :mod:`.decode`: ``decode``, ``score``;
- :mod:`.report`: ``results``, ``benchmark``, ``compare``, ``multistage-report``, ``eval-av``;
- :mod:`.sweep`: ``sweep`` (plan, report): a sweep over pre-training compute;
- :mod:`.ablation`: ``ablation`` (rows, collect, report): SEW-D's Table 6 ablation ladder and Figure 1;
- :mod:`.analyze`: ``analyze`` (codes): the quantizer's codes against phones (wav2vec 2.0 Appendix D);
- :mod:`.superb`: ``superb``, ``superb-report``: SUPERB downstream tasks on a frozen upstream, Figure 2;
- :mod:`.doctor`: ``doctor``: is the installation ready (each check with its fix);
- :mod:`.ui`: the console, progress bars, one-line errors and tables they share, and the handler of
  errors no command expected (``AsrkitGroup``).
"""
from __future__ import annotations

import click

from .ui import CONTEXT, AsrkitGroup

# Every top-level command: name -> module (of this package):attribute, imported when the command is looked up
COMMANDS = {
    "ablation": "ablation:ablation",
    "analyze": "analyze:analyze",
    "benchmark": "report:benchmark_cmd",
    "compare": "report:compare_cmd",
    "decode": "decode:decode_cmd",
    "doctor": "doctor:doctor_cmd",
    "eval-av": "report:eval_av_cmd",
    "export": "export:export_cmd",
    "finetune": "train:finetune_cmd",
    "import-checkpoint": "train:import_checkpoint_cmd",
    "lm": "lm:lm",
    "manifest": "data:manifest",
    "midtrain": "train:midtrain_cmd",
    "multistage-report": "report:multistage_report_cmd",
    "prepare": "data:prepare",
    "pretrain": "train:pretrain_cmd",
    "results": "report:results_cmd",
    "score": "decode:score_cmd",
    "superb": "superb:superb_cmd",
    "superb-report": "superb:superb_report_cmd",
    "sweep": "sweep:sweep",
}


@click.group(cls=AsrkitGroup, context_settings=CONTEXT, lazy_commands=COMMANDS)
@click.version_option(package_name="asrkit")
@click.option("--debug", is_flag=True, envvar="ASRKIT_DEBUG",
              help="Show the Python traceback of an unexpected error instead of writing it to a log file "
                   "(also: ASRKIT_DEBUG=1).")
def cli(debug: bool):
    """asrkit: self-supervised speech pre-training (wav2vec 2.0, SEW, SEW-D, audio-visual MAE / CLR) and ASR."""


__all__ = ["COMMANDS", "cli"]
