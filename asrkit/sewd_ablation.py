"""SEW-D's ablation ladder (Wu et al., 2021, Table 6) and its WER against inference-time curve (Figure 1, Table 2's
size categories) in miniature: recipes/synth/sewd_ablation, ``make reproduce-sewd``.

The ladder (:data:`ROWS`): Table 6's nine rows, each one step on the row it builds on (row 9 builds on row 7, not
8), at a controlled inference time (rows 2-8 within 7.5 s on the paper's V100; row 1, the larger W2V2-small, is
the reference outside that budget), and three more sizes for Figure 1's families (W2V2-mid, SEW-D-small,
SEW-D-mid; the ladder gives W2V2-tiny and -small and SEW-D-tiny). Each row names its paper-size config and its
miniature (``asrkit/conf/model``: every width halved, the depth kept; rows 3-7 and 9 then narrowed to row 2's
inference time on one CPU thread, as the paper matches its rows' time on a V100) and carries the paper's numbers.

Nothing is trained or timed here; the recipe's outputs are joined:

- the runs (the recipe writes ``exp/runs.tsv``): ``run`` (its directory name), ``row``, ``seed``, ``benchmark`` (its
  fine-tuned model's ``asrkit benchmark --out`` TSV) and ``results`` (its results TSV: ``asrkit score --results``,
  experiment ``pretrained_10m``, split ``test``, decoders ``greedy`` and ``4gram``), joined by
  ``asrkit.compare.compare_models`` as ``make table1`` joins its two models;
- every utterance's time (``asrkit benchmark --times-out``) of ONE benchmark run that timed every run interleaved,
  utterance by utterance: each run's time against the reference row's (row 2; the geometric mean of its seeds'
  times) as a paired ratio, the geometric mean over utterances of ``t_run / t_reference`` with a 95 % interval
  (normal, on the logs). Load from other processes falls on both sides of each ratio, which separate runs' means
  do not share (10-30 % swings on a shared VM).

:func:`collect` keeps ONE results table, a line per run: a run collected again is replaced, a new one appended, so
a re-run with more rows adds to it. :func:`table6` averages each row's seeds and takes the change from the row it
builds on; :func:`findings` says which steps lower the WER beyond the seed-to-seed spread; :func:`plot_figure1`
draws WER against inference time, the paper's (Table 1, test-other) beside the miniature's.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .compare import CompareError, ModelRun, compare_models
from .multistage_report import ReportError, read_table
from .train.metrics import save_figure


class AblationError(ReportError):
    pass


@dataclass(frozen=True)
class Row:
    """One model of the ladder or of Figure 1, with the paper's numbers for it."""

    id: str  # "1" ... "9" (Table 6), or a Figure 1 size ("w2v2_mid", ...)
    name: str  # the paper's
    adds: str  # what it changes on ``builds_on``
    builds_on: str  # the row it changes ("" for rows 1 and 2 and the Figure 1 sizes)
    config: str  # the paper-size named config
    mini: str  # its miniature
    family: str  # W2V2, Sq-W2V, SEW or SEW-D; Figure 1 draws the W2V2 and SEW-D families
    size: str  # Table 2's category (tiny, small, mid), "" for the ladder's intermediate rows
    params_m: float  # the paper's parameters (M, without pre-training heads)
    infer_s: float  # the paper's inference time (s, V100)
    wer: float  # the paper's WER without LM: Table 6 dev-other, Table 1 test-other for the Figure 1 sizes
    wer_lm: float  # with the 4-gram


ROWS: dict[str, Row] = {r.id: r for r in (
    Row("1", "W2V2-small (E384L12 + WFE-O-c384)", "the larger W2V2, outside the time budget", "",
        "sew_ablation_1_w2v2_small", "sew_ablation_1_w2v2_small_mini", "W2V2", "small", 24.8, 12.8, 26.6, 15.6),
    Row("2", "W2V2-tiny (E256L12 + WFE-O-c256)", "the baseline and the time budget", "",
        "sew_ablation_2_w2v2_tiny", "sew_ablation_2_w2v2_tiny_mini", "W2V2", "tiny", 11.1, 7.5, 40.7, 23.4),
    Row("3", "Sq-W2V E384L12 + WFE-O-c256", "squeezed context network, wider", "2",
        "sew_ablation_3_squeezed", "sew_ablation_3_squeezed_mini", "Sq-W2V", "", 23.9, 7.0, 29.9, 17.5),
    Row("4", "Sq-W2V E384L12 + WFE-C-c96-11", "WFE-C instead of WFE-O", "3",
        "sew_ablation_4_wfe_c", "sew_ablation_4_wfe_c_mini", "Sq-W2V", "", 27.2, 7.1, 29.6, 17.2),
    Row("5", "Sq-W2V E512L12 + WFE-C-c48-11", "smaller WFE-C, wider Transformer", "4",
        "sew_ablation_5_wider_transformer", "sew_ablation_5_wider_transformer_mini", "Sq-W2V", "",
        41.7, 7.1, 24.4, 14.7),
    Row("6", "Sq-W2V E512L12 (conv k31) + WFE-C-c64-11", "positional kernel 31, wider WFE-C", "5",
        "sew_ablation_6_conv31_wider_wfe", "sew_ablation_6_conv31_wider_wfe_mini", "Sq-W2V", "",
        40.7, 6.7, 24.4, 14.5),
    Row("7", "+ MLP predictor heads (SEW-tiny)", "MLP predictor heads", "6",
        "sew_ablation_7_mlp_heads", "sew_ablation_7_mlp_heads_mini", "SEW", "", 40.7, 6.7, 23.7, 14.4),
    Row("8", "+ disentangled attention (SEW-D-tiny)", "disentangled attention, narrower", "7",
        "sew_ablation_8_disentangled_attention", "sew_ablation_8_disentangled_attention_mini", "SEW-D", "tiny",
        24.1, 7.5, 22.3, 13.4),
    Row("9", "#7 - WFE-C-c64-11 + FBFE-c160", "filter-bank front end instead of WFE-C", "7",
        "sew_ablation_9_fbank", "sew_ablation_9_fbank_mini", "SEW", "", 42.2, 7.5, 25.0, 15.1),
    Row("w2v2_mid", "W2V2-mid (E512L12 + WFE-O-c512)", "Figure 1: W2V2's third size", "",
        "mid", "mid_mini", "W2V2", "mid", 44.1, 19.9, 22.2, 13.5),
    Row("sewd_small", "SEW-D-small (E512L12)", "Figure 1: SEW-D's second size", "",
        "sew_d_small", "sew_d_small_mini", "SEW-D", "small", 41.0, 9.6, 18.2, 11.4),
    Row("sewd_mid", "SEW-D-mid (E512L24)", "Figure 1: SEW-D's third size", "",
        "sew_d_mid", "sew_d_mid_mini", "SEW-D", "mid", 78.8, 16.5, 14.2, 9.5),
)}  # fmt: skip
LADDER = tuple(str(k) for k in range(1, 10))  # Table 6's rows
REFERENCE = "2"  # the time budget: every run is timed against row 2
TIME_TOLERANCE = 0.10  # rows 2-9 within +-10 % of row 2's time (issue 26)

# Figure 1's left panel: the paper's families (Table 1: 100h of labels, 100K updates): size, inference s, test-other
# WER without LM and with the 4-gram
PAPER_FIGURE1 = {
    "W2V2": [("tiny", 7.5, 42.1, 25.6), ("small", 12.8, 27.2, 16.0), ("mid", 19.9, 22.2, 13.5),
             ("base", 30.8, 16.4, 10.4)],
    "SEW-D": [("tiny", 7.5, 22.8, 13.9), ("small", 9.6, 18.2, 11.4), ("mid", 16.5, 14.2, 9.5),
              ("base", 26.3, 13.2, 9.3), ("base+", 27.8, 12.6, 9.0)],
}


def select_rows(spec: str | Sequence[str]) -> list[Row]:
    """The rows a ``ROWS=`` selection names, in the ladder's order: ids (``"2 3 9"``, ``"2,3"``), ranges of Table
    6's rows (``"2-8"``), ``ladder`` (1-9), ``figure1`` (the W2V2 and SEW-D sizes) or ``all``."""
    tokens = [t for part in ([spec] if isinstance(spec, str) else spec) for t in re.split(r"[\s,]+", part) if t]
    if not tokens:
        raise AblationError("no row selected: give ids (1-9, " + ", ".join(k for k in ROWS if k not in LADDER)
                            + "), a range such as 2-8, ladder, figure1 or all")
    wanted: set[str] = set()
    for t in tokens:
        if t == "all":
            wanted |= set(ROWS)
        elif t == "ladder":
            wanted |= set(LADDER)
        elif t == "figure1":
            wanted |= {k for k, r in ROWS.items() if r.size and r.family in ("W2V2", "SEW-D")}
        elif m := re.fullmatch(r"(\d+)-(\d+)", t):
            lo, hi = int(m[1]), int(m[2])
            if not 1 <= lo <= hi <= len(LADDER):
                raise AblationError(f"rows {t!r}: a range of Table 6's rows 1-{len(LADDER)}")
            wanted |= {str(k) for k in range(lo, hi + 1)}
        elif t in ROWS:
            wanted.add(t)
        else:
            raise AblationError(f"no row {t!r}: rows are {', '.join(ROWS)} (or a range such as 2-8, ladder, "
                                "figure1, all)")
    return [r for k, r in ROWS.items() if k in wanted]


# --------------------------------------------------------------------------------------------------------------
# the results table

RUN_COLUMNS = ["run", "row", "seed", "benchmark", "results"]
TIME_COLUMNS = ["model", "precision", "utterance", "ms"]
COLUMNS = ["run", "row", "seed", "config", "params_m", "wer_greedy", "wer_4gram", "infer_mean_ms", "infer_std_ms",
           "time_ratio", "time_ratio_low", "time_ratio_high", "reference_runs", "timed", "precision", "device",
           "threads", "utterances"]


def paired_ratios(times: pd.DataFrame, reference: Sequence[str]) -> pd.DataFrame:
    """Per model of ``times`` (:data:`TIME_COLUMNS`; one benchmark run): the geometric mean over utterances of
    its time / the reference time on the same utterance, and the 95 % interval of that mean (normal on the log
    ratios). The reference time of an utterance is the geometric mean of the ``reference`` models' (row 2's seeds:
    their own ratios then average to exactly 1). Columns ``model``, ``utterances``, ``ratio``, ``low``, ``high``."""
    logs = times.pivot_table(index="utterance", columns="model", values="ms", aggfunc="min").map(math.log)
    missing = [m for m in reference if m not in logs.columns]
    if missing or not reference:
        raise AblationError(f"the reference {', '.join(missing) or '(none)'} was not timed (timed: "
                            f"{', '.join(logs.columns)})")
    ref = logs[list(reference)].mean(axis=1)
    rows = []
    for model in dict.fromkeys(times["model"]):
        diff = (logs[model] - ref).dropna()
        n = len(diff)
        mean = float(diff.mean()) if n else math.nan
        half = 1.96 * float(diff.std()) / math.sqrt(n) if n > 1 else math.nan
        rows.append({"model": model, "utterances": n, "ratio": math.exp(mean), "low": math.exp(mean - half),
                     "high": math.exp(mean + half)})
    return pd.DataFrame(rows, columns=["model", "utterances", "ratio", "low", "high"])


def _reference_runs(runs: pd.DataFrame) -> list[str]:
    ref = runs[runs["row"] == REFERENCE]
    if ref.empty:
        raise AblationError(f"no run of row {REFERENCE}, the reference every inference time is paired with: "
                            f"select row {REFERENCE} too")
    return list(ref["run"])


def collect(runs_tsv: str | Path, times_tsv: str | Path, out_tsv: str | Path, *, precision: str = "fp32",
            now: str | None = None) -> pd.DataFrame:
    """Add the runs of ``runs_tsv`` (:data:`RUN_COLUMNS`) to the results table ``out_tsv`` (:data:`COLUMNS`,
    created when missing): parameters and WERs (``compare_models``), inference time and its paired ratio to row
    2's (its seeds' geometric mean) from ``times_tsv`` (one benchmark run that timed them all). A run already in
    the table is replaced, others are kept; ``timed`` records when (UTC), so the lines of separate benchmark runs
    can be told apart. Returns the whole table, in the ladder's order."""
    runs = read_table(runs_tsv, RUN_COLUMNS, "a runs TSV (run, row, seed, benchmark, results)")
    unknown = sorted(set(runs["row"]) - set(ROWS))
    if unknown:
        raise AblationError(f"{runs_tsv}: unknown row(s) {', '.join(unknown)} (rows: {', '.join(ROWS)})")
    if runs["run"].duplicated().any():
        raise AblationError(f"{runs_tsv}: run {runs.loc[runs['run'].duplicated(), 'run'].iloc[0]!r} twice")
    try:
        joined = compare_models([ModelRun(r["run"], Path(r["benchmark"]), Path(r["results"]))
                                 for r in runs.to_dict("records")], precision=precision)
    except CompareError as e:
        raise AblationError(str(e)) from None
    times = read_table(times_tsv, TIME_COLUMNS, "an `asrkit benchmark --times-out` TSV")
    times = times[times["precision"] == precision].assign(ms=lambda d: d["ms"].astype(float))
    # each run's model name in the timing: its benchmark TSV's (checkpoint paths when the names collide)
    model_of = {r["run"]: str(read_table(r["benchmark"], ["model"], "an `asrkit benchmark` TSV")["model"].iloc[-1])
                for r in runs.to_dict("records")}
    missing = [run for run, model in model_of.items() if model not in set(times["model"])]
    if missing:
        raise AblationError(f"{times_tsv}: run(s) {', '.join(missing)} not timed there: time every run in one "
                            "benchmark run")
    reference = _reference_runs(runs)
    ratios = paired_ratios(times[times["model"].isin(model_of.values())],
                           [model_of[r] for r in reference]).set_index("model")
    new = pd.DataFrame({
        "run": runs["run"], "row": runs["row"], "seed": runs["seed"].astype(int),
        "config": [ROWS[r].mini for r in runs["row"]], "params_m": joined["params_m"],
        "wer_greedy": joined["wer_greedy"], "wer_4gram": joined["wer_4gram"],
        "infer_mean_ms": joined["infer_mean_ms"], "infer_std_ms": joined["infer_std_ms"],
        "time_ratio": [ratios.at[model_of[r], "ratio"] for r in runs["run"]],
        "time_ratio_low": [ratios.at[model_of[r], "low"] for r in runs["run"]],
        "time_ratio_high": [ratios.at[model_of[r], "high"] for r in runs["run"]],
        "reference_runs": " ".join(reference),
        "timed": now or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "precision": joined["precision"], "device": joined["device"], "threads": joined["threads"],
        "utterances": joined["utterances"],
    }, columns=COLUMNS)
    out_tsv = Path(out_tsv)
    if out_tsv.is_file():
        old = read_results(out_tsv)
        new = pd.concat([old[~old["run"].isin(new["run"])], new], ignore_index=True)
    table = sort_runs(_numbers(new))
    out_tsv.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_tsv, sep="\t", index=False, float_format="%.6g")
    return table


def read_results(path: str | Path) -> pd.DataFrame:
    """The results table :func:`collect` writes, numbers as numbers."""
    df = read_table(path, COLUMNS, "an ablation results table (asrkit ablation collect)")
    unknown = sorted(set(df["row"]) - set(ROWS))
    if unknown:
        raise AblationError(f"{path}: unknown row(s) {', '.join(unknown)}")
    return _numbers(df)


def _numbers(df: pd.DataFrame) -> pd.DataFrame:
    """The results table's numeric columns as numbers (NaN where a cell is not one)."""
    for col in ("params_m", "wer_greedy", "wer_4gram", "infer_mean_ms", "infer_std_ms", "time_ratio",
                "time_ratio_low", "time_ratio_high"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    for col in ("seed", "threads", "utterances"):
        df[col] = df[col].astype(int)
    return df


def sort_runs(df: pd.DataFrame) -> pd.DataFrame:
    order = {k: i for i, k in enumerate(ROWS)}
    return df.sort_values(["row", "seed"], key=lambda s: s.map(order) if s.name == "row" else s,
                          kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------------------------
# Table 6 and the findings

def table6(results: pd.DataFrame, rows: Sequence[str] = LADDER) -> pd.DataFrame:
    """A line per row of ``rows`` that has runs, in the ladder's order: its seeds' mean WERs and time, their
    geometric mean time ratio, the WERs' spread over seeds (max - min; NaN for one seed) and the time ratio's
    (``spread_time``: max / min - 1), the change from the row it builds on in WER and time
    (``step_time``: the ratio of their time ratios; NaN when that row has no run), and the paper's numbers and
    changes."""
    lines = []
    for k in rows:
        mine = results[results["row"] == k]
        if mine.empty:
            continue
        r = ROWS[k]
        line = {"row": k, "model": r.name, "adds": r.adds, "builds_on": r.builds_on, "config": r.mini,
                "seeds": len(mine), "params_m": mine["params_m"].mean()}
        for col in ("infer_mean_ms", "infer_std_ms"):
            line[col] = mine[col].mean()
        for col in ("time_ratio", "time_ratio_low", "time_ratio_high"):  # geometric: row 2's seeds give 1
            line[col] = math.exp(mine[col].map(math.log).mean())
        line["spread_time"] = mine["time_ratio"].max() / mine["time_ratio"].min() - 1 if len(mine) > 1 else math.nan
        for dec in ("greedy", "4gram"):
            line[f"wer_{dec}"] = mine[f"wer_{dec}"].mean()
            line[f"spread_{dec}"] = mine[f"wer_{dec}"].max() - mine[f"wer_{dec}"].min() if len(mine) > 1 else math.nan
        lines.append(line)
    df = pd.DataFrame(lines)
    if df.empty:
        raise AblationError("no run of the selected rows in the results table")
    ran = {r["row"]: r for r in lines}
    for dec in ("greedy", "4gram"):
        df[f"delta_{dec}"] = [r[f"wer_{dec}"] - ran[r["builds_on"]][f"wer_{dec}"] if r["builds_on"] in ran
                              else math.nan for r in lines]
    df["step_time"] = [r["time_ratio"] / ran[r["builds_on"]]["time_ratio"] if r["builds_on"] in ran else math.nan
                       for r in lines]
    df["paper_params_m"] = [ROWS[k].params_m for k in df["row"]]
    df["paper_infer_s"] = [ROWS[k].infer_s for k in df["row"]]
    df["paper_wer"] = [ROWS[k].wer for k in df["row"]]
    df["paper_wer_lm"] = [ROWS[k].wer_lm for k in df["row"]]
    df["paper_delta"] = [ROWS[k].wer - ROWS[ROWS[k].builds_on].wer if ROWS[k].builds_on else math.nan
                         for k in df["row"]]
    df["paper_delta_lm"] = [ROWS[k].wer_lm - ROWS[ROWS[k].builds_on].wer_lm if ROWS[k].builds_on else math.nan
                            for k in df["row"]]
    df["paper_step_time"] = [ROWS[k].infer_s / ROWS[ROWS[k].builds_on].infer_s if ROWS[k].builds_on else math.nan
                             for k in df["row"]]
    return df


def seed_noise(table: pd.DataFrame, decoder: str) -> float:
    """The largest WER spread between seeds of one row (NaN when no row has two seeds)."""
    spreads = table[f"spread_{decoder}"].dropna()
    return float(spreads.max()) if len(spreads) else math.nan


def findings(table: pd.DataFrame) -> list[str]:
    """One line per step whose two rows ran: its change in inference time, the WER change greedy and with the
    4-gram against the seed spread (a change larger than the largest spread between two seeds of one row counts as
    beyond the noise), the paper's changes; and whether every row kept row 2's inference time (+-10 %, paired
    ratios)."""
    noise = {dec: seed_noise(table, dec) for dec in ("greedy", "4gram")}
    lines = []
    if math.isnan(noise["greedy"]):
        lines.append("seed noise: unknown (no row ran with two seeds); every change below is unqualified")
    else:
        lines.append(f"seed noise (the largest spread between two seeds of one row): greedy {noise['greedy']:.1f}, "
                     f"4-gram {noise['4gram']:.1f} WER points")

    def verdict(delta: float, dec: str) -> str:
        if math.isnan(noise[dec]):
            return "lower" if delta < 0 else "not lower"
        return "lower, beyond the noise" if delta < -noise[dec] else "lower, within the noise" if delta < 0 \
            else "not lower"

    for r in table.to_dict("records"):
        if math.isnan(r["delta_greedy"]):
            continue
        lines.append(f"row {r['builds_on']} -> {r['row']} ({r['adds']}): time x{r['step_time']:.2f}, greedy "
                     f"{r['delta_greedy']:+.1f} ({verdict(r['delta_greedy'], 'greedy')}), 4-gram "
                     f"{r['delta_4gram']:+.1f} ({verdict(r['delta_4gram'], '4gram')}); paper: time "
                     f"x{r['paper_step_time']:.2f}, WER {r['paper_delta']:+.1f} / {r['paper_delta_lm']:+.1f}")
    reference = table[table["row"] == REFERENCE]
    if len(reference) and not math.isnan(reference["spread_time"].iloc[0]):
        lines.append(f"timing noise: the seeds of row {REFERENCE} (one architecture, other weights) timed "
                     f"{reference['spread_time'].iloc[0]:.1%} apart")
    timed = table[table["row"].isin([k for k in LADDER if k != "1"])]
    off = timed[(timed["time_ratio"] - 1).abs() > TIME_TOLERANCE]
    if len(timed):
        lines.append(f"inference time within +-{TIME_TOLERANCE:.0%} of row {REFERENCE}'s: "
                     + ("every row" if off.empty else "not rows " + ", ".join(
                         f"{r['row']} (x{r['time_ratio']:.2f})" for r in off.to_dict("records"))))
    return lines


def table6_rich(table: pd.DataFrame, title: str):
    """Table 6's layout: model, parameters, inference time and its ratio to row 2 (95 % interval), test WER greedy
    and with the 4-gram, each with the change from the row it builds on (± half the seeds' spread where a row ran
    with several), and the paper's parameters, time, dev-other WERs and changes beside them."""
    from rich.table import Table

    out = Table(title=title)
    for col in ("#", "model (paper's)", "seeds", "params (M)", "infer. ms", "x row 2 [95 %]", "WER greedy (Δ)",
                "WER 4-gram (Δ)", "paper: M, s", "paper WER / +LM (Δ)"):
        out.add_column(col, justify="left" if col in ("#", "model (paper's)") else "right")
    for r in table.to_dict("records"):
        wer = {}
        for d in ("greedy", "4gram"):
            spread = "" if math.isnan(r[f"spread_{d}"]) else f" ±{r[f'spread_{d}'] / 2:.1f}"
            delta = "" if math.isnan(r[f"delta_{d}"]) else f" ({r[f'delta_{d}']:+.1f})"
            wer[d] = f"{r[f'wer_{d}']:.1f}{spread}{delta}"
        paper = f"{r['paper_wer']:.1f} / {r['paper_wer_lm']:.1f}" + (
            "" if math.isnan(r["paper_delta"]) else f" ({r['paper_delta']:+.1f} / {r['paper_delta_lm']:+.1f})")
        out.add_row(r["row"], r["model"], str(r["seeds"]), f"{r['params_m']:.2f}",
                    f"{r['infer_mean_ms']:.1f} ± {r['infer_std_ms']:.1f}",
                    f"{r['time_ratio']:.2f} [{r['time_ratio_low']:.2f}, {r['time_ratio_high']:.2f}]",
                    wer["greedy"], wer["4gram"], f"{r['paper_params_m']:.1f}, {r['paper_infer_s']:.1f}", paper)
    return out


# --------------------------------------------------------------------------------------------------------------
# Figure 1

def plot_figure1(results: pd.DataFrame, out_png: str | Path) -> Path:
    """WER against inference time: left the paper's W2V2 and SEW-D families (Table 1; without LM solid, with the
    4-gram dashed), right the miniature's runs of ``results`` (the results table) alike, each family's sizes
    joined by a line, the ladder's other rows as grey points labelled by row; a row's seeds are averaged, their
    spread drawn as an error bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"W2V2": "tab:blue", "SEW-D": "tab:red"}
    styles = (("greedy", "o-", "no LM"), ("4gram", "s--", "4-gram"))
    fig, (paper, mini) = plt.subplots(1, 2, figsize=(11.5, 4.4))
    for family, points in PAPER_FIGURE1.items():
        for i, (_, fmt, decoder) in enumerate(styles):
            paper.plot([p[1] for p in points], [p[2 + i] for p in points], fmt, color=colors[family],
                       mfc="none" if i else colors[family], label=f"{family}, {decoder}")
        for size, t, wer, _ in points:
            paper.annotate(size, (t, wer), textcoords="offset points", xytext=(4, 4), fontsize=7)
    paper.set(xlabel="inference time (s, V100, LibriSpeech dev-other)", ylabel="test-other WER (%)",
              title="paper (Table 1: 100K updates, 100h of labels)")
    agg = {}
    for dec in ("greedy", "4gram"):
        wer = f"wer_{dec}"
        agg.update({dec: (wer, "mean"), f"{dec}_lo": (wer, "min"), f"{dec}_hi": (wer, "max")})
    means = results.groupby("row", sort=False).agg(ms=("infer_mean_ms", "mean"), **agg).reset_index()
    means["family"] = [ROWS[k].family for k in means["row"]]
    means["size"] = [ROWS[k].size for k in means["row"]]
    on_curve = (means["size"] != "") & means["family"].isin(list(colors))

    def draw(pts: pd.DataFrame, color: str, label: str, line: bool) -> None:
        for dec, fmt, decoder in styles:
            mini.errorbar(pts["ms"], pts[dec], yerr=[pts[dec] - pts[f"{dec}_lo"], pts[f"{dec}_hi"] - pts[dec]],
                          fmt=fmt if line else fmt[0], color=color, mfc="none" if dec == "4gram" else color,
                          capsize=3, label=f"{label}, {decoder}")

    sizes = ["tiny", "small", "mid"]
    for family, color in colors.items():
        pts = means[on_curve & (means["family"] == family)]
        if len(pts):
            pts = pts.assign(order=pts["size"].map(sizes.index)).sort_values("order")
            draw(pts, color, family, line=True)
            for r in pts.to_dict("records"):
                mini.annotate(f"{r['size']} (row {r['row']})" if r["row"] in LADDER else r["size"],
                              (r["ms"], r["greedy"]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    others = means[~on_curve]
    if len(others):
        draw(others, "grey", "other Table 6 rows", line=False)
        for r in others.to_dict("records"):
            mini.annotate(f"row {r['row']}", (r["ms"], r["greedy"]), textcoords="offset points", xytext=(4, -10),
                          fontsize=7, color="grey")
    first = results.iloc[0]
    mini.set(xlabel=f"inference time (ms / utterance, batch 1, {first['precision']}, {first['device']}, "
                    f"{first['threads']} thread(s))", ylabel="test WER (%)",
             title="miniature (built-in corpus, 10 minutes of labels)")
    for ax in (paper, mini):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("SEW-D Figure 1: WER against inference time, W2V2 and SEW-D families", fontsize=10)
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, out_png, dpi=110)


def ablation_report(results_tsv: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Writes ``table6.tsv`` (:func:`table6`) and ``figure1.png`` (:func:`plot_figure1`) into ``out_dir``;
    returns their paths."""
    results = read_results(results_tsv)
    table = table6(results)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"table6.tsv": out_dir / "table6.tsv", "figure1.png": out_dir / "figure1.png"}
    table.to_csv(paths["table6.tsv"], sep="\t", index=False, float_format="%.4g")
    plot_figure1(results, paths["figure1.png"])
    return paths
