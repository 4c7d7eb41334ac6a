"""``asrkit lm`` (train, lexicon, eval): KenLM n-grams (:mod:`asrkit.decode.lm`), Transformer LMs
(:mod:`asrkit.train.lm`) and flashlight lexicons for beam search."""
from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from .ui import CONTEXT, console, fail, given_options


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
    """n-gram (KenLM) and Transformer language models and lexicons for beam-search decoding."""


@lm.command("train", context_settings=CONTEXT)
@click.argument("text", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--type", "lm_type", type=click.Choice(["ngram", "transformer"]), default="ngram",
              help="ngram: a KenLM n-gram; transformer: a Transformer LM (wav2vec 2.0 §4.4's Transf. LM).")
@click.option("--out", "out_prefix", type=click.Path(path_type=Path), required=True,
              help="ngram: output prefix, writes PREFIX.arpa and PREFIX.bin; transformer: the experiment "
                   "directory (checkpoints, vocab.txt, metrics.tsv, config.yaml).")
@click.option("--order", default=4, help="n-gram order (wav2vec 2.0 decodes with the LibriSpeech 4-gram).")
@click.option("--lexicon", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Flashlight lexicon of the LM vocabulary to write (default: lexicon.txt next to PREFIX).")
@_TOKENS_OPTION
@click.option("--memory", default="25%", help="lmplz -S: sort memory, e.g. 25% or 4G.")
@click.option("--prune", default="", callback=_prune_counts,
              help="lmplz --prune: count thresholds per order, e.g. '0 0 1'.")
@click.option("--tools-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory with bin/lmplz and bin/build_binary (default: $ASRKIT_TOOLS, then tools/, then PATH).")
@click.option("--valid-text", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="transformer: held-out sentences (default: data.valid_fraction of TEXT).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="transformer: YAML config (sections model (may name a preset: model: paper), data, optim, "
                   "trainer).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="transformer: override a config value, e.g. --set model=paper --set optim.max_updates=500.")
@click.option("--resume/--no-resume", default=True,
              help="transformer: continue from OUT's last checkpoint when there is one.")
@click.option("--allow-changes", default="", metavar="KEY,...",
              help="transformer: settings a resume may take over from the new config (e.g. optim.max_updates).")
def lm_train(text: Path, lm_type: str, out_prefix: Path, order: int, lexicon: Path | None, tokens_path: Path | None,
             memory: str, prune: list[int] | None, tools_dir: Path | None, valid_text: Path | None,
             config_path: Path | None, overrides: tuple[str, ...], resume: bool, allow_changes: str):
    """Train a KenLM n-gram on TEXT (one sentence per line) and write its lexicon, or a Transformer LM
    (--type transformer, trained like the acoustic models: checkpoints, resume, torchrun).

    \b
    Examples:
      asrkit lm train data/lm/text.txt --order 4 --out data/lm/4gram
      asrkit lm train data/lm/text.txt --type transformer --valid-text data/lm/valid.txt --out exp/transformer_lm \\
          --set model=paper --set trainer.precision=bf16
    """
    ctx = click.get_current_context()
    given = {p.opts[0] for p in ctx.command.params if p.name in given_options(ctx, ctx.params)}
    other = sorted(given & (_NGRAM_ONLY if lm_type == "transformer" else _TRANSFORMER_ONLY))
    if other:
        fail(f"{', '.join(other)}: not an option of --type {lm_type}")
    if lm_type == "transformer":
        _train_transformer(text, valid_text, out_prefix, config_path, overrides, resume, allow_changes)
        return
    from ..data.tokenizer import TokenizerError
    from ..decode.lm import LMError, LMToolsMissing, lexicon_tokens, train_lm

    try:
        lm_files = train_lm(text, out_prefix, order, lexicon=lexicon, tokens=lexicon_tokens(tokens_path),
                            tools_dir=tools_dir, memory=memory, prune=prune)
    except (LMError, LMToolsMissing, TokenizerError) as e:
        fail(str(e))
    console.print(f"wrote {lm_files.arpa}, {lm_files.binary} and {lm_files.lexicon} ({lm_files.words} words, "
                  f"{len(lm_files.skipped)} outside the token set)")


_NGRAM_ONLY = {"--order", "--lexicon", "--tokens", "--memory", "--prune", "--tools-dir"}
_TRANSFORMER_ONLY = {"--valid-text", "--config", "--set", "--resume", "--allow-changes"}


def _train_transformer(text: Path, valid_text: Path | None, exp_dir: Path, config_path: Path | None,
                       overrides: tuple[str, ...], resume: bool, allow_changes: str) -> None:
    from ..config import ConfigError
    from ..train.lm import load_lm_config, run_lm_training
    from ..train.loop import TrainingAborted, TrainingInterrupted

    sets = (f"data.train_text={text}", *((f"data.valid_text={valid_text}",) if valid_text else ()), *overrides)
    allowed = tuple(k.strip() for k in allow_changes.split(",") if k.strip())
    try:
        row = run_lm_training(load_lm_config(config_path, sets), exp_dir, resume=resume, console=console,
                              allow_changes=allowed)
    except TrainingInterrupted as e:
        fail(str(e), code=e.exit_code)
    except (ConfigError, TrainingAborted) as e:
        fail(str(e))
    console.print(f"trained the Transformer LM in {exp_dir} (update {row.get('update', '?')}); "
                  f"evaluate it with: asrkit lm eval {exp_dir}/checkpoint_best.pt TEXT")


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
    """Perplexity and OOV count of LM (a KenLM file or a Transformer LM checkpoint) on text files (one sentence
    per line) or manifests (*.tsv): per word, </s> counted, OOVs scored as <unk>.

    \b
    Examples:
      asrkit lm eval data/lm/4gram.bin data/manifests/dev.tsv data/manifests/test.tsv
      asrkit lm eval exp/transformer_lm/checkpoint_best.pt data/manifests/dev.tsv
    """
    from ..config import ConfigError
    from ..data.manifest import ManifestError
    from ..decode.lm import LMError, lm_perplexity

    table = Table(title=f"perplexity of {lm_path}")
    for col in ("text", "sentences", "words", "oov", "ppl"):
        table.add_column(col, justify="left" if col == "text" else "right")
    for path in texts:
        try:
            stats = lm_perplexity(lm_path, path)
        except (LMError, ManifestError, ConfigError) as e:
            fail(str(e))
        table.add_row(str(path), str(stats["sentences"]), str(stats["words"]), str(stats["oov"]), f"{stats['ppl']:.2f}")
    console.print(table)
