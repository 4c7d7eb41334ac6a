"""An untrained CTC model saved as ``asrkit finetune`` saves one: a checkpoint for decode and recipe tests."""
from __future__ import annotations

from pathlib import Path


def write_ctc_checkpoint(path: str | Path, encoder_config: dict, seed: int = 0, tokens: list[str] | None = None,
                         blank_logit: float = 0.0) -> Path:
    """A CTC model over the LibriSpeech characters (or ``tokens``, blank first, e.g. ``PhoneTokenizer().tokens``)
    with random weights (``torch.manual_seed(seed)``) on an encoder of ``encoder_config``
    (:class:`asrkit.models.wav2vec2.Wav2Vec2Config` fields), saved in asrkit's checkpoint format
    (``asrkit.checkpoint``, kind ``ctc``). ``blank_logit`` is added to the blank's output bias: a large value (1000)
    makes the model emit blanks only, as a trained CTC model mostly does, so that a lexicon beam search prunes every
    other token at once instead of exploring random emissions to the full beam (tests of the decoding plumbing)."""
    import torch

    from ..checkpoint import checkpoint_header
    from ..data.tokenizer import CharTokenizer
    from ..models import Wav2Vec2Config, wav2vec2_model
    from ..models.heads import Wav2Vec2ForCTC

    tokens = list(tokens) if tokens is not None else CharTokenizer().tokens
    torch.manual_seed(seed)
    encoder = wav2vec2_model(Wav2Vec2Config.from_dict(encoder_config))
    model = Wav2Vec2ForCTC(encoder, len(tokens))
    with torch.no_grad():
        model.classifier.bias[0] += blank_logit
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**checkpoint_header("ctc", encoder.cfg, tokens=tokens), "model": model.state_dict()}, path)
    return path
