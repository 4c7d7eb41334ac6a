"""asrkit superb end to end on layout fixtures (tones: each keyword its own pitch) with tiny random upstreams: it
learns, caches, resumes, aligns SD's labels to the upstream's rate, and reports its errors in one line."""
from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest
import torch

from asrkit.checkpoint import checkpoint_header, read_checkpoint
from asrkit.data.manifest import read_manifest, write_manifest
from asrkit.data.superb_corpora import prepare_librimix, prepare_librispeech_phones, prepare_speech_commands
from asrkit.models.factory import build_model, load_model_config
from asrkit.testing.superb import write_librimix, write_librispeech, write_speech_commands
from asrkit.train.superb import (_labels, load_superb_config, load_upstream, make_task, run_superb,
                                 superb_datasets)

TINY = {
    "w2v2": ("demo", dict(encoder_layers=2, encoder_embed_dim=64, encoder_ffn_embed_dim=128,
                          encoder_attention_heads=2, final_dim=32, conv_pos=16, conv_pos_groups=4)),
    "conformer": ("av_tiny", dict(encoder_layers=2, encoder_embed_dim=64, encoder_ffn_embed_dim=128, max_frames=16,
                                  video_layers=1, video_embed_dim=32, video_mlp_dim=64, video_attention_heads=2,
                                  decoder_layers=1, decoder_embed_dim=32, decoder_mlp_dim=64,
                                  decoder_attention_heads=2, clr_dim=32)),
}
# IC's three slots for each KS class of the fixture: every dev/test class is a training class
SLOTS = {"yes": ("activate", "lights", "kitchen"), "no": ("deactivate", "lights", "kitchen"),
         "up": ("increase", "volume", "none"), "down": ("decrease", "volume", "none")}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    root = tmp_path_factory.mktemp("superb")
    for name, (config, changes) in TINY.items():
        cfg = dataclasses.replace(load_model_config(config), **changes)
        torch.manual_seed(0)
        model = build_model(cfg)
        torch.save({**checkpoint_header("pretrain", cfg), "model": model.state_dict()}, root / f"{name}.pt")
    write_speech_commands(root / "sc", root / "sc_test")
    prepare_speech_commands(root / "sc", root / "ks", root / "sc_test")
    for split in ("train", "dev", "test"):  # IC: the keyword clips with FSC-like slots
        df = read_manifest(root / "ks" / f"{split}.tsv")
        df = df[df["label"].isin(list(SLOTS))].reset_index(drop=True)
        for j, slot in enumerate(("action", "object", "location")):
            df[slot] = [SLOTS[label][j] for label in df["label"]]
        write_manifest(df.drop(columns=["label"]), root / "ic" / f"{split}.tsv")
    write_librispeech(root / "ls")
    prepare_librispeech_phones(root / "ls", root / "pr", lexicon=root / "ls" / "librispeech-lexicon.txt")
    write_librimix(root / "lm")
    prepare_librimix(root / "lm", root / "sd", splits={"train": "dev", "dev": "dev", "test": "test"})
    return root


def config(root, task, upstream="conformer", *extra):
    return load_superb_config(task, None, [
        f"model.upstream={root / f'{upstream}.pt'}", *(f"data.{s}_manifest={root / task / f}" for s, f in
                                                         (("train", "train.tsv"), ("valid", "dev.tsv"),
                                                          ("test", "test.tsv"))),
        "optim.max_updates=30", "trainer.valid_every=15", "trainer.save_every=15", "trainer.tensorboard=false",
        *extra])


def test_ks_learns_the_keywords_pitch_above_the_majority_class(corpora, tmp_path):
    # scored on dev (the fixture's separate test set has other pitches): a clip per keyword at its training pitch
    cfg = config(corpora, "ks", "w2v2", "optim.lr=0.01", "optim.max_updates=150",
                 f"data.test_manifest={corpora / 'ks' / 'dev.tsv'}")
    row = run_superb(cfg, tmp_path / "ks", results=tmp_path / "results.tsv")
    assert row["metric"] == "accuracy" and row["baseline"] == "majority class"
    assert row["value"] > row["baseline_value"] + 40, row  # 13 dev clips; the majority class gets 2
    assert (tmp_path / "ks" / "layer_weights.png").stat().st_size > 0
    weights = json.loads(row["layer_weights"])
    assert len(weights) == 3 and sum(weights) == pytest.approx(1.0, abs=1e-3)  # 2 blocks + their input
    assert json.loads((tmp_path / "ks" / "result.json").read_text())["value"] == row["value"]


def test_a_finished_run_is_scored_again_from_its_cache_and_replaces_its_row(corpora, tmp_path):
    cfg = config(corpora, "ic")
    results = tmp_path / "results.tsv"
    first = run_superb(cfg, tmp_path / "ic", results=results)
    store = next((tmp_path / "ic" / "features").glob("train-*")) / "states.npy"
    stamp = store.stat().st_mtime_ns
    second = run_superb(cfg, tmp_path / "ic", results=results)
    assert store.stat().st_mtime_ns == stamp  # not extracted again
    assert second["value"] == first["value"] and second["best_update"] == first["best_update"]
    assert read_checkpoint(tmp_path / "ic" / "checkpoint_last.pt", ("superb",)).trainer["num_updates"] == 30
    table = pd.read_csv(results, sep="\t")
    assert len(table) == 1 and table["metric"][0] == "accuracy"


@pytest.mark.parametrize("task", ["pr", "sd"])
def test_pr_and_sd_train_and_score_with_their_metric(corpora, tmp_path, task):
    row = run_superb(config(corpora, task), tmp_path / task, results=tmp_path / "results.tsv")
    assert row["metric"] == {"pr": "per", "sd": "der"}[task]
    assert row["value"] >= 0
    if task == "sd":  # the threshold and median tuned on dev, the collar: printed with the score
        assert "threshold" in row["scoring"] and "median filter" in row["scoring"] and "collar 0.25 s" in row["scoring"]
        assert row["baseline"] == "one speaker everywhere"


def test_cached_states_give_the_loss_of_running_the_upstream(corpora, tmp_path):
    cfg = config(corpora, "pr")
    upstream, ckpt = load_upstream(cfg.model)
    train, *_ = superb_datasets(cfg, upstream, ckpt, tmp_path, torch.device("cpu"), "fp32")
    uncached = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, cache_features=False))
    train_audio, *_ = superb_datasets(uncached, upstream, ckpt, tmp_path, torch.device("cpu"), "fp32")
    from asrkit.train.superb import build_downstream

    torch.manual_seed(0)
    model = build_downstream(cfg, upstream.num_layers + 1, upstream.embed_dim, []).eval()
    items = [0, 1]
    cached_loss, _, _ = make_task(cfg, None, 0.04).loss(model, train.collate([train[i] for i in items]))
    audio_loss, _, _ = make_task(cfg, upstream, 0.04).loss(model, train_audio.collate([train_audio[i] for i in items]))
    torch.testing.assert_close(cached_loss, audio_loss, rtol=2e-3, atol=2e-3)  # float16 on disk


@pytest.mark.parametrize("rate, first, last", [(640, 25, 49), (320, 50, 99)])
def test_sd_frame_labels_follow_the_upstreams_rate(tmp_path, rate, first, last):
    # one mixture of 3 s, speaker a speaking over [1.0, 2.0) s: a frame is active when its centre is inside
    (tmp_path / "x.rttm").write_text("SPEAKER m 1 1.000 1.000 <NA> <NA> a <NA> <NA>\n"
                                     "SPEAKER m 1 0.000 0.500 <NA> <NA> b <NA> <NA>\n")
    df = pd.DataFrame({"id": ["m"], "num_samples": [48000], "sample_rate": [16000]})
    frames = 48000 // rate
    labels = _labels("sd", df, str(tmp_path / "x.tsv"), [], lambda d: [frames], rate / 16000)["m"]
    assert labels.shape == (frames, 2)
    active = torch.nonzero(labels[:, 1]).flatten().tolist()  # b starts first: channel 0, a: channel 1
    assert active == list(range(first, last + 1))
    assert torch.nonzero(labels[:, 0]).flatten().tolist() == list(range(0, first // 2))


def test_the_conformer_upstream_reads_whole_utterances_not_its_pretraining_crop(corpora):
    cfg = config(corpora, "sd")
    upstream, _ = load_upstream(cfg.model)  # TINY's max_frames=16 would cap a 2 s mixture at 4 frames
    with torch.no_grad():
        states, padding = upstream.hidden_states(torch.randn(1, 32000))
    assert states[0].size(1) == 50 and upstream.downsample_rate == 640


@pytest.fixture
def run_cli_as_user(tmp_path):
    from click.testing import CliRunner

    from asrkit.cli import cli

    def run(*args):
        env = {"ASRKIT_DEBUG": None, "XDG_CACHE_HOME": str(tmp_path / "cache")}
        return CliRunner(env=env).invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return run


def test_superb_cli_errors_are_one_line(corpora, tmp_path, run_cli_as_user):
    base = ["superb", "--data-dir", corpora / "ks", "--exp-dir", tmp_path / "e"]
    result = run_cli_as_user(*base, "--task", "ks")
    assert result.exit_code == 1 and "model.upstream: give the upstream checkpoint" in result.output
    # a task's manifest without its columns
    result = run_cli_as_user(*base[:1], "--data-dir", corpora / "pr", "--exp-dir", tmp_path / "e2", "--task", "ks",
                             "--upstream", corpora / "conformer.pt")
    assert result.exit_code == 1 and "a KS manifest needs the column(s) label" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    # a class the upstream's training set never has: counted (always wrong), named in the log, not an error
    bad = tmp_path / "ic"
    for split in ("train", "dev", "test"):
        df = read_manifest(corpora / "ic" / f"{split}.tsv")
        if split == "dev":
            df.loc[0, "object"] = "shoes"
        write_manifest(df, bad / f"{split}.tsv")
    result = run_cli_as_user("superb", "--task", "ic", "--data-dir", bad, "--exp-dir", tmp_path / "e3", "--upstream",
                             corpora / "conformer.pt", "--set", "optim.max_updates=2")
    assert result.exit_code == 0 and "training never has (always wrong): object 'shoes'" in result.output


def test_a_damaged_feature_cache_is_one_line_naming_it(corpora, tmp_path):
    from asrkit.data.manifest import ManifestError
    from asrkit.data.superb import FeatureStore

    cfg = config(corpora, "pr")
    run_superb(cfg, tmp_path / "pr")
    store = next((tmp_path / "pr" / "features").glob("train-*"))
    (store / "states.npy").write_bytes(b"not numpy")
    with pytest.raises(ManifestError, match="damaged feature cache .*; delete it to extract again"):
        FeatureStore(store)


def test_bad_task_data_is_an_error_naming_the_file_and_utterance(corpora, tmp_path):
    from asrkit.data.manifest import ManifestError
    from asrkit.data.superb import read_task_manifest

    df = pd.DataFrame({"id": ["m"], "num_samples": [16000], "sample_rate": [16000]})
    (tmp_path / "x.rttm").write_text("".join(f"SPEAKER m 1 {i}.000 0.500 <NA> <NA> s{i} <NA> <NA>\n" for i in range(3)))
    with pytest.raises(ManifestError, match=r"x.rttm: mixture 'm' has 3 speakers"):
        _labels("sd", df, str(tmp_path / "x.tsv"), [], lambda d: [50], 0.02)
    df = pd.DataFrame({"id": ["u1"], "phones": ["k ae zz"]})
    with pytest.raises(ManifestError, match=r"p.tsv: utterance 'u1': phone 'zz' is not in asrkit.data.phones.PHONES"):
        _labels("pr", df, "p.tsv", [], None, 0.02)
    lone = tmp_path / "sd"  # an SD manifest without its RTTM
    write_manifest(read_manifest(corpora / "sd" / "dev.tsv"), lone / "dev.tsv")
    with pytest.raises(ManifestError, match=r"dev.tsv: no dev.rttm beside it"):
        read_task_manifest(lone / "dev.tsv", "sd")


def test_a_config_file_of_another_task_is_refused(tmp_path):
    from asrkit.config import ConfigError

    (tmp_path / "c.yaml").write_text("task: pr\noptim:\n  lr: 0.5\n")
    with pytest.raises(ConfigError, match="task 'pr', but --task is ks"):
        load_superb_config("ks", tmp_path / "c.yaml", ["model.upstream=u.pt"])
    (tmp_path / "c.yaml").write_text("optim:\n  lr: 0.5\n")  # the file over the task's defaults, --set over both
    cfg = load_superb_config("pr", tmp_path / "c.yaml", ["model.upstream=u.pt", "optim.update_freq=3",
                                                         *(f"data.{s}_manifest=x.tsv" for s in ("train", "valid", "test"))])
    assert (cfg.optim.lr, cfg.optim.update_freq, cfg.optim.max_updates) == (0.5, 3, 1500)


def test_runs_side_by_side_lose_no_row_of_the_shared_results_table(tmp_path):
    import multiprocessing as mp

    from asrkit.train.superb import append_result

    path = tmp_path / "results.tsv"
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=lambda k=k: [append_result(path, {"exp_dir": f"e{k}_{i}", "value": i})
                                             for i in range(20)]) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert sorted(pd.read_csv(path, sep="\t")["exp_dir"]) == sorted(f"e{k}_{i}" for k in range(4) for i in range(20))
