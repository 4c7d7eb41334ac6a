"""The factory: ``ARCHS`` picks the builder of a config's ``model_type``; the base model imports none of its extensions."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

import asrkit.models.wav2vec2
from asrkit.models import ARCHS, load_wav2vec2_config, wav2vec2_model
from asrkit.models.factory import pretraining_model, sew_context_network


def _module_imports(path: Path) -> set[str]:
    """Modules imported at the top level of a file (not inside functions)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_base_model_does_not_import_the_models_that_extend_it():
    imports = _module_imports(Path(asrkit.models.wav2vec2.__file__))
    assert not {m for m in imports if m.split(".")[-1] in ("sew", "sew_d", "factory")}, imports


@pytest.mark.parametrize("name, context", [("tiny", "TransformerEncoder"), ("sew_tiny", "SqueezedContextNetwork"),
                                           ("sew_d_tiny", "SqueezedContextNetwork")])
def test_wav2vec2_model_builds_the_config_s_model_type(name, context):
    cfg = load_wav2vec2_config(name)
    with torch.device("meta"):
        model = wav2vec2_model(cfg)
    assert type(model.encoder).__name__ == context and model.cfg is cfg


def test_a_registered_architecture_is_built_through_its_archs_entry(monkeypatch):
    built = []

    def squeezed_with_a_note(cfg):
        built.append(cfg.model_type)
        return pretraining_model(cfg, sew_context_network)

    monkeypatch.setitem(ARCHS, "sew", squeezed_with_a_note)
    with torch.device("meta"):
        wav2vec2_model("sew_tiny")
    assert built == ["sew"]


def test_the_same_seed_gives_the_same_weights():
    cfg = load_wav2vec2_config("sew_d_tiny", ["encoder_layers=1", "predictor_hidden_dim=64"])
    torch.manual_seed(0)
    a = wav2vec2_model(cfg).state_dict()
    torch.manual_seed(0)
    b = wav2vec2_model(cfg).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
