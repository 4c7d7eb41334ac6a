"""Figure 2 in miniature from hand-made runs and results: relative improvements with the right sign per metric."""
import json

import pandas as pd
import pytest

from asrkit.superb_report import ReportError, relative_improvement, superb_report

RUNS = [("ks_pt", "ks", "mae_clr", "lrs3", "none"), ("ks_mt", "ks", "mae_clr", "lrs3", "en-it"),
        ("ks_pt2", "ks", "mae_clr", "kinetics", "none"), ("ks_mt2", "ks", "mae_clr", "kinetics", "en-it"),
        ("sd_pt", "sd", "mae_clr", "lrs3", "none"), ("sd_mt", "sd", "mae_clr", "lrs3", "en-it")]
VALUES = {"ks_pt": ("accuracy", 80.0), "ks_mt": ("accuracy", 88.0), "ks_pt2": ("accuracy", 50.0),
          "ks_mt2": ("accuracy", 45.0), "sd_pt": ("der", 20.0), "sd_mt": ("der", 25.0)}


def write(tmp_path, runs=RUNS):
    pd.DataFrame(runs, columns=["exp_dir", "task", "objective", "data", "pair"]).to_csv(
        tmp_path / "runs.tsv", sep="\t", index=False)
    pd.DataFrame([{"exp_dir": e, "metric": m, "value": v, "layer_weights": json.dumps([0.5, 0.3, 0.2])}
                  for e, (m, v) in VALUES.items()]).to_csv(tmp_path / "results.tsv", sep="\t", index=False)
    return tmp_path / "runs.tsv", tmp_path / "results.tsv"


def test_relative_improvement_is_positive_when_mid_training_helps():
    assert relative_improvement("accuracy", 80.0, 88.0) == pytest.approx(10.0)
    assert relative_improvement("der", 20.0, 25.0) == pytest.approx(-25.0)
    assert relative_improvement("per", 40.0, 30.0) == pytest.approx(25.0)


def test_figure2_averages_the_cells_of_each_task_and_checks_the_papers_sign(tmp_path):
    paths = superb_report(*write(tmp_path), tmp_path / "out")
    agg = pd.read_csv(paths["figure2.tsv"], sep="\t")
    ks, sd = agg.set_index("task").loc["ks"], agg.set_index("task").loc["sd"]
    assert ks["relative_improvement"] == pytest.approx((10.0 + -10.0) / 2)  # lrs3 +10 %, kinetics -10 %
    assert ks["cells"] == 2
    assert sd["relative_improvement"] == pytest.approx(-25.0) and sd["holds"]  # the paper: SD gets worse
    assert paths["figure2.png"].stat().st_size > 0 and paths["layer_weights.png"].stat().st_size > 0
    assert "| SD | der | 1 | -25.00 | down | down | yes |" in paths["figure2.md"].read_text()


def test_a_cell_without_its_pretrained_run_is_an_error(tmp_path):
    with pytest.raises(ReportError, match="sd mae_clr lrs3: no run without mid-training"):
        superb_report(*write(tmp_path, [r for r in RUNS if r[0] != "sd_pt"]), tmp_path / "out")
