"""Tests of contracts.py: the padding and mask of windows, the output
folder's files, and files written whole."""

import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import contracts
import ner_data


def test_file_written_whole_or_not_at_all(tmp_path):
  path = str(tmp_path / "out.txt")
  contracts.atomic_write_text(path, "old\n")
  with pytest.raises(RuntimeError):
    with contracts.AtomicTextFile(path) as f:
      f.write("half of the new")
      raise RuntimeError("cut")
  # The old file stands, and no temporary file is left.
  assert os.listdir(str(tmp_path)) == ["out.txt"]
  with open(path) as f:
    assert f.read() == "old\n"
  with contracts.AtomicTextFile(path) as f:
    assert f.name != path  # written under another name until whole
    f.write("new\n")
  with open(path) as f:
    assert f.read() == "new\n"
  with contracts.AtomicTextFile(str(tmp_path / "empty.txt")):
    pass
  assert os.path.getsize(str(tmp_path / "empty.txt")) == 0


def test_temporary_names_of_live_and_dead_processes(tmp_path):
  mine = contracts.temporary_name(str(tmp_path / "x"))
  assert mine.endswith(".tmp-%d" % os.getpid())
  assert not contracts.written_by_live_process(mine)
  assert contracts.written_by_live_process(str(tmp_path / "x.tmp-1"))
  assert not contracts.written_by_live_process(str(tmp_path / "x.tmp"))


def test_serving_arrays_pad_like_the_estimators_batches():
  windows = [ner_data.InputFeatures([2, 7, 3], [0, 0, 0], [0, 1, 0],
                                    [0, 1, 0], [-1, 0, -1], 0),
             ner_data.InputFeatures([2, 7, 8, 9, 3], [0] * 5, [0] * 5,
                                    [0, 1, 0, 1, 0], [-1, 0, -1, 1, -1], 1)]
  arrays = contracts.serving_arrays(windows)
  assert sorted(arrays) == sorted(contracts.SERVING_INPUTS)
  np.testing.assert_array_equal(arrays["input_ids"],
                                [[2, 7, 3, 0, 0], [2, 7, 8, 9, 3]])
  np.testing.assert_array_equal(arrays["input_mask"],
                                [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
  np.testing.assert_array_equal(arrays["predict_mask"],
                                [[0, 1, 0, 0, 0], [0, 1, 0, 1, 0]])
  assert all(a.dtype == np.int32 for a in arrays.values())
  with tf.Graph().as_default(), tf.Session() as sess:
    mask = contracts.predict_mask(tf.constant([[-1, 0, 2, -1]]))
    assert mask.dtype == tf.int32
    np.testing.assert_array_equal(sess.run(mask), [[0, 1, 1, 0]])


def test_tokenizer_config_round_trip_and_errors(tmp_path):
  folder = str(tmp_path)
  contracts.write_tokenizer_config(folder, True, 128, 64)
  assert contracts.read_tokenizer_config(folder) == (True, 128, 64)
  with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
    f.write('{"do_lower_case": true}')
  with pytest.raises(ValueError, match="tokenizer_config.json: expected JSON "
                     "with do_lower_case, max_seq_length and window_stride"):
    contracts.read_tokenizer_config(folder)


def test_run_info_round_trip(tmp_path):
  class Settings(object):
    head, feature_layers, freeze_bert, crf_iob2_constraints = (
        "crf", 4, True, False)
    context_sentences = 2

  assert contracts.read_run_info(str(tmp_path)) == {}
  contracts.write_run_info(str(tmp_path), Settings)
  assert contracts.read_run_info(str(tmp_path)) == {
      "head": "crf", "feature_layers": 4, "freeze_bert": True,
      "crf_iob2_constraints": False, "context_sentences": 2}


def test_eval_history_written_and_read_back(tmp_path):
  rows = [(10, {"precision": 50.0, "recall": 40.0, "f1": 44.44,
                "accuracy": 90.0}),
          (20, {"precision": 71.5, "recall": 70.25, "f1": 70.87,
                "accuracy": 93.5})]
  table = contracts.write_eval_history(str(tmp_path), rows, best_step=20)
  with open(os.path.join(str(tmp_path), "eval_history.txt")) as f:
    assert f.read() == table
  assert table.splitlines()[2].endswith("  *")
  assert contracts.read_eval_history(str(tmp_path)) == [
      {"step": 10, "dev_precision": 50.0, "dev_recall": 40.0,
       "dev_f1": 44.44, "token_accuracy": 90.0, "best": False},
      {"step": 20, "dev_precision": 71.5, "dev_recall": 70.25,
       "dev_f1": 70.87, "token_accuracy": 93.5, "best": True}]
  assert contracts.read_eval_history(str(tmp_path / "none")) == []


def test_previous_plan_written_once_then_compared(tmp_path):
  path = str(tmp_path / "job" / "plan.json")
  assert contracts.previous_plan(path, {"files": ["a"], "n": 2}) is None
  with open(path) as f:
    assert json.load(f) == {"files": ["a"], "n": 2}
  assert contracts.previous_plan(path, {"files": ["a"], "n": 2}) is None
  assert contracts.previous_plan(path, {"files": ["b"], "n": 2}) == {
      "files": ["a"], "n": 2}
