"""``asrkit sweep plan`` and ``asrkit sweep report``: a sweep over pre-training compute (:mod:`asrkit.sweep`,
recipes/synth/w2v2_claims)."""
from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from .ui import CONTEXT, console, fail, stdout_console

EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("sweep", context_settings=CONTEXT)
def sweep():
    """Fine-tune from checkpoints of one pre-training run: plan it within a time budget, report WER against
    pre-training compute."""


def _updates(value: str) -> int | None:
    if value == "auto":
        return None
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise click.BadParameter(f"{value!r}: a number of updates >= 1, or auto")
    return n


@sweep.command("plan", context_settings=CONTEXT)
@click.option("--pretrain-estimate", type=EXISTING, required=True,
              help="`asrkit pretrain --estimate N --estimate-out F` of the pre-training config.")
@click.option("--finetune-estimate", type=EXISTING, required=True,
              help="`asrkit finetune --estimate N --estimate-out F` of one fine-tuning run (its optim.max_updates).")
@click.option("--decode-minutes", type=click.FloatRange(min=0), default=1.5,
              help="Minutes to decode one fine-tuned model (the recipe's constant: no model to time before).")
@click.option("--startup-seconds", type=click.FloatRange(min=0), default=20.0,
              help="Start-up of each fine-tuning run, beyond its timed updates.")
@click.option("--fixed-minutes", type=click.FloatRange(min=0), default=1.0,
              help="What does not grow with the sweep (scoring, the report).")
@click.option("--budget-minutes", type=click.FloatRange(min=0, min_open=True), default=120.0,
              help="Wall time of the whole run, its first stages included.")
@click.option("--elapsed-seconds", type=click.FloatRange(min=0), default=0.0, help="Spent already (earlier stages).")
@click.option("--margin", type=click.FloatRange(0, 1, max_open=True), default=0.2,
              help="Share of the budget kept back: timings drift on a shared machine.")
@click.option("--updates", default="auto", help="Pre-training updates: a number, or auto (the most that fit).")
@click.option("--max-updates", type=click.IntRange(min=1), default=6400, help="auto's cap (a GPU fits far more).")
@click.option("--first", type=click.IntRange(min=1), default=800, help="The first sweep point; the next double.")
@click.option("--extra-runs", type=click.IntRange(min=0), default=3,
              help="Fine-tuning runs besides one per sweep point (the recipe: scratch on 10m, last and scratch "
                   "on 1h).")
@click.option("--request", default="", help="Stored verbatim in the plan (the recipe's knobs, to tell when to "
                                            "plan again).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="plan.yaml to write.")
def plan_cmd(pretrain_estimate, finetune_estimate, decode_minutes, startup_seconds, fixed_minutes, budget_minutes,
             elapsed_seconds, margin, updates, max_updates, first, extra_runs, request, out):
    """How many pre-training updates fit the budget here, the sweep points, and the run's estimated wall time.

    \b
    Example:
      asrkit sweep plan --pretrain-estimate exp/plan/pretrain_estimate.yaml \\
          --finetune-estimate exp/plan/finetune_estimate.yaml --budget-minutes 120 --out exp/plan/plan.yaml
    """
    import yaml

    from ..sweep import Costs, SweepError, plan_sweep
    from ..train.budget import format_minutes

    try:
        pre = yaml.safe_load(pretrain_estimate.read_text(encoding="utf-8"))
        fine = yaml.safe_load(finetune_estimate.read_text(encoding="utf-8"))
        costs = Costs(float(fine["estimated_seconds"]) + startup_seconds, decode_minutes * 60, fixed_minutes * 60)
        plan = plan_sweep(pre, costs, budget_seconds=budget_minutes * 60, elapsed_seconds=elapsed_seconds,
                          updates=_updates(updates), max_updates=max_updates, first=first, extra_runs=extra_runs,
                          margin=margin)
    except (yaml.YAMLError, TypeError, KeyError, ValueError) as e:  # SweepError is a ValueError
        fail(str(e) if isinstance(e, SweepError) else f"not an estimate file ({type(e).__name__}: {e})")
    plan["finetune_updates"] = fine.get("max_updates")
    plan["request"] = request
    table = Table(title=f"sweep plan on {plan['device']} ({plan['cpu']}, {plan['precision']})")
    table.add_column("what")
    table.add_column("value", justify="right")
    how = "given" if plan["chosen"] == "given" else "auto, the cap" if plan["capped"] else "auto, fits the budget"
    table.add_row("pre-training updates", f"{plan['updates']} ({how}; ≤ {plan['audio_hours']:.1f} h of audio)")
    table.add_row("fine-tuned from updates", "0 (scratch), " + ", ".join(map(str, plan["points"])))
    table.add_row("pre-training", format_minutes(plan["pretrain_seconds"]))
    table.add_row(f"{plan['finetune_runs']} fine-tuning runs + decodes",
                  format_minutes(plan["finetune_runs"] * (costs.finetune_run + costs.decode_model)))
    table.add_row("spent before / scoring", f"{format_minutes(elapsed_seconds)} / {format_minutes(costs.fixed)}")
    table.add_row("estimated total / budget", f"{format_minutes(plan['estimated_total_seconds'])} / "
                  f"{format_minutes(budget_minutes * 60)} ({margin:.0%} kept back)")
    stdout_console().print(table)
    if not plan["fits"]:
        console.print("[yellow]warning: the estimated total exceeds the budget")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")


@sweep.command("report", context_settings=CONTEXT)
@click.argument("results_tsv", type=EXISTING)
@click.option("--exp-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the experiments of RESULTS_TSV are (default: its directory).")
@click.option("--exp", "exps", multiple=True, help="Only these experiments (repeatable; default: every one).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the rows as TSV.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG of WER against pre-training updates (the scratch WERs as lines).")
@click.option("--split", type=click.Choice(["test", "dev"]), default="test", help="The split --plot shows.")
def report_cmd(results_tsv, exp_dir, exps, out, plot, split):
    """Per fine-tuned experiment: the pre-training it started from (updates, audio seen, validation contrastive
    accuracy) and its dev/test WER, greedy and with the LM; and whether pre-training gains less with more labels.

    \b
    Examples:
      asrkit sweep report exp/results.tsv
      asrkit sweep report exp/results.tsv --out exp/sweep.tsv --plot exp/sweep.png
    """
    from ..compare import write_tsv
    from ..sweep import SweepError, effect_verdict, label_size_effect, plot_sweep, sweep_rows, sweep_table

    try:
        df = sweep_rows(results_tsv, exp_dir or results_tsv.parent, exps or None)
    except SweepError as e:
        fail(str(e))
    std = stdout_console()
    std.print(sweep_table(df, f"WER after identical fine-tuning, by pre-training compute ({results_tsv})"))
    if not df["audio_counted"].all():
        std.print("(≤): not counted by that checkpoint; the batch budget's upper bound")
    std.print("test WER is the headline; the dev 4-gram WERs are on the set the LM weights were tuned on")
    for column in ("test_greedy", "test_4gram"):
        std.print(f"{column}: {effect_verdict(label_size_effect(df, column))}")
    if out is not None:
        console.print(f"wrote {write_tsv(df, out)}")
    if plot is not None:
        console.print(f"wrote {plot_sweep(df, plot, split)}")
