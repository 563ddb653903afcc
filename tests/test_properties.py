"""Properties of the data path for generated input (hypothesis): any words
(combining marks, controls, astral characters, odd whitespace), any
sentence and document lengths.

- The CoNLL reader gives back every word and tag, in order, with its
  document; tag_corpus.py's line-by-line reading of the same file gives the
  same sentences.
- Plain-text words are slices of their line, and entity offsets are exact.
- Windows and words back give every word exactly one label, from the
  window position of its first piece.
- Arbitrary bytes raise nothing but the documented ValueError naming the
  file.
"""

import os

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
import numpy as np
import pytest

from bert_ner.corpora import conll_format
from bert_ner.corpora import input_example
from bert_ner.corpora import text_format
from bert_ner import label_set
from bert_ner.tagging import entity_offsets
from bert_ner import windowing
from bert_ner import words_back
import helpers
import tokenization

TAGS = ("O", "B-X", "I-X", "B-Y", "I-Y")
# Characters of any kind but surrogates; a CoNLL word has no column
# separator (space, tab) and no newline, and no BOM to start a file with.
WORD = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",),
                           blacklist_characters=" \t\n\ufeff"),
    min_size=1, max_size=6).filter(lambda w: w != conll_format.DOCSTART)
SENTENCE = st.lists(st.tuples(WORD, st.sampled_from(TAGS)), min_size=1,
                    max_size=8)
DOCUMENTS = st.lists(st.lists(SENTENCE, min_size=1, max_size=4), min_size=1,
                     max_size=3)
LINE = st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                      blacklist_characters="\n"),
               max_size=40)
FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def write_conll(path, documents):
  blocks = []
  for document in documents:
    blocks.append("%s O\n" % conll_format.DOCSTART)
    blocks.extend("".join("%s\t%s\n" % row for row in sentence)
                  for sentence in document)
  with open(path, "w", encoding="utf-8", newline="") as f:
    f.write("\n".join(blocks))


@FAST
@given(documents=DOCUMENTS)
def test_the_conll_reader_gives_back_every_word_and_tag(tmp_path, documents):
  path = str(tmp_path / "corpus.tsv")
  write_conll(path, documents)
  examples = list(conll_format.iter_conll(path))
  expected = [(d, sentence) for d, document in enumerate(documents)
              for sentence in document]
  assert [(e.document, list(zip(e.words, e.labels))) for e in examples] == [
      (d, s) for d, s in expected]
  beam = pytest.importorskip("apache_beam")
  del beam
  from bert_ner.tagging import corpus_shards  # pylint: disable=g-import-not-at-top
  (piece,) = corpus_shards.plan_pieces([path], "conll", 10 ** 6)
  parsed = list(corpus_shards.parse_piece(piece, "conll"))
  assert all(kind == "example" for kind, _ in parsed)
  assert [(e.words, e.labels, e.document) for _, e in parsed] == [
      (e.words, e.labels, e.document) for e in examples]


@FAST
@given(line=LINE, tags=st.lists(st.sampled_from(TAGS), max_size=60))
def test_text_words_are_slices_and_entity_offsets_are_exact(line, tags):
  example = text_format.text_example(line, 0)
  for word, (start, end) in zip(example.words, example.offsets):
    assert line[start:end] == word and word.strip()
  labels = (tags + ["O"] * len(example.words))[:len(example.words)]
  for entity in entity_offsets.entity_spans(line, example.offsets, labels,
                                            [0.5] * len(labels)):
    assert 0 <= entity["start"] < entity["end"] <= len(line)
    assert line[entity["start"]:entity["end"]] == entity["text"]
    assert entity["score"] == 0.5


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
  path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
  path.write_text("\n".join(helpers.TINY_VOCAB) + "\n", encoding="utf-8")
  return tokenization.FullTokenizer(str(path), do_lower_case=True)


@FAST
@given(sentences=st.lists(st.lists(WORD, min_size=0, max_size=30),
                          min_size=1, max_size=6),
       max_seq_length=st.integers(3, 16), stride_share=st.floats(0.01, 1.0),
       context=st.integers(0, 2))
def test_windows_and_words_back_give_each_word_one_label(
    tokenizer, sentences, max_seq_length, stride_share, context):
  label_map = label_set.LabelMap(list(TAGS))
  data_ids = label_map.data_label_ids()
  window = max_seq_length - 2
  stride = max(1, int(round(stride_share * window)))
  examples = [input_example.InputExample("s-%d" % i, words, None)
              for i, words in enumerate(sentences)]
  features = windowing.sort_records_by_length(windowing.convert_examples(
      list(windowing.add_context(examples, context)), label_map, tokenizer,
      max_seq_length, stride))
  assert all(len(f.input_ids) <= max_seq_length for f in features)
  # A model that tags each position by its piece id: a word's label then
  # tells which piece of which window predicted it.
  predictions = [{"example_index": f.example_index, "word_ids": f.word_ids,
                  "predicted_ids": np.array([data_ids[i % len(data_ids)]
                                             for i in f.input_ids])}
                 for f in features]
  tagged = list(words_back.iter_word_labels(examples, predictions,
                                            label_map))
  assert [e for e, _ in tagged] == examples
  for example, labels in tagged:
    first_pieces = [ids[0] for ids in windowing.word_pieces(example.words,
                                                            tokenizer)]
    assert labels == [label_map.labels[data_ids[p % len(data_ids)]]
                      for p in first_pieces]


@FAST
@given(data=st.binary(max_size=300))
def test_any_bytes_give_sentences_or_the_documented_error(tmp_path, data):
  path = str(tmp_path / "bytes.tsv")
  with open(path, "wb") as f:
    f.write(data)
  for read in (conll_format.iter_conll, text_format.iter_text):
    try:
      for example in read(path):
        assert all(isinstance(w, str) and w for w in example.words)
    except ValueError as e:
      assert path in str(e)
      assert os.path.basename(path) in str(e)
