"""Tests of contracts.py: the padding and mask of windows, the output
folder's files, and files written whole."""

import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_ner import feature_spec
from bert_ner import file_io
from bert_ner import label_set
from bert_ner import model_settings
from bert_ner.run import model_selection
from bert_ner import windowing


def test_file_written_whole_or_not_at_all(tmp_path):
  path = str(tmp_path / "out.txt")
  file_io.atomic_write_text(path, "old\n")
  with pytest.raises(RuntimeError):
    with file_io.AtomicTextFile(path) as f:
      f.write("half of the new")
      raise RuntimeError("cut")
  # The old file stands, and no temporary file is left.
  assert os.listdir(str(tmp_path)) == ["out.txt"]
  with open(path) as f:
    assert f.read() == "old\n"
  with file_io.AtomicTextFile(path) as f:
    assert f.name != path  # written under another name until whole
    f.write("new\n")
  with open(path) as f:
    assert f.read() == "new\n"
  with file_io.AtomicTextFile(str(tmp_path / "empty.txt")):
    pass
  assert os.path.getsize(str(tmp_path / "empty.txt")) == 0


def test_temporary_names_of_live_and_dead_processes(tmp_path):
  mine = file_io.temporary_name(str(tmp_path / "x"))
  assert mine.endswith(".tmp-%d" % os.getpid())
  assert not file_io.written_by_live_process(mine)
  assert file_io.written_by_live_process(str(tmp_path / "x.tmp-1"))
  assert not file_io.written_by_live_process(str(tmp_path / "x.tmp"))


def test_serving_arrays_pad_like_the_estimators_batches():
  windows = [windowing.InputFeatures([2, 7, 3], [0, 0, 0], [0, 1, 0],
                                     [0, 1, 0], [-1, 0, -1], 0),
             windowing.InputFeatures([2, 7, 8, 9, 3], [0] * 5, [0] * 5,
                                     [0, 1, 0, 1, 0], [-1, 0, -1, 1, -1], 1)]
  arrays = feature_spec.serving_arrays(windows)
  assert sorted(arrays) == sorted(feature_spec.SERVING_INPUTS)
  np.testing.assert_array_equal(arrays["input_ids"],
                                [[2, 7, 3, 0, 0], [2, 7, 8, 9, 3]])
  np.testing.assert_array_equal(arrays["input_mask"],
                                [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
  np.testing.assert_array_equal(arrays["predict_mask"],
                                [[0, 1, 0, 0, 0], [0, 1, 0, 1, 0]])
  assert all(a.dtype == np.int32 for a in arrays.values())
  with tf.Graph().as_default(), tf.Session() as sess:
    mask = feature_spec.predict_mask(tf.constant([[-1, 0, 2, -1]]))
    assert mask.dtype == tf.int32
    np.testing.assert_array_equal(sess.run(mask), [[0, 1, 1, 0]])


class _Settings(object):
  do_lower_case, max_seq_length, window_stride, context_sentences = (
      True, 128, 64, 2)
  head, feature_layers, freeze_bert, crf_iob2_constraints = (
      "crf", 4, True, False)
  sentences, entity_types = "passage", "Chemical,*=Other"
  corpus_scopes = [("ncbi", ["Disease"]), ("cdr", ("Chemical", "Disease"))]
  partial_labels = "ignore_o"


def test_model_settings_round_trip(tmp_path):
  folder = str(tmp_path)
  model_settings.write(folder, _Settings, label_set.LabelMap(["O", "B-X"]))
  settings, assumed = model_settings.read(folder)
  assert settings == model_settings.ModelSettings(
      do_lower_case=True, max_seq_length=128, window_stride=64,
      context_sentences=2, sentences="passage", entity_types="Chemical,*=Other",
      head="crf", feature_layers=4, freeze_bert=True,
      crf_iob2_constraints=False,
      corpus_scopes=(("ncbi", ("Disease",)), ("cdr", ("Chemical", "Disease"))),
      partial_labels="ignore_o")
  assert assumed == []
  with open(os.path.join(folder, "ner_run.json")) as f:
    assert json.load(f)["corpus_scopes"] == [
        ["ncbi", ["Disease"]], ["cdr", ["Chemical", "Disease"]]]
  with open(os.path.join(folder, "tokenizer_config.json")) as f:
    assert json.load(f) == {"do_lower_case": True, "max_seq_length": 128,
                            "window_stride": 64, "context_sentences": 2,
                            "sentences": "passage",
                            "entity_types": "Chemical,*=Other"}
  assert label_set.LabelMap.from_file(
      os.path.join(folder, "label_list.txt")).data_labels == ["O", "B-X"]


def test_model_settings_of_an_older_folder_and_errors(tmp_path):
  folder = str(tmp_path)
  # An older version: the window settings only, context in ner_run.json.
  with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
    f.write('{"do_lower_case": false, "max_seq_length": 64, '
            '"window_stride": 31}')
  with open(os.path.join(folder, "ner_run.json"), "w") as f:
    f.write('{"head": "softmax", "context_sentences": 1}')
  settings, assumed = model_settings.read(folder)
  assert (settings.max_seq_length, settings.context_sentences) == (64, 1)
  assert sorted(assumed) == ["crf_iob2_constraints", "feature_layers",
                             "freeze_bert"]
  assert (settings.corpus_scopes, settings.partial_labels) == ((), "marginal")
  with open(os.path.join(folder, "ner_run.json"), "w") as f:
    f.write('{"corpus_scopes": "ncbi"}')
  with pytest.raises(ValueError, match="ner_run.json: corpus_scopes must be "
                     "a list of \\[name, \\[types\\]\\], got 'ncbi'"):
    model_settings.read(folder)
  os.remove(os.path.join(folder, "ner_run.json"))
  assert model_settings.read(folder)[0].context_sentences == 0
  with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
    f.write('{"do_lower_case": true}')
  with pytest.raises(ValueError, match="tokenizer_config.json lacks them: the "
                     "model's tokenizer settings \\(max_seq_length, "
                     "window_stride\\) are missing"):
    model_settings.read(folder)
  with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
    f.write('{"do_lower_case": true, "max_seq_length": "many"')
  with pytest.raises(ValueError, match="is not valid JSON"):
    model_settings.read(folder)
  os.remove(os.path.join(folder, "tokenizer_config.json"))
  with pytest.raises(ValueError, match="tokenizer_config.json does not exist"):
    model_settings.read(folder)


def test_eval_history_written_and_read_back(tmp_path):
  rows = [(10, {"entity_precision": 50.0, "entity_recall": 40.0,
                "entity_f1": 44.44, "token_accuracy": 90.0}),
          (20, {"entity_precision": 71.5, "entity_recall": 70.25,
                "entity_f1": 70.87, "token_accuracy": 93.5})]
  table = model_selection.write_eval_history(str(tmp_path), rows, best_step=20)
  with open(os.path.join(str(tmp_path), "eval_history.txt")) as f:
    assert f.read() == table
  assert table.splitlines()[2].endswith("  *")
  assert model_selection.read_eval_history(str(tmp_path)) == [
      {"step": 10, "dev_precision": 50.0, "dev_recall": 40.0,
       "dev_f1": 44.44, "token_accuracy": 90.0, "best": False},
      {"step": 20, "dev_precision": 71.5, "dev_recall": 70.25,
       "dev_f1": 70.87, "token_accuracy": 93.5, "best": True}]
  assert model_selection.read_eval_history(str(tmp_path / "none")) == []


def test_previous_plan_written_once_then_compared(tmp_path):
  path = str(tmp_path / "job" / "plan.json")
  assert file_io.previous_plan(path, {"files": ["a"], "n": 2}) is None
  with open(path) as f:
    assert json.load(f) == {"files": ["a"], "n": 2}
  assert file_io.previous_plan(path, {"files": ["a"], "n": 2}) is None
  assert file_io.previous_plan(path, {"files": ["b"], "n": 2}) == {
      "files": ["a"], "n": 2}
