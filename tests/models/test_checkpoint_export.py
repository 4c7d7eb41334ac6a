"""``asrkit export --to hf`` as a library (``asrkit.export``, ``asrkit.models.checkpoint_export``): asrkit
checkpoints become transformers directories that compute the same outputs.

Tiny random asrkit models, every parameter perturbed (LayerNorms at 1/0 and zero biases would hide a swapped
key), are saved as real checkpoints (``checkpoint_header`` + ``atomic_save``, the format finetune and pretrain
write, with a real character token list), exported, and loaded back with transformers' ``from_pretrained`` from
the local directory (offline). Both run in eval mode, fp32, on a zero-padded batch of two utterances of 2400 and
1900 samples (119 and 94 frames) with an attention mask; valid frames are compared, as in the import parity
tests. Measured max abs differences (torch 2.14, transformers 5, CPU): CTC log-probabilities 0 (wav2vec 2.0,
SEW: the same operations in the same order) and 2.4e-6 (SEW-D); last hidden states 0 (wav2vec 2.0, SEW) and
2.2e-6 (SEW-D); wav2vec 2.0's projected, quantized and codebook vectors 0. TOL = 1e-4, as the import tests.
"""
from __future__ import annotations

import pytest
import torch
import transformers
from transformers import AutoModel, AutoModelForCTC, Wav2Vec2Processor  # import time, not test time

from asrkit.checkpoint import atomic_save, checkpoint_header, encoder_weights, load_model, read_checkpoint
from asrkit.data.audio import normalize_waveform
from asrkit.data.tokenizer import CharTokenizer
from asrkit.decode.greedy import greedy_decode
from asrkit.export import export_hf
from asrkit.models.av import load_av_config
from asrkit.models.checkpoint_export import NotExportable
from asrkit.models.checkpoint_import import load_hf_directory
from asrkit.models.factory import ctc_model, encoder_model, wav2vec2_model
from asrkit.models.wav2vec2 import Wav2Vec2Config
from asrkit.testing.parity import padded_batch, perturbed

TOL = 1e-4
LENGTHS = (2400, 1900)  # samples -> 119 and 94 frames
TOKENS = CharTokenizer().tokens  # <blank>, |, A-Z, '
TINY = dict(conv_feature_layers="[(32, 10, 5), (32, 3, 2), (48, 2, 2)]", encoder_layers=2, encoder_embed_dim=64,
            encoder_ffn_embed_dim=128, encoder_attention_heads=4, conv_pos=16, conv_pos_groups=4, latent_vars=8,
            latent_dim=16, final_dim=12, mask_prob=0.05)
ARCHS = {
    # LARGE-like: layer-norm feature encoder, pre-LN, normalised 8 kHz input (so preprocessor_config differs from
    # transformers' defaults in every field the export sets)
    "wav2vec2_layer_norm": dict(extractor_mode="layer_norm", layer_norm_first=True, conv_bias=True, normalize=True,
                                sample_rate=8000),
    "wav2vec2_group_norm": dict(),  # BASE-like
    "sew": dict(model_type="sew", squeeze_factor=2),
    "sew_d": dict(model_type="sew_d", squeeze_factor=2, position_buckets=16, max_relative_positions=40),
}
CTC_CLASSES = {"wav2vec2": "Wav2Vec2ForCTC", "sew": "SEWForCTC", "sew_d": "SEWDForCTC"}


def tiny_config(arch: str, **changes) -> Wav2Vec2Config:
    return Wav2Vec2Config(**{**TINY, **ARCHS[arch], **changes})


def save_checkpoint(path, kind: str, cfg, model_state: dict, tokens=(), task=None):
    atomic_save({**checkpoint_header(kind, cfg, tokens=tokens, task=task), "model": model_state}, path)
    return path


def ctc_checkpoint(path, cfg: Wav2Vec2Config, seed: int = 0, task=None):
    torch.manual_seed(seed)
    model = perturbed(ctc_model(encoder_model(cfg), cfg, len(TOKENS)))
    with torch.no_grad():  # blanks and word boundaries win often enough for best paths of several words
        model.classifier.bias[:2] += torch.tensor([3.0, 2.5])
    return save_checkpoint(path, "ctc", cfg, model.state_dict(), TOKENS, task or {"model": {"final_dropout": 0.1}})


def pretrain_checkpoint(path, cfg: Wav2Vec2Config, seed: int = 0):
    torch.manual_seed(seed)
    return save_checkpoint(path, "pretrain", cfg, perturbed(wav2vec2_model(cfg)).state_dict())


def _valid(lengths: torch.Tensor, num_frames: int) -> torch.Tensor:
    return torch.arange(num_frames)[None, :] < lengths[:, None]


def assert_round_trips(out_dir, ckpt, left_out=()):
    """asrkit's importer reads the export back to the checkpoint's encoder weights and architecture."""
    cfg, weights = load_hf_directory(out_dir)
    ours = encoder_weights(ckpt)
    assert set(weights) == {k for k in ours if not k.startswith(left_out)}
    assert all(torch.equal(weights[k], ours[k]) for k in weights)
    for name in ("model_type", "conv_layers", "extractor_mode", "conv_bias", "layer_norm_first", "encoder_layers",
                 "encoder_embed_dim", "encoder_ffn_embed_dim", "encoder_attention_heads", "conv_pos",
                 "conv_pos_groups", "squeeze_factor", "position_buckets", "max_relative_positions"):
        assert getattr(cfg, name) == getattr(ckpt.model_config, name), name


@pytest.mark.parametrize("arch", ARCHS)
def test_ctc_export_gives_the_same_log_probs_and_transcripts_in_transformers(arch, tmp_path):
    cfg = tiny_config(arch)
    path = ctc_checkpoint(tmp_path / "ctc.pt", cfg)
    model, ckpt = load_model(path)
    result = export_hf(path, tmp_path / "hf")
    assert result.hf_class == CTC_CLASSES[cfg.model_type] and result.dropped == ()
    assert {"vocab.json", "tokenizer_config.json", "special_tokens_map.json", "preprocessor_config.json",
            "config.json", "model.safetensors"} <= set(result.files)

    hf = AutoModelForCTC.from_pretrained(tmp_path / "hf", local_files_only=True).eval()
    processor = Wav2Vec2Processor.from_pretrained(tmp_path / "hf", local_files_only=True)
    assert type(hf).__name__ == result.hf_class and result.num_parameters == sum(p.numel() for p in hf.parameters())
    assert (hf.config.vocab_size, hf.config.pad_token_id) == (len(TOKENS), 0)
    tokenizer, features = processor.tokenizer, processor.feature_extractor
    assert tokenizer.convert_ids_to_tokens(list(range(len(TOKENS)))) == TOKENS and len(tokenizer) == len(TOKENS)
    assert (tokenizer.pad_token, tokenizer.word_delimiter_token) == ("<blank>", "|")
    assert (features.sampling_rate, features.do_normalize, features.return_attention_mask) == \
        (cfg.sample_rate, cfg.normalize, cfg.extractor_mode == "layer_norm")

    raw, mask = padded_batch(LENGTHS)
    waves = [w[:n].numpy() for w, n in zip(raw, LENGTHS)]
    batch = processor(waves, sampling_rate=cfg.sample_rate, padding=True, return_attention_mask=True,
                      return_tensors="pt")
    wav, attention_mask = batch.input_values, batch.attention_mask.bool()
    assert torch.equal(attention_mask, mask)
    for w, x, n in zip(waves, wav, LENGTHS):  # the input asrkit's data loader gives the model
        expected = normalize_waveform(torch.from_numpy(w)) if cfg.normalize else torch.from_numpy(w)
        assert (x[:n] - expected).abs().max() < 1e-4
    with torch.no_grad():
        log_probs, lengths = model(wav, ~attention_mask)
        logits = hf(wav, attention_mask=attention_mask).logits
    valid = _valid(lengths, log_probs.size(1))
    assert lengths.tolist() == hf._get_feat_extract_output_lengths(torch.tensor(LENGTHS)).tolist()
    diff = (logits.log_softmax(-1) - log_probs)[valid].abs().max().item()
    print(f"{arch}: CTC log-probs max abs diff {diff:.2e}")
    assert diff <= TOL

    ours = greedy_decode(log_probs, lengths, TOKENS)
    ids = logits.argmax(-1)
    theirs = [processor.decode(ids[i, :n]) for i, n in enumerate(lengths.tolist())]
    print(f"{arch}: {ours}")
    assert all(" " in text for text in ours)  # several words each: the comparison says something
    # the same words; transformers keeps two spaces around an empty word (| <blank> |), asrkit one (see
    # test_the_tokenizer_decodes_best_paths_as_asrkit_except_empty_words)
    assert [" ".join(text.split()) for text in theirs] == ours
    assert_round_trips(tmp_path / "hf", ckpt)


def test_the_tokenizer_decodes_best_paths_as_asrkit_except_empty_words(tmp_path):
    """Repeats collapse, a blank between equal tokens keeps both, delimiters at the edges go; an empty word
    (| <blank> |) is the one difference: transformers keeps both spaces."""
    cfg = tiny_config("wav2vec2_group_norm")
    export_hf(ctc_checkpoint(tmp_path / "ctc.pt", cfg), tmp_path / "hf")
    tokenizer = Wav2Vec2Processor.from_pretrained(tmp_path / "hf", local_files_only=True).tokenizer
    index = {t: i for i, t in enumerate(TOKENS)}

    def both(path: str):
        ids = [index[{"_": "<blank>"}.get(c, c)] for c in path]
        emissions = torch.nn.functional.one_hot(torch.tensor([ids], dtype=torch.long), len(TOKENS)).float()
        return tokenizer.decode(ids), greedy_decode(emissions, None, TOKENS)[0]

    for path in ("|_HHE_LL_LO|WOR_LD||", "A_A_|_", "_", "|||", ""):
        theirs, ours = both(path)
        assert theirs == ours, path
    assert both("A|_|B") == ("A  B", "A B")


@pytest.mark.parametrize("arch", ["wav2vec2_layer_norm", "wav2vec2_group_norm"])
def test_wav2vec2_pretrain_export_keeps_the_quantizer_and_projections(arch, tmp_path):
    cfg = tiny_config(arch)
    path = pretrain_checkpoint(tmp_path / "pt.pt", cfg)
    model, ckpt = load_model(path)
    result = export_hf(path, tmp_path / "hf")
    assert result.hf_class == "Wav2Vec2ForPreTraining" and result.dropped == ()
    assert result.files == ("config.json", "model.safetensors")
    hf = transformers.Wav2Vec2ForPreTraining.from_pretrained(tmp_path / "hf", local_files_only=True).eval()

    wav, attention_mask = padded_batch(LENGTHS)
    with torch.no_grad():
        out = model.extract_features(wav, padding_mask=~attention_mask)
        q = model.quantizer(out.features)
        ref = hf(wav, attention_mask=attention_mask)  # eval: no masking, argmax quantization
        hidden = hf.wav2vec2(wav, attention_mask=attention_mask).last_hidden_state
        codevectors, _ = hf.quantizer(hf.wav2vec2(wav, attention_mask=attention_mask).extract_features)
    valid = ~out.padding_mask
    diffs = {"last hidden state": (out.x - hidden)[valid].abs().max().item(),
             "projected states": (model.final_proj(out.x) - ref.projected_states)[valid].abs().max().item(),
             "projected quantized states": (q.quantized - ref.projected_quantized_states).abs().max().item(),
             "codevectors": (q.codevectors - codevectors).abs().max().item()}
    print(f"{arch}: max abs diffs {diffs}")
    assert max(diffs.values()) <= TOL
    assert_round_trips(tmp_path / "hf", ckpt)


@pytest.mark.parametrize("arch, hf_class", [("sew", "SEWModel"), ("sew_d", "SEWDModel"),
                                            ("wav2vec2_group_norm", "Wav2Vec2Model")])
def test_encoders_without_transformers_heads_export_their_encoder(arch, hf_class, tmp_path):
    """SEW / SEW-D (transformers has no pre-training model for them) and a wav2vec 2.0 with SEW's MLP predictors
    (Wav2Vec2ForPreTraining's are linear): the encoder, its heads left out and said so."""
    cfg = tiny_config(arch, predictor_layers=2, predictor_hidden_dim=32)
    path = pretrain_checkpoint(tmp_path / "pt.pt", cfg)
    model, ckpt = load_model(path)
    result = export_hf(path, tmp_path / "hf")
    assert result.hf_class == hf_class
    assert len(result.dropped) == 1 and result.dropped[0].startswith("pre-training heads (final_proj, quantizer)")
    hf = AutoModel.from_pretrained(tmp_path / "hf", local_files_only=True).eval()
    assert type(hf).__name__ == hf_class

    wav, attention_mask = padded_batch(LENGTHS)
    with torch.no_grad():
        out = model.extract_features(wav, padding_mask=~attention_mask)
        ref = hf(wav, attention_mask=attention_mask).last_hidden_state
    diff = (out.x - ref)[~out.padding_mask].abs().max().item()
    print(f"{arch}: last hidden state max abs diff {diff:.2e}")
    assert diff <= TOL
    assert_round_trips(tmp_path / "hf", ckpt, left_out=("quantizer.", "final_proj."))


def test_transformers_sew_d_round_trips_through_import_and_export(tmp_path):
    """transformers -> asrkit import-checkpoint -> export gives transformers' tensors back, bit for bit: the
    identity feature projection the importer supplies (conv_dim[-1] == hidden_size) is left out again, and the
    up-sampling Linear goes through the transposed convolution and back."""
    from asrkit.checkpoint import write_imported_checkpoint

    torch.manual_seed(0)
    hf_cfg = transformers.SEWDConfig(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, squeeze_factor=2,
        conv_dim=(32, 32, 64), conv_kernel=(10, 3, 2), conv_stride=(5, 2, 2), num_conv_pos_embeddings=31,
        num_conv_pos_embedding_groups=4, position_buckets=16, max_position_embeddings=40,
    )  # fmt: skip
    hf = perturbed(transformers.SEWDModel(hf_cfg))
    hf.save_pretrained(tmp_path / "src")
    write_imported_checkpoint(tmp_path / "src", "hf", tmp_path / "imported.pt")
    result = export_hf(tmp_path / "imported.pt", tmp_path / "out")
    assert result.hf_class == "SEWDModel"
    assert any(d.startswith("feature_projection.projection: the identity") for d in result.dropped)
    back = transformers.SEWDModel.from_pretrained(tmp_path / "out", local_files_only=True).state_dict()
    original = hf.state_dict()
    assert set(back) == set(original) and all(torch.equal(back[k], original[k]) for k in original)


def _av_config():
    return load_av_config("av_tiny")


REFUSED = {
    # kind or model refused before any weight is read: an empty state dict is enough
    "midtrain": ("midtrain", lambda: tiny_config("wav2vec2_group_norm"), None, (), None,
                 "a mid-trained speech-translation model"),
    "superb": ("superb", lambda: tiny_config("wav2vec2_group_norm"), None, (), None, "a SUPERB downstream model"),
    "av": ("pretrain", _av_config, None, (), None, "model_type 'av'"),
    # real weights
    "fbank": ("pretrain", lambda: tiny_config("sew_d", feature_extractor="fbank", fbank_dim=20,
                                              fbank_conv_layers="[(8, 3, 1), (8, 3, 2)]"),
              "pretrain", (), None, "filter-bank front end"),
    "pre_ln_sew": ("pretrain", lambda: tiny_config("sew", layer_norm_first=True), "pretrain", (), None,
                   "pre-LN SEW (layer_norm_first: true)"),
    "learned_projection": ("pretrain", lambda: tiny_config("sew", conv_feature_layers="[(32, 10, 5), (64, 3, 2)]"),
                           "pretrain", (), None, "learned feature projection"),
    "lstm_head": ("ctc", lambda: tiny_config("wav2vec2_group_norm"), "ctc", TOKENS,
                  {"model": {"head": "lstm", "head_layers": 1, "head_dim": 8}}, "CTC head 'lstm'"),
    "sentencepiece": ("ctc", lambda: tiny_config("wav2vec2_group_norm"), "ctc", ("<blank>", "\u2581A", "B", "\u2581"),
                      None, "sentencepiece pieces"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_what_transformers_cannot_hold_is_refused_naming_it(case, tmp_path):
    kind, make_config, weights, tokens, task, what = REFUSED[case]
    cfg = make_config()
    torch.manual_seed(0)
    if weights == "pretrain":
        state = wav2vec2_model(cfg).state_dict()
    elif weights == "ctc":
        head = (task or {}).get("model", {})
        model = ctc_model(encoder_model(cfg), cfg, len(tokens), **{k: v for k, v in head.items()})
        state = model.state_dict()
    else:
        state = {}
    path = save_checkpoint(tmp_path / "c.pt", kind, cfg, state, tokens, task)
    if weights:
        load_model(path)  # a checkpoint asrkit itself loads
    else:
        read_checkpoint(path, (kind,))
    with pytest.raises(NotExportable) as e:
        export_hf(path, tmp_path / "hf")
    message = str(e.value)
    assert message.startswith(f"{path}: not exportable: ") and what in message and "\n" not in message, message
    assert not (tmp_path / "hf").exists() and [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_a_non_empty_out_dir_is_refused(tmp_path):
    cfg = tiny_config("wav2vec2_group_norm")
    path = pretrain_checkpoint(tmp_path / "pt.pt", cfg)
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "vocab.json").write_text("{}")
    with pytest.raises(FileExistsError, match="not empty"):
        export_hf(path, tmp_path / "hf")
    assert [p.name for p in (tmp_path / "hf").iterdir()] == ["vocab.json"]
    (tmp_path / "empty").mkdir()
    for out_dir in (tmp_path / "empty", tmp_path / "new" / "nested"):  # an empty or a new directory is fine
        assert export_hf(path, out_dir).files == ("config.json", "model.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "hf", "new", "pt.pt"]  # no temporary left
