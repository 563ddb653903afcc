# coding=utf-8
"""The NER data path: CoNLL/BIO files -> InputExamples -> InputFeatures ->
TFRecords -> input_fn, and back from predicted label ids to one label per word.

Every word of the input gets exactly one prediction: sentences longer than
the model's window are split into overlapping windows (never truncated), and
each word is predicted from the window where it has the most context.
"""

import collections
import hashlib
import json
import os
import re

import numpy as np
import tensorflow.compat.v1 as tf

import tokenization

# Label ids, in this order: [PAD] = 0, then the data's own labels (from the
# training file or --labels_file: "O" first if present, the rest sorted),
# then X (a WordPiece that continues a word), [CLS] and [SEP].
PAD_LABEL = "[PAD]"
X_LABEL = "X"
CLS_LABEL = "[CLS]"
SEP_LABEL = "[SEP]"
SPECIAL_LABELS = (PAD_LABEL, X_LABEL, CLS_LABEL, SEP_LABEL)
OUTSIDE_LABEL = "O"
DOCSTART = "-DOCSTART-"

# Padding word id: the position predicts no word.
NO_WORD = -1

# Bumped whenever the records' contents change, so old caches are rebuilt.
RECORD_FORMAT_VERSION = 1

SPLIT_FILE_NAMES = collections.OrderedDict([
    ("train", ("train.tsv", "train.txt", "train.conll", "train.iob2",
               "train_dev.tsv")),
    ("dev", ("dev.tsv", "devel.tsv", "dev.txt", "devel.txt", "valid.txt",
             "dev.conll", "dev.iob2")),
    ("test", ("test.tsv", "test.txt", "test.conll", "test.iob2")),
])

_COLUMN_SPLIT_RE = re.compile(r"[ \t]+")


class InputExample(object):
  """One sentence: its words and, when the file has them, their labels."""

  def __init__(self, guid, words, labels=None, line_number=None):
    """
    Args:
      guid: str, unique id such as "train-12".
      words: list of str.
      labels: list of str (one per word) or None for unlabelled text.
      line_number: int, line of the first word in its file (1-based).
    """
    self.guid = guid
    self.words = words
    self.labels = labels
    self.line_number = line_number

  def __repr__(self):
    return "InputExample(%s, %r, %r)" % (self.guid, self.words, self.labels)


class InputFeatures(object):
  """One window of one sentence, unpadded (padding happens in input_fn).

  All lists have the same length: [CLS] + WordPieces + [SEP].
  """

  def __init__(self, input_ids, segment_ids, label_ids, label_weights,
               word_ids, example_index, feature_index):
    """
    Args:
      input_ids: list of int, WordPiece ids.
      segment_ids: list of int, all 0 (one segment).
      label_ids: list of int, the label of a word on its first piece, X on
        the others, [CLS]/[SEP] on the specials.
      label_weights: list of int, 1 where the position counts in the loss and
        metrics: the first piece of a word with a known label, in the window
        chosen to predict that word.
      word_ids: list of int, the index in the sentence of the word this
        position predicts, or NO_WORD (-1).
      example_index: int, index of the sentence in its file.
      feature_index: int, index of this window among all windows of the file.
    """
    self.input_ids = input_ids
    self.segment_ids = segment_ids
    self.label_ids = label_ids
    self.label_weights = label_weights
    self.word_ids = word_ids
    self.example_index = example_index
    self.feature_index = feature_index


class LabelMap(object):
  """Label <-> id, with the special labels around the data's own.

  Ids: [PAD] = 0, the data labels in the given order, then X, [CLS], [SEP].
  """

  def __init__(self, data_labels):
    data_labels = list(data_labels)
    if not data_labels:
      raise ValueError("The label list is empty.")
    clash = [l for l in data_labels if l in SPECIAL_LABELS]
    if clash:
      raise ValueError("Data label(s) %s clash with the special labels %s." %
                       (", ".join(clash), ", ".join(SPECIAL_LABELS)))
    self.data_labels = data_labels
    self.labels = [PAD_LABEL] + data_labels + [X_LABEL, CLS_LABEL, SEP_LABEL]
    self.label_to_id = {l: i for i, l in enumerate(self.labels)}

  @property
  def num_labels(self):
    return len(self.labels)

  @property
  def pad_id(self):
    return self.label_to_id[PAD_LABEL]

  def data_label_ids(self):
    return [self.label_to_id[l] for l in self.data_labels]

  def entity_label_ids(self):
    """Ids of the data labels other than "O": the token-level metric classes."""
    return [self.label_to_id[l] for l in self.data_labels
            if l != OUTSIDE_LABEL]

  @classmethod
  def from_examples(cls, examples):
    """The labels of the examples: "O" first if present, the rest sorted."""
    seen = set()
    for example in examples:
      if example.labels:
        seen.update(example.labels)
    ordered = sorted(seen, key=lambda l: (l != OUTSIDE_LABEL, l))
    return cls(ordered)

  @classmethod
  def from_file(cls, path):
    """Reads one label per line; special labels in the file are skipped.

    Raises:
      ValueError: for a missing or empty file or a repeated label, naming
        the lines.
    """
    lines = tokenization.read_utf8_lines(path, "labels file")
    first_line = {}
    labels = []
    for number, line in enumerate(lines, 1):
      label = line.strip()
      if not label:
        continue
      if label in first_line:
        raise ValueError(
            "Labels file %s, line %d: label %r is listed twice (first on line "
            "%d). List each label once." % (path, number, label,
                                            first_line[label]))
      first_line[label] = number
      if label not in SPECIAL_LABELS:
        labels.append(label)
    if not labels:
      raise ValueError("Labels file %s lists no labels: write one label per "
                       "line (for example O, B-Disease, I-Disease)." % path)
    return cls(labels)

  def save(self, path):
    """Writes every label, one per line, line number = id + 1."""
    atomic_write_text(path, "".join(l + "\n" for l in self.labels))


def _temporary_name(path):
  # One per process, so workers of one job sharing a folder never write
  # into each other's half-written file.
  return "%s.tmp-%d" % (path, os.getpid())


def atomic_write_text(path, text):
  """Writes a file under a temporary name, then renames it into place."""
  tmp = _temporary_name(path)
  with tf.io.gfile.GFile(tmp, "w") as f:
    f.write(text)
  tf.io.gfile.rename(tmp, path, overwrite=True)


def read_conll(path, split="data", require_labels=False):
  """Reads a CoNLL-style file into InputExamples.

  One token per line: the word in the first column and the tag in the last,
  columns separated by tabs or spaces; blank lines end a sentence;
  `-DOCSTART-` lines are skipped. A file of one column holds words only.

  Example, BioBERT's NCBI-disease (word<TAB>tag):

      Identification	O
      of	O
      APC2	O
      ...
      adenomatous	B-Disease
      polyposis	I-Disease

  gives InputExample("train-0", ["Identification", "of", "APC2", ...],
  ["O", "O", "O", ...]).

  Args:
    path: the file.
    split: prefix of the examples' guids.
    require_labels: raise if the file has no tag column (training data).

  Returns:
    list of InputExample.

  Raises:
    ValueError: naming the file, line and text, for a missing or empty file,
      bytes that are not UTF-8, a token line whose column count differs from
      the file's first token line, or (with require_labels) no tag column.
  """
  lines = tokenization.read_utf8_lines(path, "%s file" % split)
  examples = []
  words, labels = [], []
  first_line = None
  num_columns = None
  columns_line = None

  def flush():
    if words:
      examples.append(InputExample(
          "%s-%d" % (split, len(examples)), list(words),
          list(labels) if num_columns > 1 else None, first_line))
      del words[:]
      del labels[:]

  for number, line in enumerate(lines, 1):
    stripped = line.strip(" \t")
    if not stripped.strip():
      flush()
      continue
    fields = _COLUMN_SPLIT_RE.split(stripped)
    if fields[0] == DOCSTART:
      flush()
      continue
    if num_columns is None:
      num_columns, columns_line = len(fields), number
    elif len(fields) != num_columns:
      raise ValueError(
          "%s, line %d: %d column(s) in %r, but the file's first token line "
          "(line %d) has %d. Every token line needs the same columns (word "
          "first, tag last); a word must not contain spaces or tabs." %
          (path, number, len(fields), line, columns_line, num_columns))
    if not words:
      first_line = number
    words.append(fields[0])
    if num_columns > 1:
      labels.append(fields[-1])
  if num_columns is None:
    raise ValueError("The %s file %s holds no sentences: expected one token "
                     "per line, a blank line between sentences." %
                     (split, path))
  flush()
  if require_labels and num_columns < 2:
    raise ValueError(
        "%s, line %d: the %s file has one column (%r), so its tag column "
        "holds no labels. Training needs 'word<TAB>tag' lines." %
        (path, columns_line, split, lines[columns_line - 1]))
  return examples


def read_text(path, split="test"):
  """Reads plain text, one sentence or paragraph per line, into examples.

  Words are split as BERT's BasicTokenizer splits them (whitespace, then
  every punctuation character), keeping case and each word's character
  offsets in its line.

  Returns:
    (examples without labels, offsets: per line a list of (start, end),
     lines: the input lines).
  """
  lines = tokenization.read_utf8_lines(path, "%s file" % split)
  examples, offsets = [], []
  for number, line in enumerate(lines, 1):
    words = tokenization.split_words(line)
    examples.append(InputExample("%s-%d" % (split, number - 1),
                                 [w for w, _, _ in words], None, number))
    offsets.append([(start, end) for _, start, end in words])
  if not any(e.words for e in examples):
    raise ValueError("The %s file %s holds no words." % (split, path))
  return examples, offsets, lines


def entity_spans(line, offsets, labels):
  """Entities of one tagged line with character offsets into it.

  Returns:
    list of {"start", "end", "type", "text"} dicts, `line[start:end] == text`.
  """
  import conlleval  # pylint: disable=g-import-not-at-top
  spans = []
  for type_, first, last in conlleval.chunks(labels):
    start, end = offsets[first][0], offsets[last - 1][1]
    spans.append({"start": start, "end": end, "type": type_,
                  "text": line[start:end]})
  return spans


def format_entities_jsonl(lines, offsets, predicted_labels):
  """JSON Lines, one per input line: {"text", "entities": entity_spans}."""
  out = []
  for line, line_offsets, labels in zip(lines, offsets, predicted_labels):
    out.append(json.dumps(
        {"text": line, "entities": entity_spans(line, line_offsets, labels)},
        ensure_ascii=False) + "\n")
  return "".join(out)


def find_split_file(data_dir, split):
  """The file of a split in `data_dir` by its usual names, or None."""
  for name in SPLIT_FILE_NAMES[split]:
    path = os.path.join(data_dir, name)
    if tf.io.gfile.exists(path):
      return path
  return None


class DataProcessor(object):
  """BERT's DataProcessor for CoNLL/BIO corpora: the splits' examples and
  the label map, from explicit file paths.

  Example:

      processor = DataProcessor(train_file="ncbi/train.tsv",
                                dev_file=find_split_file("ncbi", "dev"))
      train = processor.get_train_examples()
      label_map = processor.get_labels(train)
  """

  def __init__(self, train_file=None, dev_file=None, test_file=None):
    self.files = {"train": train_file, "dev": dev_file, "test": test_file}

  def _examples(self, split, require_labels=False):
    path = self.files[split]
    if not path:
      raise ValueError("No %s file was given." % split)
    examples = read_conll(path, split, require_labels=require_labels)
    tf.logging.info("%s: %d sentences, %d words (%s)", split, len(examples),
                    sum(len(e.words) for e in examples), path)
    return examples

  def get_train_examples(self):
    """Training examples; the file must have a tag column."""
    return self._examples("train", require_labels=True)

  def get_dev_examples(self):
    return self._examples("dev")

  def get_test_examples(self):
    """Test examples; a file of words only gives examples without labels."""
    return self._examples("test")

  @staticmethod
  def get_labels(train_examples=None, labels_file=None):
    """LabelMap from a labels file if given, else from the training data."""
    if labels_file:
      return LabelMap.from_file(labels_file)
    if train_examples is None:
      raise ValueError("get_labels needs training examples or a labels file.")
    return LabelMap.from_examples(train_examples)


def count_unknown_labels(examples, label_map):
  """Counts the gold labels that the label map cannot predict."""
  counts = collections.Counter()
  for example in examples:
    for label in example.labels or ():
      if label not in label_map.label_to_id:
        counts[label] += 1
  return counts


def warn_unknown_labels(examples, label_map, path):
  """Logs once the labels of `path` that training never saw, with counts.

  Such words keep their gold label for scoring and still get a prediction;
  they cannot be predicted right and weigh 0 in the loss.
  """
  counts = count_unknown_labels(examples, label_map)
  if counts:
    tf.logging.warning(
        "%s holds label(s) the training data never had; they are scored as "
        "gold labels but cannot be predicted: %s", path,
        ", ".join("%s (%d)" % kv for kv in sorted(counts.items())))
  return counts


def word_pieces(words, tokenizer):
  """WordPiece ids of each word; a word with no piece becomes [UNK].

  Returns:
    list (one per word) of lists of int.
  """
  unk = [tokenizer.vocab[tokenization.UNK_TOKEN]]
  out = []
  for word in words:
    ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(word))
    out.append(ids or unk)
  return out


def default_window_stride(max_seq_length):
  """Half a window: the stride when none is given."""
  return max((max_seq_length - 2) // 2, 1)


def window_starts(num_pieces, window, stride):
  """Start offsets of the windows covering `num_pieces` pieces.

  Windows advance by `stride`; the last one is aligned to the end, so all
  windows are full. For example 10 pieces, window 6, stride 3: [0, 3, 4].
  """
  if num_pieces <= window:
    return [0]
  starts = list(range(0, num_pieces - window, stride))
  starts.append(num_pieces - window)
  return starts


def best_window(position, starts, window):
  """Index of the window where `position` has the most context both sides.

  The score is the smaller of the left and right context; ties go to the
  earlier window.
  """
  best, best_score = None, -1
  for index, start in enumerate(starts):
    if start <= position < start + window:
      score = min(position - start, start + window - 1 - position)
      if score > best_score:
        best, best_score = index, score
  return best


def convert_example(example, example_index, first_feature_index, label_map,
                    tokenizer, max_seq_length, stride, pieces=None):
  """Turns a sentence into one or more windows of InputFeatures.

  Example: "Familial breast cancer" with labels O B-Disease I-Disease, and
  a vocabulary that splits "familial" into "fam ##ilia ##l", gives one
  feature:

      tokens      [CLS] fam  ##ilia ##l breast     cancer     [SEP]
      label_ids   [CLS] O    X      X   B-Disease  I-Disease  [SEP]
      weights     0     1    0      0   1          1          0
      word_ids    -1    0    -1     -1  1          2          -1

  A sentence of more than max_seq_length - 2 pieces gives several windows
  that overlap by `window - stride` pieces.

  Args:
    example: InputExample.
    example_index: int, its index in the file.
    first_feature_index: int, feature_index of its first window.
    label_map: LabelMap.
    tokenizer: tokenization.FullTokenizer.
    max_seq_length: int, positions per window including [CLS] and [SEP].
    stride: int, pieces between the starts of consecutive windows.
    pieces: optional precomputed `word_pieces(example.words, tokenizer)`.

  Returns:
    list of InputFeatures.
  """
  window = max_seq_length - 2
  if pieces is None:
    pieces = word_pieces(example.words, tokenizer)
  piece_ids, piece_words, piece_first = [], [], []
  for word_index, ids in enumerate(pieces):
    for k, piece in enumerate(ids):
      piece_ids.append(piece)
      piece_words.append(word_index)
      piece_first.append(k == 0)

  label_ids_of_words = []
  for word_index in range(len(example.words)):
    label = example.labels[word_index] if example.labels else None
    label_ids_of_words.append(label_map.label_to_id.get(label))

  starts = window_starts(len(piece_ids), window, stride)
  chosen = {}
  for position, first in enumerate(piece_first):
    if first:
      chosen[position] = best_window(position, starts, window)

  cls_id = tokenizer.vocab[tokenization.CLS_TOKEN]
  sep_id = tokenizer.vocab[tokenization.SEP_TOKEN]
  x_id = label_map.label_to_id[X_LABEL]
  features = []
  for window_index, start in enumerate(starts):
    end = min(start + window, len(piece_ids))
    input_ids = [cls_id] + piece_ids[start:end] + [sep_id]
    label_ids = [label_map.label_to_id[CLS_LABEL]]
    weights = [0]
    word_ids = [NO_WORD]
    for position in range(start, end):
      if not piece_first[position]:
        label_ids.append(x_id)
        weights.append(0)
        word_ids.append(NO_WORD)
        continue
      word_index = piece_words[position]
      label_id = label_ids_of_words[word_index]
      predicts_here = chosen[position] == window_index
      label_ids.append(label_map.pad_id if label_id is None else label_id)
      weights.append(int(predicts_here and label_id is not None))
      word_ids.append(word_index if predicts_here else NO_WORD)
    label_ids.append(label_map.label_to_id[SEP_LABEL])
    weights.append(0)
    word_ids.append(NO_WORD)
    features.append(InputFeatures(
        input_ids=input_ids, segment_ids=[0] * len(input_ids),
        label_ids=label_ids, label_weights=weights, word_ids=word_ids,
        example_index=example_index,
        feature_index=first_feature_index + len(features)))
  return features


def convert_examples(examples, label_map, tokenizer, max_seq_length, stride,
                     log_every=5000):
  """Converts every example; logs progress on large files.

  Returns:
    list of InputFeatures, in example order.
  """
  features = []
  for index, example in enumerate(examples):
    if log_every and index and index % log_every == 0:
      tf.logging.info("Converted %d of %d sentences", index, len(examples))
    features.extend(convert_example(example, index, len(features), label_map,
                                    tokenizer, max_seq_length, stride))
  return features


# The TFRecord schema, used both to write and to parse: name -> kind.
# "sequence" features have one value per position, "scalar" ones one per
# record. int64 on disk (all tf.Example holds); int32 for the model.
FEATURE_SPEC = collections.OrderedDict([
    ("input_ids", "sequence"),
    ("segment_ids", "sequence"),
    ("label_ids", "sequence"),
    ("label_weights", "sequence"),
    ("word_ids", "sequence"),
    ("example_index", "scalar"),
    ("feature_index", "scalar"),
])
# Padding values in batches; input_mask is derived (1 on real positions).
PADDING_VALUES = {"word_ids": NO_WORD, "example_index": -1,
                  "feature_index": -1}


def feature_to_example_proto(feature):
  def ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
  fields = {}
  for name, kind in FEATURE_SPEC.items():
    value = getattr(feature, name)
    fields[name] = ints([value] if kind == "scalar" else value)
  return tf.train.Example(features=tf.train.Features(feature=fields))


def write_tfrecord(features, path):
  """Writes features to `path` whole: under a temporary name, then renamed."""
  tmp = _temporary_name(path)
  with tf.io.TFRecordWriter(tmp) as writer:
    for feature in features:
      writer.write(feature_to_example_proto(feature).SerializeToString())
  tf.io.gfile.rename(tmp, path, overwrite=True)


def parse_record(record):
  """Parses one serialized record into int32 Tensors, with input_mask."""
  spec = {}
  for name, kind in FEATURE_SPEC.items():
    spec[name] = (tf.io.FixedLenFeature([], tf.int64) if kind == "scalar" else
                  tf.io.VarLenFeature(tf.int64))
  parsed = tf.io.parse_single_example(record, spec)
  out = {}
  for name, kind in FEATURE_SPEC.items():
    value = parsed[name]
    if kind == "sequence":
      value = tf.sparse.to_dense(value)
    # tf.Example holds only int64; the model and TPUs want int32.
    out[name] = tf.cast(value, tf.int32)
  out["input_mask"] = tf.ones_like(out["input_ids"])
  return out


def read_tfrecord(path):
  """Reads records back as InputFeatures (for tests and tools)."""
  features = []
  for record in tf.io.tf_record_iterator(path):
    proto = tf.train.Example.FromString(record)
    values = {name: list(proto.features.feature[name].int64_list.value)
              for name in FEATURE_SPEC}
    for name, kind in FEATURE_SPEC.items():
      if kind == "scalar":
        values[name] = values[name][0]
    features.append(InputFeatures(**values))
  return features


def _file_digest(path):
  digest = hashlib.sha256()
  with tf.io.gfile.GFile(path, "rb") as f:
    while True:
      chunk = f.read(1 << 20)
      if not chunk:
        break
      digest.update(chunk)
  return digest.hexdigest()


def records_fingerprint(input_file, vocab_file, do_lower_case, max_seq_length,
                        stride, label_map, sort_by_length=False):
  """Hash of everything the records of a file depend on."""
  key = {
      "format": RECORD_FORMAT_VERSION,
      "input": _file_digest(input_file),
      "vocab": _file_digest(vocab_file),
      "do_lower_case": bool(do_lower_case),
      "max_seq_length": int(max_seq_length),
      "stride": int(stride),
      "labels": label_map.labels,
      "sorted": bool(sort_by_length),
  }
  return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


RecordsInfo = collections.namedtuple(
    "RecordsInfo", ["path", "num_examples", "num_features", "num_words",
                    "num_pieces"])


def prepare_records(examples, input_file, split, records_dir, tokenizer,
                    vocab_file, label_map, max_seq_length, stride,
                    sort_by_length=False):
  """Writes the split's TFRecord once; reuses it while its inputs are unchanged.

  The file is named after a fingerprint of the input file, vocabulary,
  case, max_seq_length, stride and labels, so any change rebuilds it.
  With sort_by_length (eval and predict), windows are stored shortest first
  so that batches carry little padding; feature_index keeps the order.

  Returns:
    RecordsInfo.
  """
  fingerprint = records_fingerprint(input_file, vocab_file,
                                    tokenizer.do_lower_case, max_seq_length,
                                    stride, label_map, sort_by_length)[:16]
  path = os.path.join(records_dir, "%s.%s.tf_record" % (split, fingerprint))
  info_path = path + ".json"
  if tf.io.gfile.exists(path) and tf.io.gfile.exists(info_path):
    with tf.io.gfile.GFile(info_path) as f:
      info = RecordsInfo(**json.load(f))
    tf.logging.info("Reusing %s (%d windows of %d sentences)", path,
                    info.num_features, info.num_examples)
    return info
  tf.io.gfile.makedirs(records_dir)
  for old in tf.io.gfile.glob(os.path.join(records_dir,
                                           "%s.*.tf_record*" % split)):
    tf.io.gfile.remove(old)
  tf.logging.info("Converting %d sentences of %s", len(examples), input_file)
  features = convert_examples(examples, label_map, tokenizer, max_seq_length,
                              stride)
  write_tfrecord(sort_records_by_length(features) if sort_by_length else
                 features, path)
  info = RecordsInfo(
      path=path, num_examples=len(examples), num_features=len(features),
      num_words=sum(len(e.words) for e in examples),
      num_pieces=sum(len(f.input_ids) for f in features))
  atomic_write_text(info_path, json.dumps(info._asdict(), indent=1))
  tf.logging.info("Wrote %s: %d windows of %d sentences", path,
                  info.num_features, info.num_examples)
  return info


def bucket_boundaries(max_seq_length):
  """Length buckets for training batches, finer where sentences are common.

  Every 4 pieces up to 48, every 8 up to 64, every 16 up to 128, then every
  32. On NCBI-disease (35 pieces on average) batches then carry about 6%
  padding, against 128% when random sentences are padded to the longest.
  """
  bounds = (list(range(8, 48, 4)) + list(range(48, 64, 8)) +
            list(range(64, 128, 16)) + list(range(128, 513, 32)))
  return [b for b in bounds if b <= max_seq_length]


def _padding_values():
  return {name: tf.constant(PADDING_VALUES.get(name, 0), tf.int32)
          for name in list(FEATURE_SPEC) + ["input_mask"]}


def _fake_record(length=2):
  """A padding example: [CLS] [SEP], weight 0, predicting no word."""
  fake = {name: tf.zeros([length], tf.int32) if kind == "sequence" else
          tf.constant(PADDING_VALUES.get(name, 0), tf.int32)
          for name, kind in FEATURE_SPEC.items()}
  fake["word_ids"] = tf.fill([length], NO_WORD)
  fake["input_mask"] = tf.ones([length], tf.int32)
  return fake


def input_fn_builder(input_file, is_training, max_seq_length, static_shapes,
                     num_records=None, seed=None, shuffle_buffer=None):
  """Returns an `input_fn(params)` for the estimator.

  Args:
    input_file: TFRecord path.
    is_training: shuffle and repeat.
    max_seq_length: int.
    static_shapes: True on TPU: every batch is [batch_size, max_seq_length]
      and full. Training drops the remainder of the (infinite) stream; eval
      and predict pad the last batch with fake examples of weight 0 and
      example_index -1, so no example is dropped or counted twice.
      False on CPU/GPU: batches are padded only to their own longest
      sequence, and training batches group sentences of similar length.
    num_records: number of records in the file (needed with static_shapes
      for eval and predict, and to size the shuffle buffer).
    seed: shuffling seed.
    shuffle_buffer: shuffle buffer size; all records by default.
  """

  def input_fn(params):
    batch_size = params["batch_size"]
    dataset = tf.data.TFRecordDataset(input_file)
    if is_training:
      buffer = shuffle_buffer or min(num_records or 10000, 200000)
      dataset = dataset.shuffle(buffer_size=max(buffer, 1), seed=seed,
                                reshuffle_each_iteration=True)
      dataset = dataset.repeat()
    dataset = dataset.map(parse_record,
                          num_parallel_calls=tf.data.experimental.AUTOTUNE)
    padding_values = _padding_values()
    if static_shapes:
      if not is_training:
        if num_records is None:
          raise ValueError("static_shapes eval/predict needs num_records.")
        # On TPU, params["batch_size"] is per core and each step takes one
        # batch per core: pad to a multiple of the global batch.
        context = params.get("context")
        replicas = getattr(context, "num_replicas", 1) if context else 1
        missing = -num_records % (batch_size * replicas)
        if missing:
          fake = tf.data.Dataset.from_tensors(_fake_record()).repeat(missing)
          dataset = dataset.concatenate(fake)
      padded_shapes = {name: [max_seq_length] if kind == "sequence" else []
                       for name, kind in FEATURE_SPEC.items()}
      padded_shapes["input_mask"] = [max_seq_length]
      dataset = dataset.padded_batch(batch_size, padded_shapes=padded_shapes,
                                     padding_values=padding_values,
                                     drop_remainder=True)
    elif is_training:
      boundaries = bucket_boundaries(max_seq_length)
      dataset = dataset.bucket_by_sequence_length(
          element_length_func=lambda f: tf.shape(f["input_ids"])[0],
          bucket_boundaries=boundaries,
          bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
          padding_values=padding_values,
          drop_remainder=True)
    else:
      dataset = dataset.padded_batch(batch_size, padding_values=padding_values)
    return dataset.prefetch(tf.data.experimental.AUTOTUNE)

  return input_fn


def sort_records_by_length(features):
  """Orders windows by length, so predict batches carry little padding.

  The feature_index keeps the way back to the original order.
  """
  return sorted(features, key=lambda f: len(f.input_ids))


def predictions_to_word_labels(examples, predictions, label_map):
  """Reassembles one predicted label per input word, in order.

  Args:
    examples: the InputExamples the records were made from.
    predictions: iterable of dicts with "example_index" (int, -1 for padding
      examples), "word_ids" (int array [seq_length]) and "predicted_ids"
      (int array [seq_length]), one per window, in any order.
    label_map: LabelMap.

  Returns:
    list (one per example) of lists of label strings (one per word).
  """
  out = [[None] * len(e.words) for e in examples]
  for prediction in predictions:
    example_index = int(prediction["example_index"])
    if example_index < 0:
      continue
    word_ids = np.asarray(prediction["word_ids"])
    predicted = np.asarray(prediction["predicted_ids"])
    labels = out[example_index]
    for position in np.nonzero(word_ids >= 0)[0]:
      word = int(word_ids[position])
      if labels[word] is not None:
        raise AssertionError("Word %d of sentence %d predicted twice." %
                             (word, example_index))
      labels[word] = label_map.labels[int(predicted[position])]
  for example, labels in zip(examples, out):
    if None in labels:
      raise AssertionError("Sentence %s: word %d got no prediction." %
                           (example.guid, labels.index(None)))
  return out


def format_conll(examples, predicted_labels):
  """CoNLL text: "word gold pred" (or "word pred" without gold) per word."""
  lines = []
  for example, predicted in zip(examples, predicted_labels):
    for index, word in enumerate(example.words):
      if example.labels is not None:
        lines.append("%s %s %s\n" % (word, example.labels[index],
                                     predicted[index]))
      else:
        lines.append("%s %s\n" % (word, predicted[index]))
    lines.append("\n")
  return "".join(lines)
