"""The ``asrkit`` command line: thin click commands, by area, that each call one library function
and print what it returns; each command that runs a job writes the resolved config next to its
outputs.

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

from .ablation import ablation
from .analyze import analyze
from .data import manifest, prepare
from .decode import decode_cmd, score_cmd
from .doctor import doctor_cmd
from .export import export_cmd
from .lm import lm
from .report import benchmark_cmd, compare_cmd, eval_av_cmd, multistage_report_cmd, results_cmd
from .superb import superb_cmd, superb_report_cmd
from .sweep import sweep
from .train import finetune_cmd, import_checkpoint_cmd, midtrain_cmd, pretrain_cmd
from .ui import CONTEXT, AsrkitGroup


@click.group(cls=AsrkitGroup, context_settings=CONTEXT)
@click.version_option(package_name="asrkit")
@click.option("--debug", is_flag=True, envvar="ASRKIT_DEBUG",
              help="Show the Python traceback of an unexpected error instead of writing it to a log file "
                   "(also: ASRKIT_DEBUG=1).")
def cli(debug: bool):
    """asrkit: self-supervised speech pre-training (wav2vec 2.0, SEW, SEW-D, audio-visual MAE / CLR) and ASR."""


for command in (doctor_cmd, prepare, manifest, lm, pretrain_cmd, midtrain_cmd, finetune_cmd, import_checkpoint_cmd,
                export_cmd, decode_cmd, score_cmd, results_cmd, benchmark_cmd, compare_cmd, multistage_report_cmd,
                eval_av_cmd, sweep, ablation, analyze, superb_cmd, superb_report_cmd):
    cli.add_command(command)

__all__ = ["cli"]
