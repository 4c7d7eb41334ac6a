"""``asrkit pretrain``, ``asrkit midtrain``, ``asrkit finetune`` (:mod:`asrkit.train`) and
``asrkit import-checkpoint``: the commands that write model checkpoints."""
from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from .ui import CONTEXT, console, fail


def training_options(sections: str, outputs: str):
    """The options every training command shares: --config, --exp-dir, --set, --resume, --allow-changes,
    --skip-bad."""

    def decorate(fn):
        for opt in reversed([
            click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                         default=None, help=f"YAML config (sections {sections})."),
            click.option("--exp-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
                         help=f"{outputs}, metrics.tsv, TensorBoard events, curves.png and the resolved config.yaml."),
            click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                         help="Override a config value, e.g. --set optim.lr=1e-4 (repeatable)."),
            click.option("--resume/--no-resume", default=True,
                         help="Continue from EXP_DIR's last checkpoint when there is one (--no-resume refuses an "
                              "EXP_DIR that holds checkpoints)."),
            click.option("--allow-changes", default="", metavar="KEY,...",
                         help="Settings a resume may take over from the new config (e.g. optim.max_updates); "
                              "other changes to a run's settings are refused."),
            click.option("--skip-bad", is_flag=True,
                         help="Log and drop unreadable audio instead of stopping (sets data.skip_bad)."),
        ]):
            fn = opt(fn)
        return fn

    return decorate


def _train(load_config, run, config_path, exp_dir, overrides, resume, allow_changes, skip_bad) -> None:
    """Load the config, train, and turn every bad-input error into a one-line message. An interrupted run
    exits with the shell's code for its signal (130 SIGINT, 143 SIGTERM), after saving a checkpoint."""
    from ..config import ConfigError
    from ..data.audio import AudioError
    from ..data.manifest import ManifestError
    from ..data.tokenizer import TokenizerError
    from ..data.video import VideoError
    from ..train.loop import TrainingAborted, TrainingInterrupted

    if skip_bad:
        overrides = (*overrides, "data.skip_bad=true")
    allowed = tuple(k.strip() for k in allow_changes.split(",") if k.strip())
    try:
        run(load_config(config_path, overrides), exp_dir, resume=resume, console=console, allow_changes=allowed)
    except TrainingInterrupted as e:
        fail(str(e), code=e.exit_code)
    except (ConfigError, ManifestError, AudioError, VideoError, TokenizerError, TrainingAborted) as e:
        fail(str(e))


def estimate_options(fn):
    """--estimate N, --budget-minutes, --estimate-out: time the run instead of training."""
    for opt in reversed([
        click.option("--estimate", "estimate_updates", type=click.IntRange(min=2), default=None, metavar="N",
                     help="Do not train: time N updates of this config (after a warm-up, in a temporary "
                          "directory), one validation and one save, and print the run's estimated wall time on "
                          "this machine."),
        click.option("--budget-minutes", type=float, default=None,
                     help="With --estimate: also the number of updates that fits this many minutes."),
        click.option("--estimate-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="With --estimate: write the estimate as YAML here (recipes read updates_for_budget)."),
    ]):
        fn = opt(fn)
    return fn


@click.command("pretrain", context_settings=CONTEXT)
@training_options("model (may name a preset: --set model=demo), data, loss, optim, trainer", "Checkpoints")
@estimate_options
def pretrain_cmd(config_path: Path | None, exp_dir: Path, overrides: tuple[str, ...], resume: bool,
                 allow_changes: str, skip_bad: bool, estimate_updates: int | None, budget_minutes: float | None,
                 estimate_out: Path | None):
    """wav2vec 2.0 self-supervised pre-training (runs unchanged under torchrun for DDP).

    \b
    Examples:
      asrkit pretrain --config recipes/synth/w2v2_tiny/conf/pretrain.yaml --exp-dir exp/pretrain \\
          --set data.train_manifest=data/manifests/pretrain.tsv --set optim.max_updates=800
      asrkit pretrain --config recipes/synth/w2v2_tiny/conf/pretrain.yaml --exp-dir exp/pretrain --estimate 20 \\
          --budget-minutes 60
    """
    from ..train.budget import time_pretraining
    from ..train.pretrain import load_pretrain_config, run_pretrain

    _train_or_estimate(load_pretrain_config, run_pretrain, time_pretraining, "pre-training", config_path, exp_dir,
                       overrides, resume, allow_changes, skip_bad, estimate_updates, budget_minutes, estimate_out)


def _train_or_estimate(load_config, run, time_run, what, config_path, exp_dir, overrides, resume, allow_changes,
                       skip_bad, estimate_updates, budget_minutes, estimate_out) -> None:
    if estimate_updates is None:
        if budget_minutes is not None or estimate_out is not None:
            fail("--budget-minutes and --estimate-out go with --estimate N")
        _train(load_config, run, config_path, exp_dir, overrides, resume, allow_changes, skip_bad)
        return

    def estimate(cfg, exp_dir, **_):
        _estimate(cfg, time_run, what, estimate_updates, budget_minutes, estimate_out)

    _train(load_config, estimate, config_path, exp_dir, overrides, resume, allow_changes, skip_bad)


def _estimate(cfg, time_run, what: str, updates: int, budget_minutes: float | None, out: Path | None) -> None:
    """Time a few updates of ``cfg`` and print (and write) the estimate of its run."""
    import yaml

    from ..train.budget import estimate_table, format_minutes
    from .ui import stdout_console

    timing = time_run(cfg, updates=updates, warmup=max(2, updates // 4), console=console)
    row = estimate_table(timing, cfg, budget_minutes)
    table = Table(title=f"{what} time on {row['device']} ({row['cpu']}, {row['precision']})")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("seconds per update", f"{row['seconds_per_update']:.3f} ({row['timed_updates']} timed)")
    table.add_row("audio per update (at most)", f"{row['audio_seconds_per_update']:.0f} s")
    table.add_row("one validation / one save", f"{row['validation_seconds']:.1f} s / {row['save_seconds']:.2f} s")
    table.add_row(f"{row['max_updates']} updates (optim.max_updates)", format_minutes(row["estimated_seconds"]))
    if budget_minutes is not None:
        table.add_row(f"updates in {budget_minutes:g} min", f"{row['updates_for_budget']} "
                      f"({row['audio_hours_for_budget']:.1f} h of audio)")
    stdout_console().print(table)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(yaml.safe_dump(row, sort_keys=False), encoding="utf-8")


@click.command("finetune", context_settings=CONTEXT)
@training_options("model, data, optim, trainer", "Checkpoints, tokens.txt")
@click.option("--init", "init_checkpoint", default=None,
              help="Pre-training checkpoint to start from (sets model.init_checkpoint; \"\" = from scratch).")
@estimate_options
def finetune_cmd(config_path, exp_dir, overrides, resume, allow_changes, skip_bad, init_checkpoint,
                 estimate_updates, budget_minutes, estimate_out):
    """CTC fine-tuning of wav2vec 2.0 on labelled data (runs unchanged under torchrun for DDP).

    \b
    Examples:
      asrkit finetune --config recipes/synth/w2v2_tiny/conf/finetune_10m.yaml --exp-dir exp/pretrained_10m \\
          --init exp/pretrain/checkpoint_best.pt
      asrkit finetune --config recipes/synth/w2v2_tiny/conf/finetune_10m.yaml --exp-dir exp/scratch_10m --init '' \\
          --set optim.max_updates=600
    """
    from ..train.budget import time_finetuning
    from ..train.finetune import load_finetune_config, run_finetune

    if init_checkpoint is not None:
        overrides = (*overrides, f"model.init_checkpoint={init_checkpoint}")
    _train_or_estimate(load_finetune_config, run_finetune, time_finetuning, "fine-tuning", config_path, exp_dir,
                       overrides, resume, allow_changes, skip_bad, estimate_updates, budget_minutes, estimate_out)


@click.command("midtrain", context_settings=CONTEXT)
@training_options("model (model.decoder may name a preset: mustc_st, tiny), data, optim, trainer", "Checkpoints")
@click.option("--init", "init_checkpoint", default=None,
              help="Checkpoint whose audio encoder to start from (sets model.init_checkpoint; \"\" = model.arch "
                   "from scratch).")
def midtrain_cmd(config_path, exp_dir, overrides, resume, allow_changes, skip_bad, init_checkpoint):
    """Speech-translation mid-training of an audio encoder (multi-stage paper, stage 2; runs under torchrun).

    \b
    Example:
      asrkit midtrain --config recipes/synth/multistage/conf/midtrain.yaml --exp-dir exp/midtrain_en-it \\
          --init exp/pretrain_mae/checkpoint_last.pt
    """
    from ..train.midtrain import load_midtrain_config, run_midtrain

    if init_checkpoint is not None:
        overrides = (*overrides, f"model.init_checkpoint={init_checkpoint}")
    _train(load_midtrain_config, run_midtrain, config_path, exp_dir, overrides, resume, allow_changes, skip_bad)


@click.command("import-checkpoint", context_settings=CONTEXT)
@click.option("--from", "kind", type=click.Choice(["hf", "fairseq"]), required=True,
              help="hf: a transformers save_pretrained directory (wav2vec 2.0, SEW or SEW-D, by its "
                   "model_type); fairseq: a fairseq wav2vec 2.0 .pt file.")
@click.option("--trust-checkpoint", is_flag=True,
              help="Unpickle a fairseq file fully although it holds Python objects that can run code (omegaconf "
                   "configs do); only for a file from a source you trust. Without it such a file is refused.")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def import_checkpoint_cmd(kind: str, trust_checkpoint: bool, source: Path, out: Path):
    """Convert wav2vec 2.0 / SEW / SEW-D weights into an asrkit checkpoint OUT (for fine-tuning or pre-training).

    \b
    Examples:
      asrkit import-checkpoint --from hf models/wav2vec2-base exp/w2v2_base.pt
      asrkit import-checkpoint --from fairseq --trust-checkpoint models/wav2vec_small.pt exp/w2v2_small.pt
    """
    from ..checkpoint import write_imported_checkpoint

    try:
        model, missing = write_imported_checkpoint(source, kind, out, trust=trust_checkpoint)
    except (FileNotFoundError, KeyError, ValueError, RuntimeError) as e:
        fail(f"{source}: {e}" if str(source) not in str(e) else str(e))
    cfg = model.cfg
    table = Table(title=f"imported {kind} checkpoint -> {out}")
    table.add_column("what")
    table.add_column("value")
    table.add_row("parameters", f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M")
    table.add_row("layers x dim", f"{cfg.encoder_layers} x {cfg.encoder_embed_dim} (ffn {cfg.encoder_ffn_embed_dim})")
    table.add_row("feature encoder", cfg.extractor_mode)
    table.add_row("left at initial values", ", ".join(sorted({k.split(".")[0] for k in missing})) or "none")
    console.print(table)
