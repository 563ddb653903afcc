"""Tests of ner_data.py: reading, labels, windows, records, input_fn, way back."""

import gzip
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_ner.corpora import conll_format
from bert_ner.corpora import input_example
from bert_ner.corpora import text_format
from bert_ner import input_pipeline
from bert_ner import label_set
from bert_ner.model import crf
from bert_ner import progress
from bert_ner.tagging import entity_offsets
from bert_ner.tagging import writers
from bert_ner import tfrecords
from bert_ner import windowing
from bert_ner import words_back
import helpers
import tokenization


@pytest.fixture
def tokenizer(tiny_vocab_file):
  return tokenization.FullTokenizer(tiny_vocab_file, do_lower_case=True)


def write(tmp_path, name, text, mode="w"):
  path = tmp_path / name
  if isinstance(text, bytes):
    path.write_bytes(text)
  else:
    path.write_text(text, encoding="utf-8", newline="")
  return str(path)


# ---------------------------------------------------------------- reading


def test_read_conll_formats(tmp_path):
  text = ("\ufeff-DOCSTART- -X- -X- O\r\n\r\n"
          "EU NNP B-NP B-ORG\r\nrejects VBZ B-VP O\r\n \t \r\n\r\n\r\n"
          "Peter NNP B-NP B-PER\r\nBlackburn NNP I-NP I-PER")
  examples = conll_format.read_conll(write(tmp_path, "a.txt", text), "train")
  assert [e.words for e in examples] == [["EU", "rejects"],
                                         ["Peter", "Blackburn"]]
  assert [e.labels for e in examples] == [["B-ORG", "O"], ["B-PER", "I-PER"]]
  assert examples[1].guid == "train-1"
  assert examples[1].line_number == 8


def test_read_conll_tabs_and_odd_words(tmp_path):
  # A zero-width space alone is a word; NBSP inside a word is kept.
  text = "IL-6\tB-Gene\n\u200b\tO\na\xa0b\tO\n\nx\tO\n"
  examples = conll_format.read_conll(write(tmp_path, "b.tsv", text))
  assert examples[0].words == ["IL-6", "\u200b", "a\xa0b"]
  assert examples[0].labels == ["B-Gene", "O", "O"]
  assert len(examples) == 2


def test_read_words_only(tmp_path):
  examples = conll_format.read_conll(write(tmp_path, "c.txt", "a\nb\n\nc\n"))
  assert examples[0].words == ["a", "b"] and examples[0].labels is None


@pytest.mark.parametrize("split,name,sentences,tokens", [
    ("train", "ncbi_disease/train.tsv", 5424, 135701),
    ("dev", "ncbi_disease/dev.tsv", 923, 23969),
    ("test", "ncbi_disease/test.tsv", 940, 24497),
    ("train", "conll2003/train.txt", 14041, 203621),
    ("train", "bc5cdr/train.tsv", 4560, 118170),
])
def test_shared_corpus_counts(split, name, sentences, tokens):
  path = helpers.shared_path("data", name)
  examples = conll_format.read_conll(path, split, require_labels=True)
  assert len(examples) == sentences
  assert sum(len(e.words) for e in examples) == tokens
  assert all(len(e.words) == len(e.labels) for e in examples)


def test_find_split_files(tmp_path):
  for name in ("train_dev.tsv", "devel.tsv", "test.txt"):
    write(tmp_path, name, "a\tO\n")
  assert conll_format.find_split_file(str(tmp_path), "train").endswith(
      "train_dev.tsv")
  assert conll_format.find_split_file(str(tmp_path),
                                      "dev").endswith("devel.tsv")
  assert conll_format.find_split_file(str(tmp_path),
                                      "test").endswith("test.txt")
  write(tmp_path, "train.tsv", "a\tO\n")
  assert conll_format.find_split_file(str(tmp_path), "train").endswith(
      "train.tsv")


# ---------------------------------------------------------------- bad input


def test_missing_file(tmp_path):
  with pytest.raises(ValueError, match=r"train file .*nope.tsv does not exist"):
    conll_format.read_conll(str(tmp_path / "nope.tsv"), "train")


def test_empty_file(tmp_path):
  path = write(tmp_path, "empty.tsv", "\n \n")
  with pytest.raises(ValueError, match=r"empty.tsv holds no sentences"):
    conll_format.read_conll(path, "dev")


def test_column_count_differs(tmp_path):
  path = write(tmp_path, "cols.tsv", "a\tO\nb\tO\n\nc d\tB-X\n")
  with pytest.raises(ValueError) as e:
    conll_format.read_conll(path)
  message = str(e.value)
  assert "cols.tsv, line 4: 3 column(s) in 'c d\\tB-X'" in message
  assert "first token line (line 1) has 2" in message


def test_training_file_without_tags(tmp_path):
  path = write(tmp_path, "train.txt", "\nHello\nworld\n")
  with pytest.raises(ValueError) as e:
    conll_format.read_conll(path, "train", require_labels=True)
  assert "train.txt, line 2: the train file has one column ('Hello')" in str(
      e.value)


def test_not_utf8(tmp_path):
  path = write(tmp_path, "latin.tsv", b"a\tO\ncaf\xe9\tO\n")
  with pytest.raises(ValueError) as e:
    conll_format.read_conll(path, "train")
  assert "latin.tsv, line 2: bytes that are not UTF-8 (b'caf\\xe9\\tO')" in str(
      e.value)


def test_labels_file_duplicates(tmp_path):
  path = write(tmp_path, "labels.txt", "O\nB-Disease\nI-Disease\nB-Disease\n")
  with pytest.raises(ValueError) as e:
    label_set.LabelMap.from_file(path)
  assert ("labels.txt, line 4: label 'B-Disease' is listed twice (first on "
          "line 2)") in str(e.value)


def test_labels_file_with_a_special_label(tmp_path):
  path = write(tmp_path, "labels.txt", "O\nB-Disease\nX\nI-Disease\n")
  with pytest.raises(ValueError, match=r"labels.txt, line 3: X is a special "
                     r"label \(\[PAD\], X, \[CLS\], \[SEP\] are the "
                     r"project's own\)"):
    label_set.LabelMap.from_file(path)
  # A saved label_list.txt lists them, in their places.
  saved = str(tmp_path / "label_list.txt")
  label_set.LabelMap(["O", "B-Disease"]).save(saved)
  assert label_set.LabelMap.from_file(saved).data_labels == ["O",
                                                             "B-Disease"]


# ---------------------------------------------------------------- labels


def test_label_map_order_and_round_trip(tmp_path):
  examples = [input_example.InputExample("a", ["x", "y", "z"],
                                         ["I-Disease", "O", "B-Disease"])]
  label_map = label_set.LabelMap.from_examples(examples)
  assert label_map.labels == ["[PAD]", "O", "B-Disease", "I-Disease", "X",
                              "[CLS]", "[SEP]"]
  assert label_map.entity_label_ids() == [2, 3]
  path = str(tmp_path / "label_list.txt")
  label_map.save(path)
  assert label_set.LabelMap.from_file(path).labels == label_map.labels
  with pytest.raises(ValueError, match="clash with the special labels"):
    label_set.LabelMap(["O", "X"])


def test_unknown_labels_warned_once_and_kept(caplog):
  label_map = label_set.LabelMap(["O", "B-Disease"])
  examples = [input_example.InputExample("a", ["p", "q", "r"],
                                         ["B-Chemical", "O", "B-Chemical"]),
              input_example.InputExample("b", ["s"], ["I-Disease"])]
  counts = label_set.warn_unknown_labels(
      input_example.summarize(examples).label_counts, label_map, "dev.tsv")
  assert counts == {"B-Chemical": 2, "I-Disease": 1}
  warnings = [r for r in caplog.records if "never had" in r.getMessage()]
  assert len(warnings) == 1
  assert "B-Chemical (2), I-Disease (1)" in warnings[0].getMessage()


# ---------------------------------------------------------------- features


def test_convert_example_worked_case(tokenizer):
  label_map = label_set.LabelMap(["O", "B-Disease", "I-Disease"])
  example = input_example.InputExample(
      "t-0", ["Unaffable", "breast", "cancer", "\u200b"],
      ["O", "B-Disease", "I-Disease", "O"])
  (feature,) = windowing.convert_example(example, 7, label_map, tokenizer,
                                         max_seq_length=16, stride=7)
  assert tokenizer.convert_ids_to_tokens(feature.input_ids) == [
      "[CLS]", "un", "##aff", "##able", "breast", "cancer", "[UNK]", "[SEP]"]
  ids = label_map.label_to_id
  assert feature.label_ids == [ids["[CLS]"], ids["O"], ids["X"], ids["X"],
                               ids["B-Disease"], ids["I-Disease"], ids["O"],
                               ids["[SEP]"]]
  assert feature.label_weights == [0, 1, 0, 0, 1, 1, 1, 0]
  assert feature.word_ids == [-1, 0, -1, -1, 1, 2, 3, -1]
  assert feature.segment_ids == [0] * 8
  assert feature.example_index == 7


def test_window_starts_and_best_window():
  assert windowing.window_starts(5, 6, 3) == [0]
  assert windowing.window_starts(6, 6, 3) == [0]
  assert windowing.window_starts(10, 6, 3) == [0, 3, 4]
  assert windowing.window_starts(12, 6, 3) == [0, 3, 6]
  assert windowing.window_starts(13, 6, 6) == [0, 6, 7]
  starts = [0, 3, 4]
  # Position 0 only in window 0; 9 only in the last; 4 has most context in
  # window 1 ([3, 9): 1 left, 4 right -> 1) vs window 0 (4 left, 1 right -> 1)
  # -> tie, earlier wins; 5 is best in window 1 (2 and 3 -> 2).
  assert windowing.best_window(0, starts, 6) == 0
  assert windowing.best_window(9, starts, 6) == 2
  assert windowing.best_window(4, starts, 6) == 0
  assert windowing.best_window(5, starts, 6) == 1
  assert windowing.best_window(6, starts, 6) == 1  # 2 vs 2: a tie
  assert windowing.best_window(7, starts, 6) == 2  # 1 vs 2


def test_long_sentence_windows_cover_every_word_once(tokenizer):
  words = ["cancer"] * 7 + ["unaffable"] + ["gene"] * 5
  labels = ["O", "B-Disease"] * 6 + ["O"]
  label_map = label_set.LabelMap(["O", "B-Disease"])
  example = input_example.InputExample("t", words, labels)
  features = windowing.convert_example(example, 0, label_map, tokenizer,
                                       max_seq_length=8, stride=3)
  assert all(len(f.input_ids) == 8 for f in features)
  predicted = [w for f in features for w in f.word_ids if w >= 0]
  assert sorted(predicted) == list(range(len(words)))
  # Weights mark exactly the predicting positions.
  for f in features:
    assert [int(w >= 0) for w in f.word_ids] == f.label_weights


def fake_predictions(features):
  """Predicts each position's own gold label id, as a model would output."""
  for f in features:
    yield {"example_index": f.example_index, "word_ids": f.word_ids,
           "predicted_ids": f.label_ids}


def test_every_word_comes_back_on_real_files(tmp_path):
  path = helpers.shared_path("data", "ncbi_disease", "dev.tsv")
  vocab = os.path.join(helpers.minilm_dir(), "vocab.txt")
  tokenizer = tokenization.FullTokenizer(vocab, do_lower_case=True)
  examples = conll_format.read_conll(path, "dev")
  label_map = label_set.LabelMap.from_examples(examples)
  features = windowing.convert_examples(examples, label_map, tokenizer,
                                        max_seq_length=16, stride=5)
  assert len(features) > 3 * len(examples)
  assert max(len(f.input_ids) for f in features) == 16
  # Through a TFRecord, shuffled order, and back to words.
  record = str(tmp_path / "dev.tf_record")
  tfrecords.write_tfrecord(windowing.sort_records_by_length(features), record)
  back = tfrecords.read_tfrecord(record)
  assert len(back) == len(features)
  labels = words_back.predictions_to_word_labels(examples,
                                                 fake_predictions(back),
                                                 label_map)
  assert labels == [e.labels for e in examples]


def test_missing_prediction_is_caught():
  label_map = label_set.LabelMap(["O"])
  examples = [input_example.InputExample("t-0", ["a", "b"], ["O", "O"])]
  with pytest.raises(AssertionError, match="word 1 got no prediction"):
    words_back.predictions_to_word_labels(
        examples, [{"example_index": 0, "word_ids": [-1, 0, -1],
                    "predicted_ids": [0, 1, 0]}], label_map)


# ---------------------------------------------------------------- records


def test_tfrecord_round_trip(tmp_path, tokenizer):
  label_map = label_set.LabelMap(["O", "B-Disease"])
  examples = [
      input_example.InputExample("t-%d" % i, ["the", "cancer"] * (i + 1),
                                 ["O", "B-Disease"] * (i + 1)) for i in range(3)
  ]
  features = windowing.convert_examples(examples, label_map, tokenizer, 8, 3)
  path = str(tmp_path / "x.tf_record")
  tfrecords.write_tfrecord(features, path)
  back = tfrecords.read_tfrecord(path)
  assert [vars(f) for f in back] == [vars(f) for f in features]
  assert sorted(os.listdir(str(tmp_path))) == ["vocab.txt", "x.tf_record"]


def test_records_cached_and_rebuilt(tmp_path, tiny_vocab_file, tokenizer):
  data = write(tmp_path, "train.tsv", "the\tO\ncancer\tB-Disease\n")
  examples = conll_format.read_conll(data)
  label_map = label_set.LabelMap.from_examples(examples)
  args = (str(tmp_path / "records"), tokenizer, tiny_vocab_file, label_map)
  first = tfrecords.prepare_records(examples, data, "train", *args, 16, 7)
  (shard,) = first.files
  assert os.path.basename(shard).endswith("-00000-of-00001")
  mtime = os.path.getmtime(shard)
  again = tfrecords.prepare_records(examples, data, "train", *args, 16, 7)
  assert again == first and os.path.getmtime(shard) == mtime
  other = tfrecords.prepare_records(examples, data, "train", *args, 32, 7)
  assert other.files != first.files and not os.path.exists(shard)
  write(tmp_path, "train.tsv", "the\tO\ncancer\tO\n")
  changed = tfrecords.prepare_records(examples, data, "train", *args, 32, 7)
  assert changed.files != other.files
  assert (first.num_examples, first.num_features, first.num_words,
          first.num_pieces) == (1, 1, 2, 4)


# ---------------------------------------------------------------- input_fn


def run_input_fn(input_fn, batch_size, max_batches):
  with tf.Graph().as_default():
    dataset = input_fn({"batch_size": batch_size})
    batch = tf.data.make_one_shot_iterator(dataset).get_next()
    out = []
    with tf.Session() as sess:
      for _ in range(max_batches):
        try:
          out.append(sess.run(batch))
        except tf.errors.OutOfRangeError:
          break
  return out


def make_records(tmp_path, tokenizer, num_examples):
  label_map = label_set.LabelMap(["O", "B-Disease"])
  examples = [input_example.InputExample("t-%d" % i, ["cancer"] * (1 + i % 9),
                                         ["B-Disease"] * (1 + i % 9))
              for i in range(num_examples)]
  features = windowing.convert_examples(examples, label_map, tokenizer, 16, 7)
  path = str(tmp_path / "r.tf_record")
  tfrecords.write_tfrecord(features, path)
  return path, features


@pytest.mark.parametrize("batch_size", [5, 7])
def test_static_shapes_pad_eval_without_loss(tmp_path, tokenizer, batch_size):
  path, features = make_records(tmp_path, tokenizer, 35)
  input_fn = input_pipeline.input_fn_builder(path,
                                             False,
                                             16,
                                             static_shapes=True,
                                             num_records=len(features))
  batches = run_input_fn(input_fn, batch_size, 100)
  assert len(batches) == -(-35 // batch_size)
  for b in batches:
    assert b["input_ids"].shape == (batch_size, 16)
    assert b["input_ids"].dtype == np.int32
  indices = np.concatenate([b["example_index"] for b in batches])
  real = indices[indices >= 0]
  assert sorted(real) == list(range(35))
  fake = [b["label_weights"][b["example_index"] < 0] for b in batches]
  assert all(not f.any() for f in fake)


def test_static_shapes_pad_to_the_global_batch_of_all_cores(tmp_path,
                                                            tokenizer):
  path, features = make_records(tmp_path, tokenizer, 35)
  input_fn = input_pipeline.input_fn_builder(path,
                                             False,
                                             16,
                                             static_shapes=True,
                                             num_records=len(features))

  class Context(object):
    num_replicas = 4

  with tf.Graph().as_default():
    dataset = input_fn({"batch_size": 3, "context": Context()})
    batch = tf.data.make_one_shot_iterator(dataset).get_next()
    batches = []
    with tf.Session() as sess:
      while True:
        try:
          batches.append(sess.run(batch))
        except tf.errors.OutOfRangeError:
          break
  # 35 examples -> 36 = 3 steps of 4 cores x 3.
  assert len(batches) == 12
  indices = np.concatenate([b["example_index"] for b in batches])
  assert sorted(indices[indices >= 0]) == list(range(35))


def test_training_batches_are_bucketed_and_repeat(tmp_path, tokenizer):
  path, features = make_records(tmp_path, tokenizer, 40)
  input_fn = input_pipeline.input_fn_builder(path,
                                             True,
                                             16,
                                             static_shapes=False,
                                             num_records=len(features),
                                             seed=1)
  batches = run_input_fn(input_fn, 4, 30)
  assert len(batches) == 30  # repeats past one epoch
  widths = {b["input_ids"].shape[1] for b in batches}
  assert len(widths) > 1 and max(widths) <= 16
  for b in batches:
    assert b["input_ids"].shape[0] == 4
    # Each batch is padded to its own longest sequence.
    assert b["input_mask"].sum(axis=1).max() == b["input_ids"].shape[1]


def test_predict_batches_keep_every_record(tmp_path, tokenizer):
  path, features = make_records(tmp_path, tokenizer, 23)
  input_fn = input_pipeline.input_fn_builder(path,
                                             False,
                                             16,
                                             static_shapes=False)
  batches = run_input_fn(input_fn, 8, 100)
  indices = np.concatenate([b["example_index"] for b in batches])
  assert sorted(indices) == list(range(23))
  assert (np.concatenate([b["word_ids"][b["input_mask"] == 0]
                          for b in batches]) == -1).all()


def test_format_conll():
  examples = [input_example.InputExample("a", ["x", "y"], ["O", "B-D"]),
              input_example.InputExample("b", ["z"], None)]
  text = writers.format_conll(examples, [["O", "O"], ["B-D"]])
  assert text == "x O O\ny B-D O\n\nz B-D\n\n"


def test_data_processor(tmp_path):
  train = write(tmp_path, "train.tsv", "a\tB-X\nb\tO\n")
  test = write(tmp_path, "test.txt", "a\nb\n\nc\n")
  processor = conll_format.DataProcessor(train_file=train, test_file=test)
  assert [e.words for e in processor.get_train_examples()] == [["a", "b"]]
  assert processor.get_labels() == ["[PAD]", "O", "B-X", "X", "[CLS]",
                                    "[SEP]"]
  assert processor.get_label_map().label_to_id["B-X"] == 2
  assert [e.labels for e in processor.get_test_examples()] == [None, None]
  with pytest.raises(ValueError, match="No dev file was given"):
    processor.get_dev_examples()
  with pytest.raises(ValueError, match="train file has one column"):
    conll_format.DataProcessor(train_file=test).get_train_examples()


def test_data_processor_with_berts_calls(tmp_path):
  """BERT's calls: files found in the data_dir given to get_*_examples, the
  labels from the training file (or a labels file)."""
  write(tmp_path, "train.tsv", "a\tB-X\nb\tI-X\n\nc\tO\n")
  write(tmp_path, "devel.tsv", "a\tO\n")
  processor = conll_format.DataProcessor()
  assert len(processor.get_train_examples(str(tmp_path))) == 2
  assert [e.words for e in processor.get_dev_examples(str(tmp_path))] == [
      ["a"]]
  assert processor.get_labels() == ["[PAD]", "O", "B-X", "I-X", "X", "[CLS]",
                                    "[SEP]"]
  with pytest.raises(ValueError, match="No test file was given and none is "
                     "in %s" % tmp_path):
    processor.get_test_examples(str(tmp_path))
  labels = write(tmp_path, "labels.txt", "O\nB-Y\n")
  assert conll_format.DataProcessor(labels_file=labels).get_labels() == [
      "[PAD]", "O", "B-Y", "X", "[CLS]", "[SEP]"]


def test_read_text_and_entity_offsets(tmp_path):
  lines = ["Familial breast cancer, and breast cancer (BRCA1).",
           "",
           "Naïve T-cells in Zürich: 中文 cancer\u200bcells."]
  path = write(tmp_path, "raw.txt", "\n".join(lines) + "\n")
  examples, offsets, read_lines = text_format.read_text(path)
  assert read_lines == lines
  assert examples[0].words == ["Familial", "breast", "cancer", ",", "and",
                               "breast", "cancer", "(", "BRCA1", ")", "."]
  assert examples[1].words == [] and examples[0].labels is None
  assert examples[2].words[:5] == ["Naïve", "T", "-", "cells", "in"]
  tags = ["O", "B-Disease", "I-Disease", "O", "O", "B-Disease", "I-Disease",
          "O", "B-Gene", "O", "O"]
  spans = entity_offsets.entity_spans(lines[0], offsets[0], tags)
  assert spans == [
      {"start": 9, "end": 22, "type": "Disease", "text": "breast cancer"},
      {"start": 28, "end": 41, "type": "Disease", "text": "breast cancer"},
      {"start": 43, "end": 48, "type": "Gene", "text": "BRCA1"}]
  words = examples[2].words
  tags = ["O"] * len(words)
  first = words.index("Zürich")
  tags[first] = "B-Loc"
  cjk = words.index("中")
  tags[cjk:cjk + 2] = ["B-X", "I-X"]
  spans = entity_offsets.entity_spans(lines[2], offsets[2], tags)
  assert [s["text"] for s in spans] == ["Zürich", "中文"]
  for span in spans:
    assert lines[2][span["start"]:span["end"]] == span["text"]


# ---------------------------------------------------------------- streaming


def reference_shards(examples, label_map, tokenizer, max_seq_length, stride,
                     shard_sentences):
  """Serialized records per shard, converted in memory: each shard's
  windows sorted by length (stably)."""
  shards = []
  for first in range(0, len(examples), shard_sentences):
    features = []
    for index in range(first, min(first + shard_sentences, len(examples))):
      features.extend(windowing.convert_example(
          examples[index], index, label_map, tokenizer, max_seq_length,
          stride))
    shards.append([tfrecords.feature_to_example_proto(f).SerializeToString()
                   for f in windowing.sort_records_by_length(features)])
  return shards


@pytest.mark.parametrize("processes", [1, 2])
def test_sharded_records_equal_in_memory_conversion(tmp_path, processes):
  path = helpers.shared_path("data", "ncbi_disease", "dev.tsv")
  vocab = os.path.join(helpers.minilm_dir(), "vocab.txt")
  tokenizer = tokenization.FullTokenizer(vocab, do_lower_case=True)
  examples = conll_format.read_conll(path, "dev")
  label_map = label_set.LabelMap.from_examples(examples)
  info = tfrecords.prepare_records(conll_format.iter_conll(path, "dev"),
                                   path,
                                   "dev",
                                   str(tmp_path),
                                   tokenizer,
                                   vocab,
                                   label_map,
                                   24,
                                   11,
                                   sort_by_length=True,
                                   shard_sentences=100,
                                   processes=processes,
                                   total=len(examples))
  # 923 sentences: 10 shards, the last of 23.
  assert [os.path.basename(p)[-14:] for p in info.files] == [
      "%05d-of-00010" % k for k in range(10)]
  expected = reference_shards(examples, label_map, tokenizer, 24, 11, 100)
  for shard, records in zip(info.files, expected):
    assert list(tf.io.tf_record_iterator(shard)) == records
  assert info.num_examples == 923 and info.num_words == 23969
  assert info.num_features == sum(len(r) for r in expected)
  assert sorted(os.listdir(str(tmp_path))) == sorted(
      [os.path.basename(p) for p in info.files] +
      [os.path.basename(info.files[0]).split("-")[0] + ".json"])


def test_predictions_are_put_back_in_bounded_memory(tmp_path, tokenizer,
                                                    tiny_vocab_file):
  """With records sorted within shards, each sentence comes back once its
  shard's windows are predicted: never later, so the buffer stays within a
  shard."""
  label_map = label_set.LabelMap(["O", "B-Disease"])
  rng = np.random.RandomState(0)
  examples = [input_example.InputExample(
      "t-%d" % i, ["cancer", "the"] * rng.randint(1, 12),
      None) for i in range(95)]
  info = tfrecords.prepare_records(
      examples, write(tmp_path, "in.txt", "x\n"), "test",
      str(tmp_path / "records"), tokenizer, tiny_vocab_file,
      label_map, 8, 3, sort_by_length=True, shard_sentences=20)
  features = tfrecords.read_tfrecord(info.files)
  consumed = []

  def predictions():
    for count, f in enumerate(fake_predictions(features), 1):
      consumed.append(count)
      yield f

  shard_ends = np.cumsum([len(tfrecords.read_tfrecord(p)) for p in info.files])
  out = []
  for example, labels in words_back.iter_word_labels(examples, predictions(),
                                                     label_map):
    index = int(example.guid.split("-")[1])
    # Read no further than the end of this sentence's shard.
    assert consumed[-1] <= shard_ends[index // 20]
    out.append(labels)
  assert out == [["[PAD]"] * len(e.words) for e in examples]


def test_interrupted_conversion_leaves_no_shard(tmp_path, tokenizer,
                                                tiny_vocab_file):
  label_map = label_set.LabelMap(["O"])
  data = write(tmp_path, "train.tsv", "the\tO\n")

  def examples():
    for i in range(50):
      yield input_example.InputExample("t-%d" % i, ["the"], ["O"])
    raise ValueError("train.tsv, line 101: a bad line")

  records = str(tmp_path / "records")
  with pytest.raises(ValueError, match="line 101"):
    tfrecords.prepare_records(examples(), data, "train", records, tokenizer,
                              tiny_vocab_file, label_map, 8, 3,
                              shard_sentences=10)
  assert os.listdir(records) == []


def test_streamed_lines_gz_bom_crlf_and_bad_bytes(tmp_path):
  text = "\ufeffa\tO\r\nb\tB-X\r\n\r\nc\tO"
  plain = write(tmp_path, "x.tsv", text)
  packed = str(tmp_path / "x.tsv.gz")
  with gzip.open(packed, "wb") as f:
    f.write(text.encode("utf-8"))
  expected = [(1, "a\tO"), (2, "b\tB-X"), (3, ""), (4, "c\tO")]
  assert list(tokenization.iter_utf8_lines(plain)) == expected
  assert list(tokenization.iter_utf8_lines(packed)) == expected
  assert [e.words for e in conll_format.iter_conll(packed)] == [["a", "b"],
                                                                ["c"]]
  bad = write(tmp_path, "bad.tsv", b"a\tO\n\nb\tO\nc\xff\tO\n")
  stream = conll_format.iter_conll(bad, "test")
  assert next(stream).words == ["a"]
  with pytest.raises(ValueError, match=r"bad.tsv, line 4: bytes that are "
                     r"not UTF-8 \(b'c\\xff\\tO'\)"):
    next(stream)


def test_progress_lines_at_most_every_30_seconds():
  now = [100.0]
  lines = []
  p = progress.Progress("Converted", "sentences", total=1000,
                        log=lines.append, clock=lambda: now[0])
  for _ in range(10):
    now[0] += 10
    p.add(50)
  p.done()
  # 50 sentences every 10 s = 5/s; a line at 30, 60 and 90 s, none at 100.
  assert lines == [
      "Converted 150 of 1,000 sentences (5/s, about 2 min 50 s left)",
      "Converted 300 of 1,000 sentences (5/s, about 2 min 20 s left)",
      "Converted 450 of 1,000 sentences (5/s, about 1 min 50 s left)",
      "Converted 500 sentences in 1 min 40 s (5/s)"]


def test_repair_decodes_each_sentence_across_its_windows():
  label_map = label_set.LabelMap(["O", "B", "I"])
  labels = label_map.labels
  repair = crf.TagRepair(labels, label_map.data_label_ids())

  def row(**probs):
    out = np.zeros(len(labels), np.float32)
    for name, p in probs.items():
      out[labels.index(name)] = p
    return out

  example = input_example.InputExample("t-0", ["a", "b", "c"], None)
  pad = np.zeros(len(labels), np.float32)
  # Word 1's argmax I follows word 0's O (invalid); word 2, in the second
  # window, continues it.
  windows = [
      {"example_index": 0, "word_ids": np.array([-1, 0, 1, -1]),
       "predicted_ids": np.array([0] + [labels.index(l) for l in "OI"] + [0]),
       "probabilities": np.stack([pad, row(O=.8, B=.2), row(I=.6, B=.4),
                                  pad])},
      {"example_index": 0, "word_ids": np.array([-1, 2, -1]),
       "predicted_ids": np.array([0, labels.index("I"), 0]),
       "probabilities": np.stack([pad, row(I=.9, O=.1), pad])}]
  (_, plain), = words_back.iter_word_labels([example], windows, label_map)
  assert plain == ["O", "I", "I"]
  scored = [dict(w, score=w["probabilities"].max(axis=1)) for w in windows]
  ((_, repaired, scores),) = words_back.iter_word_labels(
      [example], scored, label_map, score_key="score", repair=repair)
  assert repaired == ["O", "B", "I"]
  # Scores are the probabilities of the labels chosen.
  assert scores == pytest.approx([.8, .4, .9])


def test_repair_passes_a_sentence_without_words():
  # A blank line of plain text is a sentence without words: no window
  # predicts it, and it gets no label, repaired or not.
  label_map = label_set.LabelMap(["O", "B", "I"])
  repair = crf.TagRepair(label_map.labels, label_map.data_label_ids())
  empty = input_example.InputExample("t-0", [], None)
  word = input_example.InputExample("t-1", ["a"], None)
  probabilities = np.zeros([3, label_map.num_labels], np.float32)
  probabilities[1, label_map.label_to_id["B"]] = 1.0
  windows = [{"example_index": 1, "word_ids": np.array([-1, 0, -1]),
              "predicted_ids": np.array([0, 2, 0]),
              "probabilities": probabilities}]
  assert [labels for _, labels in words_back.iter_word_labels(
      [empty, word], windows, label_map, repair=repair)] == [[], ["B"]]


def test_text_documents_are_separated_by_blank_lines(tmp_path):
  path = write(tmp_path, "in.txt", "a b\nc\n\n\nd\n\ne f\n")
  examples = list(text_format.iter_text(path))
  assert [e.words for e in examples] == [["a", "b"], ["c"], [], [], ["d"],
                                         [], ["e", "f"]]
  assert [e.document for e in examples if e.words] == [0, 0, 1, 2]
  with_context = [e.context for e in windowing.add_context(examples, 1)
                  if e.words]
  assert with_context == [([], ["c"]), (["a", "b"], []), ([], []), ([], [])]


def test_documents_and_their_context(tmp_path):
  path = write(tmp_path, "train.txt",
               "-DOCSTART- -X- O O\n\na O\nb O\n\nc O\n\n"
               "-DOCSTART- -X- O O\n\nd O\n\ne O\n\nf O\n\ng O\n")
  examples = list(conll_format.iter_conll(path, "train"))
  assert [e.words for e in examples] == [["a", "b"], ["c"], ["d"], ["e"],
                                         ["f"], ["g"]]
  assert [e.document for e in examples] == [0, 0, 1, 1, 1, 1]
  # A file without -DOCSTART- lines is one document.
  plain = write(tmp_path, "dev.tsv", "a\tO\n\nb\tO\n")
  assert [e.document for e in conll_format.iter_conll(plain)] == [0, 0]

  with_one = list(windowing.add_context(
      conll_format.iter_conll(path, "train"), 1))
  assert [e.context for e in with_one] == [
      ([], ["c"]), (["a", "b"], []), ([], ["e"]), (["d"], ["f"]),
      (["e"], ["g"]), (["f"], [])]
  with_two = list(windowing.add_context(
      conll_format.iter_conll(path, "train"), 2))
  assert [e.context for e in with_two] == [
      ([], ["c"]), (["a", "b"], []), ([], ["e", "f"]), (["d"], ["f", "g"]),
      (["d", "e"], ["g"]), (["e", "f"], [])]
  assert [e.words for e in with_two] == [e.words for e in examples]
  assert all(e.context is None for e in windowing.add_context(
      conll_format.iter_conll(path, "train"), 0))


def test_context_fills_the_window_and_is_never_scored(tokenizer):
  label_map = label_set.LabelMap(["O", "B-Disease", "I-Disease"])
  example = input_example.InputExample("t-0", ["breast", "cancer"],
                                       ["B-Disease", "I-Disease"])
  example.context = (["the", "gene", "of", "wanted"], ["in", "the", "colon"])
  # 10 positions: [CLS], 7 of context around the 2 words, [SEP]. "wanted"
  # is want ##ed; half the room (3) before, 4 after but only 3 there, so
  # the fourth goes before.
  (feature,) = windowing.convert_example(example, 0, label_map, tokenizer,
                                         10, 4)
  vocab = {v: k for k, v in tokenizer.vocab.items()}
  assert [vocab[i] for i in feature.input_ids] == [
      "[CLS]", "of", "want", "##ed", "breast", "cancer", "in", "the",
      "colon", "[SEP]"]
  assert feature.segment_ids == [0, 1, 1, 1, 0, 0, 1, 1, 1, 0]
  pad = label_map.pad_id
  assert feature.label_ids == (
      [label_map.label_to_id["[CLS]"], pad, pad, pad,
       label_map.label_to_id["B-Disease"], label_map.label_to_id["I-Disease"],
       pad, pad, pad, label_map.label_to_id["[SEP]"]])
  assert feature.label_weights == [0, 0, 0, 0, 1, 1, 0, 0, 0, 0]
  assert feature.word_ids == [-1, -1, -1, -1, 0, 1, -1, -1, -1, -1]
  # No room: a sentence in several windows gets no context.
  long_example = input_example.InputExample("t-1", ["breast"] * 9, ["O"] * 9)
  long_example.context = (["the"], ["the"])
  features = windowing.convert_example(long_example, 1, label_map, tokenizer,
                                       10, 4)
  assert len(features) == 2
  assert all(set(f.segment_ids) == {0} for f in features)
