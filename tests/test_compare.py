"""``asrkit compare``: SEW-D's Table 1 in miniature, joined from benchmark and results TSVs."""
from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from asrkit.cli import cli
from asrkit.compare import COLUMNS, CompareError, ModelRun, compare_models

# as `asrkit benchmark --out` writes them (columns of asrkit.benchmark.COLUMNS)
BENCH_HEADER = ("model\tprecision\tdevice\tthreads\tparams_m\tutterances\tskipped\taudio_s\tmean_duration_s\t"
                "mean_ms\tstd_ms\trtf\tpretrain_batch\tpretrain_audio_s_per_s\n")
W2V2_BENCH = BENCH_HEADER + ("checkpoint_best\tfp32\tcpu\t1\t3.77773\t412\t0\t1021.3\t2.479\t55.6\t16.8\t0.0224\t0\tnan\n"
                             "checkpoint_best\tbf16\tcpu\t1\t3.77773\t412\t0\t1021.3\t2.479\t31.2\t9.1\t0.0126\t0\tnan\n")
SEWD_BENCH = BENCH_HEADER + "checkpoint_best\tfp32\tcpu\t1\t8.09373\t412\t0\t1021.3\t2.479\t56.0\t15.7\t0.0226\t0\tnan\n"
# as `asrkit score --results` appends them (recipes/synth/*/exp/results.tsv)
RESULTS_HEADER = "exp\tdecoder\tsplit\twer\tcer\tsub\tdel\tins\twords\tsentences\tsentence_error_rate\n"
W2V2_RESULTS = RESULTS_HEADER + ("pretrained_10m\tgreedy\ttest\t77.3\t39.5\t1\t2\t3\t4000\t412\t99.0\n"
                                 "pretrained_10m\t4gram\ttest\t42.4\t34.0\t1\t2\t3\t4000\t412\t90.0\n"
                                 "scratch_10m\tgreedy\ttest\t100.9\t72.8\t1\t2\t3\t4000\t412\t100.0\n"
                                 "scratch_10m\t4gram\ttest\t86.7\t75.8\t1\t2\t3\t4000\t412\t100.0\n")
SEWD_RESULTS = RESULTS_HEADER + ("pretrained_10m\tgreedy\ttest\t70.0\t35.0\t1\t2\t3\t4000\t412\t98.0\n"
                                 "pretrained_10m\t4gram\ttest\t40.0\t30.0\t1\t2\t3\t4000\t412\t88.0\n"
                                 "pretrained_10m\tgreedy\ttest\t60.5\t33.0\t1\t2\t3\t4000\t412\t97.0\n")  # re-scored


@pytest.fixture
def runs(tmp_path):
    out = []
    for name, bench, results in (("W2V2 (demo)", W2V2_BENCH, W2V2_RESULTS), ("SEW-D (sew_d_demo)", SEWD_BENCH, SEWD_RESULTS)):
        d = tmp_path / name.split()[0]
        d.mkdir()
        (d / "benchmark_test.tsv").write_text(bench)
        (d / "results.tsv").write_text(results)
        out.append(ModelRun(name, d / "benchmark_test.tsv", d / "results.tsv"))
    return out


def test_one_row_per_model_with_its_fp32_timing_and_test_wers(runs):
    df = compare_models(runs)
    assert list(df.columns) == [*COLUMNS, "wer_greedy", "wer_4gram"]
    assert df.to_dict("records") == [
        {"model": "W2V2 (demo)", "params_m": 3.77773, "infer_mean_ms": 55.6, "infer_std_ms": 16.8,
         "precision": "fp32", "device": "cpu", "threads": 1, "utterances": 412, "wer_greedy": 77.3, "wer_4gram": 42.4},
        {"model": "SEW-D (sew_d_demo)", "params_m": 8.09373, "infer_mean_ms": 56.0, "infer_std_ms": 15.7,
         "precision": "fp32", "device": "cpu", "threads": 1, "utterances": 412, "wer_greedy": 60.5, "wer_4gram": 40.0},
    ]  # the re-scored SEW-D greedy row (the last) counts


def test_experiment_decoders_and_precision_are_selectable(runs):
    df = compare_models(runs[:1], exp="scratch_10m", decoders=["4gram"], precision="bf16")
    assert df.loc[0, "wer_4gram"] == 86.7 and df.loc[0, "infer_mean_ms"] == 31.2 and "wer_greedy" not in df


def test_missing_rows_name_the_file_and_what_it_has(runs):
    with pytest.raises(CompareError, match=r"results.tsv: no row for exp 'scratch_10m'.*pretrained_10m/4gram/test"):
        compare_models(runs, exp="scratch_10m")
    with pytest.raises(CompareError, match=r"benchmark_test.tsv: no bf16 row \(it has fp32\)"):
        compare_models(runs, precision="bf16")
    runs[0].results_tsv.unlink()
    with pytest.raises(CompareError, match="results.tsv: a results TSV not found"):
        compare_models(runs)


def test_models_timed_differently_are_not_compared(runs):
    runs[1].benchmark_tsv.write_text(SEWD_BENCH.replace("\tcpu\t1\t", "\tcpu\t2\t"))
    with pytest.raises(CompareError, match="different threads: W2V2 \\(demo\\) 1, SEW-D \\(sew_d_demo\\) 2"):
        compare_models(runs)


def test_cli_prints_the_table_and_writes_the_tsv(runs, tmp_path):
    args = ["compare", "--out", str(tmp_path / "table1.tsv")]
    for r in runs:
        args += ["--model", r.name, str(r.benchmark_tsv), str(r.results_tsv)]
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "SEW-D (sew_d_demo)" in res.output and "56.0 ± 15.7" in res.output and "60.50" in res.output
    written = pd.read_csv(tmp_path / "table1.tsv", sep="\t")
    assert list(written["model"]) == ["W2V2 (demo)", "SEW-D (sew_d_demo)"] and list(written["wer_4gram"]) == [42.4, 40.0]

    bad = CliRunner().invoke(cli, [*args[:3], "--model", "x", str(runs[0].benchmark_tsv), str(tmp_path / "nope.tsv")])
    assert bad.exit_code == 1 and "nope.tsv: a results TSV not found" in bad.output
