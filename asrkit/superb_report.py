"""The multi-stage paper's Figure 2 (Jain et al., 2024) from SUPERB runs: how speech-translation mid-training
changes each task of an MAE+CLR upstream, as a relative performance improvement (higher is better).

Nothing is measured here; two TSVs are joined:

- the runs (``recipes/synth/superb`` stage 7 writes ``exp/superb_runs.tsv``): ``exp_dir`` (an ``asrkit superb``
  experiment), ``task``, ``objective``, ``data`` (the pre-training set), ``pair`` (the mid-training pair,
  ``none`` for the pre-trained upstream);
- the scores (``asrkit superb --results``): the row of each ``exp_dir`` (``metric``, ``value``).

Relative improvement of a mid-trained upstream over the same pre-training without mid-training: for accuracy
(KS, IC) ``100 * (acc_mid - acc_pt) / acc_pt``, for error rates (PR's PER, SD's DER) ``100 * (err_pt - err_mid)
/ err_pt``, so positive always means better. Figure 2 aggregates over datasets and languages: the mean of the
relative improvements of the task's (set, pair) cells. The paper's signs: KS, IC and PR improve, SD gets worse.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .multistage_report import ReportError, read_table
from .train.metrics import save_figure

RUN_COLUMNS = ["exp_dir", "task", "objective", "data", "pair"]
NONE = "none"
TASK_NAMES = {"ks": "KS", "ic": "IC", "pr": "PR", "sd": "SD"}
PAPER_SIGN = {"ks": +1, "ic": +1, "pr": +1, "sd": -1}  # Figure 2: up, up, up, down
HIGHER_IS_BETTER = {"accuracy": True, "per": False, "der": False}


def relative_improvement(metric: str, pretrained: float, midtrained: float) -> float:
    """Positive when mid-training helps (see the module doc)."""
    if metric not in HIGHER_IS_BETTER:
        raise ReportError(f"unknown metric {metric!r}")
    if pretrained == 0:
        return float("nan")
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    return 100.0 * sign * (midtrained - pretrained) / pretrained


def figure2(runs: pd.DataFrame, results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(cells, aggregate)``: each mid-trained cell against its pre-trained one, and the mean per task."""
    results = results.drop_duplicates("exp_dir", keep="last").set_index("exp_dir")
    missing = [e for e in runs["exp_dir"] if e not in results.index]
    if missing:
        raise ReportError(f"no result for {len(missing)} run(s), e.g. {missing[0]}: run their asrkit superb first")
    df = runs.assign(metric=[results.at[e, "metric"] for e in runs["exp_dir"]],
                     value=[float(results.at[e, "value"]) for e in runs["exp_dir"]])
    cells = []
    for (task, objective, data), group in df.groupby(["task", "objective", "data"], sort=False):
        base = group[group["pair"] == NONE]
        if base.empty:
            raise ReportError(f"{task} {objective} {data}: no run without mid-training (pair none) to compare with")
        pt = float(base["value"].mean())
        for pair, mid in group[group["pair"] != NONE].groupby("pair", sort=False):
            mt = float(mid["value"].mean())
            metric = str(mid["metric"].iloc[0])
            cells.append({"task": task, "objective": objective, "data": data, "pair": pair, "metric": metric,
                          "pretrained": pt, "midtrained": mt,
                          "relative_improvement": relative_improvement(metric, pt, mt)})
    cells = pd.DataFrame(cells)
    if cells.empty:
        raise ReportError("no mid-trained run to compare: the runs TSV needs rows with a pair other than none")
    agg = cells.groupby("task", sort=False).agg(metric=("metric", "first"), cells=("pair", "size"),
                                                 relative_improvement=("relative_improvement", "mean")).reset_index()
    agg["paper"] = ["up" if PAPER_SIGN.get(t, 0) > 0 else "down" for t in agg["task"]]
    agg["here"] = ["up" if v > 0 else "down" if v < 0 else "flat" for v in agg["relative_improvement"]]
    agg["holds"] = agg["paper"] == agg["here"]
    order = {t: i for i, t in enumerate(TASK_NAMES)}
    agg = agg.sort_values("task", key=lambda s: s.map(order)).reset_index(drop=True)
    return cells, agg


def _markdown(cells: pd.DataFrame, agg: pd.DataFrame) -> str:
    lines = ["# Figure 2 in miniature: relative improvement from mid-training on SUPERB (higher is better)", "",
             "| task | metric | cells | relative improvement (%) | paper | here | holds |", "|---|---|---|---|---|---|---|"]
    for r in agg.itertuples():
        lines.append(f"| {TASK_NAMES.get(r.task, r.task)} | {r.metric} | {r.cells} | {r.relative_improvement:+.2f} | "
                     f"{r.paper} | {r.here} | {'yes' if r.holds else 'no'} |")
    lines += ["", "| task | objective | pre-training set | pair | metric | pre-trained | + mid-training | rel. (%) |",
              "|---|---|---|---|---|---|---|---|"]
    for r in cells.itertuples():
        lines.append(f"| {TASK_NAMES.get(r.task, r.task)} | {r.objective} | {r.data} | {r.pair} | {r.metric} | "
                     f"{r.pretrained:.2f} | {r.midtrained:.2f} | {r.relative_improvement:+.2f} |")
    return "\n".join(lines) + "\n"


def plot_figure2(agg: pd.DataFrame, out_png: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 2.8))
    values = agg["relative_improvement"].tolist()
    ax.bar([TASK_NAMES.get(t, t) for t in agg["task"]], values,
           color=["tab:green" if v > 0 else "tab:red" for v in values])
    ax.axhline(0, color="black", lw=0.8)
    for i, (v, sign) in enumerate(zip(values, agg["paper"])):
        ax.annotate(f"{v:+.1f}%\n(paper: {sign})", (i, v), ha="center", va="bottom" if v >= 0 else "top", fontsize=7)
    ax.set_ylabel("relative improvement (%)")
    ax.set_title("mid-training on SUPERB (MAE+CLR), higher is better", fontsize=9)
    ax.margins(y=0.3)
    fig.tight_layout()
    return save_figure(fig, out_png, dpi=130)


def plot_layer_weights(runs: pd.DataFrame, results: pd.DataFrame, out_png: Path) -> Path:
    """One row per run (task, upstream): the weighted sum's softmax weight of each hidden state."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    results = results.drop_duplicates("exp_dir", keep="last").set_index("exp_dir")
    rows, labels = [], []
    for r in runs.itertuples():
        if r.exp_dir in results.index and "layer_weights" in results.columns:
            rows.append(json.loads(results.at[r.exp_dir, "layer_weights"]))
            labels.append(f"{TASK_NAMES.get(r.task, r.task)} {r.objective}/{r.data}"
                          + ("" if r.pair == NONE else f"+{r.pair}"))
    width = max(len(w) for w in rows)
    grid = np.full((len(rows), width), np.nan)
    for i, w in enumerate(rows):
        grid[i, : len(w)] = w
    fig, ax = plt.subplots(figsize=(1.6 + 0.5 * width, 0.9 + 0.28 * len(rows)))
    im = ax.imshow(grid, aspect="auto", cmap="viridis")
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xticks(range(width))
    ax.set_xlabel("hidden state (0: the blocks' input)")
    fig.colorbar(im, ax=ax, label="weight")
    fig.tight_layout()
    return save_figure(fig, out_png, dpi=130)


def superb_report(runs_tsv: str | Path, results_tsv: str | Path, out_dir: str | Path) -> dict[str, Path]:
    runs = read_table(runs_tsv, RUN_COLUMNS, "runs table")
    results = read_table(results_tsv, ["exp_dir", "metric", "value"], "results table")
    cells, agg = figure2(runs, results)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"figure2.tsv": out / "figure2.tsv", "figure2_cells.tsv": out / "figure2_cells.tsv",
             "figure2.md": out / "figure2.md"}
    agg.to_csv(paths["figure2.tsv"], sep="\t", index=False)
    cells.to_csv(paths["figure2_cells.tsv"], sep="\t", index=False)
    paths["figure2.md"].write_text(_markdown(cells, agg), encoding="utf-8")
    paths["figure2.png"] = plot_figure2(agg, out / "figure2.png")
    paths["layer_weights.png"] = plot_layer_weights(runs, results, out / "layer_weights.png")
    return paths
