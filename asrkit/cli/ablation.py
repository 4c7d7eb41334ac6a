"""``asrkit ablation rows``, ``collect`` and ``report``: SEW-D's Table 6 ablation ladder and Figure 1 in miniature
(:mod:`asrkit.sewd_ablation`, recipes/synth/sewd_ablation)."""
from __future__ import annotations

from pathlib import Path

import click

from .ui import CONTEXT, console, fail, stdout_console

EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("ablation", context_settings=CONTEXT)
def ablation():
    """SEW-D's Table 6 ablation ladder and Figure 1 (WER against inference time) in miniature."""


@ablation.command("rows", context_settings=CONTEXT)
@click.argument("spec", nargs=-1)
@click.option("--paper", is_flag=True, help="The paper-size configs instead of the miniatures.")
@click.option("--describe", is_flag=True, help="A table of the rows with the paper's numbers instead of the list.")
def rows_cmd(spec, paper, describe):
    """The rows SPEC selects (default: all), one `ROW CONFIG` line each, in the ladder's order: ids 1-9
    (Table 6) or w2v2_mid, sewd_small, sewd_mid (Figure 1's other sizes), ranges (2-8), ladder, figure1, all.

    \b
    Examples:
      asrkit ablation rows 2-8
      asrkit ablation rows all --describe
    """
    from ..sewd_ablation import AblationError, select_rows

    try:
        rows = select_rows(spec or "all")
    except AblationError as e:
        fail(str(e))
    if not describe:
        for r in rows:
            click.echo(f"{r.id} {r.config if paper else r.mini}")
        return
    from rich.table import Table

    table = Table(title="SEW-D's ablation ladder (Table 6) and Figure 1's sizes")
    for col in ("row", "paper's model", "adds", "on", "config", "paper: params (M), s, WER / +LM"):
        table.add_column(col, no_wrap=col == "config")
    for r in rows:
        table.add_row(r.id, r.name, r.adds, r.builds_on, r.config if paper else r.mini,
                      f"{r.params_m}, {r.infer_s}, {r.wer} / {r.wer_lm}")
    stdout_console().print(table)


@ablation.command("collect", context_settings=CONTEXT)
@click.argument("runs_tsv", type=EXISTING)
@click.option("--times", "times_tsv", type=EXISTING, required=True,
              help="`asrkit benchmark --times-out` of one run that timed every run of RUNS_TSV.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The results table: created, or the runs added to it (a run already there is replaced).")
@click.option("--precision", default="fp32", help="Benchmark rows to take.")
def collect_cmd(runs_tsv, times_tsv, out, precision):
    """Add the runs of RUNS_TSV (run, row, seed, benchmark, results) to the results table: parameters, test WER
    greedy and 4-gram, inference time and its ratio to row 2's, paired by utterance.

    \b
    Example:
      asrkit ablation collect exp/runs.tsv --times exp/timing/times.tsv --out exp/ablation.tsv
    """
    from ..multistage_report import ReportError
    from ..sewd_ablation import collect

    try:
        table = collect(runs_tsv, times_tsv, out, precision=precision)
    except ReportError as e:  # AblationError, and a missing or malformed table
        fail(str(e))
    console.print(f"wrote {out}: {len(table)} run(s), rows {', '.join(dict.fromkeys(table['row']))}")


@ablation.command("report", context_settings=CONTEXT)
@click.argument("results_tsv", type=EXISTING)
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Where table6.tsv and figure1.png go.")
def report_cmd(results_tsv, out_dir):
    """Table 6 in miniature from the results table (per row: parameters, inference time and its ratio to row 2,
    test WER greedy and 4-gram, the change from the row it builds on, the paper's numbers), which steps lower the
    WER beyond the seed spread, and Figure 1 (WER against inference time) as a PNG.

    \b
    Example:
      asrkit ablation report exp/ablation.tsv --out-dir exp/report
    """
    from ..multistage_report import ReportError
    from ..sewd_ablation import ablation_report, findings, read_results, table6, table6_rich

    try:
        paths = ablation_report(results_tsv, out_dir)
        table = table6(read_results(results_tsv))
    except ReportError as e:  # AblationError, and a missing or malformed table
        fail(str(e))
    std = stdout_console()
    std.print(table6_rich(table, f"SEW-D Table 6 in miniature ({results_tsv}; test set; paper: dev-other)"))
    for line in findings(table):
        std.print(f"- {line}", markup=False, highlight=False)
    console.print(f"wrote {', '.join(str(p) for p in paths.values())}")
