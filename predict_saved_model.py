"""Tags text with a SavedModel written by `run_ner.py --export_dir`.

Needs only the export folder (saved_model.pb, variables/, vocab.txt,
label_list.txt, tokenizer_config.json): no checkpoint, BERT config or
training flags.

  python predict_saved_model.py --export_dir=EXPORT --input_file=notes.txt \\
    --output_dir=OUT

Plain text (the default --input_format=text, one sentence or paragraph per
line) is split into words as BERT's BasicTokenizer splits them; OUT gets
predictions.txt ("word label" per word, a blank line after each input line)
and entities.jsonl (per line: the text and its entities with character
offsets). With --input_format=conll the input is a CoNLL/BIO file; when it
has tags, predictions.txt holds "word gold pred" lines and the entity-level
(conlleval) figures are printed and written to results.txt.
"""

import os
import sys

from absl import app
from absl import flags
from absl import logging as absl_logging
import numpy as np
import tensorflow as tf

import conlleval
import contracts
import crf
import ner_data
import progress
import tokenization

FLAGS = flags.FLAGS


def define_flags():
  """The command line's flags (defined only when run as a script, so that
  importing this module beside run_ner.py clashes with none of its flags)."""
  flags.DEFINE_string("export_dir", None, "The folder run_ner.py "
                      "--export_dir wrote.")
  flags.DEFINE_string("input_file", None, "The file to tag.")
  flags.DEFINE_enum("input_format", "text", ["text", "conll"],
                    "text: one sentence or paragraph per line; conll: one "
                    "word per line (tags, if present, in the last column).")
  flags.DEFINE_string("output_dir", None, "Where the outputs are written.")
  flags.DEFINE_integer("batch_size", 32, "Windows per call of the model.")
  flags.DEFINE_bool("repair_tags", False, "Decode valid IOB2 tags from the "
                    "per-word probabilities (no I-x after O or another "
                    "type), as run_ner.py --repair_tags does.")


# Files run_ner.py writes beside the SavedModel.
EXPORT_FILES = ("saved_model.pb", "vocab.txt", contracts.LABEL_LIST_NAME,
                contracts.TOKENIZER_CONFIG_NAME)


def check_export(export_dir):
  """Raises ValueError, naming what is missing, unless export_dir holds a
  run_ner.py export."""
  missing = [n for n in EXPORT_FILES
             if not tf.io.gfile.exists(os.path.join(export_dir, n))]
  if missing:
    raise ValueError(
        "%s is not a run_ner.py export: %s missing. Write one with "
        "run_ner.py --export_dir." % (export_dir, ", ".join(missing)))


class ExportedTagger(object):
  """The serving signature of an export, with its tokenizer and labels."""

  def __init__(self, export_dir, repair_tags=False):
    check_export(export_dir)
    (self.do_lower_case, self.max_seq_length,
     self.window_stride) = contracts.read_tokenizer_config(export_dir)
    self.label_map = ner_data.LabelMap.from_file(
        os.path.join(export_dir, contracts.LABEL_LIST_NAME))
    self.tokenizer = tokenization.FullTokenizer(
        os.path.join(export_dir, "vocab.txt"), self.do_lower_case)
    loaded = tf.saved_model.load(export_dir)
    self._keep_alive = loaded
    self.serve = loaded.signatures["serving_default"]
    self.repair = (crf.TagRepair(self.label_map.labels,
                                 self.label_map.data_label_ids())
                   if repair_tags else None)

  def predict(self, features, batch_size, with_scores=False):
    """Yields run_ner-style prediction dicts, one per window, in the order
    of `features`; with_scores adds "scores": the probability of the
    predicted label at each position; with --repair_tags the rows also
    carry "probabilities".
    """
    for first in range(0, len(features), batch_size):
      batch = features[first:first + batch_size]
      arrays = contracts.serving_arrays(batch)
      outputs = self.serve(**{k: tf.constant(v) for k, v in arrays.items()})
      predicted = outputs["predicted_ids"].numpy()
      probabilities = (outputs["probabilities"].numpy()
                       if with_scores or self.repair else None)
      if with_scores:
        scores = np.take_along_axis(probabilities, predicted[:, :, None],
                                    axis=-1)[:, :, 0]
      for row, f in enumerate(batch):
        n = len(f.word_ids)
        prediction = {"example_index": f.example_index,
                      "word_ids": f.word_ids,
                      "predicted_ids": predicted[row, :n]}
        if with_scores:
          prediction["scores"] = scores[row, :n]
        if self.repair:
          prediction["probabilities"] = probabilities[row, :n]
        yield prediction

  def tag_stream(self, examples, batch_size=32,
                 chunk_sentences=ner_data.DEFAULT_SHARD_SENTENCES,
                 with_scores=False):
    """Tags a stream of examples in flat memory.

    Examples are taken `chunk_sentences` at a time; each chunk's windows are
    sorted by length, so batches carry little padding, and put back in
    order before the next chunk is read.

    Yields:
      (example, one label per word), or with_scores (example, labels,
      per word the probability of its label), in input order.
    """
    chunk = []
    for example in examples:
      chunk.append(example)
      if len(chunk) == chunk_sentences:
        for item in self._tag_chunk(chunk, batch_size, with_scores):
          yield item
        chunk = []
    if chunk:
      for item in self._tag_chunk(chunk, batch_size, with_scores):
        yield item

  def _tag_chunk(self, chunk, batch_size, with_scores):
    features = ner_data.sort_records_by_length(ner_data.convert_examples(
        chunk, self.label_map, self.tokenizer, self.max_seq_length,
        self.window_stride))
    return ner_data.iter_word_labels(
        chunk, list(self.predict(features, batch_size, with_scores)),
        self.label_map, score_key="scores" if with_scores else None,
        repair=self.repair)

  def tag(self, examples, batch_size=32):
    """One predicted label per word of every example (a list)."""
    return [labels for _, labels in self.tag_stream(examples, batch_size)]


def tag_file(export_dir, input_file, output_dir, input_format="text",
             batch_size=32, repair_tags=False):
  """Tags `input_file`; streams the outputs to `output_dir`, each file
  written whole or not at all.

  Returns:
    conlleval figures for a tagged CoNLL input, else None.
  """
  if batch_size < 1:
    raise ValueError("--batch_size must be positive, got %d." % batch_size)
  tagger = ExportedTagger(export_dir, repair_tags)

  def examples():
    if input_format == "text":
      return ner_data.iter_text(input_file, split="input")
    return ner_data.iter_conll(input_file, split="input")

  # One pass first, so a bad line fails before any output is written.
  summary = ner_data.summarize(examples())
  if not summary.num_examples:
    raise ValueError("The input file %s holds no sentences." % input_file)
  tf.io.gfile.makedirs(output_dir)
  scores = ner_data.write_word_labels(
      tagger.tag_stream(examples(), batch_size),
      os.path.join(output_dir, "predictions.txt"),
      os.path.join(output_dir, "entities.jsonl")
      if input_format == "text" else None, score=summary.has_gold,
      progress_log=progress.Progress("Tagged", "lines/sentences",
                                     summary.num_examples, log=_log))
  if not scores:
    return None
  figures, strict = scores
  contracts.atomic_write_text(
      os.path.join(output_dir, "results.txt"),
      conlleval.report(figures) + "strict IOB2:\n" + conlleval.report(strict))
  return figures


def _log(line):
  print(line, file=sys.stderr)


def main(argv):
  del argv
  tf.get_logger().setLevel("WARNING")
  absl_logging.set_verbosity(absl_logging.WARNING)
  for name in ("export_dir", "input_file", "output_dir"):
    if not getattr(FLAGS, name):
      sys.stderr.write("predict_saved_model.py: error: --%s is required.\n" %
                       name)
      return 2
  try:
    figures = tag_file(FLAGS.export_dir, FLAGS.input_file, FLAGS.output_dir,
                       FLAGS.input_format, FLAGS.batch_size,
                       FLAGS.repair_tags)
  except ValueError as e:
    sys.stderr.write("predict_saved_model.py: error: %s\n" % e)
    return 2
  if figures:
    sys.stdout.write(conlleval.report(figures))
  print("Wrote %s" % FLAGS.output_dir)
  return 0


if __name__ == "__main__":
  define_flags()
  app.run(main)
