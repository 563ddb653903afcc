"""The backends of an export agree: the SavedModel in float32 and with
oneDNN's bfloat16 rewrite, its ONNX file in ONNX Runtime, float32 and int8.
A backend's answers against float32's: the share of words with the same
label is printed and bounded; ONNX float32 gives the same probabilities."""

import os

import numpy as np
import pytest

import helpers

from bert_ner import feature_spec  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner import machine  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.corpora import formats  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.tagging import onnx_backend  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.tagging import saved_model_backend  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner import windowing  # pylint: disable=g-import-not-at-top,wrong-import-position


def test_bf16_needs_a_cpu_that_has_it(tmp_path):
  without = tmp_path / "cpuinfo"
  without.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n")
  with pytest.raises(ValueError, match="--use_bf16 needs a CPU with native "
                     "bfloat16 \\(avx512_bf16 or amx_bf16 in .*cpuinfo\\), "
                     "and this one has neither"):
    machine.check_native_bf16(path=str(without))
  with_bf16 = tmp_path / "cpuinfo_bf16"
  with_bf16.write_text("flags\t\t: fpu avx512f avx512_bf16\n")
  machine.check_native_bf16(path=str(with_bf16))
  assert "avx512_bf16" in machine.cpu_flags(str(with_bf16))



@pytest.fixture(scope="module")
def export(tmp_path_factory, trained_runs):
  """A copy of the shared trained softmax run's export, with its ONNX
  files: (export folder, the training file)."""
  pytest.importorskip("onnxruntime", reason="needs requirements-onnx.txt "
                      "(make test installs it)")
  _, export_dir, data = trained_runs.copy(tmp_path_factory.mktemp("backends"))
  written = onnx_backend.export_onnx(export_dir, int8=True)
  assert [os.path.basename(p) for p in written] == ["model.onnx",
                                                    "model_int8.onnx"]
  return export_dir, os.path.join(data, "train.tsv")


def windows_of(export_dir, path):
  tagger = saved_model_backend.load_tagger(export_dir)
  examples = list(formats.iter_file(path, "conll"))
  features = windowing.convert_examples(
      examples, tagger.label_map, tagger.tokenizer, 16, 7)
  return feature_spec.serving_arrays(features)


def agreement(a, b, mask):
  return float(np.mean((a == b)[mask > 0]))


@pytest.mark.slow
def test_onnx_float32_gives_the_savedmodels_answers(export):
  export_dir, path = export
  arrays = windows_of(export_dir, path)
  mask = arrays["predict_mask"]
  reference = saved_model_backend.make_backend(export_dir)(arrays)
  onnx32 = saved_model_backend.make_backend(export_dir, "onnxruntime")(arrays)
  np.testing.assert_array_equal(onnx32[0][mask > 0], reference[0][mask > 0])
  np.testing.assert_allclose(onnx32[1], reference[1], atol=1e-5)
  int8 = saved_model_backend.make_backend(export_dir,
                                          "onnxruntime_int8")(arrays)
  share = agreement(int8[0], reference[0], mask)
  print("int8 labels equal to float32's: %.4f of %d words" % (
      share, int(mask.sum())))
  assert share >= 0.9
  # The probabilities of int8 are near, not equal.
  assert 0 < np.max(np.abs(int8[1] - reference[1])) < 0.2


@pytest.mark.slow
@helpers.needs_bf16
def test_bf16_rewrite_keeps_the_answers(export):
  export_dir, path = export
  arrays = windows_of(export_dir, path)
  mask = arrays["predict_mask"]
  reference = saved_model_backend.make_backend(export_dir)(arrays)
  # In a fresh process: the rewrite is a process-wide TensorFlow option.
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  script = (
      "import sys, numpy as np\n"
      "from bert_ner.tagging import saved_model_backend\n"
      "arrays = dict(np.load(sys.argv[2]))\n"
      "out = saved_model_backend.make_backend(sys.argv[1], use_bf16=True)("
      "arrays)\n"
      "np.savez(sys.argv[3], predicted=out[0], probabilities=out[1])\n")
  folder = os.path.dirname(export_dir)
  np.savez(os.path.join(folder, "arrays.npz"), **arrays)
  result = subprocess.run(
      [sys.executable, "-c", script, export_dir,
       os.path.join(folder, "arrays.npz"), os.path.join(folder, "bf16.npz")],
      capture_output=True, text=True, timeout=300, cwd=helpers.ROOT,
      env=dict(os.environ, PYTHONPATH=helpers.ROOT), check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  bf16 = np.load(os.path.join(folder, "bf16.npz"))
  share = agreement(bf16["predicted"], reference[0], mask)
  print("bfloat16 labels equal to float32's: %.4f" % share)
  assert share >= 0.95
  difference = np.max(np.abs(bf16["probabilities"] - reference[1]))
  assert 0 < difference < 0.1  # rewritten (not identical), and near


@pytest.mark.slow
def test_every_door_takes_a_backend(export, tmp_path):
  import predict_saved_model  # pylint: disable=g-import-not-at-top
  export_dir, path = export
  outputs = {}
  for backend in saved_model_backend.BACKENDS:
    out = str(tmp_path / backend)
    predict_saved_model.tag_file(export_dir, path, out, "conll",
                                 backend=backend)
    with open(os.path.join(out, "predictions.txt")) as f:
      outputs[backend] = f.read()
  assert outputs["onnxruntime"] == outputs["saved_model"]
  assert len(outputs["onnxruntime_int8"]) == len(outputs["saved_model"])
  os.remove(os.path.join(export_dir, "model_int8.onnx"))
  with pytest.raises(ValueError, match="model_int8.onnx does not exist: "
                     "write it with python export_onnx.py --export_dir=.* "
                     "--int8"):
    saved_model_backend.make_backend(export_dir, "onnxruntime_int8")
  with pytest.raises(ValueError, match="--use_bf16 is for "
                     "--backend=saved_model"):
    saved_model_backend.make_backend(export_dir, "onnxruntime", True)


@pytest.mark.slow
def test_a_crf_export_is_refused_with_the_reason(tmp_path, trained_runs):
  pytest.importorskip("onnxruntime")
  _, export_dir, _ = trained_runs.copy(tmp_path, "crf")
  with pytest.raises(ValueError, match="has a CRF head, which tf2onnx cannot "
                     "convert: tag it with --backend=saved_model"):
    onnx_backend.export_onnx(export_dir)
