"""The options the two tagging commands share, declared once:
predict_saved_model.py (absl flags) and tag_corpus.py (argparse) both
define them from OPTIONS, and both check them with `check`; serve.py takes
those that choose how to tag.

    tagging_options.define_absl_flags(flags)   # predict_saved_model.py
    tagging_options.add_to_parser(parser)      # tag_corpus.py
"""

import collections

from bert_ner.corpora import formats
from bert_ner.tagging import saved_model_backend

Option = collections.namedtuple("Option", ["name", "default", "help",
                                           "choices"])

OPTIONS = (
    Option("input_format", "text",
           "text: one sentence, paragraph or document per line, a blank "
           "line between documents; conll: one word per line (tags, if "
           "present, in the last column), -DOCSTART- between documents; "
           "pubmed: PubMed/MEDLINE XML (.xml or .xml.gz); pubtator; bioc: "
           "BioC XML, or JSON for a .json file.", formats.INPUT_FORMATS),
    Option("output_format", None,
           "With pubmed, pubtator or bioc input: the formats the documents "
           "are written in, comma-separated: pubtator, bioc_xml, bioc_json "
           "(default: pubtator, or BioC for BioC input).", None),
    Option("batch_size", 32, "Windows per call of the model.", None),
    Option("backend", "saved_model",
           "What runs the model: the SavedModel in TensorFlow, or its ONNX "
           "file in ONNX Runtime, float32 (model.onnx) or int8 "
           "(model_int8.onnx); export_onnx.py writes them.",
           saved_model_backend.BACKENDS),
    Option("use_bf16", False,
           "With the SavedModel on a CPU with native bfloat16: oneDNN's "
           "bfloat16 rewrite of the graph (an error on other CPUs).", None),
    Option("repair_tags", False,
           "Decode valid IOB2 tags from the per-word probabilities (no I-x "
           "after O or another type), as run_ner.py --repair_tags does.",
           None),
    Option("skip_bad_mentions", False,
           "With PubTator or BioC input: skip (and count) a mention whose "
           "offsets or text do not fit its document, as run_ner.py "
           "--skip_bad_mentions does; without it such a file is refused, "
           "naming the line.", None),
    Option("write_types", "",
           "The entity types to write, comma-separated (empty, the "
           "default: every type the model tags; a model trained across "
           "corpora tags them all in one pass). Not run_ner.py's "
           "--entity_types, which renames the data's types for training.",
           None),
    Option("linker_dir", "",
           "Linker folders (run_linker.py --export_dir), comma-separated: "
           "each links the mentions of the types it was trained for to "
           "concept ids, written in PubTator's id column, BioC's "
           "identifier infon and the entities' \"id\" (none for NIL).",
           None),
    Option("verbose", False,
           "Show the Python trace of an error (as BERT_NER_TRACE=1 does).",
           None),
)


# The tagging doors' --write_types was called --entity_types, the name of
# run_ner.py's renaming of the data's types: one name, one meaning.
RENAMED_ENTITY_TYPES = (
    "--entity_types is run_ner.py's renaming of the data's types; the types "
    "to write are --write_types here (comma-separated; empty: all).")


def define_absl_flags(flags):
  """Defines OPTIONS as absl flags (the `absl.flags` module)."""
  for option in OPTIONS:
    if option.choices:
      flags.DEFINE_enum(option.name, option.default, list(option.choices),
                        option.help)
    elif isinstance(option.default, bool):
      flags.DEFINE_bool(option.name, option.default, option.help)
    elif isinstance(option.default, int):
      flags.DEFINE_integer(option.name, option.default, option.help)
    else:
      flags.DEFINE_string(option.name, option.default, option.help)


def add_to_parser(parser, names=None):
  """Adds OPTIONS (or those of `names`) to an argparse.ArgumentParser."""
  for option in OPTIONS:
    if names is not None and option.name not in names:
      continue
    name = "--" + option.name
    if option.choices:
      parser.add_argument(name, default=option.default,
                          choices=list(option.choices), help=option.help)
    elif isinstance(option.default, bool):
      parser.add_argument(name, action="store_true", help=option.help)
    elif isinstance(option.default, int):
      parser.add_argument(name, type=int, default=option.default,
                          help=option.help)
    else:
      parser.add_argument(name, default=option.default, help=option.help)


def check(batch_size, export_dir, backend="saved_model", use_bf16=False):
  """Raises ValueError for values no tagging job can run with, before any
  work: a batch size under 1, a backend this export or CPU cannot run."""
  if batch_size < 1:
    raise ValueError("--batch_size must be positive, got %d." % batch_size)
  saved_model_backend.check_backend(export_dir, backend, use_bf16)
