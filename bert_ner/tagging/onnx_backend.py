"""The export as ONNX, served by ONNX Runtime: a tagging backend beside the
SavedModel's, with an int8 version for CPUs with VNNI.

    export_onnx("EXPORT", int8=True)   # EXPORT/model.onnx, model_int8.onnx
    backend = OnnxBackend("EXPORT/model_int8.onnx")
    predicted_ids, probabilities = backend(serving_arrays)

The ONNX files sit in the export folder, beside the vocabulary, labels and
settings the SavedModel uses, so every door reads the same settings
whatever the backend. The conversion is tf2onnx's, from the SavedModel's
serving signature; the int8 model is ONNX Runtime's dynamic quantization
of the float32 one (int8 weights, a scale per output channel; activations
quantized per batch).
Needs requirements-onnx.txt.
"""

import os
import subprocess
import sys

import numpy as np

from bert_ner import file_io
from bert_ner import model_settings

ONNX_NAME = "model.onnx"
ONNX_INT8_NAME = "model_int8.onnx"
OPSET = 17
# --backend of predict_saved_model.py and tag_corpus.py: the file of each.
ONNX_BACKENDS = {"onnxruntime": ONNX_NAME, "onnxruntime_int8": ONNX_INT8_NAME}
REQUIREMENTS = "requirements-onnx.txt"


def _require():
  try:
    import onnxruntime  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise ValueError("ONNX needs onnxruntime, tf2onnx and onnx: pip install "
                     "-r %s (make test installs it)." % REQUIREMENTS) from None
  return onnxruntime


def export_onnx(export_dir, int8=False, log=None):
  """Converts the SavedModel of `export_dir` into EXPORT/model.onnx and,
  with int8, quantizes it into EXPORT/model_int8.onnx (each written whole
  or not at all).

  Returns:
    the paths written.

  Raises:
    ValueError: ONNX packages missing, a CRF head, or the conversion
      failed (with its last lines).
  """
  _require()
  from onnxruntime import quantization  # pylint: disable=g-import-not-at-top
  settings, _ = model_settings.read(export_dir)
  if settings.head == "crf":
    # Its Viterbi and forward-backward loops feed each other, which
    # tf2onnx 1.17 cannot convert ("Graph has cycles").
    raise ValueError("%s has a CRF head, which tf2onnx cannot convert: tag "
                     "it with --backend=saved_model (or export a softmax "
                     "model)." % export_dir)
  log = log or (lambda line: None)
  path = os.path.join(export_dir, ONNX_NAME)
  partial = file_io.temporary_name(path)
  result = subprocess.run(
      [sys.executable, "-m", "tf2onnx.convert", "--saved-model", export_dir,
       "--signature_def", "serving_default", "--opset", str(OPSET),
       "--output", partial], capture_output=True, text=True, check=False,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  if result.returncode or not os.path.exists(partial):
    if os.path.exists(partial):
      os.remove(partial)
    raise ValueError("tf2onnx could not convert %s:\n%s" % (
        export_dir, "\n".join(result.stderr.splitlines()[-15:])))
  os.replace(partial, path)
  log("Wrote %s" % path)
  written = [path]
  if int8:
    int8_path = os.path.join(export_dir, ONNX_INT8_NAME)
    partial = file_io.temporary_name(int8_path)
    try:
      # Per output channel: one scale per column of each weight matrix.
      # With one scale per matrix, MiniLM on NCBI-disease lost 2.3 entity
      # F1; per channel, 0.4 (bench/README.md).
      quantization.quantize_dynamic(path, partial, per_channel=True,
                                    weight_type=quantization.QuantType.QInt8)
    except Exception:
      if os.path.exists(partial):
        os.remove(partial)
      raise
    os.replace(partial, int8_path)
    log("Wrote %s" % int8_path)
    written.append(int8_path)
  return written


class OnnxBackend(object):
  """An ONNX file in ONNX Runtime: serving arrays -> (predicted_ids,
  probabilities) as numpy arrays, as SavedModelBackend gives them."""

  def __init__(self, path, threads=0):
    onnxruntime = _require()
    options = onnxruntime.SessionOptions()
    if threads:
      options.intra_op_num_threads = threads
      options.inter_op_num_threads = 1
    options.graph_optimization_level = (
        onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL)
    self._session = onnxruntime.InferenceSession(
        path, options, providers=["CPUExecutionProvider"])
    self._inputs = [i.name for i in self._session.get_inputs()]

  def __call__(self, arrays):
    feeds = {name: np.asarray(arrays[name], np.int32)
             for name in self._inputs}
    predicted, probabilities = self._session.run(
        ["predicted_ids", "probabilities"], feeds)
    return predicted, probabilities
