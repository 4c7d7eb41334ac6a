"""asrkit.sweep: the budget arithmetic of a sweep over pre-training compute, and its report (the join of results,
configs, checkpoints and metrics; the table; the plot) on small synthetic experiments."""
import math

import pytest
import yaml
from click.testing import CliRunner

from asrkit.checkpoint import checkpoint_header, save_checkpoint
from asrkit.cli import cli
from asrkit.models.wav2vec2 import Wav2Vec2Config
from asrkit.sweep import (Costs, SweepError, effect_verdict, label_size_effect, plan_sweep, plot_sweep,
                          sweep_points, sweep_rows, sweep_table)
from asrkit.train.budget import wall_time

ESTIMATE = {"seconds_per_update": 0.9, "audio_seconds_per_update": 40.0, "validation_seconds": 20.0,
            "save_seconds": 0.5, "timed_updates": 20, "device": "cpu", "precision": "bf16", "cpu": "test",
            "valid_every": 800, "save_every": 400}
COSTS = Costs(finetune_run=300.0, decode_model=150.0, fixed=60.0)


@pytest.mark.parametrize("total, first, points", [
    (6400, 800, [800, 1600, 3200, 6400]),
    (3500, 800, [800, 1600, 3500]),  # 3200 is within a quarter of 3500: nearly the same model
    (4300, 800, [800, 1600, 3200, 4300]),
    (4000, 800, [800, 1600, 4000]),
    (1000, 800, [1000]),
    (500, 800, [500]),
    (4, 2, [2, 4]),
])
def test_sweep_points_double_below_the_total(total, first, points):
    assert sweep_points(total, first) == points


def _timing_args():
    from asrkit.sweep import timing_from_estimate

    return timing_from_estimate(ESTIMATE), dict(valid_every=800, save_every=400)


@pytest.mark.parametrize("minutes", [50, 60, 90, 120, 150, 200])
@pytest.mark.parametrize("elapsed", [0.0, 600.0])
def test_auto_plan_spends_the_budget_and_reserves_a_run_per_point(minutes, elapsed):
    """What is left after the time spent and the margin holds pre-training and one fine-tuning run (and its
    decodes) per sweep point plus the three others; one more update would not fit (or the cap is reached)."""
    plan = plan_sweep(ESTIMATE, COSTS, budget_seconds=minutes * 60, elapsed_seconds=elapsed, margin=0.1)
    timing, cadence = _timing_args()
    n, points = plan["updates"], plan["points"]
    assert points[-1] == n and points[:-1] == [p for p in (800, 1600, 3200) if p < n][:len(points) - 1]
    assert plan["finetune_runs"] == len(points) + 3
    left = (minutes * 60 - elapsed) * 0.9 - COSTS.fixed - plan["finetune_runs"] * 450.0
    assert wall_time(n, timing, save_updates=points, **cadence) <= left
    assert plan["capped"] or wall_time(n + 1, timing, save_updates=points, **cadence) > left
    assert plan["estimated_total_seconds"] <= elapsed + (minutes * 60 - elapsed) * 0.9 and plan["fits"]
    assert plan["audio_hours"] == pytest.approx(n * 40 / 3600)


def test_auto_plan_takes_fewer_points_when_another_run_would_not_leave_room_for_them():
    """The points and the total are chosen together, never a point without its reserved run: in 50 min, a run
    from 800 updates would leave too few updates for 800 to be a point (1220 without it)."""
    plan = plan_sweep(ESTIMATE, COSTS, budget_seconds=50 * 60, margin=0.0)
    assert plan["points"] == [plan["updates"]] and sweep_points(plan["updates"]) == [800, plan["updates"]]
    for minutes in range(33, 240, 3):
        plan = plan_sweep(ESTIMATE, COSTS, budget_seconds=minutes * 60, margin=0.0)
        assert plan["finetune_runs"] == len(plan["points"]) + 3 and plan["fits"], minutes


def test_auto_plan_is_capped_and_a_given_number_is_taken_as_it_is():
    plan = plan_sweep({**ESTIMATE, "seconds_per_update": 0.01}, COSTS, budget_seconds=7200, max_updates=6400)
    assert plan["updates"] == 6400 and plan["capped"] and plan["points"] == [800, 1600, 3200, 6400]
    given = plan_sweep(ESTIMATE, COSTS, budget_seconds=600, updates=3000)
    assert (given["updates"], given["points"], given["chosen"], given["capped"]) == (3000, [800, 1600, 3000],
                                                                                     "given", False)
    assert not given["fits"]  # 45 min of pre-training alone: told, not changed


def test_a_budget_with_no_room_for_pretraining_is_an_error():
    with pytest.raises(SweepError, match="no time for pre-training"):
        plan_sweep(ESTIMATE, COSTS, budget_seconds=1800)  # 4 runs x 7.5 min = the whole budget


def test_plan_cli_writes_the_plan_and_its_request(tmp_path):
    pre, fine = tmp_path / "pre.yaml", tmp_path / "fine.yaml"
    pre.write_text(yaml.safe_dump(ESTIMATE))
    fine.write_text(yaml.safe_dump({"estimated_seconds": 280.0, "max_updates": 600}))
    out = tmp_path / "plan" / "plan.yaml"
    res = CliRunner().invoke(cli, ["sweep", "plan", "--pretrain-estimate", str(pre), "--finetune-estimate", str(fine),
                                   "--budget-minutes", "120", "--elapsed-seconds", "400", "--request", "a=1 b=2",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    plan = yaml.safe_load(out.read_text())
    expected = plan_sweep(ESTIMATE, Costs(300.0, 90.0, 60.0), budget_seconds=7200, elapsed_seconds=400)
    assert plan["updates"] == expected["updates"] and plan["points"] == expected["points"]
    assert plan["request"] == "a=1 b=2" and plan["finetune_updates"] == 600
    assert "pre-training updates" in res.output
    bad = CliRunner().invoke(cli, ["sweep", "plan", "--pretrain-estimate", str(fine), "--finetune-estimate",
                                   str(fine), "--out", str(out)])
    assert bad.exit_code == 1 and "estimate" in bad.output


# --- the report --------------------------------------------------------------------------------------------------

WERS = {  # exp: (labels, init update or None, {split_decoder: wer})
    "scratch_10m": ("10m", None, {"test_greedy": 80.0, "test_4gram": 50.0, "dev_greedy": 78.0, "dev_4gram": 45.0}),
    "pt2_10m": ("10m", 2, {"test_greedy": 70.0, "test_4gram": 42.0, "dev_greedy": 69.0, "dev_4gram": 40.0}),
    "pt4_10m": ("10m", 4, {"test_greedy": 60.0, "test_4gram": 35.0, "dev_greedy": 58.0, "dev_4gram": 33.0}),
    "scratch_1h": ("1h", None, {"test_greedy": 50.0, "test_4gram": 30.0, "dev_greedy": 49.0, "dev_4gram": 29.0}),
    "pt4_1h": ("1h", 4, {"test_greedy": 45.0, "test_4gram": 28.0}),  # its dev decodes missing
}


@pytest.fixture
def sweep_exp(tmp_path):
    """A recipe's exp/ in miniature: a pre-training run (checkpoints at 2 and 4 updates, metrics), fine-tuning
    configs naming their init checkpoints, a results TSV."""
    exp = tmp_path / "exp"
    pre = exp / "pretrain"
    header = checkpoint_header("pretrain", Wav2Vec2Config(),
                               task={"trainer": {"max_tokens": 640000}, "optim": {"update_freq": 1},
                                     "data": {"sample_rate": 16000}})
    for n, audio in ((2, 72.0), (4, 144.0)):
        trainer = {"num_updates": n, **({"audio_seconds": audio} if n == 2 else {})}  # 4: from before the count
        save_checkpoint({**header, "model": {}, "trainer": trainer}, pre, n, keep_last=0)
    pre.joinpath("metrics.tsv").write_text("split\tupdate\tmetric\tvalue\n" + "".join(
        f"valid\t{n}\taccuracy\t{acc}\nvalid\t{n}\tloss\t3.0\n" for n, acc in ((2, 0.25), (3, 0.3), (4, 0.4))))
    lines = ["exp\tdecoder\tsplit\twer\tcer"]
    for name, (labels, init, wers) in WERS.items():
        (exp / name).mkdir(parents=True)
        ckpt = str(pre / f"checkpoint_{init}.pt") if init else ""
        (exp / name / "config.yaml").write_text(yaml.safe_dump(
            {"model": {"init_checkpoint": ckpt, "arch": "demo"}, "data": {"train_manifest": f"data/{labels}.tsv"}}))
        lines += [f"{name}\t{k.split('_')[1]}\t{k.split('_')[0]}\t{v}\t1.0" for k, v in wers.items()]
    lines.append("pt4_10m\tgreedy\ttest\t61.0\t1.0")  # scored again: the last row counts
    (exp / "results.tsv").write_text("\n".join(lines) + "\n")
    return exp


def test_rows_join_each_finetuned_model_with_its_pretraining(sweep_exp):
    df = sweep_rows(sweep_exp / "results.tsv", sweep_exp)
    assert list(df["exp"]) == ["scratch_10m", "pt2_10m", "pt4_10m", "scratch_1h", "pt4_1h"]  # labels, then updates
    assert list(df["pretrain_updates"]) == [0, 2, 4, 0, 4] and list(df["labels"]) == ["10m"] * 3 + ["1h"] * 2
    r = df.set_index("exp")
    assert r.loc["pt2_10m", "audio_hours"] == pytest.approx(72 / 3600) and r.loc["pt2_10m", "audio_counted"]
    assert r.loc["pt4_10m", "audio_hours"] == pytest.approx(4 * 40 / 3600)  # 4 x 640000 samples: the bound
    assert not r.loc["pt4_10m", "audio_counted"]
    assert r.loc["pt2_10m", "valid_accuracy"] == 0.25 and r.loc["pt4_1h", "valid_accuracy"] == 0.4
    assert math.isnan(r.loc["scratch_10m", "valid_accuracy"]) and r.loc["scratch_10m", "audio_hours"] == 0
    assert r.loc["pt4_10m", "test_greedy"] == 61.0 and math.isnan(r.loc["pt4_1h", "dev_greedy"])


def test_label_size_effect_compares_the_gains(sweep_exp):
    df = sweep_rows(sweep_exp / "results.tsv", sweep_exp)
    effect = label_size_effect(df)
    assert [(e["labels"], e["pretrain_updates"], e["gain"]) for e in effect] == [("10m", 4, 19.0), ("1h", 4, 5.0)]
    assert effect_verdict(effect).startswith("label-size effect holds")
    flipped = df.assign(test_greedy=[80.0, 70.0, 75.0, 50.0, 20.0])
    assert effect_verdict(label_size_effect(flipped)).startswith("label-size effect does not hold")
    assert "needs" in effect_verdict(label_size_effect(df[df["labels"] == "10m"]))
    useless = df.assign(test_greedy=[80.0, 85.0, 82.0, 50.0, 55.0])  # pre-training hurts with 10m
    assert effect_verdict(label_size_effect(useless)).startswith("label-size effect not shown")


def test_table_and_plot(sweep_exp, tmp_path):
    from rich.console import Console

    df = sweep_rows(sweep_exp / "results.tsv", sweep_exp)
    console = Console(width=200, record=True)
    console.print(sweep_table(df, "sweep"))
    text = console.export_text()
    assert "scratch" in text and "61.0" in text and "0.250" in text and "(≤)" in text
    png = plot_sweep(df, tmp_path / "sweep.png")
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000


def test_report_cli_writes_tsv_and_png(sweep_exp):
    res = CliRunner().invoke(cli, ["sweep", "report", str(sweep_exp / "results.tsv"), "--out",
                                   str(sweep_exp / "sweep.tsv"), "--plot", str(sweep_exp / "sweep.png")])
    assert res.exit_code == 0, res.output
    assert "label-size effect holds" in res.output
    rows = (sweep_exp / "sweep.tsv").read_text().splitlines()
    assert rows[0].split("\t")[:3] == ["labels", "exp", "pretrain_updates"] and len(rows) == 6
    assert (sweep_exp / "sweep.png").stat().st_size > 10_000


def test_relative_init_checkpoints_are_found_from_the_recipe_directory(sweep_exp, monkeypatch):
    """A recipe records init checkpoints relative to its directory (exp/pretrain/...): the report finds them
    from there too, wherever it runs."""
    config = sweep_exp / "pt2_10m" / "config.yaml"
    cfg = yaml.safe_load(config.read_text())
    cfg["model"]["init_checkpoint"] = "exp/pretrain/checkpoint_2.pt"
    config.write_text(yaml.safe_dump(cfg))
    monkeypatch.chdir(sweep_exp / "pretrain")
    df = sweep_rows(sweep_exp / "results.tsv", sweep_exp)
    assert df.set_index("exp").loc["pt2_10m", "pretrain_updates"] == 2


def test_report_names_what_is_missing(sweep_exp):
    (sweep_exp / "pt2_10m" / "config.yaml").unlink()
    res = CliRunner().invoke(cli, ["sweep", "report", str(sweep_exp / "results.tsv")])
    assert res.exit_code == 1 and "pt2_10m/config.yaml: not found" in res.output
    (sweep_exp / "pretrain" / "checkpoint_4.pt").unlink()
    with pytest.raises(SweepError, match="checkpoint_4.pt: cannot read"):
        sweep_rows(sweep_exp / "results.tsv", sweep_exp, exps=["pt4_10m"])
