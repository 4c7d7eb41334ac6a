"""``asrkit superb`` (:mod:`asrkit.train.superb`) and ``asrkit superb-report`` (:mod:`asrkit.superb_report`):
SUPERB downstream tasks on a frozen upstream, and the multi-stage paper's Figure 2 from their results."""
from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from .train import _train, training_options
from .ui import CONTEXT, console, fail, stdout_console


@click.command("superb", context_settings=CONTEXT)
@click.option("--task", type=click.Choice(["ks", "ic", "pr", "sd"]), required=True,
              help="ks: keyword spotting (accuracy), ic: intent classification (accuracy), pr: phoneme recognition "
                   "(PER), sd: speaker diarization (DER).")
@click.option("--upstream", default=None, help="The frozen upstream: an asrkit checkpoint (pretrain, midtrain or "
              "ctc; an audio-visual one gives its Conformer audio encoder; transformers/fairseq weights: convert "
              "them with `asrkit import-checkpoint` first). Sets model.upstream.")
@click.option("--data-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="The task's manifests train.tsv, dev.tsv and test.tsv (SD: and their .rttm); sets data.*_manifest.")
@click.option("--random-upstream", is_flag=True,
              help="The upstream's architecture with random weights (SUPERB's baseline; model.upstream_init=random).")
@click.option("--results", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Results TSV to append the test score to (default: EXP_DIR/../superb_results.tsv).")
@training_options("task, model, data, optim, trainer, sd", "Checkpoints of the downstream, features/, result.json, "
                  "layer_weights.png")
def superb_cmd(task, upstream, data_dir, random_upstream, results, config_path, exp_dir, overrides, resume,
               allow_changes, skip_bad):
    """Train and score a SUPERB downstream task on a frozen upstream's hidden states (learned weighted sum of all
    of them; s3prl's heads and metrics).

    \b
    Examples:
      asrkit superb --task ks --upstream exp/pretrain/checkpoint_last.pt --data-dir data/superb/ks --exp-dir exp/ks
      asrkit superb --task sd --upstream exp/midtrain/checkpoint_best.pt --data-dir data/superb/sd \\
          --exp-dir exp/sd_mid --set optim.lr=1e-3
    """
    from ..train.superb import load_superb_config, run_superb

    if upstream is not None:
        overrides = (f"model.upstream={upstream}", *overrides)
    if random_upstream:
        overrides = (*overrides, "model.upstream_init=random")
    if data_dir is not None:
        overrides = (*(f"data.{s}_manifest={data_dir / f}" for s, f in
                       (("train", "train.tsv"), ("valid", "dev.tsv"), ("test", "test.tsv"))), *overrides)
    rows = []

    def run(cfg, exp_dir, **kw):
        rows.append(run_superb(cfg, exp_dir, results=results, **kw))

    _train(lambda path, o: load_superb_config(task, path, o), run, config_path, exp_dir, overrides, resume,
           allow_changes, skip_bad)
    if rows and rows[0]:
        r = rows[0]
        table = Table(title=f"SUPERB {task.upper()} on test: {exp_dir}")
        table.add_column("what")
        table.add_column("value")
        table.add_row(r["metric"], f"{r['value']:.2f} (dev {r['dev_value']:.2f})")
        if "baseline" in r:
            table.add_row(r["baseline"], f"{r['baseline_value']:.2f}")
        table.add_row("scoring", r["scoring"])
        table.add_row("layer weights", r["layer_weights"])
        stdout_console().print(table)


@click.command("superb-report", context_settings=CONTEXT)
@click.argument("runs_tsv", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("results_tsv", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Where figure2.tsv, figure2.md, figure2.png and layer_weights.png go.")
def superb_report_cmd(runs_tsv, results_tsv, out_dir):
    """The multi-stage paper's Figure 2 in miniature: each SUPERB task's relative change from mid-training
    (RUNS_TSV: exp_dir, task, objective, data, pair; RESULTS_TSV: `asrkit superb --results`).

    \b
    Example:
      asrkit superb-report exp/superb_runs.tsv exp/superb_results.tsv --out-dir exp/report
    """
    from ..superb_report import ReportError, superb_report

    try:
        paths = superb_report(runs_tsv, results_tsv, out_dir)
    except ReportError as e:
        fail(str(e))
    stdout_console().print(paths["figure2.md"].read_text(encoding="utf-8"), markup=False, highlight=False)
    console.print(f"wrote {', '.join(str(p) for p in paths.values())}")
