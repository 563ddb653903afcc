"""Tests of run_settings.py: the pure checks, and the settings built from one
list of flags."""

import pytest

from bert_ner.run import flag_checks
from bert_ner.run import run_settings
import run_ner


def values(**overrides):
  v = run_ner.flag_defaults()
  v.update(output_dir="out", do_train=True)
  v.update(overrides)
  return v


def test_the_flag_list_is_run_ners_flags():
  # Every flag defined in run_ner.py, and nothing else (absl's own flags
  # such as --flagfile are not settings).
  assert "flagfile" not in run_ner.FLAG_NAMES
  assert {"data_dir", "output_dir", "max_seq_length", "context_sentences",
          "bert_model_dir"} <= set(run_ner.FLAG_NAMES)
  assert set(run_ner.flag_defaults()) == set(run_ner.FLAG_NAMES)
  assert set(run_settings.RESOLVED_FLAGS) <= set(run_ner.FLAG_NAMES)


def test_run_settings_replace_refuses_unknown_names():
  settings = run_settings.RunSettings(do_train=True, seed=1)
  assert settings._replace(seed=2).seed == 2 and settings.seed == 1
  with pytest.raises(TypeError, match="RunSettings has no sed"):
    settings._replace(sed=3)


@pytest.mark.parametrize("check, overrides, message", [
    (flag_checks.check_actions, dict(do_train=False), "At least one of"),
    (flag_checks.check_actions, dict(output_dir=None),
     "--output_dir is required"),
    (flag_checks.check_actions, dict(predict_file="x.txt"),
     "--predict_file needs --do_predict"),
    (flag_checks.check_counts, dict(eval_batch_size=0),
     "--eval_batch_size must be positive, got 0"),
    (flag_checks.check_training, dict(learning_rate=0.0),
     "--learning_rate must be positive"),
    (flag_checks.check_training, dict(num_train_epochs=0.0),
     r"--num_train_epochs \(or --num_train_steps\) must be positive"),
    (flag_checks.check_training, dict(warmup_proportion=1.0),
     r"--warmup_proportion must be in \[0, 1\)"),
    (flag_checks.check_model_selection,
     dict(eval_every_steps=5, eval_every_epochs=1.0), "exclude each other"),
    (flag_checks.check_model_selection, dict(early_stopping_evals=-1),
     "--early_stopping_evals must be 0 or more"),
    (flag_checks.check_devices, dict(num_gpus=3, train_batch_size=32),
     "must divide evenly over the 3 devices /gpu:0, /gpu:1, /gpu:2"),
    (flag_checks.check_devices, dict(use_fp16=True,
                                     use_bf16=True), "exclude each other"),
    (flag_checks.check_devices, dict(use_tpu=True),
     "--use_tpu needs --tpu_name"),
    (flag_checks.check_preprocessing, dict(shard_sentences=0),
     "--shard_sentences must be positive, got 0"),
    (flag_checks.check_preprocessing, dict(context_sentences=-1),
     "--context_sentences must be 0 or more, got -1"),
])
def test_each_check_names_its_flag(check, overrides, message):
  with pytest.raises(ValueError, match=message):
    check(values(**overrides))
  check(values())  # the defaults pass


def test_multi_worker_checks():
  tf_config = ('{"cluster": {"worker": ["a:1", "b:2", "c:3"]}, '
               '"task": {"type": "worker", "index": 0}}')
  with pytest.raises(ValueError, match="needs the TF_CONFIG"):
    flag_checks.check_multi_worker(values(multi_worker=True), None)
  with pytest.raises(ValueError, match="over the 3 workers of TF_CONFIG"):
    flag_checks.check_multi_worker(values(multi_worker=True,
                                           train_batch_size=32), tf_config)
  with pytest.raises(ValueError, match="--worker_timeout_secs must be "
                     "positive"):
    flag_checks.check_multi_worker(
        values(multi_worker=True, train_batch_size=30, worker_timeout_secs=0),
        tf_config)
  flag_checks.check_multi_worker(values(multi_worker=True, train_batch_size=30),
                                  tf_config)
  flag_checks.check_multi_worker(values(), None)  # not a multi-worker run


def test_devices_and_stride():
  assert flag_checks.mirrored_devices(values()) is None
  assert flag_checks.mirrored_devices(values(num_gpus=2)) == ("/gpu:0",
                                                              "/gpu:1")
  assert flag_checks.mirrored_devices(values(
      mirrored_devices=" /cpu:0, /cpu:1 ")) == ("/cpu:0", "/cpu:1")

  class Config(object):
    max_position_embeddings = 64

  assert flag_checks.window_stride(values(max_seq_length=34), Config, "c") == 16
  assert flag_checks.window_stride(values(max_seq_length=34, window_stride=32),
                                    Config, "c") == 32
  with pytest.raises(ValueError, match=r"must be in \[1, max_seq_length - 2 "
                     r"= 32\], got 33"):
    flag_checks.window_stride(values(max_seq_length=34, window_stride=33),
                               Config, "c")
  with pytest.raises(ValueError, match="exceeds the model's "
                     "max_position_embeddings 64"):
    flag_checks.window_stride(values(max_seq_length=65), Config, "c")


def test_head_checks():
  class Config(object):
    num_hidden_layers = 2
    type_vocab_size = 2

  with pytest.raises(ValueError, match="--repair_tags is for the softmax "
                     "head.*--crf_iob2_constraints"):
    flag_checks.check_head(values(head="crf", repair_tags=True), Config)
  with pytest.raises(ValueError, match=r"--feature_layers must be in \[1, 2\]"):
    flag_checks.check_head(values(feature_layers=3), Config)
  flag_checks.check_head(values(repair_tags=True, context_sentences=2), Config)
  Config.type_vocab_size = 1
  with pytest.raises(ValueError, match="segment id 1, but the model has "
                     "type_vocab_size 1"):
    flag_checks.check_head(values(context_sentences=2), Config)
