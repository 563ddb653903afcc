# coding=utf-8
"""The NER data path: CoNLL/BIO files -> InputExamples -> InputFeatures ->
TFRecords -> input_fn, and back from predicted label ids to one label per word.

Every word of the input gets exactly one prediction: sentences longer than
the model's window are split into overlapping windows (never truncated), and
each word is predicted from the window where it has the most context.
"""

import collections
import contextlib
import hashlib
import json
import multiprocessing
import os
import re

import numpy as np
import tensorflow.compat.v1 as tf

import conlleval
import contracts
import progress
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

NO_WORD = contracts.NO_WORD

# Bumped whenever the records' contents change, so old caches are rebuilt.
RECORD_FORMAT_VERSION = 2

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

  def __init__(self, guid, words, labels=None, line_number=None, text=None,
               offsets=None, document=0):
    """
    Args:
      guid: str, unique id such as "train-12".
      words: list of str.
      labels: list of str (one per word) or None for unlabelled text.
      line_number: int, line of the first word in its file (1-based).
      text: for plain-text input, the line the words come from.
      offsets: for plain-text input, per word (start, end) in `text`.
      document: index of the sentence's document in its file (CoNLL files
        start a document at each -DOCSTART- line; a file without them is one
        document).
    """
    self.guid = guid
    self.document = document
    # Words of the neighbouring sentences of the document, set by
    # `add_context` (--context_sentences): (before, after).
    self.context = None
    self.words = words
    self.labels = labels
    self.line_number = line_number
    self.text = text
    self.offsets = offsets

  def __repr__(self):
    return "InputExample(%s, %r, %r)" % (self.guid, self.words, self.labels)


class InputFeatures(object):
  """One window of one sentence, unpadded (padding happens in input_fn).

  All lists have the same length: [CLS] + WordPieces + [SEP].
  """

  def __init__(self, input_ids, segment_ids, label_ids, label_weights,
               word_ids, example_index):
    """
    Args:
      input_ids: list of int, WordPiece ids.
      segment_ids: list of int: 0, and 1 on the pieces of neighbouring
        sentences (--context_sentences).
      label_ids: list of int, the label of a word on its first piece, X on
        the others, [CLS]/[SEP] on the specials.
      label_weights: list of int, 1 where the position counts in the loss and
        metrics: the first piece of a word with a known label, in the window
        chosen to predict that word.
      word_ids: list of int, the index in the sentence of the word this
        position predicts, or NO_WORD (-1).
      example_index: int, index of the sentence in its file.
    """
    self.input_ids = input_ids
    self.segment_ids = segment_ids
    self.label_ids = label_ids
    self.label_weights = label_weights
    self.word_ids = word_ids
    self.example_index = example_index


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
  def from_labels(cls, labels):
    """The given data labels: "O" first if present, the rest sorted."""
    return cls(sorted(set(labels), key=lambda l: (l != OUTSIDE_LABEL, l)))

  @classmethod
  def from_examples(cls, examples):
    """The labels of the examples: "O" first if present, the rest sorted."""
    return cls.from_labels(summarize(examples).label_counts)

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
    contracts.atomic_write_text(path, "".join(l + "\n" for l in self.labels))


def available_cores():
  """Cores this process may run on (respects CPU affinity and cpusets)."""
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:
    return os.cpu_count() or 1


def iter_conll(path, split="data", require_labels=False):
  """Streams a CoNLL-style file as InputExamples, one sentence at a time.

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

  Yields:
    InputExample, in file order.

  Raises:
    ValueError: naming the file, line and text, for a missing or empty file,
      bytes that are not UTF-8, a token line whose column count differs from
      the file's first token line, or (with require_labels) no tag column.
  """
  words, labels = [], []
  first_line = None
  num_columns = None
  columns_line = None
  count = 0
  document = 0
  for number, line in tokenization.iter_utf8_lines(path, "%s file" % split):
    stripped = line.strip(" \t")
    fields = _COLUMN_SPLIT_RE.split(stripped) if stripped.strip() else None
    if not fields or fields[0] == DOCSTART:
      if words:
        yield InputExample("%s-%d" % (split, count), words,
                           labels if num_columns > 1 else None, first_line,
                           document=document)
        count += 1
        words, labels = [], []
      if fields and count:
        document += 1
      continue
    if num_columns is None:
      num_columns, columns_line = len(fields), number
      if require_labels and num_columns < 2:
        raise ValueError(
            "%s, line %d: the %s file has one column (%r), so its tag column "
            "holds no labels. Training needs 'word<TAB>tag' lines." %
            (path, columns_line, split, line))
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
  if words:
    yield InputExample("%s-%d" % (split, count), words,
                       labels if num_columns > 1 else None, first_line,
                       document=document)


def add_context(examples, num_sentences):
  """Streams examples with `context` set: the words of up to
  `num_sentences` sentences before and after each one, within its
  document (--context_sentences). Holds 2 * num_sentences + 1 examples.
  """
  if num_sentences <= 0:
    for example in examples:
      yield example
    return
  window = collections.deque()
  current = 0  # index in `window` of the next example to yield

  def with_context(index):
    example = window[index]
    same = lambda other: other.document == example.document
    before = [w for other in list(window)[max(0, index - num_sentences):index]
              if same(other) for w in other.words]
    after = [w for other in list(window)[index + 1:index + 1 + num_sentences]
             if same(other) for w in other.words]
    example.context = (before, after)
    return example

  for example in examples:
    window.append(example)
    if len(window) - 1 - current >= num_sentences:
      yield with_context(current)
      current += 1
      if current > num_sentences:
        window.popleft()
        current -= 1
  while current < len(window):
    yield with_context(current)
    current += 1


def read_conll(path, split="data", require_labels=False):
  """`iter_conll` as a list of InputExamples."""
  return list(iter_conll(path, split, require_labels))


def text_example(line, index, line_number=None, split="test"):
  """The InputExample of one line of plain text, with its words' offsets.

  Words are split as BERT's BasicTokenizer splits them (whitespace, then
  every punctuation character), keeping case and each word's character
  offsets in its line.
  """
  words = tokenization.split_words(line)
  return InputExample("%s-%d" % (split, index), [w for w, _, _ in words],
                      None, line_number, text=line,
                      offsets=[(start, end) for _, start, end in words])


def iter_text(path, split="test"):
  """Streams plain text, one sentence or paragraph per line, as examples
  with `text` and `offsets` set (see `text_example`); an empty line gives
  an example without words.

  Raises:
    ValueError: for a missing file, bytes that are not UTF-8, or (at the
      end) a file without any word.
  """
  any_words = False
  for number, line in tokenization.iter_utf8_lines(path, "%s file" % split):
    example = text_example(line, number - 1, number, split)
    any_words = any_words or bool(example.words)
    yield example
  if not any_words:
    raise ValueError("The %s file %s holds no words." % (split, path))


def read_text(path, split="test"):
  """Reads plain text into examples (see `iter_text`).

  Returns:
    (examples without labels, offsets: per line a list of (start, end),
     lines: the input lines).
  """
  examples = list(iter_text(path, split))
  return examples, [e.offsets for e in examples], [e.text for e in examples]


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


def entities_json_line(line, offsets, labels):
  """One JSON line: {"text", "entities": entity_spans}."""
  return json.dumps(
      {"text": line, "entities": entity_spans(line, offsets, labels)},
      ensure_ascii=False) + "\n"


def format_entities_jsonl(lines, offsets, predicted_labels):
  """JSON Lines, one per input line: {"text", "entities": entity_spans}."""
  return "".join(entities_json_line(line, line_offsets, labels)
                 for line, line_offsets, labels in zip(lines, offsets,
                                                       predicted_labels))


SplitSummary = collections.namedtuple(
    "SplitSummary", ["num_examples", "num_words", "has_gold", "label_counts"])


def summarize(examples):
  """Counts a stream of examples in one pass (reading the whole file, so a
  bad line fails before any slow work).

  Returns:
    SplitSummary: num_examples, num_words, has_gold (the examples carry
    labels), label_counts (collections.Counter of gold labels).
  """
  num_examples = num_words = 0
  has_gold = False
  label_counts = collections.Counter()
  for example in examples:
    num_examples += 1
    num_words += len(example.words)
    if example.labels is not None:
      has_gold = True
      label_counts.update(example.labels)
  return SplitSummary(num_examples, num_words, has_gold, label_counts)


def find_split_file(data_dir, split):
  """The file of a split in `data_dir` by its usual names, or None."""
  for name in SPLIT_FILE_NAMES[split]:
    path = os.path.join(data_dir, name)
    if tf.io.gfile.exists(path):
      return path
  return None


class DataProcessor(object):
  """BERT's DataProcessor for CoNLL/BIO corpora, with BERT's calls.

      processor = DataProcessor()
      train = processor.get_train_examples("ncbi")     # ncbi/train.tsv ...
      labels = processor.get_labels()                  # from that file
      label_map = processor.get_label_map()            # ids of those labels

  The files may also be named (train_file=..., dev_file=..., test_file=...)
  or found in data_dir; labels come from labels_file when it is given,
  else from the training file, never from constants.
  """

  def __init__(self, data_dir=None, train_file=None, dev_file=None,
               test_file=None, labels_file=None):
    self.data_dir = data_dir
    self.files = {"train": train_file, "dev": dev_file, "test": test_file}
    self.labels_file = labels_file

  def _path(self, split, data_dir=None):
    data_dir = data_dir or self.data_dir
    if data_dir and not self.files[split]:
      self.files[split] = find_split_file(data_dir, split)
    if not self.files[split]:
      raise ValueError("No %s file was given%s." % (
          split, " and none is in %s" % data_dir if data_dir else ""))
    return self.files[split]

  def iter_examples(self, split, data_dir=None):
    """Streams a split's examples (see `iter_conll`); the training file must
    have a tag column."""
    return iter_conll(self._path(split, data_dir), split,
                      require_labels=split == "train")

  def _examples(self, split, data_dir):
    examples = list(self.iter_examples(split, data_dir))
    tf.logging.info("%s: %d sentences, %d words (%s)", split, len(examples),
                    sum(len(e.words) for e in examples), self.files[split])
    return examples

  def get_train_examples(self, data_dir=None):
    """Training examples; the file must have a tag column."""
    return self._examples("train", data_dir)

  def get_dev_examples(self, data_dir=None):
    return self._examples("dev", data_dir)

  def get_test_examples(self, data_dir=None):
    """Test examples; a file of words only gives examples without labels."""
    return self._examples("test", data_dir)

  def get_label_map(self):
    """LabelMap of labels_file if given, else of the training file's labels
    (read as a stream)."""
    if self.labels_file:
      return LabelMap.from_file(self.labels_file)
    return LabelMap.from_examples(self.iter_examples("train"))

  def get_labels(self):
    """Every label, by id: [PAD], the data's labels, X, [CLS], [SEP]."""
    return self.get_label_map().labels


def count_unknown_labels(label_counts, label_map):
  """The gold labels (label -> count) that the label map cannot predict."""
  return collections.Counter({label: count
                              for label, count in label_counts.items()
                              if label not in label_map.label_to_id})


def warn_unknown_labels(label_counts, label_map, path):
  """Logs once the labels of `path` that training never saw, with counts.

  Such words keep their gold label for scoring and still get a prediction;
  they cannot be predicted right and weigh 0 in the loss.

  Args:
    label_counts: gold label -> count, such as `summarize(...).label_counts`.
  """
  counts = count_unknown_labels(label_counts, label_map)
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


def convert_example(example, example_index, label_map, tokenizer,
                    max_seq_length, stride):
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

  With `example.context` (see `add_context`), a sentence that fits one
  window has the room left filled with the pieces of its neighbours, about
  half before and half after it (the nearest ones): segment id 1, label
  [PAD], weight 0, word id -1, so the context is read, never scored.

  Args:
    example: InputExample.
    example_index: int, its index in the file.
    label_map: LabelMap.
    tokenizer: tokenization.FullTokenizer.
    max_seq_length: int, positions per window including [CLS] and [SEP].
    stride: int, pieces between the starts of consecutive windows.

  Returns:
    list of InputFeatures.
  """
  window = max_seq_length - 2
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
  before, after = context_pieces(example, tokenizer,
                                 window - len(piece_ids))
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
    input_ids = [cls_id] + before + piece_ids[start:end] + after + [sep_id]
    segment_ids = ([0] + [1] * len(before) + [0] * (end - start) +
                   [1] * len(after) + [0])
    label_ids = [label_map.label_to_id[CLS_LABEL]] + [label_map.pad_id] * len(
        before)
    weights = [0] * (1 + len(before))
    word_ids = [NO_WORD] * (1 + len(before))
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
    label_ids.extend([label_map.pad_id] * len(after) +
                     [label_map.label_to_id[SEP_LABEL]])
    weights.extend([0] * (len(after) + 1))
    word_ids.extend([NO_WORD] * (len(after) + 1))
    features.append(InputFeatures(
        input_ids=input_ids, segment_ids=segment_ids,
        label_ids=label_ids, label_weights=weights, word_ids=word_ids,
        example_index=example_index))
  return features


def context_pieces(example, tokenizer, room):
  """The context pieces (before, after) that fill `room` positions: the
  last pieces of the sentences before and the first of those after, half
  the room each, a side with less leaving the rest to the other."""
  if not example.context or room <= 0:
    return [], []
  before = [p for ids in word_pieces(example.context[0], tokenizer)
            for p in ids]
  after = [p for ids in word_pieces(example.context[1], tokenizer)
           for p in ids]
  num_before = min(len(before), max(room // 2, room - len(after)))
  num_after = min(len(after), room - num_before)
  return before[len(before) - num_before:], after[:num_after]


def convert_examples(examples, label_map, tokenizer, max_seq_length, stride):
  """Converts every example (an in-memory list; large files go through
  `prepare_records`, which streams).

  Returns:
    list of InputFeatures, in example order.
  """
  features = []
  for index, example in enumerate(examples):
    features.extend(convert_example(example, index, label_map, tokenizer,
                                    max_seq_length, stride))
  return features


# Sentences per TFRecord shard. Eval and predict records are sorted by
# length within a shard, so this also bounds what prediction holds in memory
# while putting sentences back in order.
DEFAULT_SHARD_SENTENCES = 20000
# Sentences per conversion task handed to a worker process.
CONVERT_TASK_SENTENCES = 1000


def feature_to_example_proto(feature):
  def ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
  fields = {}
  for name, kind in contracts.FEATURE_SPEC.items():
    value = getattr(feature, name)
    fields[name] = ints([value] if kind == "scalar" else value)
  return tf.train.Example(features=tf.train.Features(feature=fields))


def write_tfrecord(features, path):
  """Writes features to `path` whole: under a temporary name, then renamed."""
  with contracts.atomic_path(path) as tmp:
    with tf.io.TFRecordWriter(tmp) as writer:
      for feature in features:
        writer.write(feature_to_example_proto(feature).SerializeToString())


def parse_record(record):
  """Parses one serialized record into int32 Tensors, with input_mask."""
  spec = {}
  for name, kind in contracts.FEATURE_SPEC.items():
    spec[name] = (tf.io.FixedLenFeature([], tf.int64) if kind == "scalar" else
                  tf.io.VarLenFeature(tf.int64))
  parsed = tf.io.parse_single_example(record, spec)
  out = {}
  for name, kind in contracts.FEATURE_SPEC.items():
    value = parsed[name]
    if kind == "sequence":
      value = tf.sparse.to_dense(value)
    # tf.Example holds only int64; the model and TPUs want int32.
    out[name] = tf.cast(value, tf.int32)
  out["input_mask"] = tf.ones_like(out["input_ids"])
  return out


def read_tfrecord(paths):
  """Reads records (one file or a list of shards) back as InputFeatures
  (for tests and tools)."""
  features = []
  for path in [paths] if isinstance(paths, str) else paths:
    for record in tf.io.tf_record_iterator(path):
      proto = tf.train.Example.FromString(record)
      values = {name: list(proto.features.feature[name].int64_list.value)
                for name in contracts.FEATURE_SPEC}
      for name, kind in contracts.FEATURE_SPEC.items():
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
                        stride, label_map, sort_by_length=False,
                        shard_sentences=DEFAULT_SHARD_SENTENCES,
                        context_sentences=0):
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
      "shard_sentences": int(shard_sentences),
  }
  if context_sentences:
    key["context_sentences"] = int(context_sentences)
  return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


RecordsInfo = collections.namedtuple(
    "RecordsInfo", ["path", "files", "num_examples", "num_features",
                    "num_words", "num_pieces"])


def shard_name(prefix, index, num_shards):
  """"train.<fingerprint>-00003-of-00012"."""
  return "%s-%05d-of-%05d" % (prefix, index, num_shards)


# What conversion workers share; set before the pool forks, so the tokenizer
# and label map are inherited rather than pickled for every task.
_CONVERT_SETTINGS = {}


def _convert_task(task):
  """Converts one task of (example_index, InputExample) pairs.

  Returns:
    (records: list of (length, serialized tf.Example), num_examples,
     num_words).
  """
  s = _CONVERT_SETTINGS
  records, num_words = [], 0
  for index, example in task:
    num_words += len(example.words)
    for feature in convert_example(example, index, s["label_map"],
                                   s["tokenizer"], s["max_seq_length"],
                                   s["stride"]):
      records.append((len(feature.input_ids),
                      feature_to_example_proto(feature).SerializeToString()))
  return records, len(task), num_words


def _tasks(examples, shard_sentences, task_sentences):
  """Groups examples into (shard index, [(example_index, example)]) tasks
  that never straddle two shards."""
  task, shard = [], 0
  for index, example in enumerate(examples):
    task.append((index, example))
    last_of_shard = (index + 1) % shard_sentences == 0
    if len(task) == task_sentences or last_of_shard:
      yield shard, task
      task = []
    if last_of_shard:
      shard += 1
  if task:
    yield shard, task


def _converted(tasks, processes):
  """Yields (shard, _convert_task result) in task order, converting in
  `processes` worker processes with a bounded number of tasks in flight."""
  if processes <= 1:
    for shard, task in tasks:
      yield shard, _convert_task(task)
    return
  # Fork: the workers inherit _CONVERT_SETTINGS and need no TensorFlow
  # start-up of their own; they only tokenize and serialize protos.
  context = multiprocessing.get_context("fork")
  pending = collections.deque()
  with context.Pool(processes) as pool:
    for shard, task in tasks:
      pending.append((shard, pool.apply_async(_convert_task, (task,))))
      if len(pending) >= 2 * processes:
        shard_index, result = pending.popleft()
        yield shard_index, result.get()
    while pending:
      shard_index, result = pending.popleft()
      yield shard_index, result.get()


def write_record_shards(examples, prefix, label_map, tokenizer,
                        max_seq_length, stride, sort_by_length=False,
                        shard_sentences=DEFAULT_SHARD_SENTENCES, processes=1,
                        total=None):
  """Converts a stream of examples into TFRecord shards, in flat memory.

  Shard k holds the windows of sentences [k * shard_sentences,
  (k + 1) * shard_sentences), in example order, or with sort_by_length
  shortest first (stable), so that predict batches carry little padding.
  Each shard is written under a temporary name; all are renamed to
  `shard_name(prefix, k, n)` once the last one is whole, so a killed run
  leaves no shard that looks finished.

  Args:
    examples: iterable of InputExample.
    prefix: path prefix of the shards.
    processes: worker processes that tokenize (1: this process only).
    total: the number of examples, for progress lines; None if unknown.

  Returns:
    RecordsInfo (path: the shards' glob pattern).
  """
  _CONVERT_SETTINGS.update(label_map=label_map, tokenizer=tokenizer,
                           max_seq_length=max_seq_length, stride=stride)
  task_sentences = min(CONVERT_TASK_SENTENCES, shard_sentences)
  progress_log = progress.Progress("Converted", "sentences", total)
  temporary = []
  counts = collections.Counter()
  current, records = None, []

  def flush():
    if sort_by_length:
      records.sort(key=lambda r: r[0])
    tmp = contracts.temporary_name("%s-%05d" % (prefix, len(temporary)))
    with tf.io.TFRecordWriter(tmp) as writer:
      for _, record in records:
        writer.write(record)
    temporary.append(tmp)
    del records[:]

  try:
    for shard, (task_records, num_examples, num_words) in _converted(
        _tasks(examples, shard_sentences, task_sentences), processes):
      if shard != current and current is not None:
        flush()
      current = shard
      records.extend(task_records)
      counts["examples"] += num_examples
      counts["words"] += num_words
      counts["features"] += len(task_records)
      counts["pieces"] += sum(length for length, _ in task_records)
      progress_log.add(num_examples)
    if records or not temporary:
      flush()
  except BaseException:
    for tmp in temporary:
      if tf.io.gfile.exists(tmp):
        tf.io.gfile.remove(tmp)
    raise
  finally:
    _CONVERT_SETTINGS.clear()
  progress_log.done()
  files = []
  for index, tmp in enumerate(temporary):
    files.append(shard_name(prefix, index, len(temporary)))
    tf.io.gfile.rename(tmp, files[-1], overwrite=True)
  return RecordsInfo(
      path="%s-*-of-%05d" % (prefix, len(files)), files=files,
      num_examples=counts["examples"], num_features=counts["features"],
      num_words=counts["words"], num_pieces=counts["pieces"])


def prepare_records(examples, input_file, split, records_dir, tokenizer,
                    vocab_file, label_map, max_seq_length, stride,
                    sort_by_length=False,
                    shard_sentences=DEFAULT_SHARD_SENTENCES, processes=1,
                    total=None, context_sentences=0):
  """Writes the split's TFRecord shards once; reuses them while their inputs
  are unchanged.

  The shards are named after a fingerprint of the input file, vocabulary,
  case, max_seq_length, stride, labels and shard size, so any change
  rebuilds them: `records_dir/<split>.<fingerprint>-00000-of-000NN`, with
  `<split>.<fingerprint>.json` (the RecordsInfo) written last: shards
  without it, or missing one of its files, are rebuilt.

  Args:
    examples: iterable of InputExample (read only when the records are
      built, so a generator costs nothing when they are reused).
    sort_by_length: eval and predict: shortest first within each shard.
    processes: worker processes for the conversion.
    total: the number of examples, for progress lines.
    context_sentences: neighbouring sentences of the same document that
      fill each window (`add_context`).

  Returns:
    RecordsInfo.
  """
  fingerprint = records_fingerprint(input_file, vocab_file,
                                    tokenizer.do_lower_case, max_seq_length,
                                    stride, label_map, sort_by_length,
                                    shard_sentences, context_sentences)[:16]
  prefix = os.path.join(records_dir, "%s.%s" % (split, fingerprint))
  info_path = prefix + ".json"
  if tf.io.gfile.exists(info_path):
    with tf.io.gfile.GFile(info_path) as f:
      try:
        info = RecordsInfo(**json.load(f))
      except (TypeError, ValueError):
        info = None
    if info and all(tf.io.gfile.exists(p) for p in info.files):
      tf.logging.info("Reusing %s (%d windows of %d sentences)", info.path,
                      info.num_features, info.num_examples)
      return info
  tf.io.gfile.makedirs(records_dir)
  for old in tf.io.gfile.glob(os.path.join(records_dir, "%s.*" % split)):
    if not contracts.written_by_live_process(old):
      tf.io.gfile.remove(old)
  tf.logging.info("Converting %s with %d process(es)", input_file, processes)
  examples = add_context(examples, context_sentences)
  info = write_record_shards(examples, prefix, label_map, tokenizer,
                             max_seq_length, stride, sort_by_length,
                             shard_sentences, processes, total)
  contracts.atomic_write_text(info_path, json.dumps(info._asdict(), indent=1))
  tf.logging.info("Wrote %s: %d windows of %d sentences in %d shard(s)",
                  info.path, info.num_features, info.num_examples,
                  len(info.files))
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
  return {name: tf.constant(contracts.PADDING_VALUES.get(name, 0), tf.int32)
          for name in list(contracts.FEATURE_SPEC) + ["input_mask"]}


def _fake_record(length=2):
  """A padding example: [CLS] [SEP], weight 0, predicting no word."""
  fake = {name: tf.zeros([length], tf.int32) if kind == "sequence" else
          tf.constant(contracts.PADDING_VALUES.get(name, 0), tf.int32)
          for name, kind in contracts.FEATURE_SPEC.items()}
  fake["word_ids"] = tf.fill([length], NO_WORD)
  fake["input_mask"] = tf.ones([length], tf.int32)
  return fake


def input_fn_builder(input_file, is_training, max_seq_length, static_shapes,
                     num_records=None, seed=None, shuffle_buffer=None):
  """Returns an `input_fn(params)` for the estimator.

  Args:
    input_file: TFRecord path, or a list of shards (RecordsInfo.files):
      read in order for eval and predict; for training, read interleaved
      in a shuffled order, so that hosts and workers read in parallel.
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
    files = [input_file] if isinstance(input_file, str) else list(input_file)
    if is_training and len(files) > 1:
      dataset = tf.data.Dataset.from_tensor_slices(files).shuffle(
          len(files), seed=seed, reshuffle_each_iteration=True)
      dataset = dataset.interleave(
          tf.data.TFRecordDataset, cycle_length=min(len(files), 8),
          num_parallel_calls=tf.data.experimental.AUTOTUNE)
    else:
      dataset = tf.data.TFRecordDataset(files)
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
                       for name, kind in contracts.FEATURE_SPEC.items()}
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
  """Orders windows by length (stably), so predict batches carry little
  padding; each window's example_index and word_ids lead back to its words."""
  return sorted(features, key=lambda f: len(f.input_ids))


def iter_word_labels(examples, predictions, label_map, score_key=None,
                     repair=None):
  """Puts predicted windows back together: one label per word, in order.

  Streams: each example is yielded as soon as all its words are predicted,
  and predictions that arrive early wait in a buffer. Records sorted by
  length within bounded shards keep that buffer to about one shard.

  Args:
    examples: iterable of the InputExamples the records were made from, in
      file order.
    predictions: iterable of dicts with "example_index" (int, -1 for padding
      examples), "word_ids" (int array [seq_length]) and "predicted_ids"
      (int array [seq_length]), one per window.
    label_map: LabelMap.
    score_key: optional key of the predictions holding a float array
      [seq_length] (such as the predicted label's probability).
    repair: optional crf.TagRepair: the words' labels are decoded from the
      predictions' "probabilities" ([seq_length, num_labels]) as valid IOB2
      tags instead of taken from "predicted_ids".

  Yields:
    (example, list of label strings, one per word), or with score_key
    (example, labels, list of the words' scores).

  Raises:
    AssertionError: a word predicted twice or never.
  """
  predictions = iter(predictions)
  pending = {}  # example_index -> {word index: label}
  index = -1
  for index, example in enumerate(examples):
    labels = pending.pop(index, {})
    while len(labels) < len(example.words):
      try:
        prediction = next(predictions)
      except StopIteration:
        missing = min(set(range(len(example.words))) - set(labels))
        raise AssertionError("Sentence %s: word %d got no prediction." %
                             (example.guid, missing))
      example_index = int(prediction["example_index"])
      if example_index < 0:
        continue
      if example_index < index:
        raise AssertionError("Sentence %d predicted after it was complete." %
                             example_index)
      target = (labels if example_index == index else
                pending.setdefault(example_index, {}))
      word_ids = np.asarray(prediction["word_ids"])
      predicted = np.asarray(prediction["predicted_ids"])
      for position in np.nonzero(word_ids >= 0)[0]:
        word = int(word_ids[position])
        if word in target:
          raise AssertionError("Word %d of sentence %d predicted twice." %
                               (word, example_index))
        target[word] = (
            int(predicted[position]),
            float(prediction[score_key][position]) if score_key else None,
            prediction["probabilities"][position] if repair else None)
    if len(labels) > len(example.words):
      raise AssertionError("Sentence %s: %d words, %d predicted." %
                           (example.guid, len(example.words), len(labels)))
    words = [labels[w] for w in range(len(example.words))]
    if repair:
      ids = repair.decode(np.stack([p for _, _, p in words])
                          if words else [])
    else:
      ids = [i for i, _, _ in words]
    names = [label_map.labels[i] for i in ids]
    if score_key and repair:  # the probability of the label chosen
      yield example, names, [float(p[i]) for (_, _, p), i in zip(words, ids)]
    elif score_key:
      yield example, names, [score for _, score, _ in words]
    else:
      yield example, names
  for prediction in predictions:
    if int(prediction["example_index"]) > index:
      raise AssertionError("A prediction for sentence %d, beyond the %d "
                           "sentences read." % (prediction["example_index"],
                                                index + 1))
  if pending:
    raise AssertionError("Predictions for sentence(s) %s, beyond the %d "
                         "sentences read." % (sorted(pending), index + 1))


def predictions_to_word_labels(examples, predictions, label_map):
  """`iter_word_labels` as a list (one per example) of label lists."""
  return [labels for _, labels in
          iter_word_labels(examples, predictions, label_map)]


def conll_lines(example, predicted):
  """One sentence as CoNLL text: "word gold pred" (or "word pred" without
  gold) per word, then a blank line."""
  if example.labels is not None:
    lines = ["%s %s %s\n" % row for row in zip(example.words, example.labels,
                                                predicted)]
  else:
    lines = ["%s %s\n" % row for row in zip(example.words, predicted)]
  lines.append("\n")
  return "".join(lines)


def write_word_labels(tagged, out_path, jsonl_path=None, score=False,
                      progress_log=None):
  """Streams tagged sentences out as they come: CoNLL lines to out_path,
  entities to jsonl_path (plain-text input), each file written whole or not
  at all.

  Args:
    tagged: iterable of (example, one label per word).
    score: count the entities against the examples' gold labels.
    progress_log: optional progress.Progress, one step per sentence.

  Returns:
    with score, (conlleval figures, strict IOB2 figures); else None.
  """
  counter = conlleval.ChunkCounter() if score else None
  with contextlib.ExitStack() as files:
    out = files.enter_context(contracts.AtomicTextFile(out_path))
    jsonl = (files.enter_context(contracts.AtomicTextFile(jsonl_path))
             if jsonl_path else None)
    for example, labels in tagged:
      out.write(conll_lines(example, labels))
      if jsonl:
        jsonl.write(entities_json_line(example.text, example.offsets, labels))
      if counter:
        counter.add_sentence(example.labels, labels)
      if progress_log:
        progress_log.add()
  if progress_log:
    progress_log.done()
  return counter.scores() if counter else None


def format_conll(examples, predicted_labels):
  """CoNLL text of whole lists (see `conll_lines`)."""
  return "".join(conll_lines(example, predicted) for example, predicted
                 in zip(examples, predicted_labels))
