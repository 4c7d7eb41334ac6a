"""``asrkit benchmark``: the numbers are consistent with each other and with the model (no timing thresholds)."""
from __future__ import annotations

import math
import time

import pandas as pd
import pytest
import soundfile as sf
import torch
import yaml
from click.testing import CliRunner

from asrkit.benchmark import (COLUMNS, TIME_COLUMNS, BenchmarkOptions, benchmark, benchmark_models,
                              benchmark_models_and_times, count_parameters, load_benchmark_model, load_utterances,
                              time_inference)
from asrkit.cli import cli
from asrkit.config import ConfigError, to_dict
from asrkit.data.manifest import read_manifest
from asrkit.models.heads import Wav2Vec2ForCTC
from asrkit.models import load_wav2vec2_config, wav2vec2_model
from asrkit.precision import resolve_precision
from asrkit.testing import make_tone_manifest

TINY = {  # a few thousand parameters: stride 40, receptive field 90 samples
    "conv_feature_layers": "[(16, 10, 5)] + [(16, 3, 2)] * 2 + [(16, 2, 2)]",
    "encoder_layers": 2, "encoder_embed_dim": 32, "encoder_ffn_embed_dim": 64, "encoder_attention_heads": 4,
    "conv_pos": 16, "conv_pos_groups": 4, "latent_vars": 8, "final_dim": 16, "num_negatives": 5,
}  # fmt: skip
FAST = BenchmarkOptions(warmup=1, pretrain_batch=2, pretrain_steps=1)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


@pytest.fixture
def manifest(tmp_path):
    return make_tone_manifest(tmp_path / "data", num_utts=4, name="dev.tsv")


def run(*args):
    return CliRunner().invoke(cli, ["benchmark", *map(str, args)], catch_exceptions=False)


def test_rows_are_consistent_with_the_model_and_the_manifest(config, manifest):
    rows = benchmark(manifest, config, opts=FAST)
    assert [r["precision"] for r in rows] == ["fp32", "bf16"]
    model = wav2vec2_model(load_wav2vec2_config(config))
    heads = sum(p.numel() for n, p in model.named_parameters() if n.startswith(("quantizer.", "final_proj.")))
    assert heads > 0 and count_parameters(model) == sum(p.numel() for p in model.parameters()) - heads
    durations = read_manifest(manifest)["duration"]
    for r in rows:
        assert list(r) == COLUMNS
        assert r["params_m"] * 1e6 == count_parameters(model)
        assert r["utterances"] == 4 and r["skipped"] == 0
        assert r["audio_s"] == pytest.approx(durations.sum(), abs=1e-3)
        assert r["mean_duration_s"] == pytest.approx(durations.mean(), abs=1e-3)
        assert r["mean_ms"] > 0 and r["std_ms"] >= 0
        assert r["rtf"] == pytest.approx(r["mean_ms"] / 1e3 / r["mean_duration_s"], rel=1e-3)
        assert r["pretrain_batch"] == 2 and r["pretrain_audio_s_per_s"] > 0
        assert r["device"] == "cpu" and r["threads"] == torch.get_num_threads()


def test_max_utterances_threads_and_no_pretraining(config, manifest):
    threads = torch.get_num_threads()
    opts = BenchmarkOptions(precisions=("fp32",), max_utterances=3, warmup=0, threads=2, pretrain_batch=0)
    (row,) = benchmark(manifest, config, opts=opts)
    assert row["utterances"] == 3 and row["threads"] == 2 and torch.get_num_threads() == threads
    assert row["pretrain_batch"] == 0 and math.isnan(row["pretrain_audio_s_per_s"])


def test_interleaved_timing_gives_one_time_per_utterance_and_function():
    calls = []
    wavs = [torch.zeros(100 * (i + 1)) for i in range(3)]
    times = time_inference({"a": lambda x: calls.append(("a", x.shape)), "b": lambda x: calls.append(("b", x.shape))},
                           wavs, precision="fp32", device=torch.device("cpu"), warmup=1)
    assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3}
    assert calls[:2] == [("a", (1, 100)), ("b", (1, 100))]  # warm-up, untimed
    assert calls[2:] == [("a", (1, 100)), ("b", (1, 100)), ("b", (1, 200)), ("a", (1, 200)),
                         ("a", (1, 300)), ("b", (1, 300))]  # the order rotates


def test_each_function_can_get_its_own_version_of_the_utterances():
    seen = {"raw": [], "scaled": []}
    raw = [torch.ones(100 * (i + 1)) for i in range(2)]
    scaled = [2 * w for w in raw]
    time_inference({name: (lambda x, name=name: seen[name].append(float(x.sum()))) for name in seen},
                   {"raw": raw, "scaled": scaled}, precision="fp32", device=torch.device("cpu"), warmup=0)
    assert seen == {"raw": [100.0, 200.0], "scaled": [200.0, 400.0]}
    with pytest.raises(ValueError, match="same number"):
        time_inference({"raw": lambda x: None, "scaled": lambda x: None}, {"raw": raw, "scaled": scaled[:1]},
                       precision="fp32", device=torch.device("cpu"))


def test_several_models_are_timed_together(tmp_path, config, manifest):
    """Two models in one run: a row per model and precision, each with its own parameter count and the
    same utterances (those long enough for the larger receptive field); through the CLI, one TSV each."""
    wide = tmp_path / "wide.yaml"
    wide.write_text(yaml.safe_dump({**TINY, "conv_feature_layers": "[(24, 10, 5)] + [(24, 3, 2)] * 3 + [(24, 2, 2)]"}))
    opts = BenchmarkOptions(precisions=("fp32",), warmup=0, pretrain_batch=0)
    (small,), (large,) = benchmark_models(manifest, [(config, None), (wide, None)], opts)
    assert (small["model"], large["model"]) == ("tiny", "wide")
    assert large["params_m"] > small["params_m"]
    assert small["utterances"] == large["utterances"] == 4 and small["audio_s"] == large["audio_s"]
    res = run("--config", config, "--config", wide, "--manifest", manifest, "--precision", "fp32", "--warmup", 0,
              "--pretrain-batch", 0, "--out", tmp_path / "a.tsv", "--out", tmp_path / "b.tsv")
    assert res.exit_code == 0, res.output
    assert "tiny" in res.output and "wide" in res.output
    assert list(pd.read_csv(tmp_path / "a.tsv", sep="\t")["model"]) == ["tiny"]
    assert list(pd.read_csv(tmp_path / "b.tsv", sep="\t")["model"]) == ["wide"]
    (first,), (second,) = benchmark_models(manifest, [(config, None), (config, None)], opts)
    assert first["model"] == second["model"] == str(config)  # the same name twice: the paths tell them apart
    res = run("--config", config, "--config", wide, "--manifest", manifest, "--out", tmp_path / "a.tsv")
    assert res.exit_code == 1 and "--out given 1 times for 2 model(s)" in res.output
    res = run("--config", config, "--config", wide, "--checkpoint", tmp_path / "x.pt", "--manifest", manifest)
    assert res.exit_code == 1 and "--config given 2 times and --checkpoint 1 times" in res.output


def test_each_utterances_time_is_kept_for_paired_comparisons(tmp_path, config, manifest):
    """benchmark_models_and_times: the rows of benchmark_models and a line per model, precision and utterance
    (manifest order) whose mean and std are the row's; the CLI writes them with --times-out, --repeats rounds each."""
    wide = tmp_path / "wide.yaml"
    wide.write_text(yaml.safe_dump({**TINY, "encoder_embed_dim": 48, "encoder_ffn_embed_dim": 96}))
    opts = BenchmarkOptions(precisions=("fp32",), warmup=0, pretrain_batch=0, repeats=2)
    ((small,), (large,)), times = benchmark_models_and_times(manifest, [(config, None), (wide, None)], opts)
    assert list(times.columns) == TIME_COLUMNS and len(times) == 8
    ids = list(read_manifest(manifest)["id"])
    for row in (small, large):
        mine = times[times["model"] == row["model"]]
        assert list(mine["utterance"]) == ids and set(mine["precision"]) == {"fp32"}
        assert mine["ms"].mean() == pytest.approx(row["mean_ms"]) and mine["ms"].std() == pytest.approx(row["std_ms"])
        assert mine["duration_s"].sum() == pytest.approx(row["audio_s"], abs=1e-3)
    with pytest.raises(ValueError, match="repeats >= 1"):
        BenchmarkOptions(repeats=0)
    res = run("--config", config, "--config", wide, "--manifest", manifest, "--precision", "fp32", "--warmup", 0,
              "--pretrain-batch", 0, "--repeats", 2, "--max-utterances", 3, "--times-out", tmp_path / "t" / "times.tsv")
    assert res.exit_code == 0, res.output
    written = pd.read_csv(tmp_path / "t" / "times.tsv", sep="\t")
    assert list(written.columns) == TIME_COLUMNS and list(written["model"]) == ["tiny"] * 3 + ["wide"] * 3
    assert list(written["utterance"]) == ids[:3] * 2 and (written["ms"] > 0).all()


def test_repeated_timing_keeps_the_fastest_round_per_utterance():
    calls = []

    def fast_middle_round(x):  # rounds 1 and 3 of each utterance are disturbed (40 ms), round 2 is not
        calls.append(x.shape[1])
        if calls.count(x.shape[1]) != 2:
            time.sleep(0.04)

    wavs = [torch.zeros(100 * (i + 1)) for i in range(2)]
    times = time_inference({"a": fast_middle_round, "b": lambda x: None}, wavs, precision="fp32",
                           device=torch.device("cpu"), warmup=0, repeats=3)
    assert calls == [100, 100, 100, 200, 200, 200] and len(times["b"]) == 2
    assert all(t < 0.02 for t in times["a"])  # neither the first, the last nor the mean round
    with pytest.raises(ValueError, match="repeats"):
        time_inference({"a": fast_middle_round}, wavs, precision="fp32", device=torch.device("cpu"), repeats=0)


def test_short_utterances_are_left_out_and_counted(tmp_path, config):
    manifest = make_tone_manifest(tmp_path / "data", num_utts=3, name="dev.tsv")
    df = read_manifest(manifest)
    sf.write(tmp_path / "short.flac", torch.zeros(50).numpy(), 16000)  # under the 90-sample receptive field
    short = {**df.iloc[0].to_dict(), "id": "short", "audio": str(tmp_path / "short.flac"), "num_samples": 50,
             "duration": 50 / 16000}
    from asrkit.data.manifest import write_manifest

    write_manifest(pd.concat([pd.DataFrame([short]), df]), tmp_path / "with_short.tsv")
    ids, wavs, skipped = load_utterances(tmp_path / "with_short.tsv", sample_rate=16000, normalize=False,
                                         min_samples=90)
    assert skipped == ["short"] and ids == list(df["id"]) and [len(w) for w in wavs] == list(df["num_samples"])
    (row,) = benchmark(tmp_path / "with_short.tsv", config, opts=BenchmarkOptions(("fp32",), pretrain_batch=0))
    assert row["skipped"] == 1 and row["utterances"] == 3


def test_checkpoints_pretraining_and_fine_tuned(tmp_path, config, manifest):
    cfg = load_wav2vec2_config(config)
    torch.manual_seed(0)
    pretrained = wav2vec2_model(cfg)
    torch.save({"model": pretrained.state_dict(), "config": {"model": to_dict(cfg), "data": {"normalize": True}}},
               tmp_path / "pretrain.pt")
    ctc = Wav2Vec2ForCTC(wav2vec2_model(cfg), vocab_size=5)
    torch.save({"model": ctc.state_dict(), "config": {"encoder": to_dict(cfg), "tokens": list("-|ab'")}},
               tmp_path / "ctc.pt")
    model, name = load_benchmark_model(checkpoint=tmp_path / "pretrain.pt")  # the layout of e44333c
    assert name == "pretrain" and model.cfg.normalize
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), pretrained.state_dict().values()))
    model, _ = load_benchmark_model(checkpoint=tmp_path / "ctc.pt")
    assert not model.cfg.normalize and torch.equal(model.encoder.layers[0].attention.q_proj.weight,
                                                   ctc.encoder.encoder.layers[0].attention.q_proj.weight)
    res = run("--checkpoint", tmp_path / "ctc.pt", "--manifest", manifest, "--precision", "fp32",
              "--pretrain-batch", 2, "--pretrain-steps", 1, "--out", tmp_path / "ctc.tsv")
    assert res.exit_code == 0, res.output
    (row,) = pd.read_csv(tmp_path / "ctc.tsv", sep="\t").to_dict("records")
    assert row["params_m"] * 1e6 == pytest.approx(count_parameters(model)) and row["pretrain_audio_s_per_s"] > 0
    with pytest.raises(ConfigError, match="do not fit"):
        load_benchmark_model("tiny", tmp_path / "pretrain.pt")


def test_cli_table_and_tsv(tmp_path, config, manifest):
    res = run("--config", config, "--manifest", manifest, "--out", tmp_path / "b.tsv", "--max-utterances", 2,
              "--warmup", 0, "--threads", 1, "--precision", "fp32,bf16", "--pretrain-batch", 2, "--pretrain-steps", 1)
    assert res.exit_code == 0, res.output
    assert "inference ms / utterance" in res.output and "fp32" in res.output and "bf16" in res.output
    df = pd.read_csv(tmp_path / "b.tsv", sep="\t")
    assert list(df.columns) == COLUMNS and list(df["precision"]) == ["fp32", "bf16"]
    assert (df["utterances"] == 2).all() and (df["threads"] == 1).all()
    assert (df["rtf"] - df["mean_ms"] / 1e3 / df["mean_duration_s"]).abs().max() < 1e-4


def test_bad_inputs_are_one_line_errors(tmp_path, config, manifest):
    res = run("--config", config, "--manifest", tmp_path / "nope.tsv")
    assert res.exit_code == 1 and "nope.tsv" in res.output and "not found" in res.output
    res = run("--config", "huge", "--manifest", manifest)
    assert res.exit_code == 1 and "no model config 'huge'" in res.output
    res = run("--config", config, "--manifest", manifest, "--precision", "fp8")
    assert res.exit_code == 1 and "fp8" in res.output and "auto, fp32, bf16, fp16" in res.output
    res = run("--checkpoint", tmp_path / "missing.pt", "--manifest", manifest)
    assert res.exit_code == 1 and "missing.pt" in res.output
    df = read_manifest(manifest)
    (tmp_path / "data" / "audio" / "dev-002.flac").write_bytes(b"not audio")
    res = run("--config", config, "--manifest", manifest, "--pretrain-batch", 0)
    assert res.exit_code == 1 and f"utterance {df['id'][2]!r}" in res.output and "dev-002.flac" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("precision, dtype", [("fp32", torch.float32), ("bf16", torch.bfloat16),
                                              ("fp16", torch.float16)])
def test_timing_runs_under_the_autocast_of_asrkit_precision(precision, dtype):
    """The one autocast (asrkit.precision), fp16 included; auto is resolved for the device."""
    seen = []
    wavs = [torch.randn(8)]
    time_inference({"f": lambda x: seen.append((x[:, :4].T @ x[:, :4]).dtype)}, wavs, precision=precision,
                   device=torch.device("cpu"), warmup=0)
    assert seen == [dtype]
    seen.clear()
    time_inference({"f": lambda x: seen.append((x[:, :4].T @ x[:, :4]).dtype)}, wavs, precision="auto",
                   device=torch.device("cpu"), warmup=0)
    assert seen == [torch.bfloat16 if resolve_precision("auto", "cpu") == "bf16" else torch.float32]
