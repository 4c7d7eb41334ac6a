"""LM text: the vocabulary (</s>, <unk>, words by frequency) and sentences batched for next-unit prediction."""
import pytest

from asrkit.data.lm_text import LMTextDataset, LMTextError, LMVocabulary, read_sentences


def test_vocabulary_orders_words_by_frequency_and_reads_unknown_words_as_unk():
    vocab = LMVocabulary.build([["B", "A", "B"], ["C", "B", "A"], ["D"]], min_count=2)
    assert vocab.tokens == ["</s>", "<unk>", "B", "A"]
    assert vocab.encode(["A", "C", "B"]) == [3, 1, 2] and vocab.is_oov("C") and not vocab.is_oov("A")
    with pytest.raises(LMTextError, match="empty vocabulary"):
        LMVocabulary.build([["A"]], min_count=2)


def test_batches_shift_the_sentence_by_one_and_ignore_the_padding():
    vocab = LMVocabulary.build([["A", "B"], ["B"]])
    ds = LMTextDataset([["A", "B"], ["B"]], vocab)
    assert ds.sizes.tolist() == [3, 2]
    batch = ds.collate([ds[0], ds[1]])
    b, a = vocab.index["B"], vocab.index["A"]
    assert batch["source"].tolist() == [[0, a, b], [0, b, 0]]
    assert batch["target"].tolist() == [[a, b, 0], [b, 0, -100]]
    assert batch["words"] == 3 and batch["ids"] == ["line1", "line2"]


def test_a_text_without_sentences_is_an_error(tmp_path):
    (tmp_path / "t.txt").write_text("\n \n")
    with pytest.raises(LMTextError, match="no sentence"):
        read_sentences(tmp_path / "t.txt")
    with pytest.raises(LMTextError, match="not found"):
        read_sentences(tmp_path / "missing.txt")
