"""Tags text with a SavedModel written by `run_ner.py --export_dir`.

Needs only the export folder (saved_model.pb, variables/, vocab.txt,
label_list.txt, tokenizer_config.json, ner_run.json): no checkpoint, BERT
config or training flags. The export's settings (case, window, stride,
context sentences) shape the input as they did in training.

  python predict_saved_model.py --export_dir=EXPORT --input_file=notes.txt \\
    --output_dir=OUT

Plain text (the default --input_format=text, one sentence or paragraph per
line, a blank line between documents) is split into words as BERT's
BasicTokenizer splits them; OUT gets predictions.txt ("word label" per
word, a blank line after each input line) and entities.jsonl (per line: the
text and its entities with character offsets). With --input_format=conll
the input is a CoNLL/BIO file (-DOCSTART- between documents); when it has
tags, predictions.txt holds "word gold pred" lines and the entity-level
(conlleval) figures are printed and written to results.txt.

Documents with offsets (--input_format=pubtator, bioc or pubmed) are split
into sentences as the model was trained (tokenizer_config.json), and the
predicted documents are written as predictions.pubtator (or, with
--output_format, predictions.bioc.xml / .bioc.json); a PubTator or BioC
file with mentions is also scored by offsets (mention level), beside
conlleval, in results.txt.
"""

import sys

from absl import app
from absl import flags
from absl import logging as absl_logging
import tensorflow as tf

from bert_ner import errors
from bert_ner.tagging import file_tagging
from bert_ner.tagging import tagging_options
from bert_ner.scoring import conlleval

FLAGS = flags.FLAGS


def define_flags():
  """The command line's flags (defined only when run as a script, so that
  importing this module beside run_ner.py clashes with none of its flags)."""
  flags.DEFINE_string("export_dir", None, "The folder run_ner.py "
                      "--export_dir wrote.")
  flags.DEFINE_string("input_file", None, "The file to tag.")
  flags.DEFINE_string("output_dir", None, "Where the outputs are written.")
  tagging_options.define_absl_flags(flags)
  flags.DEFINE_string("entity_types", None, "Renamed: see --write_types.")


# What this command runs, by its old name (Python code calls it too).
tag_file = file_tagging.tag_file


def main(argv):
  del argv
  tf.get_logger().setLevel("WARNING")
  absl_logging.set_verbosity(absl_logging.WARNING)
  for name in ("export_dir", "input_file", "output_dir"):
    if not getattr(FLAGS, name):
      sys.stderr.write("predict_saved_model.py: error: --%s is required.\n" %
                       name)
      return 2
  if FLAGS.entity_types is not None:
    sys.stderr.write("predict_saved_model.py: error: %s\n" %
                     tagging_options.RENAMED_ENTITY_TYPES)
    return 2
  return errors.run("predict_saved_model.py", tag_and_report)


def tag_and_report():
  figures = tag_file(FLAGS.export_dir, FLAGS.input_file, FLAGS.output_dir,
                     FLAGS.input_format, FLAGS.batch_size, FLAGS.repair_tags,
                     FLAGS.output_format, FLAGS.backend, FLAGS.use_bf16,
                     FLAGS.skip_bad_mentions,
                     write_types=FLAGS.write_types,
                     linker_dir=FLAGS.linker_dir)
  if figures:
    sys.stdout.write(conlleval.report(figures))
  print("Wrote %s" % FLAGS.output_dir)
  return 0


if __name__ == "__main__":
  define_flags()
  app.run(main)
