"""asrkit.multistage_report: the paper's own Table 1 (test-clean) reproduces its published relative
improvements; seeds average; missing rows and baselines are one-line errors."""
import math

import pandas as pd
import pytest
from click.testing import CliRunner

from asrkit.cli import cli
from asrkit.multistage_report import (ReportError, findings, midtrain_gains, multistage_report, read_runs,
                                      table1)

# Jain et al. (2024), Table 1, test-clean: PT only, +MT en-de, en-it, en-nl; no pre-training 6.84
PAPER = """mae kinetics 7.54 5.69 5.95 5.73
mae voxceleb2 5.28 5.11 5.56 5.64
mae lrs3 4.73 5.61 4.21 5.32
clr kinetics 6.85 5.02 4.72 4.65
clr voxceleb2 6.47 6.43 5.10 4.62
clr lrs3 6.35 6.74 5.84 6.01
mae_clr kinetics 5.56 5.02 5.23 6.39
mae_clr voxceleb2 6.75 5.36 4.77 5.03
mae_clr lrs3 7.51 7.16 5.08 6.17"""
PAIRS = ("none", "en-de", "en-it", "en-nl")


def write_grid(tmp_path, lines=PAPER, base=(6.84,), extra=()):
    runs = [("asr_scratch" + (f"_s{i}" if i else ""), "none", "none", "none", str(i), w) for i, w in enumerate(base)]
    for line in lines.splitlines():
        objective, data, *wers = line.split()
        for pair, w in zip(PAIRS, wers):
            runs.append((f"asr_{objective}_{data}" + ("" if pair == "none" else f"_{pair}"), objective, data, pair, "0",
                         float(w)))
    runs += list(extra)
    df = pd.DataFrame(runs, columns=["exp", "objective", "data", "pair", "seed", "wer"])
    df.drop(columns="wer").to_csv(tmp_path / "runs.tsv", sep="\t", index=False)
    df.assign(decoder="greedy", split="test")[["exp", "decoder", "split", "wer"]].to_csv(
        tmp_path / "results.tsv", sep="\t", index=False)
    return tmp_path / "runs.tsv", tmp_path / "results.tsv"


def test_paper_table1_gives_the_papers_relative_improvements(tmp_path):
    cells = table1(read_runs(*write_grid(tmp_path)))
    row = cells[(cells["objective"] == "mae") & (cells["data"] == "lrs3")].set_index("pair")
    assert row.loc["en-it", "rel_vs_none"] == pytest.approx(38.45, abs=0.01)  # the abstract's 38.45 %
    assert row.loc["none", "rel_vs_none"] == pytest.approx(30.8, abs=0.05)  # PT only, §4
    assert row.loc["en-it", "rel_vs_pt"] == pytest.approx(100 * (4.73 - 4.21) / 4.73)
    gains = midtrain_gains(cells).set_index("group")["gain"]
    # per-language gains as relative change of the means (notes §1.7): de 8.59, it 18.55, nl 13.11
    assert gains[["en-de", "en-it", "en-nl"]].round(2).tolist() == [8.59, 18.55, 13.11]
    assert gains["clr"] > gains["mae_clr"] > gains["mae"]
    assert all(line.split(": ")[1].startswith("holds") for line in findings(cells, midtrain_gains(cells)))


def test_seeds_of_a_cell_average_with_their_spread(tmp_path):
    extra = [("asr_mae_lrs3_en-it_s1", "mae", "lrs3", "en-it", "1", 4.61)]
    cells = table1(read_runs(*write_grid(tmp_path, base=(6.84, 7.04), extra=extra)))
    cell = cells[(cells["objective"] == "mae") & (cells["data"] == "lrs3") & (cells["pair"] == "en-it")].iloc[0]
    assert cell["seeds"] == 2 and cell["wer"] == pytest.approx(4.41) and cell["wer_seeds"] == "4.21,4.61"
    assert cell["wer_std"] == pytest.approx(math.sqrt(0.08))
    base = cells[cells["objective"] == "none"].iloc[0]
    assert base["wer"] == pytest.approx(6.94) and cell["rel_vs_none"] == pytest.approx(100 * (6.94 - 4.41) / 6.94)
    assert cells.iloc[0]["objective"] == "none"  # the baseline first, as Table 1


def test_a_small_grid_says_which_findings_it_cannot_test(tmp_path):
    grid = "mae lrs3 50.0 - 45.0 -\nclr lrs3 55.0 - 47.0 -"
    runs, results = write_grid(tmp_path, lines=grid.replace(" -", ""), base=(60.0,))
    lines = findings(cells := table1(read_runs(runs, results)), midtrain_gains(cells))
    assert lines[0].startswith("MAE > CLR for ASR (pre-training only, lrs3): holds (WER MAE 50.00, CLR 55.00)")
    assert lines[1].startswith("mid-training helps: holds") and "CLR most: holds" in lines[1]
    assert lines[2].startswith("Kinetics gains most from mid-training: not tested")


def test_report_writes_table_and_chart(tmp_path):
    runs, results = write_grid(tmp_path)
    res = CliRunner().invoke(cli, ["multistage-report", str(runs), str(results), "--out-dir", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "| MAE | LRS3 | 4.73 (+30.8 %) | 5.61 (+18.0 % / -18.6 %) | 4.21 (+38.5 % / +11.0 %) |" in res.output
    png = (tmp_path / "out" / "figure3.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert len(pd.read_csv(tmp_path / "out" / "figure3.tsv", sep="\t")) == 9  # 3 methods, 3 pairs, 3 sets


def test_a_run_without_a_result_or_without_baseline_is_an_error(tmp_path):
    runs, results = write_grid(tmp_path)
    df = pd.read_csv(results, sep="\t")
    df[df["exp"] != "asr_clr_lrs3_en-it"].to_csv(results, sep="\t", index=False)
    with pytest.raises(ReportError, match=r"runs.tsv:\d+: asr_clr_lrs3_en-it has no greedy test row"):
        read_runs(runs, results)
    df.to_csv(results, sep="\t", index=False)
    r = pd.read_csv(runs, sep="\t")
    r[r["objective"] != "none"].to_csv(runs, sep="\t", index=False)
    with pytest.raises(ReportError, match="no run without pre-training"):
        multistage_report(runs, results, tmp_path / "out")
