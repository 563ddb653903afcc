"""What shapes a trained model's input and head, written once beside its
checkpoints and in its export, and read back by every door.

A model folder (a run's output folder, or an export) holds:

  bert_config.json       the encoder (Google's name; output folders only)
  vocab.txt              the WordPiece vocabulary
  label_list.txt         every label, by id (see label_set.LabelMap)
  tokenizer_config.json  how text becomes windows: do_lower_case,
                         max_seq_length, window_stride, context_sentences,
                         and how documents become sentences: sentences
                         (syntok or passage), entity_types
  ner_run.json           the head: head, feature_layers, freeze_bert,
                         crf_iob2_constraints, and for a model trained
                         across corpora (--corpora) corpus_scopes (each
                         corpus's name and types) and partial_labels

`write` writes the last four, `read` reads them back as ModelSettings.
"""

import collections
import json
import os

import tensorflow.compat.v1 as tf

from bert_ner.corpora import offset_conversion
from bert_ner import file_io
from bert_ner.model import partial_labels

# Google's layout (checkpoint folders) and HuggingFace's (converted from).
BERT_CONFIG_NAME = "bert_config.json"
VOCAB_NAME = "vocab.txt"
CHECKPOINT_PREFIX = "bert_model.ckpt"
HF_CONFIG_NAME = "config.json"
SAFETENSORS_NAME = "model.safetensors"
# What this project writes beside them.
LABEL_LIST_NAME = "label_list.txt"
TOKENIZER_CONFIG_NAME = "tokenizer_config.json"
RUN_INFO_NAME = "ner_run.json"

def _scopes(value):
  """corpus_scopes: ((corpus name, (type, ...)), ...) from its JSON list
  of [name, [types]] (or the tuples themselves)."""
  out = []
  for item in value:
    name, types = item
    if not isinstance(name, str) or isinstance(types, str):
      raise TypeError("expected [name, [types]]")
    out.append((name, tuple(str(t) for t in types)))
  return tuple(out)


_scopes.__name__ = "list of [name, [types]]"  # as errors name the type

# An older folder must have saved the setting (the window's own).
REQUIRED = object()


class Setting(collections.namedtuple("Setting", [
    "name", "type", "default", "file", "older", "always_older", "choices",
    "help"])):
  """One setting that shapes a trained model's input or head, declared
  once: its name (the run_ner.py flag's and the saved JSON key's), type,
  default, the file it is saved in, the value a folder written before it
  was saved implies (`older`, or REQUIRED), whether that older value is the
  only one older versions had (then not reported as assumed), the
  choices of an enum and the flag's help (None: no flag, derived by the
  run)."""


SETTINGS = (
    # How text becomes the model's windows (tokenizer_config.json).
    Setting("do_lower_case", bool, None, TOKENIZER_CONFIG_NAME, REQUIRED,
            False, None, "Lower-case the input. Default: what the model "
            "says (its tokenizer_config.json or name), else True."),
    Setting("max_seq_length", int, 128, TOKENIZER_CONFIG_NAME, REQUIRED,
            False, None, "WordPiece positions per window, [CLS] and [SEP] "
            "included. Longer sentences are split into windows."),
    Setting("window_stride", int, 0, TOKENIZER_CONFIG_NAME, REQUIRED, False,
            None, "Pieces between the starts of consecutive windows of a "
            "long sentence; 0 means half a window."),
    Setting("context_sentences", int, 0, TOKENIZER_CONFIG_NAME, 0, False,
            None, "Fill each window with up to this many sentences of the "
            "same document before and after the sentence (segment id 1, "
            "never scored), as the BERT paper's CoNLL-2003 runs and FLERT "
            "do. Documents start at -DOCSTART- lines; a file without them "
            "is one document. Sentences that need more than one window get "
            "none."),
    Setting("sentences", str, "syntok", TOKENIZER_CONFIG_NAME, "syntok",
            True, offset_conversion.SENTENCE_MODES, "With a document format: split "
            "passages into sentences with syntok, or make each passage one "
            "example (cut into windows as any long sentence)."),
    Setting("entity_types", str, "", TOKENIZER_CONFIG_NAME, "", True, None,
            "With --input_format=pubtator/bioc: the mention types to tag, "
            "comma-separated, each TYPE or TYPE=LABEL (\"Chemical\" for "
            "BC5CDR's chemicals alone; \"*=Disease\" makes every type one "
            "label). Default: every type, as named in the data. (The types "
            "a tagging door writes are its --write_types.)"),
    # The head over the encoder (ner_run.json).
    Setting("head", str, "softmax", RUN_INFO_NAME, "softmax", False,
            ("softmax", "crf"), "Tagging head: a softmax per word, or a "
            "linear-chain CRF over the words (Viterbi decoding)."),
    Setting("feature_layers", int, 1, RUN_INFO_NAME, 1, False, None,
            "The head reads the concatenation of the last N encoder layers "
            "(the BERT paper's feature-based approach uses 4)."),
    Setting("freeze_bert", bool, False, RUN_INFO_NAME, False, False, None,
            "Train only the head (and CRF): BERT's weights stay as loaded, "
            "without dropout."),
    Setting("crf_iob2_constraints", bool, False, RUN_INFO_NAME, False, False,
            None, "With --head=crf on IOB2 data: forbid O -> I-x, B-x/I-x "
            "-> I-y and a sentence starting with I-x."),
    Setting("corpus_scopes", _scopes, (), RUN_INFO_NAME, (), True, None,
            None),
    Setting("partial_labels", str, "marginal", RUN_INFO_NAME, "marginal",
            True, partial_labels.MECHANISMS, "With --corpora: what "
            "a corpus's O teaches about the types outside its scope. "
            "marginal: O or any of them (the loss sums their "
            "probabilities); ignore_o: nothing (its O adds no loss); none: "
            "O (as if the corpora were one)."),
)
BY_NAME = collections.OrderedDict((x.name, x) for x in SETTINGS)

# What the declaration gives the rest: the settings of each file, what an
# older folder implies, the types the JSON is read as.
INPUT_SETTINGS = tuple(x.name for x in SETTINGS
                       if x.file == TOKENIZER_CONFIG_NAME)
HEAD_SETTINGS = tuple(x.name for x in SETTINGS if x.file == RUN_INFO_NAME)
OLDER_DEFAULTS = {x.name: x.older for x in SETTINGS if x.older is not REQUIRED}
ALWAYS_OLDER_DEFAULT = tuple(x.name for x in SETTINGS if x.always_older)
_TYPES = {x.name: x.type for x in SETTINGS}

ModelSettings = collections.namedtuple("ModelSettings",
                                       INPUT_SETTINGS + HEAD_SETTINGS)


FLAG_NAMES = tuple(x.name for x in SETTINGS if x.help is not None)


def define_flags(flags):
  """Defines a run_ner.py flag per setting that has one (FLAG_NAMES) with
  absl's `flags` module."""
  for x in SETTINGS:
    if x.help is None:
      continue
    if x.choices:
      flags.DEFINE_enum(x.name, x.default, list(x.choices), x.help)
    elif x.type is bool:
      flags.DEFINE_bool(x.name, x.default, x.help)
    elif x.type is int:
      flags.DEFINE_integer(x.name, x.default, x.help)
    elif x.type is float:
      flags.DEFINE_float(x.name, x.default, x.help)
    else:
      flags.DEFINE_string(x.name, x.default, x.help)


def of(values, **changes):
  """The ModelSettings of any object with the settings as attributes (the
  run's RunSettings), the declared defaults for those it lacks, with
  `changes`."""
  out = {x.name: getattr(values, x.name, x.default) for x in SETTINGS}
  out.update(changes)
  return ModelSettings(**out)


def write(folder, settings, label_map):
  """Writes the model's labels, tokenizer config and head settings.

  Args:
    folder: the output folder or an export.
    settings: any object with the attributes of ModelSettings (such as the
      run's RunSettings).
    label_map: label_set.LabelMap.
  """
  label_map.save(os.path.join(folder, LABEL_LIST_NAME))
  for name, keys in ((TOKENIZER_CONFIG_NAME, INPUT_SETTINGS),
                     (RUN_INFO_NAME, HEAD_SETTINGS)):
    values = {k: _TYPES[k](getattr(settings, k)) for k in keys}
    file_io.atomic_write_text(os.path.join(folder, name),
                              json.dumps(values, indent=1) + "\n")


def _read_json(path):
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path) as f:
    try:
      values = json.load(f)
    except ValueError as e:
      raise ValueError("%s is not valid JSON (%s)." % (path, e))
  if not isinstance(values, dict):
    raise ValueError("%s: expected a JSON object, got %r." % (path, values))
  return values


def read_saved(folder):
  """The settings a model folder saved, as a dict holding only what it
  has (a folder written by an older version lacks some).

  Raises:
    ValueError: naming the file, for a file that is not such JSON.
  """
  saved = {}
  for name in (RUN_INFO_NAME, TOKENIZER_CONFIG_NAME):
    path = os.path.join(folder, name)
    values = _read_json(path) or {}
    for key, value in values.items():
      if key not in _TYPES:
        continue  # Such as an HF tokenizer's own keys.
      try:
        saved[key] = _TYPES[key](value)
      except (TypeError, ValueError):
        raise ValueError("%s: %s must be a %s, got %r." % (
            path, key, _TYPES[key].__name__, value))
  return saved


def read(folder):
  """The ModelSettings of an export or a trained output folder.

  Settings an older folder did not save take OLDER_DEFAULTS (what such a
  model was trained with); the names taken so are returned too.

  Returns:
    (ModelSettings, list of the setting names assumed).

  Raises:
    ValueError: naming the file expected, if tokenizer_config.json is
      missing or lacks the window settings.
  """
  path = os.path.join(folder, TOKENIZER_CONFIG_NAME)
  saved = read_saved(folder)
  missing = [k for k in ("do_lower_case", "max_seq_length", "window_stride")
             if k not in saved]
  if missing:
    raise ValueError(
        "%s %s: the model's tokenizer settings (%s) are missing. Export the "
        "model again with run_ner.py --export_dir." % (
            path, "lacks them" if tf.io.gfile.exists(path) else
            "does not exist", ", ".join(missing)))
  assumed = [k for k in OLDER_DEFAULTS
             if k not in saved and k not in ALWAYS_OLDER_DEFAULT]
  values = dict(OLDER_DEFAULTS, **saved)
  return ModelSettings(**{k: values[k] for k in ModelSettings._fields}), assumed
