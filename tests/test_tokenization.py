"""Tests of tokenization.py on a tiny vocabulary and on MiniLM's fixture."""

import json
import os

import numpy as np
import pytest

import helpers
import tokenization


def test_basic_tokenizer_cleaning_and_splitting():
  basic = tokenization.BasicTokenizer(do_lower_case=True)
  assert basic.tokenize(" \tHeLLo!how  \n Are yoU?  ") == [
      "hello", "!", "how", "are", "you", "?"]
  assert basic.tokenize("Naïve CAFÉ") == ["naive", "cafe"]
  # Zero-width space (Cf) and BEL (Cc) are removed, NBSP is whitespace.
  assert basic.tokenize("zero\u200bwidth bell\x07s a\xa0b") == [
      "zerowidth", "bells", "a", "b"]
  assert basic.tokenize("中文ab") == ["中", "文", "ab"]
  assert basic.tokenize("5-FU [x]^$`") == ["5", "-", "fu", "[", "x", "]",
                                           "^", "$", "`"]
  cased = tokenization.BasicTokenizer(do_lower_case=False)
  assert cased.tokenize("Naïve CAFÉ") == ["Naïve", "CAFÉ"]


def test_wordpiece_tokenizer(tiny_vocab_file):
  tok = tokenization.FullTokenizer(tiny_vocab_file, do_lower_case=True)
  assert tok.tokenize("UNwanted running") == ["un", "##w", "##a", "##n",
                                              "##t", "##ed", "runn", "##ing"]
  assert tok.tokenize("unaffable") == ["un", "##aff", "##able"]
  assert tok.tokenize("BRCA1") == ["brca", "##1"]
  assert tok.tokenize("x" * 101) == ["[UNK]"]
  assert tok.tokenize("x" * 100)[0] == "x"
  # A character outside the vocabulary makes the whole word [UNK].
  assert tok.tokenize("résumé€") == ["[UNK]"]
  assert tok.tokenize("\u200b") == []
  ids = tok.convert_tokens_to_ids(["[CLS]", "the", "##1", "[SEP]"])
  assert ids == [2, 66, 87, 3]
  assert tok.convert_ids_to_tokens(ids) == ["[CLS]", "the", "##1", "[SEP]"]
  # The cache returns fresh lists.
  first = tok.tokenize("breast")
  first.append("junk")
  assert tok.tokenize("breast") == ["breast"]


def test_split_words_offsets():
  text = "IL-6 (Naïve) 中文\u200bx  end."
  words = tokenization.split_words(text)
  assert [w for w, _, _ in words] == ["IL", "-", "6", "(", "Naïve", ")", "中",
                                      "文", "x", "end", "."]
  for word, start, end in words:
    assert text[start:end] == word


def test_vocab_errors(tmp_path):
  with pytest.raises(ValueError, match="does not exist"):
    tokenization.load_vocab(str(tmp_path / "none.txt"))
  dup = tmp_path / "dup.txt"
  dup.write_text("[PAD]\na\nb\na\n")
  assert tokenization.load_vocab(str(dup)) == {"[PAD]": 0, "a": 3, "b": 2}
  bad = tmp_path / "latin1.txt"
  bad.write_bytes(b"[PAD]\ncaf\xe9\n")
  with pytest.raises(ValueError, match="line 2: bytes that are not UTF-8"):
    tokenization.load_vocab(str(bad))
  empty = tmp_path / "empty.txt"
  empty.write_text("")
  with pytest.raises(ValueError, match="is empty"):
    tokenization.load_vocab(str(empty))


def test_case_check(tmp_path, tiny_vocab_file):
  vocab = tokenization.load_vocab(tiny_vocab_file)
  tokenization.validate_case_matches_checkpoint(
      True, "/m/uncased_L-12_H-768_A-12/bert_model.ckpt")
  with pytest.raises(ValueError, match="Use --do_lower_case=True"):
    tokenization.validate_case_matches_checkpoint(
        False, "/m/uncased_L-12_H-768_A-12/bert_model.ckpt")
  with pytest.raises(ValueError, match="Use --do_lower_case=False"):
    tokenization.validate_case_matches_checkpoint(
        True, "/m/cased_L-12_H-768_A-12/bert_model.ckpt")
  with pytest.raises(ValueError, match="Use --do_lower_case=False"):
    tokenization.validate_case_matches_checkpoint(
        True, "/m/biobert_v1.1_pubmed/model.ckpt-1000000")
  # No name to go by: an all-lower-case vocabulary means an uncased model.
  with pytest.raises(ValueError, match="lower-casing changes no token"):
    tokenization.validate_case_matches_checkpoint(
        False, str(tmp_path / "model.ckpt"), vocab)
  tokenization.validate_case_matches_checkpoint(
      True, str(tmp_path / "model.ckpt"), vocab)
  # A tokenizer_config.json beside the model decides.
  (tmp_path / "tokenizer_config.json").write_text('{"do_lower_case": false}')
  with pytest.raises(ValueError, match="tokenizer_config.json says"):
    tokenization.validate_case_matches_checkpoint(True, str(tmp_path))


def test_the_uncased_vocabulary_with_a_symbol_is_uncased(tmp_path):
  # bert-base-uncased's vocabulary (MiniLM's) holds "ℝ", upper-case without
  # a lower case; copied under a name that tells nothing, with no
  # tokenizer_config.json, it is still known to be uncased.
  vocab = tokenization.load_vocab(os.path.join(helpers.minilm_dir(),
                                               "vocab.txt"))
  assert "ℝ" in vocab
  assert tokenization.expected_lower_case(str(tmp_path / "model.ckpt"),
                                          vocab)[0] is True
  with pytest.raises(ValueError, match="Use --do_lower_case=True"):
    tokenization.validate_case_matches_checkpoint(
        False, str(tmp_path / "model.ckpt"), vocab)
  # One cased token is enough to tell nothing.
  vocab["Cancer"] = len(vocab)
  assert tokenization.expected_lower_case(str(tmp_path / "model.ckpt"),
                                          vocab)[0] is None


def test_minilm_tokens_and_ids_match_fixture():
  fixture_path = helpers.shared_path("fixtures", "minilm",
                                      "minilm_reference.json")
  vocab = os.path.join(helpers.minilm_dir(), "vocab.txt")
  tok = tokenization.FullTokenizer(vocab, do_lower_case=True)
  with open(fixture_path, encoding="utf-8") as f:
    fixture = json.load(f)
  assert len(fixture["examples"]) == 8
  arrays = np.load(fixture_path.replace(".json", ".npz"))
  for index, example in enumerate(fixture["examples"]):
    tokens_a = tok.tokenize(example["text_a"])
    tokens_b = tok.tokenize(example["text_b"]) if example["text_b"] else []
    assert tokens_a == example["tokens_a"]
    assert tokens_b == example["tokens_b"]
    ids = tok.convert_tokens_to_ids(["[CLS]"] + tokens_a + ["[SEP]"])
    segments = [0] * len(ids)
    if tokens_b:
      ids += tok.convert_tokens_to_ids(tokens_b + ["[SEP]"])
      segments += [1] * (len(tokens_b) + 1)
    pad = fixture["max_seq_length"] - len(ids)
    assert ids + [0] * pad == example["input_ids"]
    assert [1] * len(ids) + [0] * pad == list(arrays["input_mask"][index])
    assert segments + [0] * pad == list(arrays["segment_ids"][index])


@pytest.mark.parametrize("read_bytes", [1, 3, 1 << 20])
def test_a_carriage_return_inside_a_line_is_kept(tmp_path, monkeypatch,
                                                  read_bytes):
  # Lines cut across reads, CRLF and LF line ends, a lone CR in a word, a
  # last line without its newline.
  monkeypatch.setattr(tokenization, "_READ_BYTES", read_bytes)
  path = tmp_path / "cr.tsv"
  path.write_bytes(b"ab\tO\r\nef\rgh\tB-X\n\nlast\tO")
  assert list(tokenization.iter_raw_lines(str(path))) == [
      (1, b"ab\tO"), (2, b"ef\rgh\tB-X"), (3, b""), (4, b"last\tO")]

