"""What a job reads: its splits (one corpus, or one per corpus of
--corpora), each read once up front and streamed again from its file, their
TFRecord shards and the estimator's input_fn over them (Job's data half)."""

import collections
import json
import os

import tensorflow.compat.v1 as tf

from bert_ner.corpora import formats
from bert_ner.corpora import input_example
from bert_ner.corpora import offset_conversion
from bert_ner import file_io
from bert_ner import input_pipeline
from bert_ner.model import partial_labels
from bert_ner.run import corpus_list
from bert_ner.run import corpus_scores
from bert_ner import tfrecords

# One corpus file of the job: its name (train, dev, test), path, format,
# input_example.SplitSummary, whether it is read with its labels, and in a
# run across corpora (--corpora) its corpus_list.Corpus and the folder of
# its outputs (OUTPUT_DIR/corpora/<name>; OUTPUT_DIR otherwise).
Split = collections.namedtuple(
    "Split", ["name", "path", "input_format", "summary", "labelled",
              "corpus", "folder"], defaults=(None, None))


class JobData(object):
  """The splits and records of a Job (which sets settings, reading,
  tokenizer, records_dir, corpora and label_map)."""

  @property
  def dev_split(self):
    """The dev split of a run of one corpus (None without --do_eval)."""
    return self.dev_splits[0] if self.dev_splits and not self.corpora else None

  def scan_all(self, name):
    """The Splits of `name` (train, dev, test): one, or one per corpus."""
    s = self.settings
    if self.corpora:
      return [self.scan(name, c.files[name], c.input_format, c)
              for c in self.corpora]
    path = {"train": s.train_file, "dev": s.dev_file, "test": s.test_file}
    # train and dev are CoNLL unless the corpus is of a training format.
    input_format = (s.input_format if name == "test" or s.input_format in
                    formats.TRAINING_FORMATS else "conll")
    return [self.scan(name, path[name], input_format)]

  def partial_label_table(self):
    """partial_labels.allowed_table of the corpora's scopes (None for one
    corpus), its rule for each corpus logged."""
    if not self.corpora:
      return None
    labels, scopes = self.label_map.labels, [c.scope for c in self.corpora]
    mechanism = self.settings.partial_labels
    table = partial_labels.allowed_table(labels, scopes, mechanism)
    for line in partial_labels.describe(table, labels, scopes,
                                        [c.name for c in self.corpora]):
      tf.logging.info("--partial_labels=%s: %s", mechanism, line)
    return table

  def examples(self, split, report=None, other_types=None):
    """A fresh stream of the split's examples, read from its file (in a run
    across corpora: its corpus's types only, renamed, tagged with its
    index; `other_types` counts the CoNLL tags outside its scope)."""
    corpus = split.corpus
    stream = formats.iter_file(
        split.path, split.input_format, split.name,
        require_labels=split.name == "train",
        reading=corpus.reading(self.reading) if corpus else self.reading,
        report=report, labelled=split.labelled)
    if corpus is None:
      return stream
    if split.input_format == "conll":
      stream = corpus_list.rename_tags(stream, corpus.entity_types,
                                       other_types if other_types is not None
                                       else collections.Counter())
    return corpus_list.with_corpus(stream, corpus.index)

  def scan(self, name, path, input_format="conll", corpus=None):
    """Reads a split once (counts, labels; a bad line fails here, before
    any slow work) and returns its Split. A document format's conversion
    report is logged and written to <folder>/<split>_conversion.json, as
    are the tags a corpus of --corpora read as O."""
    folder = self.settings.output_dir
    if corpus:
      folder = os.path.join(folder, corpus_scores.CORPORA_DIR_NAME,
                            corpus.name)
      tf.io.gfile.makedirs(folder)
    split = Split(name, path, input_format, None, True, corpus, folder)
    report = offset_conversion.ConversionReport(path)
    other_types = collections.Counter()
    summary = input_example.summarize(self.examples(split, report,
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

  def records(self, split, sort_by_length):
    """The split's TFRecord shards (tfrecords.RecordsInfo), cached; of a
    list of splits (the training corpora of --corpora), their sentences
    drawn by corpus_list.sampled."""
    s = self.settings
    if isinstance(split, list):
      sizes = [x.summary.num_examples for x in split]
      examples = corpus_list.sampled(lambda i: self.examples(split[i]),
                                     sizes, s.corpus_sampling_alpha)
      return self._records(
          examples, [x.path for x in split], "train", sum(
              corpus_list.sampled_counts(sizes, s.corpus_sampling_alpha)),
          {"corpora": [self.reading_key(x) for x in split],
           "alpha": s.corpus_sampling_alpha}, sort_by_length)
    name = "%s-%s" % (split.name, split.corpus.name) if split.corpus else (
        split.name)
    return self._records(self.examples(split), split.path, name,
                         split.summary.num_examples, self.reading_key(split),
                         sort_by_length)

  def reading_key(self, split):
    """What a split's examples depend on besides its file (the records'
    fingerprint): the document reading, and its corpus's scope."""
    key = (self.reading.key() if formats.is_document_format(
        split.input_format) else None)
    if split.corpus is None:
      return key
    return {"reading": key, "corpus": split.corpus.index,
            "entity_types": list(split.corpus.entity_types.items())}

  def _records(self, examples, path, name, total, key, sort_by_length):
    s = self.settings
    return tfrecords.prepare_records(
        examples, path, name, self.records_dir,
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
    return lambda params: input_fn(dict(params, batch_size=batch_size))
