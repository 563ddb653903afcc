"""The backends of an export folder, and its Tagger (what
predict_saved_model.py and tag_corpus.py tag with): the SavedModel (float32,
or bfloat16 through oneDNN's rewrite), or its ONNX files in ONNX Runtime
(float32 or int8, onnx_backend.py), chosen by --backend."""

import os

import tensorflow as tf

from bert_ner import label_set
from bert_ner import machine
from bert_ner.model_input import ModelInput
from bert_ner import model_settings
from bert_ner.tagging import onnx_backend
from bert_ner.tagging import tagger as tagger_lib

SAVED_MODEL_NAME = "saved_model.pb"
# Files run_ner.py writes beside the SavedModel.
EXPORT_FILES = (SAVED_MODEL_NAME, model_settings.VOCAB_NAME,
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
  probabilities) as numpy arrays; with use_bf16, oneDNN's bfloat16 rewrite
  of its graph (a CPU with native bfloat16)."""

  def __init__(self, export_dir, use_bf16=False):
    if use_bf16:  # make_backend checked the CPU
      tf.config.optimizer.set_experimental_options(
          {"auto_mixed_precision_onednn_bfloat16": True})
    self._loaded = tf.saved_model.load(export_dir)
    self._serve = self._loaded.signatures["serving_default"]

  def __call__(self, arrays):
    outputs = self._serve(**{k: tf.constant(v) for k, v in arrays.items()})
    return (outputs["predicted_ids"].numpy(),
            outputs["probabilities"].numpy())


def export_input(export_dir, skip_bad_mentions=False):
  """The ModelInput of an export (checked by check_export first)."""
  check_export(export_dir)
  return ModelInput.of_folder(export_dir, skip_bad_mentions)


BACKENDS = ("saved_model",) + tuple(sorted(onnx_backend.ONNX_BACKENDS))


def check_backend(export_dir, backend="saved_model", use_bf16=False):
  """Raises ValueError unless `backend` (BACKENDS) can run this export:
  its ONNX file written, bfloat16 only with the SavedModel and a CPU that
  has it. tag_corpus.py calls it before its workers start."""
  if backend not in BACKENDS:
    raise ValueError("Unknown --backend %r: use %s." % (backend,
                                                         ", ".join(BACKENDS)))
  if use_bf16:
    if backend != "saved_model":
      raise ValueError("--use_bf16 is for --backend=saved_model; ONNX "
                       "Runtime runs float32 or (onnxruntime_int8) int8.")
    machine.check_native_bf16()
  if backend in onnx_backend.ONNX_BACKENDS:
    path = os.path.join(export_dir, onnx_backend.ONNX_BACKENDS[backend])
    if not tf.io.gfile.exists(path):
      raise ValueError(
          "%s does not exist: write it with python export_onnx.py "
          "--export_dir=%s%s." % (path, export_dir, (
              " --int8" if backend == "onnxruntime_int8" else "")))


def make_backend(export_dir, backend="saved_model", use_bf16=False,
                 threads=0):
  """The backend of an export by name (BACKENDS, checked by
  check_backend): its SavedModel, or its ONNX file (model.onnx, or
  model_int8.onnx) in ONNX Runtime."""
  check_backend(export_dir, backend, use_bf16)
  if backend == "saved_model":
    return SavedModelBackend(export_dir, use_bf16)
  return onnx_backend.OnnxBackend(os.path.join(
      export_dir, onnx_backend.ONNX_BACKENDS[backend]), threads)


def load_tagger(export_dir, repair_tags=False, log=None,
                backend="saved_model", use_bf16=False, threads=0,
                model_input=None, wrap_backend=None):
  """The Tagger of an export: its SavedModel (or ONNX file), labels,
  vocabulary and model settings (window, stride, case, context).

  Args:
    log: optional callable taking a line, told the settings an export of
      an older version did not save and what was assumed.
    backend, use_bf16, threads: see make_backend.
    model_input: the export's ModelInput (export_input), if read already.
    wrap_backend: optional callable taking the backend and giving the one
      to tag with (the HTTP service's batching of requests).

  Raises:
    ValueError: naming the file, for a folder that is not an export.
  """
  model_input = model_input or export_input(export_dir)
  line = model_input.assumed_line()
  if line and log:
    log(line)
  model_input.check_repair_tags(repair_tags)
  label_map = label_set.LabelMap.from_file(
      os.path.join(export_dir, model_settings.LABEL_LIST_NAME))
  run = make_backend(export_dir, backend, use_bf16, threads)
  return tagger_lib.Tagger(wrap_backend(run) if wrap_backend else run,
                           model_input.settings, label_map,
                           model_input.tokenizer, repair_tags)
