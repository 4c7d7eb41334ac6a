"""``asrkit analyze codes``: what the quantizer's codes of a pre-trained model stand for, the co-occurrence of codes and
phones of wav2vec 2.0's Appendix D (:mod:`asrkit.analyze`)."""
from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from .ui import CONTEXT, console, fail, progress_bars, stdout_console

EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("analyze", context_settings=CONTEXT)
def analyze():
    """Look inside a trained model."""


@analyze.command("codes", context_settings=CONTEXT)
@click.option("--checkpoint", type=EXISTING, required=True,
              help="A pre-training checkpoint (wav2vec 2.0, SEW, SEW-D): its quantizer gives the codes.")
@click.option("--manifest", type=EXISTING, required=True, help="The utterances to analyse.")
@click.option("--alignments", type=EXISTING, default=None,
              help="Phone alignments, one segment a line: '<utterance id> <start s> <end s> <phone>'. "
                   "Default: the metadata of the built-in corpus the manifest's audio is in.")
@click.option("--phone-set", type=click.Choice(["timit", "arpabet", "espeak"]), default="timit",
              help="The phone names of --alignments: TIMIT's 61 (or 39), CMUdict ARPAbet, espeak-ng mnemonics; "
                   "all fold to the 39 classes (38 phones and silence).")
@click.option("--metadata", type=click.Path(exists=True, path_type=Path), default=None,
              help="The built-in corpus's metadata folder (or one <split>.jsonl), when it is not found above "
                   "the manifest's audio.")
@click.option("--top", type=click.IntRange(min=1), default=100, help="Codes on the figure: the most frequent.")
@click.option("--silence/--no-silence", default=True,
              help="Count silent frames as the phone 'sil' (as the paper's figure), or leave them out.")
@click.option("--device", default="auto", help="Where the model runs: auto (a GPU when torch sees one), cpu, cuda.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Writes code_phone_counts.tsv, p_phone_given_code.png and summary.json here.")
def codes_cmd(checkpoint, manifest, alignments, phone_set, metadata, top, silence, device, out_dir):
    """Co-occurrence of the quantizer's codes and phones (wav2vec 2.0 Appendix D, Figure 3): one code per frame
    (the argmax entry of each codebook, G = 2 entries as one code g1 * V + g2), the phone most represented in the
    frame's receptive field; writes the counts, P(phone | code) for the most frequent codes as a figure, and phone
    purity, H(phone | code), I(code; phone) and its phone-normalised form (PNMI). Utterances without alignment
    are counted, not an error.

    \b
    Examples:
      asrkit analyze codes --checkpoint exp/pretrain/checkpoint_best.pt --manifest data/manifests/dev.tsv \\
        --out-dir exp/codes
      asrkit analyze codes --checkpoint exp/pretrain/checkpoint_best.pt --manifest timit_train.tsv \\
        --alignments timit_train.ali --phone-set timit --top 200 --out-dir exp/codes_timit
    """
    from ..analyze import AnalysisError, analyze_codes
    from ..config import ConfigError
    from ..data.audio import AudioError
    from ..data.manifest import ManifestError

    if alignments is not None and metadata is not None:
        fail("give --alignments or --metadata, not both")
    try:
        with progress_bars(transient=True) as update:
            result = analyze_codes(checkpoint, manifest, out_dir, alignments=alignments, phone_set=phone_set,
                                   metadata=metadata, top=top, silence=silence, device=device, progress=update)
    except (AnalysisError, ConfigError, ManifestError, AudioError) as e:
        fail(str(e))
    s = result.summary
    table = Table(title=f"codes of {checkpoint.name} ({s['num_updates']} updates) on {manifest.name}")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("utterances analysed", f"{s['utterances_analysed']} of {s['utterances']}")
    table.add_row("frames with a phone", f"{s['frames_with_phone']:,} of {s['frames']:,}")
    table.add_row("codes used", f"{s['codes_used']:,} of {s['codes_possible']:,}")
    table.add_row("code perplexity", f"{s['code_perplexity']:.1f}")
    table.add_row("phone purity", f"{s['phone_purity']:.3f}")
    if "heldout_phone_purity" in s:
        table.add_row("held-out phone purity (2-fold)", f"{s['heldout_phone_purity']:.3f}")
    table.add_row("code purity", f"{s['code_purity']:.3f}")
    table.add_row("H(phone) bits", f"{s['phone_entropy']:.3f}")
    table.add_row("H(phone | code) bits", f"{s['conditional_entropy']:.3f}")
    table.add_row("I(code; phone) bits", f"{s['mutual_information']:.3f}")
    table.add_row("PNMI = I / H(phone)", f"{s['pnmi']:.3f}")
    table.add_row(f"top {s['top_codes']} codes' share of frames", f"{s['top_codes_frame_share']:.1%}")
    stdout_console().print(table)
    if result.missing or s["utterances_too_short"]:
        console.print(f"[yellow]{len(result.missing)} utterance(s) without alignment, {s['utterances_too_short']} "
                      f"shorter than one frame: left out[/yellow]"
                      + (f" (first: {', '.join(result.missing[:3])})" if result.missing else ""), soft_wrap=True)
    console.print(f"wrote {result.counts_tsv}, {result.figure}, {result.summary_json}", soft_wrap=True)
