"""``asrkit.sewd_ablation`` and ``asrkit ablation``: the rows a selection names, time ratios paired by utterance,
ONE results table a re-run adds to, Table 6's changes (row 9 from row 7) against the seed noise, Figure 1's PNG."""
from __future__ import annotations

import math

import pandas as pd
import pytest
from click.testing import CliRunner

from asrkit.cli import cli
from asrkit.sewd_ablation import (COLUMNS, AblationError, ROWS, collect, findings, paired_ratios, plot_figure1,
                                  read_results, select_rows, table6)

BENCH_HEADER = ("model\tprecision\tdevice\tthreads\tparams_m\tutterances\tskipped\taudio_s\tmean_duration_s\t"
                "mean_ms\tstd_ms\trtf\tpretrain_batch\tpretrain_audio_s_per_s\n")
RESULTS_HEADER = "exp\tdecoder\tsplit\twer\tcer\tsub\tdel\tins\twords\tsentences\tsentence_error_rate\n"
UTTERANCES = [f"test-{i:03d}" for i in range(20)]
BASE_MS = [20.0 + 3 * i for i in range(20)]  # row 2's time per utterance; every other run a multiple of it


def write_run(root, run, row, seed, wer_greedy, wer_4gram, time_factor, params_m=1.0):
    """A run as the recipe leaves it: its benchmark TSV (model named by its checkpoint path), its results TSV; and
    its per-utterance times, row 2's times x ``time_factor`` (x a +-2 % wobble that averages out)."""
    d = root / run / "pretrained_10m"
    d.mkdir(parents=True)
    model = str(d / "checkpoint_best.pt")
    times = [t * time_factor * (1.02 if i % 2 else 1 / 1.02) for i, t in enumerate(BASE_MS)]
    mean = sum(times) / len(times)
    (d / "benchmark_test.tsv").write_text(
        BENCH_HEADER + f"{model}\tfp32\tcpu\t1\t{params_m}\t20\t0\t44.0\t2.2\t{mean}\t5.0\t0.01\t0\tnan\n")
    (root / run / "results.tsv").write_text(
        RESULTS_HEADER + f"pretrained_10m\tgreedy\ttest\t{wer_greedy}\t40\t1\t2\t3\t100\t20\t90\n"
        f"pretrained_10m\t4gram\ttest\t{wer_4gram}\t30\t1\t2\t3\t100\t20\t80\n")
    return {"run": run, "row": row, "seed": seed, "benchmark": str(d / "benchmark_test.tsv"),
            "results": str(root / run / "results.tsv"),
            "times": pd.DataFrame({"model": model, "precision": "fp32", "utterance": UTTERANCES,
                                   "duration_s": 2.2, "ms": times})}


def write_inputs(root, runs, name="runs.tsv"):
    """The recipe's runs.tsv and one benchmark run's --times-out TSV over ``runs``."""
    pd.DataFrame([{k: r[k] for k in ("run", "row", "seed", "benchmark", "results")} for r in runs]).to_csv(
        root / name, sep="\t", index=False)
    pd.concat([r["times"] for r in runs]).to_csv(root / f"times_{name}", sep="\t", index=False)
    return root / name, root / f"times_{name}"


@pytest.fixture
def ladder(tmp_path):
    """Rows 2 (two seeds), 6, 7, 8 and 9 (row 9 builds on row 7)."""
    return [write_run(tmp_path, "row2_s1", "2", 1, 90.0, 60.0, 1.0, 2.79),
            write_run(tmp_path, "row2_s2", "2", 2, 92.0, 61.0, 1.0, 2.79),
            write_run(tmp_path, "row6_s1", "6", 1, 85.0, 58.0, 1.05, 10.26),
            write_run(tmp_path, "row7_s1", "7", 1, 80.0, 55.0, 1.06, 10.26),
            write_run(tmp_path, "row8_s1", "8", 1, 84.5, 50.0, 0.97, 6.01),
            write_run(tmp_path, "row9_s1", "9", 1, 88.0, 57.0, 1.3, 10.64)]


def test_a_selection_names_rows_in_the_ladders_order():
    assert [r.id for r in select_rows("2-8")] == ["2", "3", "4", "5", "6", "7", "8"]
    assert [r.id for r in select_rows("9 2,9")] == ["2", "9"]
    assert [r.id for r in select_rows(["1", "sewd_small"])] == ["1", "sewd_small"]
    assert [r.id for r in select_rows("figure1")] == ["1", "2", "8", "w2v2_mid", "sewd_small", "sewd_mid"]
    assert [r.id for r in select_rows("ladder")] == [str(k) for k in range(1, 10)]
    assert [r.id for r in select_rows("all")] == list(ROWS)
    for bad, message in (("10", "no row '10'"), ("0-3", "range of Table 6's rows"), ("", "no row selected"),
                         ("2-x", "no row '2-x'")):
        with pytest.raises(AblationError, match=message):
            select_rows(bad)


def test_paired_ratios_take_each_utterance_against_the_reference():
    """A model 1.5x the reference on every utterance (+-2 % wobble) is 1.5 however long the utterances; the
    reference is its models' geometric mean per utterance, so their own ratios average to 1."""
    rows = []
    for model, factor in (("ref_a", 1.0), ("ref_b", 1.1), ("slow", 1.5)):
        for i, (utt, ms) in enumerate(zip(UTTERANCES, BASE_MS)):
            rows.append({"model": model, "utterance": utt, "ms": ms * factor * (1.02 if i % 2 else 1 / 1.02)})
    ratios = paired_ratios(pd.DataFrame(rows), ["ref_a", "ref_b"]).set_index("model")
    reference = math.sqrt(1.1)
    assert ratios.at["slow", "ratio"] == pytest.approx(1.5 / reference)
    assert ratios.at["slow", "low"] < ratios.at["slow", "ratio"] < ratios.at["slow", "high"]
    assert ratios.at["ref_a", "ratio"] * ratios.at["ref_b", "ratio"] == pytest.approx(1.0)
    assert (ratios["utterances"] == 20).all()
    with pytest.raises(AblationError, match="not timed"):
        paired_ratios(pd.DataFrame(rows), ["missing"])


def test_collect_keeps_one_line_per_run_and_a_rerun_adds_to_it(tmp_path, ladder):
    out = tmp_path / "ablation.tsv"
    first = collect(*write_inputs(tmp_path, ladder[:4], "first.tsv"), out, now="t1")
    assert list(first.columns) == COLUMNS and list(first["run"]) == ["row2_s1", "row2_s2", "row6_s1", "row7_s1"]
    assert first.loc[3, "wer_greedy"] == 80.0 and first.loc[3, "params_m"] == 10.26
    assert first.loc[3, "config"] == ROWS["7"].mini and first.loc[3, "time_ratio"] == pytest.approx(1.06)
    assert first.loc[0, "reference_runs"] == "row2_s1 row2_s2" and set(first["timed"]) == {"t1"}
    # a re-run with more rows: every run timed again in one benchmark run, rows 8 and 9 added, none twice
    table = collect(*write_inputs(tmp_path, ladder, "second.tsv"), out, now="t2")
    assert list(table["run"]) == [r["run"] for r in ladder] and not table["run"].duplicated().any()
    assert set(table["timed"]) == {"t2"}
    assert len(read_results(out)) == 6
    assert out.read_text().splitlines()[1].split("\t")[9] == "1"  # numbers written as numbers (%.6g)
    # runs collected alone (row 9 with the reference): the others' lines are kept as they were
    again = collect(*write_inputs(tmp_path, [ladder[0], ladder[1], ladder[5]], "third.tsv"), out, now="t3")
    assert len(again) == 6 and dict(zip(again["run"], again["timed"]))["row7_s1"] == "t2"
    assert dict(zip(again["run"], again["timed"]))["row9_s1"] == "t3"


def test_collect_needs_row_2_and_every_run_timed(tmp_path, ladder):
    with pytest.raises(AblationError, match="no run of row 2"):
        collect(*write_inputs(tmp_path, ladder[2:4]), tmp_path / "ablation.tsv")
    runs, times = write_inputs(tmp_path, ladder[:3], "partial.tsv")
    pd.read_csv(times, sep="\t").iloc[:40].to_csv(times, sep="\t", index=False)  # row 6 left out of the timing
    with pytest.raises(AblationError, match="row6_s1 not timed there"):
        collect(runs, times, tmp_path / "ablation.tsv")


def test_table6_takes_each_step_from_the_row_it_builds_on(tmp_path, ladder):
    results = collect(*write_inputs(tmp_path, ladder), tmp_path / "ablation.tsv")
    table = table6(results).set_index("row")
    assert list(table.index) == ["2", "6", "7", "8", "9"]
    assert table.at["2", "seeds"] == 2 and table.at["2", "wer_greedy"] == 91.0 and table.at["2", "spread_greedy"] == 2
    assert table.at["2", "time_ratio"] == pytest.approx(1.0)
    assert table.at["7", "delta_greedy"] == pytest.approx(-5.0) and table.at["7", "builds_on"] == "6"
    assert table.at["8", "delta_greedy"] == pytest.approx(4.5) and table.at["8", "delta_4gram"] == pytest.approx(-5)
    assert table.at["9", "builds_on"] == "7" and table.at["9", "delta_greedy"] == pytest.approx(8.0)  # from row 7
    assert math.isnan(table.at["6", "delta_greedy"])  # row 5 did not run
    assert math.isnan(table.at["2", "delta_greedy"]) and math.isnan(table.at["2", "paper_delta"])
    assert table.at["9", "paper_delta"] == pytest.approx(25.0 - 23.7)  # Table 6: 25.0 against row 7's 23.7
    assert table.at["8", "paper_delta_lm"] == pytest.approx(13.4 - 14.4)
    lines = findings(table.reset_index())
    assert lines[0].startswith("seed noise") and "greedy 2.0, 4-gram 1.0" in lines[0]
    assert table.at["9", "step_time"] == pytest.approx(1.3 / 1.06) and table.at["9", "paper_step_time"] == 7.5 / 6.7
    assert "row 6 -> 7 (MLP predictor heads): time x1.01, greedy -5.0 (lower, beyond the noise), 4-gram -3.0 (lower, " \
           "beyond the noise); paper: time x1.00, WER -0.7 / -0.1" in lines
    assert any(line.startswith("row 7 -> 8") and "4-gram -5.0 (lower, beyond the noise)" in line
               and "greedy +4.5 (not lower)" in line for line in lines)
    assert any(line.startswith("row 7 -> 9 (filter-bank front end") for line in lines)
    assert lines[-1] == "inference time within +-10% of row 2's: not rows 9 (x1.30)"


def test_plot_figure1_writes_a_png_from_a_results_table(tmp_path, ladder):
    results = collect(*write_inputs(tmp_path, ladder), tmp_path / "ablation.tsv")
    png = plot_figure1(results, tmp_path / "report" / "figure1.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    # Figure 1's sizes alone (no intermediate rows), one seed each
    sizes = results[results["row"].isin(["2", "8"])].drop_duplicates("row").assign(row=["2", "sewd_small"])
    assert plot_figure1(sizes, tmp_path / "sizes.png").stat().st_size > 10_000


def test_cli_rows_collect_and_report(tmp_path, ladder):
    runner = CliRunner()
    res = runner.invoke(cli, ["ablation", "rows", "2-3", "8"])
    assert res.exit_code == 0 and res.output.splitlines() == [
        "2 sew_ablation_2_w2v2_tiny_mini", "3 sew_ablation_3_squeezed_mini",
        "8 sew_ablation_8_disentangled_attention_mini"]
    res = runner.invoke(cli, ["ablation", "rows", "7", "--paper"])
    assert res.output.split() == ["7", "sew_ablation_7_mlp_heads"]
    res = runner.invoke(cli, ["ablation", "rows", "11"])
    assert res.exit_code == 1 and "no row '11'" in res.output
    runs, times = write_inputs(tmp_path, ladder)
    res = runner.invoke(cli, ["ablation", "collect", str(runs), "--times", str(times), "--out",
                              str(tmp_path / "ablation.tsv")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["ablation", "report", str(tmp_path / "ablation.tsv"), "--out-dir", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert "Table 6 in miniature" in res.output and "row 7 -> 9" in res.output
    assert (tmp_path / "r" / "figure1.png").exists()
    assert list(pd.read_csv(tmp_path / "r" / "table6.tsv", sep="\t", dtype={"row": str})["row"]) == [
        "2", "6", "7", "8", "9"]
    (tmp_path / "bad.tsv").write_text("run\trow\n")
    res = runner.invoke(cli, ["ablation", "report", str(tmp_path / "bad.tsv"), "--out-dir", str(tmp_path / "r")])
    assert res.exit_code == 1 and "not an ablation results table" in res.output and "Traceback" not in res.output
