"""The multi-stage paper's Table 1 and Figure 3 (Jain et al., 2024, §4) from a recipe's runs: ASR WER after no
pre-training, after audio-visual pre-training only, and after pre-training + speech-translation mid-training,
the relative improvements, the average relative improvement from mid-training by pre-training method, by
language pair and by pre-training set, and the three findings the paper draws from them.

Nothing is measured here; two TSVs are joined:

- the runs (``recipes/synth/multistage`` stage 7 writes ``exp/runs.tsv``): ``exp`` (an ASR experiment),
  ``objective`` (``mae``, ``clr``, ``mae_clr``, or ``none``: no pre-training), ``data`` (the pre-training set,
  ``none`` without), ``pair`` (the mid-training pair, ``none`` without) and ``seed``;
- the WERs (``asrkit score --results``): the row of each ``exp`` for one decoder and split; ``score`` appends, so
  where a row was scored more than once the last one counts.

Seeds of one cell (objective, data, pair) are averaged; the table gives their mean and, with two or more, their
sample standard deviation (as the paper's "6.84±0.22"). Relative improvement is ``100 * (ref - WER) / ref``
(positive: fewer errors), against no pre-training and against the same method and set pre-trained only.
Figure 3's averages are relative changes of means, as the paper's per-language gains (notes §1.7: "de 8.59, it
18.55, nl 13.11" reproduce only that way): over the mid-trained cells of a group, ``100 * (mean PT-only WER of
their method and set - mean mid-trained WER) / mean PT-only WER``.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

RUN_COLUMNS = ["exp", "objective", "data", "pair", "seed"]
NONE = "none"
METHODS = {"mae": "MAE", "clr": "CLR", "mae_clr": "MAE+CLR", NONE: "No pre-training"}
SETS = {"lrs3": "LRS3", "voxceleb2": "VoxCeleb2", "kinetics": "Kinetics", NONE: ""}
GROUPS = (("objective", "method"), ("pair", "translation pair"), ("data", "pre-training set"))


class ReportError(ValueError):
    pass


def read_table(path: str | Path, columns: list[str], what: str) -> pd.DataFrame:
    """A TSV of strings with ``columns``; a missing, unparsable or incomplete file is a ``ReportError``."""
    if not Path(path).is_file():
        raise ReportError(f"{path}: {what} not found")
    try:
        df = pd.read_csv(path, sep="\t", keep_default_na=False, dtype=str)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise ReportError(f"{path}: not {what} ({' '.join(str(e).split())})") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ReportError(f"{path}: not {what} (no column {', '.join(missing)})")
    return df


def read_runs(runs_tsv: str | Path, results_tsv: str | Path, *, decoder: str = "greedy",
              split: str = "test") -> pd.DataFrame:
    """The runs with their WER (column ``wer``, float); a run without a results row is an error naming it."""
    runs = read_table(runs_tsv, RUN_COLUMNS, "a runs TSV (exp, objective, data, pair, seed)")
    results = read_table(results_tsv, ["exp", "decoder", "split", "wer"], "a results TSV")
    results = results[(results["decoder"] == decoder) & (results["split"] == split)]
    wer = results.groupby("exp")["wer"].last()
    for i, r in enumerate(runs.to_dict("records"), start=2):
        if r["exp"] not in wer.index:
            raise ReportError(f"{runs_tsv}:{i}: {r['exp']} has no {decoder} {split} row in {results_tsv}; score it "
                              "(recipe stage 7) or leave it out of the runs")
        if (r["objective"] == NONE) != (r["data"] == NONE) or (r["objective"] == NONE and r["pair"] != NONE):
            raise ReportError(f"{runs_tsv}:{i}: {r['exp']}: objective {r['objective']!r}, data {r['data']!r}, pair "
                              f"{r['pair']!r}; no pre-training has data and pair '{NONE}', pre-training has both "
                              "objective and data")
    runs = runs.assign(wer=[float(wer[e]) for e in runs["exp"]])
    if not (runs["objective"] == NONE).any():
        raise ReportError(f"{runs_tsv}: no run without pre-training (objective '{NONE}'): relative improvements "
                          "need that baseline")
    return runs


def table1(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per cell (objective, data, pair): ``seeds``, ``wer`` (mean over seeds), ``wer_std`` (sample
    standard deviation, NaN for one seed), ``wer_seeds`` (each seed's, comma-separated), ``rel_vs_none`` and
    ``rel_vs_pt`` (relative improvement in %, over no pre-training and over the cell's PT-only row; NaN where
    there is none). No pre-training first, then methods, sets and pairs in the paper's order."""
    cells = (runs.groupby(["objective", "data", "pair"], sort=False)
             .agg(seeds=("seed", "size"), wer=("wer", "mean"), wer_std=("wer", "std"),
                  wer_seeds=("wer", lambda w: ",".join(f"{x:.2f}" for x in w)))
             .reset_index())
    base = float(cells.loc[cells["objective"] == NONE, "wer"].iloc[0])
    pt = {(r["objective"], r["data"]): r["wer"] for r in cells.to_dict("records") if r["pair"] == NONE}
    cells["rel_vs_none"] = 100.0 * (base - cells["wer"]) / base
    cells.loc[cells["objective"] == NONE, "rel_vs_none"] = float("nan")
    cells["rel_vs_pt"] = [100.0 * (pt[(o, d)] - w) / pt[(o, d)] if p != NONE and (o, d) in pt else float("nan")
                          for o, d, p, w in zip(cells["objective"], cells["data"], cells["pair"], cells["wer"])]
    methods, sets = [NONE, *(m for m in METHODS if m != NONE)], [NONE, *(s for s in SETS if s != NONE)]

    def rank(order: list[str], x: str) -> tuple[int, str]:  # the paper's order, others after it by name
        return (order.index(x), "") if x in order else (len(order), x)

    key = {i: (rank(methods, o), rank(sets, d), (p != NONE, p))
           for i, o, d, p in zip(cells.index, cells["objective"], cells["data"], cells["pair"])}
    return cells.loc[sorted(cells.index, key=key.__getitem__)].reset_index(drop=True)


def midtrain_gains(cells: pd.DataFrame) -> pd.DataFrame:
    """Figure 3: per grouping (method, translation pair, pre-training set) and group, the average relative
    WER improvement from mid-training (relative change of the means, module docstring) over ``cells`` mid-trained
    cells that have a PT-only row, and how many cells it averages."""
    pt = {(r["objective"], r["data"]): r["wer"] for r in cells.to_dict("records")
          if r["pair"] == NONE and r["objective"] != NONE}
    has_pt = pd.Series([(o, d) in pt for o, d in zip(cells["objective"], cells["data"])], index=cells.index)
    mt = cells[(cells["pair"] != NONE) & has_pt]
    mt = mt.assign(pt_wer=[pt[(o, d)] for o, d in zip(mt["objective"], mt["data"])])
    rows = []
    for column, grouping in GROUPS:
        for group, g in mt.groupby(column, sort=False):
            rows.append({"grouping": grouping, "group": group, "cells": len(g),
                         "gain": 100.0 * (g["pt_wer"].mean() - g["wer"].mean()) / g["pt_wer"].mean()})
    return pd.DataFrame(rows, columns=["grouping", "group", "cells", "gain"])


def findings(cells: pd.DataFrame, gains: pd.DataFrame) -> list[str]:
    """The paper's three findings, each as one line: holds, does not hold, or cannot be tested by these runs."""
    lines = []
    pt = cells[(cells["pair"] == NONE) & (cells["objective"] != NONE)]
    common = set(pt.loc[pt["objective"] == "mae", "data"]) & set(pt.loc[pt["objective"] == "clr", "data"])
    if common:
        mae = pt[(pt["objective"] == "mae") & pt["data"].isin(common)]["wer"].mean()
        clr = pt[(pt["objective"] == "clr") & pt["data"].isin(common)]["wer"].mean()
        lines.append(f"MAE > CLR for ASR (pre-training only, {', '.join(sorted(common))}): "
                     f"{'holds' if mae < clr else 'does not hold'} (WER MAE {mae:.2f}, CLR {clr:.2f})")
    else:
        lines.append("MAE > CLR for ASR: not tested (no set pre-trained with both MAE and CLR)")
    by_method = gains[gains["grouping"] == "method"]
    if len(by_method):
        mt = cells[(cells["pair"] != NONE) & (cells["objective"] != NONE)]
        helps, n = float(mt["rel_vs_pt"].mean()), int(mt["rel_vs_pt"].notna().sum())
        line = (f"mid-training helps: {'holds' if helps > 0 else 'does not hold'} (mean relative WER improvement "
                f"over pre-training only {helps:+.1f} % in {n} cell{'s' if n != 1 else ''})")
        if len(by_method) > 1:
            best = by_method.loc[by_method["gain"].idxmax()]
            line += (f"; CLR most: {'holds' if best['group'] == 'clr' else 'does not hold'} ("
                     + ", ".join(f"{METHODS.get(r['group'], r['group'])} {r['gain']:+.1f} %"
                                 for r in by_method.to_dict("records")) + ")")
        else:
            line += "; CLR most: not tested (one method mid-trained)"
        lines.append(line)
    else:
        lines.append("mid-training helps, CLR most: not tested (no mid-trained cell with its pre-training-only row)")
    by_set = gains[gains["grouping"] == "pre-training set"]
    if len(by_set) > 1 and "kinetics" in set(by_set["group"]):
        holds = by_set.loc[by_set["gain"].idxmax(), "group"] == "kinetics"
        lines.append(f"Kinetics gains most from mid-training: {'holds' if holds else 'does not hold'}"
                     " (" + ", ".join(f"{SETS.get(r['group'], r['group'])} {r['gain']:+.1f} %"
                                      for r in by_set.to_dict("records")) + ")")
    else:
        lines.append("Kinetics gains most from mid-training: not tested (needs mid-trained Kinetics cells and another "
                     "set's)")
    return lines


def _fmt(wer: float, std: float, seeds: int) -> str:
    return f"{wer:.2f}" + (f"±{std:.2f}" if seeds > 1 else "")


def table1_markdown(cells: pd.DataFrame, gains: pd.DataFrame, *, title: str = "") -> str:
    """Table 1's layout: a row per method and set, PT only and +MT <pair> columns; each cell the WER, then in
    brackets its relative improvement over no pre-training and (mid-trained cells) over pre-training only.
    Then Figure 3's averages and the findings."""
    pairs = sorted(p for p in cells["pair"].unique() if p != NONE)
    base = cells[cells["objective"] == NONE].iloc[0]
    out = [f"### {title}", ""] if title else []
    out += [f"No pre-training: WER {_fmt(base['wer'], base['wer_std'], base['seeds'])}"
            + (f" (seeds {base['wer_seeds']})" if base["seeds"] > 1 else ""), "",
            "| Method | PT data | PT only | " + " | ".join(f"+MT {p}" for p in pairs) + " |",
            "|---|---|---|" + "---|" * len(pairs)]
    rows = cells[cells["objective"] != NONE]
    for (objective, data), g in rows.groupby(["objective", "data"], sort=False):
        by_pair = {r["pair"]: r for r in g.to_dict("records")}
        cols = []
        for p in [NONE, *pairs]:
            r = by_pair.get(p)
            if r is None:
                cols.append("")
                continue
            rel = f"{r['rel_vs_none']:+.1f} %" + ("" if p == NONE or pd.isna(r["rel_vs_pt"])
                                                  else f" / {r['rel_vs_pt']:+.1f} %")
            cols.append(f"{_fmt(r['wer'], r['wer_std'], r['seeds'])} ({rel})")
        out.append(f"| {METHODS.get(objective, objective)} | {SETS.get(data, data)} | " + " | ".join(cols) + " |")
    out += ["", "WER (%), mean±std over seeds where a cell has several; in brackets the relative WER improvement "
            "over no pre-training / over the same pre-training only (positive: fewer errors).", ""]
    if len(gains):
        out += ["Average relative WER improvement from mid-training (Figure 3; relative change of the means):", "",
                "| grouping | group | cells | improvement |", "|---|---|---|---|"]
        out += [f"| {r['grouping']} | {r['group']} | {r['cells']} | {r['gain']:+.1f} % |"
                for r in gains.to_dict("records")]
        out.append("")
    out += ["Findings of the paper at this scale:", ""] + [f"- {line}" for line in findings(cells, gains)]
    return "\n".join(out) + "\n"


def plot_figure3(gains: pd.DataFrame, out_png: str | Path, *, title: str = "") -> Path:
    """Figure 3's three bar charts: the average relative WER improvement from mid-training by pre-training method
    (left), translation pair (centre) and pre-training set (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_png = Path(out_png)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), sharey=True)
    names = {"method": METHODS, "pre-training set": SETS, "translation pair": {}}
    for ax, (_, grouping) in zip(axes, GROUPS):
        g = gains[gains["grouping"] == grouping]
        labels = [names[grouping].get(x, x) for x in g["group"]]
        bars = ax.bar(labels, g["gain"], color=["tab:green" if v >= 0 else "tab:red" for v in g["gain"]])
        for bar, v, n in zip(bars, g["gain"], g["cells"]):
            ax.annotate(f"{v:+.1f} %\n({n})", (bar.get_x() + bar.get_width() / 2, v), ha="center",
                        va="bottom" if v >= 0 else "top", fontsize=8)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_title(f"by {grouping}", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        if not len(g):
            ax.text(0.5, 0.5, "no mid-trained cells", ha="center", va="center", transform=ax.transAxes)
    axes[0].set_ylabel("avg. relative WER improvement (%)")
    lo, hi = min(0.0, float(gains["gain"].min()) if len(gains) else 0.0), max(0.0, float(gains["gain"].max())
                                                                               if len(gains) else 1.0)
    axes[0].set_ylim(lo - 0.2 * (hi - lo + 1), hi + 0.25 * (hi - lo + 1))  # room for the labels
    fig.suptitle(title or "Relative WER improvement from translation mid-training (cells averaged)", fontsize=10)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png


def multistage_report(runs_tsv: str | Path, results_tsv: str | Path, out_dir: str | Path, *,
                      decoder: str = "greedy", split: str = "test", title: str = "") -> dict[str, Path]:
    """Writes ``table1.tsv`` (:func:`table1`), ``table1.md`` (:func:`table1_markdown`), ``figure3.tsv``
    (:func:`midtrain_gains`) and ``figure3.png`` (:func:`plot_figure3`) into ``out_dir``; returns their paths."""
    cells = table1(read_runs(runs_tsv, results_tsv, decoder=decoder, split=split))
    gains = midtrain_gains(cells)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"table1.tsv": out_dir / "table1.tsv", "table1.md": out_dir / "table1.md",
             "figure3.tsv": out_dir / "figure3.tsv", "figure3.png": out_dir / "figure3.png"}
    cells.to_csv(paths["table1.tsv"], sep="\t", index=False, float_format="%.4g")
    gains.to_csv(paths["figure3.tsv"], sep="\t", index=False, float_format="%.4g")
    title = title or f"{split} WER, {decoder} decoding"
    paths["table1.md"].write_text(table1_markdown(cells, gains, title=title), encoding="utf-8")
    plot_figure3(gains, paths["figure3.png"], title=f"Figure 3 in miniature: {title}")
    return paths
