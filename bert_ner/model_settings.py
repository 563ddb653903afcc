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

from bert_ner import file_io

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

# How text becomes the model's windows (tokenizer_config.json).
INPUT_SETTINGS = ("do_lower_case", "max_seq_length", "window_stride",
                  "context_sentences", "sentences", "entity_types")
# The head over the encoder (ner_run.json).
HEAD_SETTINGS = ("head", "feature_layers", "freeze_bert",
                 "crf_iob2_constraints", "corpus_scopes", "partial_labels")
# What a folder written before a setting was saved was trained with.
OLDER_DEFAULTS = {"context_sentences": 0, "sentences": "syntok",
                  "entity_types": "", "head": "softmax",
                  "feature_layers": 1, "freeze_bert": False,
                  "crf_iob2_constraints": False, "corpus_scopes": (),
                  "partial_labels": "marginal"}
# Settings whose older default is the only value older versions had (they
# read no documents): not reported as assumed.
ALWAYS_OLDER_DEFAULT = ("sentences", "entity_types", "corpus_scopes",
                        "partial_labels")


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


_TYPES = {"do_lower_case": bool, "max_seq_length": int, "window_stride": int,
          "context_sentences": int, "sentences": str, "entity_types": str,
          "head": str, "feature_layers": int,
          "freeze_bert": bool, "crf_iob2_constraints": bool,
          "corpus_scopes": _scopes, "partial_labels": str}

ModelSettings = collections.namedtuple("ModelSettings",
                                       INPUT_SETTINGS + HEAD_SETTINGS)


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
