"""``make bench`` sections on micro models: rows are complete and consistent (no timing thresholds)."""
from __future__ import annotations

import math

import pytest
import torch
import yaml

from benchmarks.bench import PROFILE_REGIONS, TABLE2, RegionTimer, bench_inference, bench_profile, synthetic_utterances
from asrkit.precision import cpu_has_native_bf16

W2V2 = {"conv_feature_layers": "[(16, 10, 5)] + [(16, 3, 2)] * 2 + [(16, 2, 2)]", "encoder_layers": 2,
        "encoder_embed_dim": 32, "encoder_ffn_embed_dim": 64, "encoder_attention_heads": 4, "conv_pos": 16,
        "conv_pos_groups": 4, "latent_vars": 8, "final_dim": 16}
SEW_D = {**W2V2, "model_type": "sew_d", "squeeze_factor": 2, "conv_pos": 7, "position_buckets": 8,
         "max_relative_positions": 16, "predictor_layers": 2, "predictor_hidden_dim": 24}


def test_table2_categories_cover_the_papers_rows():
    names = [name for members in TABLE2.values() for name, _ in members]
    assert names == ["W2V2-tiny", "SEW-D-tiny", "W2V2-small", "SEW-D-small", "W2V2-mid", "SEW-D-mid", "W2V2-base",
                     "SEW-D-base", "SEW-D-base+", "W2V2-large"]
    assert all(members[0][0].startswith("W2V2") for members in TABLE2.values())


def test_inference_rows_compare_like_with_like(tmp_path):
    for name, cfg in (("w2v2", W2V2), ("sew_d", SEW_D)):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    categories = {"micro": [("W2V2-micro", str(tmp_path / "w2v2.yaml")), ("SEW-D-micro", str(tmp_path / "sew_d.yaml"))]}
    wavs = synthetic_utterances((0.3, 0.5, 0.4))
    calls = []
    rows = bench_inference(categories, wavs=wavs, progress=lambda what, k, total: calls.append((what, k, total)))
    assert [(r["model"], r["precision"]) for r in rows] == [
        ("W2V2-micro", "fp32"), ("SEW-D-micro", "fp32"), ("W2V2-micro", "bf16"), ("SEW-D-micro", "bf16")]
    for r in rows:  # bf16 on every other utterance where it is emulated
        assert (r["utterances"], r["mean_duration_s"]) == (
            (3, pytest.approx(0.4)) if r["precision"] == "fp32" or cpu_has_native_bf16() else (1, pytest.approx(0.5)))
        assert r["params_m"] == r["transformers_params_m"]  # the same architecture, counted alike
        assert r["max_abs_diff_fp32"] < 1e-4  # and the same weights
        # (columns are rounded to 0.1 ms, 2 and 4 decimals: micro models take a few ms)
        assert r["speedup"] == pytest.approx(r["transformers_ms"] / r["asrkit_ms"], rel=0.1)
        assert r["asrkit_rtf"] * r["mean_duration_s"] * 1e3 == pytest.approx(r["asrkit_ms"], abs=0.1)
        assert r["threads"] == torch.get_num_threads() and not math.isnan(r["speedup_median_paired"])
        assert r["asrkit_std_ms"] >= 0 and r["transformers_std_ms"] >= 0
    assert [r["vs_w2v2_same_category"] for r in rows if r["model"] == "W2V2-micro"] == [1.0, 1.0]
    assert [r["vs_w2v2_median_paired"] for r in rows if r["model"] == "W2V2-micro"] == [1.0, 1.0]
    sew_d = [r for r in rows if r["model"] == "SEW-D-micro"]
    assert all(0 < r["vs_w2v2_median_paired"] < 100 for r in sew_d)
    assert sum(k for what, k, _ in calls if "fp32" in what) == 3


def test_profile_splits_each_implementation_by_region(tmp_path):
    for name, cfg in (("w2v2", W2V2), ("sew_d", SEW_D)):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    categories = {"micro": [("W2V2-micro", str(tmp_path / "w2v2.yaml")), ("SEW-D-micro", str(tmp_path / "sew_d.yaml"))]}
    rows = bench_profile(categories, ("fp32",), wavs=synthetic_utterances((0.3, 0.5)), repeats=2)
    assert [(r["model"], r["implementation"]) for r in rows] == [
        ("W2V2-micro", "asrkit"), ("W2V2-micro", "transformers"), ("SEW-D-micro", "asrkit"),
        ("SEW-D-micro", "transformers")]
    for r in rows:  # every region ran (RegionTimer raises for a path that matches no module) and they nest
        regions = [r[f"{k.replace(' ', '_').replace('-', '_')}_ms"] for k in PROFILE_REGIONS]
        assert all(ms > 0 for ms in regions) and r["utterances"] == 2
        fe, pos, blocks, attention, ffn = regions
        assert fe + pos + blocks <= r["total_ms"] + 0.02 and attention + ffn <= blocks + 0.02  # (rounded to 0.01 ms)
        assert r["other_ms"] == pytest.approx(r["total_ms"] - fe - pos - blocks, abs=0.02)
    for ours, theirs in zip(rows[::2], rows[1::2]):
        assert ours["speedup"] == pytest.approx(theirs["total_ms"] / ours["total_ms"], rel=0.05)
        rest = ours["total_ms"] - ours["feature_encoder_ms"] - ours["positional_conv_ms"]
        assert ours["speedup_without_fe_pos"] == pytest.approx(theirs["total_ms"] / rest, rel=0.05)
        assert theirs["speedup"] == 1.0 and math.isnan(theirs["speedup_without_fe_pos"])


def test_region_timer_times_inside_its_modules_only():
    import time

    class Sleep(torch.nn.Module):
        def __init__(self, seconds):
            super().__init__()
            self.seconds = seconds

        def forward(self, x):
            time.sleep(self.seconds)
            return x

    model = torch.nn.Sequential(Sleep(0.03), torch.nn.Sequential(Sleep(0.0), Sleep(0.0)))
    timer = RegionTimer(model, {"slow": ["0"], "fast": ["1.*"]})
    model(torch.zeros(1))
    model(torch.zeros(1))
    assert timer.totals["slow"] >= 0.06 and timer.totals["fast"] < timer.totals["slow"]
    timer.reset()
    assert timer.totals == {"slow": 0.0, "fast": 0.0}
    timer.remove()
    model(torch.zeros(1))
    assert timer.totals == {"slow": 0.0, "fast": 0.0}  # hooks gone
    with pytest.raises(ValueError, match=r"region 'blocks': no module of Sequential matches \['layers\.\*'\]"):
        RegionTimer(model, {"slow": ["0"], "blocks": ["layers.*"]})
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())  # none left behind


def test_bench_rejects_an_unknown_precision_before_timing(capsys):
    from benchmarks.bench import main

    with pytest.raises(SystemExit):
        main(["--sections", "inference", "--precisions", "fp32,fp8"])
    assert "--precisions: unknown fp8 (choose from auto, fp32, bf16, fp16)" in capsys.readouterr().err


def test_bench_rejects_fewer_than_one_round_before_timing(capsys):
    from benchmarks.bench import main

    with pytest.raises(SystemExit):
        main(["--sections", "inference", "--precisions", "fp32", "--repeats", "0"])
    assert "--repeats: must be at least 1, got 0" in capsys.readouterr().err


def test_bench_rejects_an_unknown_category_or_section_before_timing(capsys):
    from benchmarks.bench import main

    with pytest.raises(SystemExit):
        main(["--sections", "profile", "--categories", "tiny,huge"])
    assert "--categories: unknown huge (choose from tiny, small, mid, base, large)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--sections", "inference,profil"])
    assert "--sections: unknown profil (choose from data, pretrain, av, inference, profile, lm_decode)" in \
        capsys.readouterr().err


AV_MICRO = {"model_type": "av", "max_frames": 16, "encoder_layers": 1, "encoder_embed_dim": 16,
            "encoder_ffn_embed_dim": 32, "encoder_attention_heads": 2, "conv_kernel_size": 3, "image_size": 16,
            "num_frames": 4, "video_patch_size": 8, "video_layers": 1, "video_embed_dim": 16,
            "video_attention_heads": 2, "video_mlp_dim": 32, "decoder_layers": 1, "decoder_embed_dim": 16,
            "decoder_attention_heads": 2, "decoder_mlp_dim": 32, "clr_dim": 8}


@pytest.mark.parametrize("native_bf16", [True, False])
def test_av_pretrain_rows_time_every_objective_and_precision(tmp_path, monkeypatch, native_bf16):
    import asrkit.precision
    from benchmarks.bench import av_pretrain_summary, av_synthetic_batch, bench_av_pretrain, write_av_pretrain

    monkeypatch.setattr(asrkit.precision, "cpu_has_native_bf16", lambda: native_bf16)
    (tmp_path / "av_micro.yaml").write_text(yaml.safe_dump(AV_MICRO))
    rows = bench_av_pretrain((str(tmp_path / "av_micro.yaml"),), precisions=("fp32", "bf16"), batch=2, warmup=0,
                             steps=1)
    assert [(r["config"], r["objective"], r["precision"]) for r in rows] == [
        ("av_micro", o, p) for p in ("fp32", "bf16") for o in ("mae", "clr", "mae_clr")]
    clip_s = (16 - 1) * 0.01 + 0.025  # (max_frames - 1) * 160 + 400 samples at 16 kHz
    for r in rows:
        assert (r["clips"], r["updates"], r["warmup"], r["threads"]) == (2, 1, 0, torch.get_num_threads())
        assert r["clip_s"] == pytest.approx(clip_s) and r["video_s"] == pytest.approx(4 * 4 / 25)
        assert 0 < r["params_m"] < 0.1
        if r["precision"] == "bf16" and not native_bf16:
            assert math.isnan(r["ms_per_update"]) and math.isnan(r["av_s_per_s"]) and "skipped" in r["note"]
            continue
        assert r["ms_per_update"] > 0 and r["av_s_per_s"] > 0
        # (ms rounded to 0.1, throughput to 2 decimals: micro updates take tens of ms)
        assert r["av_s_per_s"] == pytest.approx(clip_s * 2 / (r["ms_per_update"] / 1e3), rel=0.05, abs=0.02)
    summary = av_pretrain_summary(rows)
    assert [s["what"] for s in summary][:3] == ["av_micro mae fp32", "av_micro clr fp32", "av_micro mae_clr fp32"]
    assert all(s["section"] == "av_pretrain" and s["unit"] == "audio+video s / s" for s in summary)
    path = write_av_pretrain(rows, tmp_path / "out")
    assert path.read_text().count("| av_micro |") == 6 and (tmp_path / "out" / "av_pretrain.tsv").is_file()

    from asrkit.models.av import AVConfig

    batch = av_synthetic_batch(AVConfig.from_dict(AV_MICRO), 3)
    assert batch["source"].shape == (3, 15 * 160 + 400) and not batch["padding_mask"].any()
    assert batch["video"].shape == (3, 4, 16, 16, 3) and batch["video"].dtype == torch.uint8


def test_bench_rejects_an_unknown_av_config_or_objective_before_timing(capsys):
    from benchmarks.bench import main

    with pytest.raises(SystemExit):
        main(["--sections", "av", "--av-configs", "av_tiny,av_huge"])
    assert "--av-configs: no AV model config 'av_huge'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--sections", "av", "--av-objectives", "mae,w2v2"])
    assert "--av-objectives: unknown w2v2 (choose from mae, clr, mae_clr)" in capsys.readouterr().err


def test_lm_decode_rows_time_both_lms_on_the_same_emissions(tmp_path):
    from asrkit.testing import make_tone_manifest
    from asrkit.testing.ctc import write_ctc_checkpoint
    from asrkit.train.lm import load_lm_config, run_lm_training
    from benchmarks.bench import bench_lm_decode

    from ..decode.test_lm import tools_or_skip
    from ..train.conftest import MICRO_MODEL

    tools_or_skip()
    from asrkit.decode.lm import train_lm

    (tmp_path / "text.txt").write_text("THE CAT SAT\nA DOG SAT\nTHE DOG\n" * 20)
    ngram = train_lm(tmp_path / "text.txt", tmp_path / "lm" / "3gram", 3, memory="64M")
    cfg = load_lm_config(None, [f"data.train_text={tmp_path / 'text.txt'}", "optim.max_updates=2",
                                "trainer.tensorboard=false", "model.embed_dim=16", "model.ffn_dim=32",
                                "model.num_heads=2"])
    run_lm_training(cfg, tmp_path / "tlm")
    rows = bench_lm_decode(write_ctc_checkpoint(tmp_path / "ctc.pt", MICRO_MODEL),
                           make_tone_manifest(tmp_path, 2, name="test.tsv"), ngram.lexicon,
                           {"4-gram": ngram.binary, "Transformer LM": tmp_path / "tlm" / "checkpoint_last.pt"},
                           beam_size=5)
    assert [r["what"] for r in rows] == ["4-gram beam search", "Transformer LM beam search", "Transformer LM forwards"]
    assert all(r["section"] == "lm_decode" and r["value"] >= 0 for r in rows)
