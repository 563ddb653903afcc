"""What a job reads: the splits of its corpora (one corpus from the file
flags, or the corpora of --corpora: a list either way), each read once up
front and streamed again from its file, their TFRecord shards and the
estimator's input_fn over them.

    splits = read_splits(corpora, "dev", reading, output_dir)
    records = Records(settings, tokenizer, records_dir, label_map, reading)
    info = records.training(train_splits)     # the stream of every corpus
    info = records.of(splits[0])              # one split, sorted by length
    input_fn = records.input_fn(info, False, batch_size)
"""

import collections
import itertools
import json
import os

import tensorflow.compat.v1 as tf

from bert_ner.corpora import formats
from bert_ner.corpora import input_example
from bert_ner.corpora import offset_conversion
from bert_ner import file_io
from bert_ner import input_pipeline
from bert_ner.run import corpus_list
from bert_ner import tfrecords

# One file of a corpus: its split's name (train, dev, test), path, format,
# input_example.SplitSummary, whether it is read with its labels, whether
# it is read for training (its labels required), its corpus_list.Corpus
# and the folder of its outputs (Corpus.folder).
Split = collections.namedtuple(
    "Split", ["name", "path", "input_format", "summary", "labelled",
              "training", "corpus", "folder"])


def read_splits(corpora, name, reading, output_dir, training=False):
  """The Splits of `name` (train, dev, test), one per corpus, each read
  once (see `scan`); with `training`, read as training data (every
  sentence must have its labels)."""
  return [scan(corpus, name, reading, output_dir, training)
          for corpus in corpora]


def examples(split, reading, report=None, other_types=None):
  """A fresh stream of the split's examples, read from its file: its
  corpus's types only, renamed, each example tagged with the corpus's
  index (corpus_list.Corpus.examples)."""
  corpus = split.corpus
  stream = formats.iter_file(
      split.path, split.input_format, split.name,
      require_labels=split.training, reading=corpus.reading(reading),
      report=report, labelled=split.labelled)
  return corpus.examples(stream, split.input_format,
                         other_types if other_types is not None
                         else collections.Counter())


def scan(corpus, name, reading, output_dir, training=False):
  """Reads a corpus's split once (counts, labels; a bad line fails here,
  before any slow work) and returns its Split. A document format's
  conversion report is logged and written to <folder>/<split>_conversion.json,
  as are the CoNLL tags outside a corpus's scope, read as O."""
  folder = corpus.folder(output_dir)
  tf.io.gfile.makedirs(folder)
  path, input_format = corpus.files[name], corpus.split_format(name)
  split = Split(name, path, input_format, None, True, training, corpus,
                folder)
  report = offset_conversion.ConversionReport(path)
  other_types = collections.Counter()
  summary = input_example.summarize(examples(split, reading, report,
                                             other_types))
  if name == "test":  # a test file without mentions is tagged, not scored
    summary, labelled = formats.gold_of(summary, report, input_format)
    split = split._replace(labelled=labelled)
  tf.logging.info("%s: %d sentences, %d words (%s)", name,
                  summary.num_examples, summary.num_words, path)
  values = line = None
  if formats.is_document_format(input_format):
    values, line = report.as_dict(), report.line()
  elif other_types:
    values = corpus_list.other_types_report(path, other_types)
    line = values["line"]
  if values:
    tf.logging.info("%s conversion: %s", name, line)
    file_io.atomic_write_text(
        os.path.join(folder, "%s_conversion.json" % name),
        json.dumps(values, indent=1, sort_keys=True) + "\n")
  return split._replace(summary=summary)


class Records(object):
  """The TFRecord shards of a job's splits (cached by fingerprint) and the
  estimator's input_fn over them.

  Args:
    settings: the run's RunSettings (the window, the shards, the devices).
    tokenizer: tokenization.FullTokenizer.
    records_dir: where the shards are cached.
    label_map: label_set.LabelMap.
    reading: offset_conversion.Reading of the documents.
  """

  def __init__(self, settings, tokenizer, records_dir, label_map, reading):
    self.settings = settings
    self.tokenizer = tokenizer
    self.records_dir = records_dir
    self.label_map = label_map
    self.reading = reading

  def training(self, splits):
    """The training records: every corpus's sentences (its training
    splits one after the other), drawn by corpus_list.sampled."""
    alpha = self.settings.corpus_sampling_alpha
    by_corpus = collections.OrderedDict()
    for split in splits:
      by_corpus.setdefault(split.corpus.index, []).append(split)
    groups = list(by_corpus.values())
    sizes = [sum(x.summary.num_examples for x in group) for group in groups]
    stream = corpus_list.sampled(
        lambda i: itertools.chain.from_iterable(
            examples(x, self.reading) for x in groups[i]), sizes, alpha)
    key = {"splits": [self.reading_key(x) for x in splits], "alpha": alpha}
    return self._records(stream, [x.path for x in splits], "train",
                         sum(corpus_list.sampled_counts(sizes, alpha)), key,
                         sort_by_length=False)

  def of(self, split):
    """The records of one split to evaluate or predict (windows sorted by
    length within a shard)."""
    return self._records(examples(split, self.reading), split.path,
                         split.corpus.records_name(split.name),
                         split.summary.num_examples, self.reading_key(split),
                         sort_by_length=True)

  def reading_key(self, split):
    """What a split's examples depend on besides its file (the records'
    fingerprint): the document reading, and its corpus's scope."""
    key = (self.reading.key() if formats.is_document_format(
        split.input_format) else None)
    return split.corpus.reading_key(key)

  def _records(self, stream, path, name, total, key, sort_by_length):
    s = self.settings
    return tfrecords.prepare_records(
        stream, path, name, self.records_dir,
        self.tokenizer, s.vocab_file, self.label_map, s.max_seq_length,
        s.window_stride, sort_by_length=sort_by_length,
        shard_sentences=s.shard_sentences,
        processes=s.preprocess_processes, total=total,
        context_sentences=s.context_sentences, reading=key)

  def input_fn(self, info, is_training, batch_size, seed=None):
    """The estimator's input_fn over a split's records."""
    s = self.settings
    input_fn = input_pipeline.input_fn_builder(
        info.files, is_training=is_training, max_seq_length=s.max_seq_length,
        static_shapes=s.static_shapes, num_records=info.num_features,
        seed=seed)
    if not (s.mirrored_devices or s.num_workers):
      return input_fn
    # TPUEstimator hands input_fn its batch size; a plain Estimator does not.
    return lambda params: input_fn(dict(params, batch_size=batch_size))
