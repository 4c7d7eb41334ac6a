"""A sweep over pre-training compute: fine-tune identically from checkpoints of one pre-training run taken at
several update counts (and from scratch), and show how the fine-tuned WER falls with the pre-training done
(recipes/synth/w2v2_claims, ``make reproduce-w2v2``).

Planning (:func:`plan_sweep`): a recipe with a wall-time budget asks how many pre-training updates fit it on the
machine at hand. It has timed a few updates of the real pre-training and fine-tuning configs (``asrkit pretrain
--estimate``, ``asrkit finetune --estimate``); what is left of the budget after the time already spent, a safety
margin, the fine-tuning runs and their decodes goes to pre-training. The sweep points are ``first``, twice that,
... below the chosen total, and the total; each adds a fine-tuning run and its decodes, so the number of points
and the total are chosen together (:func:`plan_sweep`'s loop). The arithmetic is here, not in the recipe, so that
it is tested.

Report (:func:`sweep_rows`, :func:`sweep_table`, :func:`plot_sweep`): per fine-tuned experiment of a results TSV
(``asrkit score --results``), the pre-training checkpoint it started from (its ``config.yaml``'s
``model.init_checkpoint``): that checkpoint's updates, the training audio its updates held (counted by the
trainer, ``audio_seconds``; else the batch budget's upper bound, marked), the pre-training run's validation
contrastive accuracy at that update (``metrics.tsv``), and the experiment's WER per split and decoder.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .train.budget import Timing, updates_for_budget, wall_time

FIRST = 800  # the first sweep point: the demo's pre-training length (w2v2_tiny)
# test_unseen_engine(_tel): the built-in corpus's held-out engine and speaker, clean and telephone (issue 23)
SPLITS = ("dev", "test", "test_unseen_engine", "test_unseen_engine_tel")
DECODERS = ("greedy", "4gram")


class SweepError(ValueError):
    pass


# --------------------------------------------------------------------------------------------------------------
# planning


def doubling_points(limit: int, first: int = FIRST, factor: int = 2) -> list[int]:
    """``first``, ``first * factor``, ... up to ``limit``."""
    if first < 1 or factor < 2:
        raise SweepError(f"sweep points need first >= 1 and factor >= 2 (got {first}, {factor})")
    points, p = [], first
    while p <= limit:
        points.append(p)
        p *= factor
    return points


def sweep_points(total: int, first: int = FIRST, *, factor: int = 2, gap: float = 0.25) -> list[int]:
    """The pre-training updates to fine-tune from: ``first``, ``first * factor``, ... below ``total``, leaving
    out one within ``gap * total`` of it (nearly the same model as the last), and ``total``."""
    if total < 1:
        raise SweepError(f"a sweep needs >= 1 pre-training update (got {total})")
    return [p for p in doubling_points(total, first, factor) if total - p >= gap * total] + [total]


@dataclass(frozen=True)
class Costs:
    """What the rest of a sweep costs, in seconds: one fine-tuning run (its timed estimate and its start-up),
    the decodes of one fine-tuned model, and what does not grow with the sweep (scoring, the report)."""

    finetune_run: float
    decode_model: float
    fixed: float = 60.0


def timing_from_estimate(est: Mapping) -> Timing:
    """The ``Timing`` an ``asrkit pretrain --estimate --estimate-out`` file holds."""
    try:
        return Timing(float(est["seconds_per_update"]), float(est["audio_seconds_per_update"]),
                      float(est["validation_seconds"]), float(est["save_seconds"]), int(est["timed_updates"]),
                      str(est["device"]), str(est["precision"]), str(est["cpu"]))
    except (KeyError, TypeError, ValueError) as e:
        raise SweepError(f"not an estimate file of `asrkit pretrain --estimate` ({e})") from None


def plan_sweep(pretrain: Mapping, costs: Costs, *, budget_seconds: float, elapsed_seconds: float = 0.0,
               updates: int | None = None, max_updates: int = 6400, first: int = FIRST, extra_runs: int = 3,
               margin: float = 0.2) -> dict:
    """The sweep to run: its pre-training updates (``updates``, or with None the most that fit the budget, up
    to ``max_updates``), its points and its estimated wall time, as plain data for ``plan.yaml``.

    ``pretrain``: an ``asrkit pretrain --estimate`` file (timing, ``valid_every``, ``save_every``). The budget
    counts from the start of the whole run: ``elapsed_seconds`` are spent already. Of the rest, ``margin`` is
    kept back (timings on a shared machine drift); fine-tuning runs: one per sweep point, plus ``extra_runs``
    (the recipe's: from scratch on 10 minutes, and from the last checkpoint and from scratch on 1 hour), each
    decoded. More points mean more runs: the number of points and the total are chosen together, the most
    points first."""
    timing = timing_from_estimate(pretrain)
    cadence = dict(valid_every=int(pretrain["valid_every"]), save_every=int(pretrain["save_every"]))
    if not 0 <= margin < 1:
        raise SweepError(f"margin {margin}: must be in [0, 1)")
    per_run = costs.finetune_run + costs.decode_model
    left = (budget_seconds - elapsed_seconds) * (1 - margin) - costs.fixed  # for pre-training and the runs

    if updates is not None:  # given: its points, and whether it fits
        n, points = updates, sweep_points(updates, first)
    else:
        if max_updates < 1:
            raise SweepError(f"max_updates {max_updates}: must be >= 1")
        candidates = doubling_points(max_updates, first)
        for k in range(len(sweep_points(max_updates, first)) - 1, -1, -1):  # intermediate points, most first
            budget = left - (k + 1 + extra_runs) * per_run
            saves = candidates[:k]  # the intermediate points, if the total leaves room for k of them
            n = min(max_updates, updates_for_budget(budget, timing, save_updates=saves, **cadence)) \
                if budget > 0 else 0
            if n >= 1 and len(sweep_points(n, first)) - 1 >= k:
                break
        if n < 1:
            raise SweepError(
                f"the budget leaves no time for pre-training: {budget_seconds / 60:.0f} min, {elapsed_seconds / 60:.0f}"
                f" spent, {margin:.0%} kept back, {1 + extra_runs} fine-tuning runs and their decodes at "
                f"{per_run / 60:.1f} min each; give a larger budget or the number of updates")
        points = sweep_points(n, first)[:-1][:k] + [n]
    runs = len(points) + extra_runs
    pretrain_s = wall_time(n, timing, save_updates=points, **cadence)
    total = elapsed_seconds + pretrain_s + runs * per_run + costs.fixed
    return {
        "updates": n, "points": points, "chosen": "given" if updates is not None else "auto",
        "capped": updates is None and n == max_updates, "max_updates": max_updates, "first": first,
        "budget_seconds": budget_seconds, "elapsed_seconds": elapsed_seconds, "margin": margin,
        "pretrain_seconds": pretrain_s, "audio_hours": n * timing.audio_seconds_per_update / 3600,
        "finetune_runs": runs, "finetune_seconds_per_run": costs.finetune_run,
        "decode_seconds_per_model": costs.decode_model, "fixed_seconds": costs.fixed,
        "estimated_total_seconds": total, "fits": total <= budget_seconds,
        "seconds_per_update": timing.seconds_per_update, "cpu": timing.cpu, "device": timing.device,
        "precision": timing.precision,
    }


# --------------------------------------------------------------------------------------------------------------
# report

COLUMNS = ["labels", "exp", "pretrain_updates", "audio_hours", "audio_counted", "valid_accuracy",
           *(f"{s}_{d}" for s in SPLITS for d in DECODERS)]


@dataclass(frozen=True)
class Origin:
    """The pre-training checkpoint a fine-tuned model started from (0 updates: from scratch)."""

    updates: int = 0
    audio_hours: float = 0.0
    audio_counted: bool = True  # False: the batch budget's upper bound (a checkpoint from before the count)
    valid_accuracy: float = math.nan


def _yaml(path: Path) -> dict:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise SweepError(f"{path}: cannot read it ({' '.join(str(e).split())})") from None


def checkpoint_origin(checkpoint: str | Path) -> Origin:
    """Updates, audio seen and validation accuracy of a pre-training checkpoint ("" = from scratch)."""
    from .checkpoint import CheckpointError, read_checkpoint
    from .train.metrics import read_metrics

    if not str(checkpoint):
        return Origin()
    path = Path(checkpoint)
    try:
        ckpt = read_checkpoint(path, kinds=("pretrain",))
    except (OSError, CheckpointError) as e:
        raise SweepError(f"{path}: cannot read the pre-training checkpoint ({e})") from None
    trainer = ckpt.trainer or {}
    updates = ckpt.num_updates
    seconds = trainer.get("audio_seconds")
    counted = seconds is not None
    if not counted:  # at most max_tokens x update_freq per update (one process)
        task = ckpt.task or {}
        seconds = updates * task.get("trainer", {}).get("max_tokens", math.nan) \
            * task.get("optim", {}).get("update_freq", 1) / task.get("data", {}).get("sample_rate", 16000)
    accuracy = math.nan
    metrics = path.parent / "metrics.tsv"
    if metrics.is_file():
        accuracy = dict(read_metrics(metrics).get("valid", {}).get("accuracy", [])).get(updates, math.nan)
    return Origin(updates, float(seconds) / 3600, counted, accuracy)


def sweep_rows(results_tsv: str | Path, exp_dir: str | Path, exps: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per fine-tuned experiment of ``results_tsv`` (or of ``exps``), its pre-training origin and its
    WERs (:data:`COLUMNS`; NaN where a split/decoder was not scored), sorted by labels then updates. Each
    experiment is ``exp_dir/<exp>``, its ``config.yaml`` naming its training manifest (labels: the manifest's
    name, ``10m``) and its init checkpoint (a relative path: from the current directory, else from the directory
    ``exp_dir`` is in, where a recipe ran)."""
    from .score import read_results

    try:
        results = read_results(results_tsv)
    except (OSError, ValueError) as e:
        raise SweepError(str(e)) from None
    missing = [c for c in ("exp", "decoder", "split", "wer") if c not in results.columns]
    if missing:
        raise SweepError(f"{results_tsv}: not a results TSV (no column {', '.join(missing)})")
    names = list(exps) if exps else list(dict.fromkeys(results["exp"]))
    rows = []
    for name in names:
        config = Path(exp_dir) / name / "config.yaml"
        if not config.is_file():
            raise SweepError(f"{config}: not found (experiment {name!r} of {results_tsv})")
        cfg = _yaml(config)
        manifest = (cfg.get("data") or {}).get("train_manifest")
        if not manifest or "init_checkpoint" not in (cfg.get("model") or {}):
            raise SweepError(f"{config}: not a fine-tuning config (no data.train_manifest / model.init_checkpoint)")
        init = cfg["model"]["init_checkpoint"] or ""
        if init and not Path(init).is_absolute() and not Path(init).exists():  # run elsewhere than the recipe
            beside = Path(exp_dir).resolve().parent / init  # a recipe's exp/ sits in the directory it ran from
            init = str(beside) if beside.exists() else init
        origin = checkpoint_origin(init)
        row = {"labels": Path(manifest).stem, "exp": name, "pretrain_updates": origin.updates,
               "audio_hours": origin.audio_hours, "audio_counted": origin.audio_counted,
               "valid_accuracy": origin.valid_accuracy}
        mine = results[results["exp"] == name]
        for split in SPLITS:
            for decoder in DECODERS:
                wer = mine[(mine["split"] == split) & (mine["decoder"] == decoder)]["wer"]
                row[f"{split}_{decoder}"] = float(wer.iloc[-1]) if len(wer) else math.nan  # score appends
        rows.append(row)
    if not rows:
        raise SweepError(f"{results_tsv}: no experiment")
    df = pd.DataFrame(rows, columns=COLUMNS)
    order = sorted(range(len(df)), key=lambda i: (_labels_minutes(df.loc[i, "labels"]), df.loc[i, "pretrain_updates"]))
    return df.loc[order].reset_index(drop=True)


def _labels_minutes(labels: str) -> float:
    """10m -> 10, 1h -> 60; other names after those."""
    try:
        return float(labels[:-1]) * {"m": 1, "h": 60}[labels[-1]]
    except (KeyError, ValueError, IndexError):
        return math.inf


def label_size_effect(df: pd.DataFrame, column: str = "test_greedy") -> list[dict]:
    """Per labels split: the scratch WER, the WER from its most pre-trained checkpoint and the gain (absolute,
    relative). The paper's label-size effect: the gain shrinks as the labels grow."""
    out = []
    for labels, group in df.groupby("labels", sort=False):
        scratch, trained = group[group["pretrain_updates"] == 0], group[group["pretrain_updates"] > 0]
        if scratch.empty or trained.empty:
            continue
        best = trained.loc[trained["pretrain_updates"].idxmax()]
        s, t = float(scratch[column].iloc[-1]), float(best[column])
        out.append({"labels": labels, "pretrain_updates": int(best["pretrain_updates"]), "scratch": s,
                    "pretrained": t, "gain": s - t, "relative_gain": (s - t) / s if s else math.nan})
    return out


def effect_verdict(effect: Sequence[dict]) -> str:
    """Whether the gain from pre-training shrinks from the fewest labels to the most, in words."""
    if len(effect) < 2 or any(math.isnan(e["gain"]) for e in effect):
        return "label-size effect: needs scratch and pre-trained WERs on two label sizes"
    few, many = effect[0], effect[-1]
    gains = f"{few['gain']:+.1f} WER points with {few['labels']} of labels, {many['gain']:+.1f} with {many['labels']}"
    if few["gain"] <= 0:
        return f"label-size effect not shown: pre-training does not lower the WER with {few['labels']} here ({gains})"
    return f"label-size effect {'holds' if few['gain'] > many['gain'] else 'does not hold'}: pre-training gains {gains}"


def _fmt(v, digits: int = 1) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def sweep_table(df: pd.DataFrame, title: str):
    """The rows as a rich table: test WER (the headline) first, dev WER after (its 4-gram tuned on dev)."""
    from rich.table import Table

    table = Table(title=title)
    unseen = [c for c in ("test_unseen_engine_greedy", "test_unseen_engine_4gram", "test_unseen_engine_tel_greedy",
                          "test_unseen_engine_tel_4gram") if c in df.columns and df[c].notna().any()]
    names = {"test_unseen_engine_greedy": "unseen engine greedy", "test_unseen_engine_4gram": "unseen engine 4-gram",
             "test_unseen_engine_tel_greedy": "unseen, telephone greedy",
             "test_unseen_engine_tel_4gram": "unseen, telephone 4-gram"}
    for col in ("labels", "pre-training updates", "audio seen (h)", "valid acc.", "test greedy", "test 4-gram",
                *(names[c] for c in unseen), "dev greedy", "dev 4-gram (tuned on dev)"):
        table.add_column(col, justify="left" if col == "labels" else "right")
    for r in df.to_dict("records"):
        hours = _fmt(r["audio_hours"], 1 if r["audio_hours"] >= 10 else 2) + ("" if r["audio_counted"] else " (≤)")
        table.add_row(r["labels"], "scratch" if r["pretrain_updates"] == 0 else str(r["pretrain_updates"]), hours,
                      _fmt(r["valid_accuracy"], 3), _fmt(r["test_greedy"]), _fmt(r["test_4gram"]),
                      *(_fmt(r[c]) for c in unseen), _fmt(r["dev_greedy"]), _fmt(r["dev_4gram"]))
    return table


def plot_sweep(df: pd.DataFrame, out_png: str | Path, split: str = "test") -> Path:
    """Fine-tuned WER (greedy and 4-gram) against pre-training updates, per labels split, audio hours seen on
    the top axis; each split's from-scratch WERs as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    out_png = Path(out_png)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (labels, group) in enumerate(df.groupby("labels", sort=False)):
        color = colors[i % len(colors)]
        trained, scratch = group[group["pretrain_updates"] > 0], group[group["pretrain_updates"] == 0]
        for decoder, style, marker in (("greedy", "-", "o"), ("4gram", "--", "s")):
            col = f"{split}_{decoder}"
            if not trained[col].isna().all():
                ax.plot(trained["pretrain_updates"], trained[col], style, marker=marker, color=color,
                        label=f"{labels}, {decoder}")
            if not scratch.empty and not math.isnan(scratch[col].iloc[-1]):
                ax.axhline(scratch[col].iloc[-1], linestyle=style, color=color, alpha=0.45, linewidth=1,
                           label=f"{labels}, {decoder}, from scratch")
    ax.set_xlabel("pre-training updates")
    ax.set_ylabel(f"{split} WER (%)")
    ax.set_title(f"{split} WER after identical fine-tuning vs pre-training compute", fontsize=10)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    known = df[(df["pretrain_updates"] > 0) & df["audio_hours"].notna()].sort_values("pretrain_updates")
    known = known.drop_duplicates("pretrain_updates")
    if len(known):
        xs = np.concatenate([[0.0], known["pretrain_updates"].to_numpy(float)])
        hs = np.concatenate([[0.0], known["audio_hours"].to_numpy(float)])
        if np.all(np.diff(hs) > 0):  # piecewise linear between the checkpoints, at the mean rate past them
            rate = hs[-1] / xs[-1]

            def hours(u):
                u = np.asarray(u, float)
                return np.interp(u, xs, hs) + np.where(u > xs[-1], (u - xs[-1]) * rate, np.minimum(u, 0) * rate)

            def updates(h):
                h = np.asarray(h, float)
                return np.interp(h, hs, xs) + np.where(h > hs[-1], (h - hs[-1]) / rate, np.minimum(h, 0) / rate)

            ax.secondary_xaxis("top", functions=(hours, updates)).set_xlabel("hours of audio seen in pre-training")
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png
