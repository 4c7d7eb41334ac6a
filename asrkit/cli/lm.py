"""``asrkit lm`` (train, lexicon, eval): KenLM n-grams and flashlight lexicons for beam search
(:mod:`asrkit.decode.lm`)."""
from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from .ui import CONTEXT, console, fail


def _prune_counts(ctx, param, value: str) -> list[int] | None:
    """``--prune '0 0 1'`` -> ``[0, 0, 1]`` (None when empty)."""
    try:
        return [int(p) for p in value.split()] or None
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected integer counts separated by spaces, e.g. '0 0 1'") from None


_TOKENS_OPTION = click.option(
    "--tokens", "tokens_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="tokens.txt of the acoustic model (default: the LibriSpeech characters).")


@click.group(context_settings=CONTEXT)
def lm():
    """n-gram language models (KenLM) and lexicons for beam-search decoding."""


@lm.command("train", context_settings=CONTEXT)
@click.argument("text", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_prefix", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output prefix: writes PREFIX.arpa and PREFIX.bin.")
@click.option("--order", default=4, help="n-gram order (wav2vec 2.0 decodes with the LibriSpeech 4-gram).")
@click.option("--lexicon", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Flashlight lexicon of the LM vocabulary to write (default: lexicon.txt next to PREFIX).")
@_TOKENS_OPTION
@click.option("--memory", default="25%", help="lmplz -S: sort memory, e.g. 25% or 4G.")
@click.option("--prune", default="", callback=_prune_counts,
              help="lmplz --prune: count thresholds per order, e.g. '0 0 1'.")
@click.option("--tools-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory with bin/lmplz and bin/build_binary (default: $ASRKIT_TOOLS, then tools/, then PATH).")
def lm_train(text: Path, out_prefix: Path, order: int, lexicon: Path | None, tokens_path: Path | None,
             memory: str, prune: list[int] | None, tools_dir: Path | None):
    """Train a KenLM n-gram on TEXT (one sentence per line) and write its lexicon.

    \b
    Examples:
      asrkit lm train data/lm/text.txt --order 4 --out data/lm/4gram
      asrkit lm train data/lm/text.txt --order 3 --prune '0 1 1' --memory 4G --out data/lm/3gram_pruned
    """
    from ..data.tokenizer import TokenizerError
    from ..decode.lm import LMError, LMToolsMissing, lexicon_tokens, train_lm

    try:
        lm_files = train_lm(text, out_prefix, order, lexicon=lexicon, tokens=lexicon_tokens(tokens_path),
                            tools_dir=tools_dir, memory=memory, prune=prune)
    except (LMError, LMToolsMissing, TokenizerError) as e:
        fail(str(e))
    console.print(f"wrote {lm_files.arpa}, {lm_files.binary} and {lm_files.lexicon} ({lm_files.words} words, "
                  f"{len(lm_files.skipped)} outside the token set)")


@lm.command("lexicon", context_settings=CONTEXT)
@click.argument("arpa", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Lexicon to write.")
@_TOKENS_OPTION
def lm_lexicon(arpa: Path, out: Path, tokens_path: Path | None):
    """Flashlight lexicon (WORD<TAB>W O R D |) of the vocabulary of an ARPA LM.

    \b
    Examples:
      asrkit lm lexicon data/lm/4gram.arpa --out data/lm/lexicon.txt
      asrkit lm lexicon data/lm/4gram.arpa --tokens exp/scratch_10m/tokens.txt --out data/lm/lexicon_model.txt
    """
    from ..data.tokenizer import TokenizerError
    from ..decode.lm import LMError, lexicon_tokens, write_lexicon

    try:
        n, skipped = write_lexicon(arpa, out, tokens=lexicon_tokens(tokens_path))
    except (LMError, TokenizerError) as e:
        fail(str(e))
    console.print(f"wrote {out}: {n} words; {len(skipped)} outside the token set" +
                  (f" (e.g. {', '.join(skipped[:5])})" if skipped else ""))


@lm.command("eval", context_settings=CONTEXT)
@click.argument("lm_path", metavar="LM", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("texts", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def lm_eval(lm_path: Path, texts: tuple[Path, ...]):
    """Perplexity and OOV count of LM on text files (one sentence per line) or manifests (*.tsv).

    \b
    Example:
      asrkit lm eval data/lm/4gram.bin data/manifests/dev.tsv data/manifests/test.tsv
    """
    from ..data.manifest import ManifestError
    from ..decode.lm import LMError, lm_perplexity

    table = Table(title=f"perplexity of {lm_path}")
    for col in ("text", "sentences", "words", "oov", "ppl"):
        table.add_column(col, justify="left" if col == "text" else "right")
    for path in texts:
        try:
            stats = lm_perplexity(lm_path, path)
        except (LMError, ManifestError) as e:
            fail(str(e))
        table.add_row(str(path), str(stats["sentences"]), str(stats["words"]), str(stats["oov"]), f"{stats['ppl']:.2f}")
    console.print(table)
