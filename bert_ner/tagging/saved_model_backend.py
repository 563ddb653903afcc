"""The exported SavedModel as a tagging backend, and the Tagger of an
export folder (what predict_saved_model.py and tag_corpus.py tag with)."""

import os

import tensorflow as tf

from bert_ner import label_set
from bert_ner import model_settings
from bert_ner.tagging import tagger as tagger_lib
import convert_checkpoint
import tokenization

SAVED_MODEL_NAME = "saved_model.pb"
# Files run_ner.py writes beside the SavedModel.
EXPORT_FILES = (SAVED_MODEL_NAME, convert_checkpoint.VOCAB_NAME,
                model_settings.LABEL_LIST_NAME,
                model_settings.TOKENIZER_CONFIG_NAME)


def check_export(export_dir):
  """Raises ValueError, naming what is missing, unless export_dir holds a
  run_ner.py export."""
  if not tf.io.gfile.isdir(export_dir):
    raise ValueError("--export_dir %s is not a folder. Write an export with "
                     "run_ner.py --export_dir." % export_dir)
  missing = [n for n in EXPORT_FILES
             if not tf.io.gfile.exists(os.path.join(export_dir, n))]
  if missing:
    raise ValueError(
        "%s is not a run_ner.py export: %s missing. Write one with "
        "run_ner.py --export_dir." % (export_dir, ", ".join(missing)))


class SavedModelBackend(object):
  """The serving signature of an export: serving arrays -> (predicted_ids,
  probabilities) as numpy arrays."""

  def __init__(self, export_dir):
    self._loaded = tf.saved_model.load(export_dir)
    self._serve = self._loaded.signatures["serving_default"]

  def __call__(self, arrays):
    outputs = self._serve(**{k: tf.constant(v) for k, v in arrays.items()})
    return (outputs["predicted_ids"].numpy(),
            outputs["probabilities"].numpy())


def load_tagger(export_dir, repair_tags=False, log=None):
  """The Tagger of an export: its SavedModel, labels, vocabulary and model
  settings (window, stride, case, context).

  Args:
    log: optional callable taking a line, told the settings an export of
      an older version did not save and what was assumed.

  Raises:
    ValueError: naming the file, for a folder that is not an export.
  """
  check_export(export_dir)
  settings, assumed = model_settings.read(export_dir)
  if assumed and log:
    log("%s saved no %s: assumed %s (what older versions trained with)." % (
        export_dir, ", ".join(assumed),
        ", ".join("%s=%s" % (k, getattr(settings, k)) for k in assumed)))
  label_map = label_set.LabelMap.from_file(
      os.path.join(export_dir, model_settings.LABEL_LIST_NAME))
  if repair_tags and settings.head == "crf":
    raise ValueError("--repair_tags is for the softmax head; the export %s "
                     "has a CRF head, which decodes whole sequences." %
                     export_dir)
  tokenizer = tokenization.FullTokenizer(
      os.path.join(export_dir, convert_checkpoint.VOCAB_NAME),
      settings.do_lower_case)
  return tagger_lib.Tagger(SavedModelBackend(export_dir), settings,
                           label_map, tokenizer, repair_tags)
