"""``asrkit export``: an asrkit checkpoint as a Hugging Face transformers directory (:mod:`asrkit.export`)."""
from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from .ui import CONTEXT, fail, stdout_console


@click.command("export", context_settings=CONTEXT)
@click.option("--to", "target", type=click.Choice(["hf"]), required=True,
              help="hf: a transformers save_pretrained directory (Wav2Vec2ForPreTraining / Wav2Vec2ForCTC, "
                   "SEWModel / SEWForCTC, SEWDModel / SEWDForCTC; a CTC model with its Wav2Vec2Processor files).")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(path_type=Path))
def export_cmd(target: str, checkpoint: Path, out_dir: Path):
    """Export a pretrain or ctc CHECKPOINT (wav2vec 2.0, SEW, SEW-D on waveforms) into the new directory OUT_DIR,
    loadable offline with from_pretrained(OUT_DIR). What transformers cannot compute exactly (midtrain and superb
    checkpoints, the AV Conformer, filter banks, pre-LN SEW, an LSTM head, sentencepiece tokens) is refused.

    \b
    Examples:
      asrkit export --to hf exp/pretrained_10m/checkpoint_best.pt exp/hf_ctc
      asrkit export --to hf exp/pretrain/checkpoint_last.pt exp/hf_pretrained
    """
    from ..config import ConfigError
    from ..export import NotExportable, export_hf

    try:
        result = export_hf(checkpoint, out_dir)
    except (NotExportable, ConfigError, FileExistsError) as e:
        fail(str(e))
    except ModuleNotFoundError as e:
        if e.name != "transformers":
            raise
        fail("exporting to transformers needs it installed: pip install 'transformers>=4.40'")
    table = Table(title=f"exported {checkpoint} -> {result.out_dir}")
    table.add_column("what")
    table.add_column("value")
    table.add_row("transformers class", result.hf_class)
    table.add_row("parameters", f"{result.num_parameters / 1e6:.2f}M ({result.num_parameters:,})")
    model_files = [f for f in result.files if f in ("config.json", "model.safetensors")]
    processor_files = [f for f in result.files if f not in model_files]
    table.add_row("model files", ", ".join(model_files))
    table.add_row("processor files", ", ".join(processor_files) or "none (not a CTC model)")
    table.add_row("left out", "; ".join(result.dropped) or "nothing")
    stdout_console().print(table)
