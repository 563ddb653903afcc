# coding=utf-8
"""CoNLL/BIO files: one word per line, the tag in the last column, blank
lines between sentences, -DOCSTART- between documents. The one reader of
this format, for every door, and BERT's DataProcessor over it."""

import collections
import os
import re

import tensorflow.compat.v1 as tf

from bert_ner.corpora import input_example
from bert_ner import label_set
import tokenization


DOCSTART = "-DOCSTART-"


SPLIT_FILE_NAMES = collections.OrderedDict([
    ("train", ("train.tsv", "train.txt", "train.conll", "train.iob2",
               "train_dev.tsv")),
    ("dev", ("dev.tsv", "devel.tsv", "dev.txt", "devel.txt", "valid.txt",
             "dev.conll", "dev.iob2")),
    ("test", ("test.tsv", "test.txt", "test.conll", "test.iob2")),
])


# Columns are separated by spaces and tabs only: a word may hold any other
# character, U+00A0 and U+3000 among them.
_COLUMN_SPLIT_RE = re.compile(r"[ \t]+")


def split_columns(line):
  """The columns of one line, or None for a line that ends a sentence (a
  blank line, or -DOCSTART- which also starts a document).

  For example "IL-6\tB-Gene" gives ["IL-6", "B-Gene"], and "caf\u00a0e\tO"
  gives ["caf\u00a0e", "O"].
  """
  stripped = line.strip(" \t")
  if not stripped.strip():
    return None
  fields = _COLUMN_SPLIT_RE.split(stripped)
  return None if fields[0] == DOCSTART else fields


def is_document_start(line):
  """Whether the line is a -DOCSTART- line."""
  return _COLUMN_SPLIT_RE.split(line.strip(" \t"), 1)[0] == DOCSTART


class ConllReader(object):
  """The CoNLL rules, fed one line at a time: every door reads CoNLL
  through this class (files through `iter_conll`, corpus shards in
  tag_corpus.py line by line).

      reader = ConllReader("train.tsv", "train")
      for number, line in numbered_lines:
        example = reader.feed(number, line)   # a finished sentence or None
      example = reader.finish()               # the last one or None

  A token line must have the column count of the first token line read; a
  bad line raises ValueError, after which `skip_sentence` drops the rest of
  its sentence.
  """

  def __init__(self, path, split="data", require_labels=False):
    self.path = path
    self.split = split
    self.require_labels = require_labels
    self.num_columns = None
    self.columns_line = None
    self.count = 0
    self.document = 0
    self.skipping = False
    self._words, self._labels, self._first_line = [], [], None

  def feed(self, number, line):
    """Reads line `number`; returns the sentence it ends, or None.

    Raises:
      ValueError: naming the file, line and text, for a token line whose
        column count differs from the first token line's, or (with
        require_labels) a first token line without a tag column.
    """
    fields = split_columns(line)
    if fields is None:
      self.skipping = False
      example = self._flush()
      if self.count and is_document_start(line):
        self.document += 1
      return example
    if self.skipping:
      return None
    self._check_columns(number, line, fields)
    if not self._words:
      self._first_line = number
    self._words.append(fields[0])
    if self.num_columns > 1:
      self._labels.append(fields[-1])
    return None

  def skip_sentence(self):
    """Drops the sentence under way and its lines up to the next blank."""
    self._words, self._labels = [], []
    self.skipping = True

  def finish(self):
    """The last sentence, or None."""
    return self._flush()

  def _check_columns(self, number, line, fields):
    if self.num_columns is None:
      self.num_columns, self.columns_line = len(fields), number
      if self.require_labels and self.num_columns < 2:
        raise ValueError(
            "%s, line %d: the %s file has one column (%r), so its tag column "
            "holds no labels. Training needs 'word<TAB>tag' lines." %
            (self.path, number, self.split, line))
    elif len(fields) != self.num_columns:
      raise ValueError(
          "%s, line %d: %d column(s) in %r, but the file's first token line "
          "(line %d) has %d. Every token line needs the same columns (word "
          "first, tag last); a word must not contain spaces or tabs." %
          (self.path, number, len(fields), line, self.columns_line,
           self.num_columns))

  def _flush(self):
    if not self._words:
      return None
    example = input_example.InputExample(
        "%s-%d" % (self.split, self.count), self._words,
        self._labels if self.num_columns > 1 else None, self._first_line,
        document=self.document)
    self.count += 1
    self._words, self._labels = [], []
    return example


def iter_conll(path, split="data", require_labels=False):
  """Streams a CoNLL-style file as InputExamples, one sentence at a time.

  One token per line: the word in the first column and the tag in the last,
  columns separated by tabs or spaces; blank lines end a sentence;
  `-DOCSTART-` lines end one and start a document. A file of one column
  holds words only.

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
      bytes that are not UTF-8, a bad line (see ConllReader.feed).
  """
  reader = ConllReader(path, split, require_labels)
  for number, line in tokenization.iter_utf8_lines(path, "%s file" % split):
    example = reader.feed(number, line)
    if example:
      yield example
  example = reader.finish()
  if example:
    yield example
  if reader.num_columns is None:
    raise ValueError("The %s file %s holds no sentences: expected one token "
                     "per line, a blank line between sentences." %
                     (split, path))


def with_text(example):
  """Sets a CoNLL sentence's `text` (its words joined by single spaces)
  and `offsets` (each word's span in it), for entity offsets; returns it."""
  offsets, position = [], 0
  for word in example.words:
    offsets.append((position, position + len(word)))
    position += len(word) + 1
  example.text, example.offsets = " ".join(example.words), offsets
  return example


def read_conll(path, split="data", require_labels=False):
  """`iter_conll` as a list of InputExamples."""
  return list(iter_conll(path, split, require_labels))


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
      return label_set.LabelMap.from_file(self.labels_file)
    return label_set.LabelMap.from_examples(self.iter_examples("train"))

  def get_labels(self):
    """Every label, by id: [PAD], the data's labels, X, [CLS], [SEP]."""
    return self.get_label_map().labels
