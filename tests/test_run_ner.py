"""Tests of run_ner.py: the head, flag checks, and whole runs on a tiny model."""

import glob
import json
import logging
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_ner.corpora import conll_format
from bert_ner import machine
from bert_ner import model_settings
from bert_ner.run import model_selection
from bert_ner.tagging import saved_model_backend
from bert_ner import tfrecords
import helpers
from bert_ner.scoring import conlleval
import predict_saved_model
import run_ner

@pytest.fixture
def data_dir(tmp_path):
  folder = tmp_path / "data"
  folder.mkdir()
  (folder / "train.tsv").write_text(helpers.TRAIN)
  (folder / "dev.tsv").write_text(helpers.TRAIN)
  (folder / "test.tsv").write_text(helpers.TEST)
  return str(folder)


def values(**overrides):
  v = run_ner.flag_defaults()
  v.update(overrides)
  return v


def tiny_values(model_dir, data_dir, output_dir, **overrides):
  base = dict(bert_model_dir=model_dir, data_dir=data_dir,
              output_dir=output_dir, do_train=True, do_eval=True,
              do_predict=True, max_seq_length=8, window_stride=3,
              train_batch_size=2, eval_batch_size=3, predict_batch_size=3,
              learning_rate=1e-3, num_train_epochs=4.0,
              save_checkpoints_steps=2, log_step_count_steps=1)
  base.update(overrides)
  return values(**base)


def train_records_info(out):
  """The info JSON of the training records a run cached in `out`."""
  (name,) = [p for p in os.listdir(os.path.join(out, "records"))
             if p.startswith("train.") and p.endswith(".json")]
  with open(os.path.join(out, "records", name)) as f:
    return json.load(f)


def count_token_lines(path):
  with open(path, encoding="utf-8") as f:
    return sum(1 for line in f if line.strip())


# ---------------------------------------------------------------- the head


# ---------------------------------------------------------------- flag checks


def test_flag_errors(tmp_path, tiny_model_dir, data_dir):
  out = str(tmp_path / "out")

  def error(**overrides):
    v = tiny_values(tiny_model_dir, data_dir, out)
    v.update(overrides)
    with pytest.raises(ValueError) as e:
      run_ner.validate_flags_or_throw(v)
    return str(e.value)

  assert "At least one of --do_train" in error(do_train=False, do_eval=False,
                                               do_predict=False)
  assert "--output_dir is required" in error(output_dir=None)
  assert "No train file in" in error(data_dir=str(tmp_path))
  assert "--test_file /nope.tsv does not exist" in error(test_file="/nope.tsv")
  assert "exceeds the model's max_position_embeddings 64" in error(
      max_seq_length=65)
  assert "--window_stride must be in [1, max_seq_length - 2 = 6]" in error(
      window_stride=7)
  assert "Use --do_lower_case=True" in error(do_lower_case=False)
  assert "--train_batch_size must be positive" in error(train_batch_size=0)
  assert "need a trained model in --output_dir" in error(do_train=False)
  assert "--use_tpu needs --tpu_name" in error(use_tpu=True)
  assert "--eval_every_steps and --eval_every_epochs exclude" in error(
      eval_every_steps=5, eval_every_epochs=1.0)
  assert "--early_stopping_evals must be 0 or more, got -1" in error(
      early_stopping_evals=-1)
  big_vocab = tmp_path / "vocab.txt"
  big_vocab.write_text("\n".join(helpers.TINY_VOCAB + ["extra"]) + "\n")
  assert "has 104 tokens but the config" in error(vocab_file=str(big_vocab))
  assert "--bert_model_dir %s holds neither" % tmp_path in error(
      bert_model_dir=str(tmp_path))


def test_unreachable_tpu_is_a_clear_error(tmp_path, tiny_model_dir, data_dir):
  # A loopback port nobody listens on: refused at once, not a hang.
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  name = "grpc://127.0.0.1:%d" % port
  v = tiny_values(tiny_model_dir, data_dir, str(tmp_path / "out"),
                  use_tpu=True, tpu_name=name)
  with pytest.raises(ValueError) as e:
    run_ner.validate_flags_or_throw(v)
  assert "Cannot reach TPU %r" % name in str(e.value)


@pytest.mark.slow
def test_command_line_error_is_a_message_not_a_trace(tmp_path):
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "run_ner.py"),
       "--output_dir", str(tmp_path)], capture_output=True, text=True)
  assert result.returncode == 2
  assert "run_ner.py: error: At least one of --do_train" in result.stderr
  assert "Traceback" not in result.stderr


FLAGFILES = sorted(glob.glob(os.path.join(helpers.ROOT, "configs", "**",
                                          "*.flags"), recursive=True))


def flagfile_values(path):
  """The flags a flagfile sets, parsed by run_ner.py's own definitions."""
  out = {}
  for arg in run_ner.FLAGS.read_flags_from_files(["--flagfile=" + path]):
    name, has_value, value = arg[2:].partition("=")
    flag = run_ner.FLAGS[name]  # an unknown name raises here
    out[name] = flag.parser.parse(value) if has_value else True
  return out


@pytest.mark.parametrize("path", FLAGFILES, ids=os.path.basename)
def test_flagfiles_set_known_flags(path):
  v = flagfile_values(path)
  assert v["do_train"] and v["do_eval"] and v["do_predict"]
  assert set(v) <= set(run_ner.FLAG_NAMES)


def test_biobert_recipes():
  recipes = {os.path.basename(p): flagfile_values(p) for p in FLAGFILES
             if os.path.basename(os.path.dirname(p)) == "biobert"}
  assert sorted(recipes) == [
      "bc2gm.flags", "bc4chemd.flags", "bc5cdr_chem.flags",
      "bc5cdr_disease.flags", "jnlpba.flags", "linnaeus.flags",
      "ncbi_disease.flags", "s800.flags"]
  for name, v in recipes.items():
    assert (v["learning_rate"], v["train_batch_size"], v["max_seq_length"],
            v["do_lower_case"], v["num_train_epochs"],
            v["eval_every_epochs"]) == (1e-5, 32, 128, False, 50, 1), name
    # The model and the data come from the command line.
    assert not {"bert_model_dir", "data_dir", "output_dir"} & set(v), name


@pytest.mark.slow
def test_biobert_recipe_runs_on_biobert_style_data(tmp_path, tiny_model_dir):
  """The NCBI-disease recipe from the command line, on a folder laid out as
  BioBERT's (train.tsv, devel.tsv, test.tsv, train_dev.tsv; untyped B/I/O
  tags), with the tiny model and a few overrides for speed."""
  data = tmp_path / "NCBI-disease"
  data.mkdir()
  untyped = lambda text: text.replace("-Disease", "")
  (data / "train.tsv").write_text(untyped(helpers.TRAIN))
  (data / "devel.tsv").write_text(untyped(helpers.TRAIN))
  (data / "train_dev.tsv").write_text(
      untyped(helpers.TRAIN + "\n" + helpers.TRAIN))
  (data / "test.tsv").write_text(untyped(helpers.TEST))
  out = tmp_path / "out"
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "run_ner.py"),
       "--flagfile=" + os.path.join(helpers.ROOT, "configs", "biobert",
                                    "ncbi_disease.flags"),
       "--bert_model_dir=" + tiny_model_dir, "--data_dir=%s" % data,
       "--output_dir=%s" % out, "--do_lower_case=true",
       "--max_seq_length=8", "--window_stride=3", "--train_batch_size=2",
       "--eval_batch_size=3", "--predict_batch_size=3",
       "--learning_rate=1e-3", "--num_train_epochs=2"],
      capture_output=True, text=True, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "test: entity-level (conlleval)" in result.stdout
  with open(out / "label_list.txt") as f:
    assert f.read().split() == ["[PAD]", "O", "B", "I", "X", "[CLS]",
                                "[SEP]"]
  # devel.tsv was scored after each of the 2 epochs.
  assert len(model_selection.read_eval_history(str(out))) == 2
  test_results = helpers.read_results(str(out / "test_results.txt"))
  assert int(test_results["gold_entities"]) == 5
  assert not [k for k in test_results if k.startswith("entity__")]


# ---------------------------------------------------------------- whole runs


@pytest.mark.slow
def test_train_eval_predict_then_predict_only(tmp_path, tiny_model_dir,
                                              data_dir):
  out = str(tmp_path / "out")
  settings = run_ner.validate_flags_or_throw(
      tiny_values(tiny_model_dir, data_dir, out))
  results = run_ner.run(settings)
  # 4 epochs of batch 2 over the training windows (long words of the tiny
  # vocabulary split into many pieces, so sentences take several windows).
  info = train_records_info(out)
  assert info["num_examples"] == 3 and info["num_features"] > 3
  planned = -(-info["num_features"] * 4 // 2)
  assert tf.train.load_variable(tf.train.latest_checkpoint(out),
                                "global_step") == planned
  # Dev was scored every 2 steps; eval and predict used the best checkpoint.
  best = helpers.read_results(os.path.join(out, "best", "best_results.txt"))
  assert results["dev"]["global_step"] == int(best["global_step"])
  assert results["dev"]["entity_f1"] == float(best["entity_f1"])
  history = model_selection.read_eval_history(out)
  assert [h["step"] for h in history] == list(range(2, planned + 1, 2))
  (best_row,) = [h for h in history if h["best"]]
  assert best_row["dev_f1"] == max(h["dev_f1"] for h in history)
  assert int(best["global_step"]) == best_row["step"]
  with open(os.path.join(out, "training_curves.png"), "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
  for name in ("eval_results.txt", "test_results.txt"):
    written = helpers.read_results(os.path.join(out, name))
    for key in ("entity_precision", "entity_recall", "entity_f1",
                "token_micro_f1", "token_macro_f1", "loss"):
      assert key in written, (name, key)
  # Every test word has a prediction line, in order, ready for conlleval.
  predictions = os.path.join(out, "test_predictions.txt")
  assert count_token_lines(predictions) == 17
  with open(predictions) as f:
    lines = f.read().split("\n")
  assert lines[0].split(" ")[:2] == ["An", "O"]
  assert lines[15] == "" and lines[16].startswith("BRCA2 O ")
  with open(predictions) as f:
    figures, strict = conlleval.evaluate_both(f)
  test_results = helpers.read_results(os.path.join(out, "test_results.txt"))
  assert float(test_results["entity_f1"]) == round(figures["f1"], 2)
  assert float(test_results["strict_entity_f1"]) == round(strict["f1"], 2)
  assert int(test_results["gold_entities"]) == 5
  assert int(test_results["strict_gold_entities"]) == 5
  assert (int(test_results["strict_found_entities"]) ==
          strict["found_phrases"])
  assert "strict_entity_Disease_f1" in test_results
  assert "strict_entity_f1" in best and "epoch" in best
  with open(os.path.join(out, "label_list.txt")) as f:
    assert f.read().split() == ["[PAD]", "O", "B-Disease", "I-Disease", "X",
                                "[CLS]", "[SEP]"]
  # Predict-only from the output folder alone: same predictions.
  predict_only = run_ner.validate_flags_or_throw(values(
      output_dir=out, data_dir=data_dir, do_predict=True, max_seq_length=8,
      window_stride=3))
  before = open(predictions).read()
  os.remove(predictions)
  run_ner.run(predict_only)
  assert open(predictions).read() == before
  # --repair_tags: the same words, and no I- tag after O, another type or
  # first in a sentence.
  run_ner.run(run_ner.validate_flags_or_throw(values(
      output_dir=out, data_dir=data_dir, do_predict=True, max_seq_length=8,
      window_stride=3, repair_tags=True)))
  with open(predictions) as f:
    sentences = f.read().split("\n\n")
  assert count_token_lines(predictions) == 17
  for sentence in sentences:
    tags = [line.split(" ")[2] for line in sentence.split("\n") if line]
    previous = "O"
    for tag in tags:
      assert not (tag.startswith("I-") and previous[2:] != tag[2:]), tags
      previous = tag
  with open(predictions) as f:
    figures = conlleval.evaluate(f)
  assert float(helpers.read_results(os.path.join(out, "test_results.txt"))[
      "entity_f1"]) == round(figures["f1"], 2)


@pytest.mark.slow
def test_document_context(tmp_path, tiny_model_dir, data_dir):
  out = str(tmp_path / "out")
  results = run_ner.run(run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, out, do_eval=False, num_train_epochs=1.0,
      max_seq_length=32, context_sentences=1)))
  # The training windows carry their neighbours' pieces (segment id 1),
  # never scored; every test word still has its prediction.
  info = train_records_info(out)
  features = tfrecords.read_tfrecord(info["files"])
  assert len(features) == 3
  for feature in features:
    context = [i for i, s in enumerate(feature.segment_ids) if s == 1]
    assert context
    assert all(feature.label_weights[i] == 0 and feature.word_ids[i] == -1
               for i in context)
  assert sum(sum(f.label_weights) for f in features) == 17
  assert count_token_lines(os.path.join(out, "test_predictions.txt")) == 17
  assert int(results["test"]["gold_entities"]) == 5
  assert model_settings.read(out)[0].context_sentences == 1


def records_of(out, split):
  """The records info files of a split that runs in `out` wrote."""
  return sorted(glob.glob(os.path.join(out, "records", split + ".*.json")))


@pytest.mark.slow
def test_predict_only_runs_take_the_models_settings(tmp_path, tiny_model_dir,
                                                   data_dir, caplog):
  caplog.set_level(logging.WARNING, logger="tensorflow")
  out = str(tmp_path / "out")
  run_ner.run(run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, out, do_eval=False, num_train_steps=2,
      max_seq_length=12, window_stride=4, context_sentences=1)))
  predictions = os.path.join(out, "test_predictions.txt")
  trained = open(predictions).read()
  (records,) = records_of(out, "test")
  # No window flag: the model's window, stride and context, so the same
  # records and predictions.
  os.remove(predictions)
  run_ner.run(run_ner.validate_flags_or_throw(values(
      output_dir=out, data_dir=data_dir, do_predict=True)))
  assert open(predictions).read() == trained
  assert records_of(out, "test") == [records]
  # A flag given that contradicts the model: an error naming both.
  for flag, value, saved in (("context_sentences", 0, 1),
                             ("do_lower_case", False, True),
                             ("head", "crf", "softmax")):
    with pytest.raises(ValueError, match=(
        "--%s=%s contradicts the trained model in %s, which has %s=%s" %
        (flag, value, out, flag, saved))):
      run_ner.validate_flags_or_throw(values(
          output_dir=out, data_dir=data_dir, do_predict=True,
          **{flag: value}), given={flag})
  # Another window is legitimate at predict time: taken, with a warning.
  settings = run_ner.validate_flags_or_throw(values(
      output_dir=out, data_dir=data_dir, do_predict=True, max_seq_length=16))
  assert (settings.max_seq_length, settings.window_stride) == (16, 7)
  assert settings.context_sentences == 1
  assert any("Predicting with --max_seq_length=16; the model in %s was "
             "trained with 12." % out in r.getMessage()
             for r in caplog.records)
  # A folder of an older version saved no settings: what it assumed is
  # said, and the run goes on with the flags' values.
  for name in ("tokenizer_config.json", "ner_run.json"):
    os.remove(os.path.join(out, name))
  caplog.clear()
  settings = run_ner.validate_flags_or_throw(values(
      output_dir=out, data_dir=data_dir, do_predict=True, max_seq_length=12,
      window_stride=4))
  assert (settings.max_seq_length, settings.context_sentences) == (12, 0)
  warnings = [r.getMessage() for r in caplog.records]
  assert any(re.search(r"saved no \S*context_sentences\S* \(an older "
                       r"version trained it\): assumed .*context_sentences=0"
                       r"\b", w) for w in warnings), warnings
  assert not any("saved no max_seq_length" in w for w in warnings)


def test_a_training_label_missing_from_the_labels_file_is_an_error(
    tmp_path, tiny_model_dir, data_dir):
  labels = tmp_path / "labels.txt"
  labels.write_text("O\nB-Disease\n")  # the training file has I-Disease too
  settings = run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, str(tmp_path / "out"), labels_file=str(labels),
      num_train_steps=1))
  with pytest.raises(ValueError, match=(
      r"The training file .*train.tsv has label\(s\) that --labels_file "
      r".*labels.txt does not list: I-Disease \(1 of its words\)")):
    run_ner.run(settings)


@pytest.mark.slow
@pytest.mark.parametrize("learning_rate, loss", [("1e3", r"\d\S*e\+\d+"),
                                                 ("1e30", "nan")])
def test_a_diverging_run_stops_with_one_line_and_keeps_nothing_diverged(
    tmp_path, tiny_model_dir, data_dir, learning_rate, loss):
  out, export = str(tmp_path / "out"), str(tmp_path / "export")
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "run_ner.py"),
       "--bert_model_dir=" + tiny_model_dir, "--data_dir=" + data_dir,
       "--output_dir=" + out, "--export_dir=" + export, "--do_train",
       "--do_predict", "--max_seq_length=8", "--train_batch_size=2",
       "--num_train_steps=10", "--save_checkpoints_steps=1",
       "--learning_rate=" + learning_rate, "--warmup_proportion=0"],
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 1, result.stderr[-3000:]
  last = result.stderr.strip().splitlines()[-1]
  match = re.match(
      r"run_ner.py: error: Training diverged at step (\d+): the loss is "
      r"(%s)\S*,? .*learning rate .*(The last checkpoint kept is \S+-(\d+)|"
      r"No checkpoint was kept)\. Lower --learning_rate \(it is %s\), or "
      r"loosen the check with --divergence_factor \(now 10; 0 stops only on "
      r"NaN or infinity\)\.$" % (loss, re.escape("%g" % float(learning_rate))),
      last)
  assert match, last
  step = int(match.group(1))
  assert step < 10
  kept = tf.train.latest_checkpoint(out)
  if match.group(4):
    assert kept.endswith("-" + match.group(4)) and int(match.group(4)) < step
  else:
    assert kept is None
  assert not glob.glob(os.path.join(out, "model.ckpt-%d.*" % step))
  assert not os.path.exists(export)
  assert not os.path.exists(os.path.join(out, "test_predictions.txt"))


@pytest.mark.slow
def test_a_contradicting_flag_on_the_command_line_is_one_line(
    tmp_path, tiny_model_dir, data_dir):
  out = str(tmp_path / "out")
  run_ner.run(run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, out, do_eval=False, do_predict=False,
      num_train_steps=1, max_seq_length=12)))
  # Given on the command line, even at its default value.
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "run_ner.py"),
       "--do_predict", "--output_dir=" + out, "--data_dir=" + data_dir,
       "--do_lower_case=false"],
      capture_output=True, text=True, timeout=120, check=False)
  assert result.returncode == 2, result.stderr[-2000:]
  assert result.stderr.strip().splitlines()[-1] == (
      "run_ner.py: error: --do_lower_case=False contradicts the trained "
      "model in %s, which has do_lower_case=True (tokenizer_config.json). "
      "Leave the flag out: a predict-only run uses the model's settings." %
      out)


@pytest.mark.slow
def test_dev_scored_every_epoch(tmp_path, tiny_model_dir, data_dir):
  """Each of the 3 training sentences fits one window of 32, so an epoch is
  3 windows: 2 steps of 2 (rounded), and 3 epochs are ceil(9 / 2) = 5
  steps: dev is scored at steps 2, 4 and at the end, 5."""
  out = str(tmp_path / "out")
  run_ner.run(run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, out, do_predict=False, num_train_epochs=3.0,
      max_seq_length=32, eval_every_epochs=1.0, save_checkpoints_steps=1000)))
  assert train_records_info(out)["num_features"] == 3
  assert [h["step"] for h in model_selection.read_eval_history(out)
         ] == [2, 4, 5]


class Interrupt(tf.train.SessionRunHook):
  """Stops training with an error once the global step reaches `at`."""

  def __init__(self, at):
    self.at = at

  def before_run(self, run_context):
    return tf.train.SessionRunArgs(tf.train.get_global_step())

  def after_run(self, run_context, run_values):
    if run_values.results + 1 >= self.at:
      raise RuntimeError("interrupted")


@pytest.mark.slow
def test_interrupted_training_resumes_to_planned_step(tmp_path, tiny_model_dir,
                                                      data_dir, caplog):
  caplog.set_level(logging.INFO, logger="tensorflow")
  out = str(tmp_path / "out")
  settings = run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, out, do_eval=False, do_predict=False,
      num_train_steps=10))
  with pytest.raises(RuntimeError, match="interrupted"):
    run_ner.run(settings, train_hooks=[Interrupt(at=5)])
  step = tf.train.load_variable(tf.train.latest_checkpoint(out), "global_step")
  assert 0 < step < 10
  run_ner.run(settings)
  assert tf.train.load_variable(tf.train.latest_checkpoint(out),
                                "global_step") == 10
  assert any("Resuming training from step %d of 10" % step in r.getMessage()
             for r in caplog.records)


@pytest.mark.slow
def test_a_run_killed_between_a_checkpoint_and_its_dev_score_scores_it(
    tmp_path, tiny_model_dir, data_dir):
  out = str(tmp_path / "out")
  settings = run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, out, do_predict=False, num_train_steps=10,
      eval_every_steps=3, save_checkpoints_steps=1))
  with pytest.raises(RuntimeError, match="interrupted"):
    run_ner.run(settings, train_hooks=[Interrupt(at=5)])
  # Killed in its second chunk: dev was scored at step 3, and the history
  # written then survives.
  assert [h["step"] for h in model_selection.read_eval_history(out)] == [3]
  killed_at = tf.train.load_variable(tf.train.latest_checkpoint(out),
                                     "global_step")
  assert 3 < killed_at < 6
  run_ner.run(settings)
  # The resumed run scores the checkpoint it starts from, then goes on.
  steps = [h["step"] for h in model_selection.read_eval_history(out)]
  assert steps == [3, killed_at] + list(range(killed_at + 3, 10, 3)) + [10]
  best = helpers.read_results(os.path.join(out, "best", "best_results.txt"))
  (best_row,) = [h for h in model_selection.read_eval_history(out)
                 if h["best"]]
  assert int(best["global_step"]) == best_row["step"]


@pytest.mark.slow
def test_a_rerun_removes_what_dead_processes_left(tmp_path, tiny_model_dir,
                                                 data_dir):
  out = str(tmp_path / "out")
  run_ner.run(run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, out, do_eval=False, num_train_steps=1)))
  dead = subprocess.Popen(["true"])
  dead.wait()
  alive = subprocess.Popen(["sleep", "60"])
  try:
    stale = [os.path.join(out, "test_predictions.txt.tmp-%d" % dead.pid),
             os.path.join(out, "graph.pbtxt.tmp" + "0123456789abcdef" * 2),
             os.path.join(out, "records", "x.tmp-%d" % dead.pid)]
    live = os.path.join(out, "eval_results.txt.tmp-%d" % alive.pid)
    for path in stale + [live]:
      with open(path, "w") as f:
        f.write("half a file")
    run_ner.run(run_ner.validate_flags_or_throw(values(
        output_dir=out, data_dir=data_dir, do_predict=True)))
    assert [p for p in stale if os.path.exists(p)] == []
    assert os.path.exists(live)  # another live process's
  finally:
    alive.kill()
    alive.wait()


def single_command(model_dir, data_dir, out, steps):
  return [sys.executable, os.path.join(helpers.ROOT, "run_ner.py"),
          "--bert_model_dir=" + model_dir, "--data_dir=" + data_dir,
          "--output_dir=" + out, "--do_train", "--do_predict",
          "--max_seq_length=8", "--window_stride=3", "--do_lower_case=true",
          "--train_batch_size=2", "--num_train_steps=%d" % steps,
          "--save_checkpoints_steps=20", "--learning_rate=1e-3"]


def checkpoint_step(out):
  latest = tf.train.latest_checkpoint(out)
  return tf.train.load_variable(latest, "global_step") if latest else -1


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_killed_at_a_random_point_and_run_again(tmp_path, tiny_model_dir,
                                                data_dir, seed):
  """SIGKILL at a point drawn from the seed (after a checkpoint, a fraction
  of a second later); the same command again reaches the planned step and
  writes a whole predictions file."""
  rng = random.Random(seed)
  at_step, delay = rng.choice([20, 40, 60, 80]), rng.uniform(0.0, 0.3)
  out = str(tmp_path / "out")
  command = single_command(tiny_model_dir, data_dir, out, 100)
  log = str(tmp_path / "first.log")
  with open(log, "w") as f:
    job = subprocess.Popen(command, stdout=f, stderr=subprocess.STDOUT)
  deadline = time.time() + 300
  while checkpoint_step(out) < at_step:
    assert time.time() < deadline and job.poll() is None, read_text(log)[-3000:]
    time.sleep(0.05)
  time.sleep(delay)
  assert job.poll() is None, "the job ended before it could be killed"
  job.kill()
  job.wait()
  reached = checkpoint_step(out)
  assert at_step <= reached <= 100
  assert not os.path.exists(os.path.join(out, "test_predictions.txt"))
  # The killed process's lock is left behind, and taken over.
  assert len(os.listdir(os.path.join(out, ".locks"))) == 1

  again = subprocess.run(command, capture_output=True, text=True, timeout=600)
  assert again.returncode == 0, again.stderr[-3000:]
  if reached < 100:
    assert "Resuming training from step %d of 100" % reached in again.stderr
  assert checkpoint_step(out) == 100
  with open(os.path.join(out, "test_predictions.txt"), encoding="utf-8") as f:
    blocks = f.read().strip("\n").split("\n\n")
  assert [len(b.splitlines()) for b in blocks] == [15, 2]
  assert [line.split()[0] for b in blocks for line in b.splitlines()] == [
      line.split("\t")[0] for line in helpers.TEST.splitlines() if line]
  leftovers = [name for name in os.listdir(out) if ".tmp" in name]
  assert leftovers == []
  assert os.listdir(os.path.join(out, ".locks")) == []


@pytest.mark.slow
def test_second_job_on_a_folder_in_use_stops_and_the_first_finishes(
    tmp_path, tiny_model_dir, data_dir):
  out = str(tmp_path / "out")
  first_log = str(tmp_path / "first.log")
  with open(first_log, "w") as f:
    first = subprocess.Popen(
        single_command(tiny_model_dir, data_dir, out, 1000), stdout=f,
        stderr=subprocess.STDOUT)
  lock = os.path.join(out, ".locks",
                      "%s-%d.json" % (socket.gethostname(), first.pid))
  deadline = time.time() + 300
  while not os.path.exists(lock):
    assert time.time() < deadline and first.poll() is None, (
        read_text(first_log)[-3000:])
    time.sleep(0.05)
  second = subprocess.run(
      single_command(tiny_model_dir, data_dir, out, 10) + ["--do_eval"],
      capture_output=True, text=True, timeout=300)
  assert first.poll() is None, "the first job ended before the second began"
  assert second.returncode == 1, second.stderr[-3000:]
  assert ("run_ner.py: error: The output folder %s is in use by another "
          "run_ner.py job: process %d on host %s" %
          (out, first.pid, socket.gethostname())) in second.stderr
  assert "Traceback" not in second.stderr
  assert first.wait(timeout=600) == 0, read_text(first_log)[-3000:]
  assert checkpoint_step(out) == 1000
  assert count_token_lines(os.path.join(out, "test_predictions.txt")) == 17
  # Nothing of the second job's: no eval results, its lock gone with it.
  assert not os.path.exists(os.path.join(out, "eval_results.txt"))
  assert os.listdir(os.path.join(out, ".locks")) == []


@pytest.mark.slow
def test_long_sentences_and_unknown_labels(tmp_path, tiny_model_dir, data_dir):
  test = os.path.join(data_dir, "test.tsv")
  with open(test, "a") as f:
    f.write("\n" + "".join("gene\tB-Gene\n" if i % 5 == 0 else "of\tO\n"
                           for i in range(40)))
  out = str(tmp_path / "out")
  settings = run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, out, do_eval=False, num_train_steps=2))
  results = run_ner.run(settings)
  assert count_token_lines(os.path.join(out, "test_predictions.txt")) == 57
  assert results["test"]["gold_entities"] == 13  # B-Gene kept as gold


@pytest.mark.slow
def test_small_shards_and_two_processes_give_the_same_outputs(
    tmp_path, tiny_model_dir, data_dir):
  # 30 test sentences, some longer than the window (max_seq_length 8).
  rng = random.Random(3)
  words = ["cancer", "the", "gene", "unaffable", "of", "colon", "."]
  with open(os.path.join(data_dir, "test.tsv"), "w") as f:
    for _ in range(30):
      for _ in range(rng.randint(1, 14)):
        word = rng.choice(words)
        f.write("%s\t%s\n" % (word, "B-Disease" if word == "cancer" else "O"))
      f.write("\n")
  first = str(tmp_path / "one_shard")
  run_ner.run(run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, first, num_train_steps=3,
      preprocess_processes=1)))
  outputs = ("test_predictions.txt", "test_results.txt", "eval_results.txt",
             "dev_predictions.txt")
  # Predict again from the trained model: 4 sentences a shard, converted by
  # two processes.
  second = str(tmp_path / "shards")
  shutil.copytree(first, second)
  for name in outputs:
    os.remove(os.path.join(second, name))
  run_ner.run(run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, second, do_train=False, shard_sentences=4,
      preprocess_processes=2)))
  assert len(glob.glob(os.path.join(second, "records", "test.*-of-00008"))) == 8
  for name in outputs:
    a, b = os.path.join(first, name), os.path.join(second, name)
    if name.endswith("_results.txt"):
      # Other batches sum the loss in another order: its last digits move.
      a, b = helpers.read_results(a), helpers.read_results(b)
      assert float(a.pop("loss")) == pytest.approx(float(b.pop("loss")),
                                                   rel=1e-5)
      assert a == b, name
    else:
      with open(a, "rb") as fa, open(b, "rb") as fb:
        assert fa.read() == fb.read(), name
  assert count_token_lines(os.path.join(second, "test_predictions.txt")) == (
      count_token_lines(os.path.join(data_dir, "test.tsv")))


def test_shard_flags_are_checked(tmp_path, tiny_model_dir, data_dir):
  for flag, value in (("shard_sentences", 0), ("preprocess_processes", -1)):
    with pytest.raises(ValueError, match="--" + flag):
      run_ner.validate_flags_or_throw(tiny_values(
          tiny_model_dir, data_dir, str(tmp_path / "out"), **{flag: value}))


@pytest.mark.slow
def test_minilm_on_ncbi_slice(tmp_path, minilm_tf_dir):
  """The real MiniLM on a slice of NCBI-disease, a few dozen steps."""
  source = helpers.shared_path("data", "ncbi_disease")
  data = tmp_path / "ncbi_slice"
  data.mkdir()
  for split, count in (("train", 300), ("dev", 100), ("test", 120)):
    examples = conll_format.read_conll(os.path.join(source, split + ".tsv"))
    with open(data / (split + ".tsv"), "w", encoding="utf-8") as f:
      for example in examples[:count]:
        for word, label in zip(example.words, example.labels):
          f.write("%s\t%s\n" % (word, label))
        f.write("\n")
  out = str(tmp_path / "out")
  settings = run_ner.validate_flags_or_throw(values(
      bert_model_dir=minilm_tf_dir, data_dir=str(data), output_dir=out,
      do_train=True, do_eval=True, do_predict=True, max_seq_length=64,
      train_batch_size=16, num_train_steps=36, learning_rate=1e-4,
      save_checkpoints_steps=100))
  results = run_ner.run(settings)
  test_examples = conll_format.read_conll(str(data / "test.tsv"))
  predictions = os.path.join(out, "test_predictions.txt")
  assert count_token_lines(predictions) == sum(len(e.words)
                                               for e in test_examples)
  for split, name, pred_name in (("dev", "eval_results.txt",
                                  "dev_predictions.txt"),
                                 ("test", "test_results.txt",
                                  "test_predictions.txt")):
    with open(os.path.join(out, pred_name)) as f:
      figures = conlleval.evaluate(f)
    written = helpers.read_results(os.path.join(out, name))
    assert float(written["entity_f1"]) == round(figures["f1"], 2)
    assert float(written["entity_precision"]) == round(figures["precision"], 2)
    assert results[split]["entity_f1"] == round(figures["f1"], 2)
  # A few dozen steps of a real model learn something.
  assert results["test"]["entity_f1"] > 10.0


@pytest.mark.slow
def test_crf_head_on_frozen_feature_layers(tmp_path, tiny_model_dir, data_dir):
  out = str(tmp_path / "out")
  settings = run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, out, do_eval=False, num_train_steps=4,
      head="crf", crf_iob2_constraints=True, feature_layers=2,
      freeze_bert=True))
  results = run_ner.run(settings)
  assert count_token_lines(os.path.join(out, "test_predictions.txt")) == 17
  checkpoint = tf.train.latest_checkpoint(out)
  names = dict(tf.train.list_variables(checkpoint))
  assert names["crf/transitions"] == [7, 7]
  assert names["output_weights"] == [7, 64]  # two layers of 32
  # Frozen: BERT's weights are those loaded, and have no Adam slots.
  for name in ("bert/encoder/layer_1/output/dense/kernel",
               "bert/embeddings/word_embeddings"):
    np.testing.assert_array_equal(
        tf.train.load_variable(checkpoint, name),
        tf.train.load_variable(os.path.join(tiny_model_dir,
                                            "bert_model.ckpt"), name))
  assert not any(n.startswith("bert/") and n.endswith("adam_m")
                 for n in names)
  assert "crf/transitions/adam_m" in names
  # IOB2 constraints hold in the output.
  with open(os.path.join(out, "test_predictions.txt")) as f:
    tags = [line.split()[-1] for line in f if line.strip()]
  for prev, tag in zip(["O"] + tags, tags):
    if tag.startswith("I-"):
      assert prev[2:] == tag[2:] and prev != "O"
  # A predict-only run takes the head from the trained model.
  again = run_ner.validate_flags_or_throw(values(
      output_dir=out, data_dir=data_dir, do_predict=True, max_seq_length=8,
      window_stride=3))
  assert (again.head, again.feature_layers, again.freeze_bert) == ("crf", 2,
                                                                   True)
  assert run_ner.run(again)["test"]["entity_f1"] == results["test"]["entity_f1"]


@pytest.mark.slow
def test_mirrored_training_on_two_logical_cpus(tmp_path, tiny_model_dir,
                                               data_dir):
  """--mirrored_devices trains with MirroredStrategy, then evaluates and
  predicts; run as a command, since the devices must exist before
  TensorFlow's context starts."""
  out = str(tmp_path / "out")
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "run_ner.py"),
       "--bert_model_dir=" + tiny_model_dir, "--data_dir=" + data_dir,
       "--output_dir=" + out, "--do_train", "--do_eval", "--do_predict",
       "--mirrored_devices=/cpu:0,/cpu:1", "--max_seq_length=8",
       "--window_stride=3", "--train_batch_size=4", "--num_train_steps=6",
       "--learning_rate=1e-3"],
      capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "MirroredStrategy" in result.stderr
  assert tf.train.load_variable(tf.train.latest_checkpoint(out),
                                "global_step") == 6
  assert count_token_lines(os.path.join(out, "test_predictions.txt")) == 17
  assert "entity_f1" in helpers.read_results(
      os.path.join(out, "eval_results.txt"))
  with pytest.raises(ValueError, match="must divide evenly over the 3"):
    run_ner.validate_flags_or_throw(tiny_values(
        tiny_model_dir, data_dir, out, mirrored_devices="/cpu:0,/cpu:1,/cpu:2",
        train_batch_size=4))


def free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def hf_copy(tiny_model_dir, tmp_path):
  """The tiny model in HF's layout, written by convert_checkpoint.py."""
  hf_dir = str(tmp_path / "tiny_hf")
  subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "convert_checkpoint.py"),
       "--from_tf", tiny_model_dir, "--to_hf", hf_dir],
      check=True, capture_output=True, timeout=300)
  assert sorted(os.listdir(hf_dir)) == ["config.json", "model.safetensors",
                                        "vocab.txt"]
  return hf_dir


def worker_command(model_dir, data_dir, out, steps=6, *extra):
  return [sys.executable, os.path.join(helpers.ROOT, "run_ner.py"),
          "--bert_model_dir=" + model_dir, "--data_dir=" + data_dir,
          "--output_dir=" + out, "--do_train", "--do_predict",
          "--multi_worker", "--max_seq_length=8", "--window_stride=3",
          "--do_lower_case=true", "--train_batch_size=4",
          "--num_train_steps=%d" % steps, "--save_checkpoints_steps=3",
          "--learning_rate=1e-3"] + list(extra)


def start_worker(command, workers, index, log_path):
  env = dict(os.environ, TF_CONFIG=json.dumps(
      {"cluster": {"worker": workers},
       "task": {"type": "worker", "index": index}}))
  log = open(log_path, "w")
  process = subprocess.Popen(command, env=env, stdout=log,
                             stderr=subprocess.STDOUT, text=True)
  log.close()
  return process


def read_text(path):
  with open(path, encoding="utf-8") as f:
    return f.read()


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["google", "hf"])
def test_two_workers_on_loopback_train_one_set_of_checkpoints(
    tmp_path, tiny_model_dir, data_dir, layout):
  """--multi_worker: two processes, TF_CONFIG on 127.0.0.1, one job; an HF
  model is converted once, by the chief."""
  model_dir = (hf_copy(tiny_model_dir, tmp_path) if layout == "hf"
               else tiny_model_dir)
  out = str(tmp_path / "out")
  workers = ["127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port()]
  command = worker_command(model_dir, data_dir, out)
  logs = [str(tmp_path / ("worker%d.log" % i)) for i in range(2)]
  processes = [start_worker(command, workers, i, logs[i]) for i in range(2)]
  for p, log in zip(processes, logs):
    assert p.wait(timeout=600) == 0, read_text(log)[-3000:]
  assert tf.train.load_variable(tf.train.latest_checkpoint(out),
                                "global_step") == 6
  # The chief predicted; the other worker left the outputs alone.
  assert count_token_lines(os.path.join(out, "test_predictions.txt")) == 17
  assert "eval and predict are the chief's" in read_text(logs[1])
  checkpoints = [p for p in os.listdir(out) if p.endswith(".index")]
  assert sorted(checkpoints) == ["model.ckpt-0.index", "model.ckpt-3.index",
                                 "model.ckpt-6.index"]
  converted = [name for name in os.listdir(out) if "init_model" in name]
  if layout == "hf":
    assert converted == ["init_model"]
    assert "Converting the HF model" in read_text(logs[0])
    assert "Converting the HF model" not in read_text(logs[1])
    assert os.path.exists(os.path.join(out, "init_model",
                                       "converted_from.json"))
  else:
    assert converted == []
  assert os.listdir(os.path.join(out, ".locks")) == []


@pytest.mark.slow
def test_worker_that_never_starts_stops_the_chief(tmp_path, tiny_model_dir,
                                                  data_dir):
  out = str(tmp_path / "out")
  missing = "127.0.0.1:%d" % free_port()
  workers = ["127.0.0.1:%d" % free_port(), missing]
  log = str(tmp_path / "worker0.log")
  start = time.time()
  chief = start_worker(
      worker_command(hf_copy(tiny_model_dir, tmp_path), data_dir, out, 6,
                     "--worker_timeout_secs=15"), workers, 0, log)
  assert chief.wait(timeout=600) == 1, read_text(log)[-3000:]
  text = read_text(log)
  assert ("run_ner.py: error: Lost a worker of this --multi_worker job: "
          "/job:worker/task:1 (%s) does not answer: it died or never started"
          % missing) in text
  assert "--worker_timeout_secs=15" in text
  assert "Traceback" not in text
  # Bounded by the flag (15 s), plus start-up and the graph's building.
  assert time.time() - start < 15 + 120
  assert os.listdir(os.path.join(out, ".locks")) == []


@pytest.mark.slow
def test_worker_waits_for_the_chiefs_conversion_within_the_limit(
    tmp_path, tiny_model_dir, data_dir):
  out = str(tmp_path / "out")
  workers = ["127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port()]
  hf_dir = hf_copy(tiny_model_dir, tmp_path)
  log = str(tmp_path / "worker1.log")
  worker = start_worker(
      worker_command(hf_dir, data_dir, out, 6, "--worker_timeout_secs=3"),
      workers, 1, log)
  assert worker.wait(timeout=300) == 2, read_text(log)[-3000:]
  assert ("run_ner.py: error: Waited 3 s (--worker_timeout_secs) for the "
          "chief worker to convert the HF model in %s into %s" %
          (hf_dir, os.path.join(out, "init_model"))) in read_text(log)
  # It never converted nor removed anything.
  assert [n for n in os.listdir(out) if "init_model" in n] == []


@pytest.mark.slow
def test_killed_worker_stops_the_other_and_the_job_resumes(
    tmp_path, tiny_model_dir, data_dir):
  out = str(tmp_path / "out")
  workers = ["127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port()]
  command = worker_command(tiny_model_dir, data_dir, out, 3000,
                           "--worker_timeout_secs=60")
  logs = [str(tmp_path / ("worker%d.log" % i)) for i in range(2)]
  processes = [start_worker(command, workers, i, logs[i]) for i in range(2)]
  deadline = time.time() + 300
  while not tf.train.latest_checkpoint(out) or tf.train.load_variable(
      tf.train.latest_checkpoint(out), "global_step") < 3:
    assert time.time() < deadline and processes[0].poll() is None, (
        read_text(logs[0])[-3000:])
    time.sleep(0.2)
  processes[1].kill()
  killed_at = time.time()
  assert processes[0].wait(timeout=300) == 1, read_text(logs[0])[-3000:]
  # A peer that is gone fails the step at once, not after the time limit.
  assert time.time() - killed_at < 60
  text = read_text(logs[0])
  assert ("Lost a worker of this --multi_worker job: /job:worker/task:1 "
          "(%s) does not answer" % workers[1]) in text
  assert "Start every worker again with the same command" in text
  reached = tf.train.load_variable(tf.train.latest_checkpoint(out),
                                   "global_step")
  assert 3 <= reached < 3000

  # The same command on both workers resumes from the last checkpoint.
  workers = ["127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port()]
  command = worker_command(tiny_model_dir, data_dir, out, reached + 6,
                           "--worker_timeout_secs=60")
  processes = [start_worker(command, workers, i, logs[i]) for i in range(2)]
  for p, log in zip(processes, logs):
    assert p.wait(timeout=600) == 0, read_text(log)[-3000:]
  assert "Restoring parameters from %s" % os.path.join(
      out, "model.ckpt-%d" % reached) in read_text(logs[0])
  assert tf.train.load_variable(tf.train.latest_checkpoint(out),
                                "global_step") == reached + 6
  assert count_token_lines(os.path.join(out, "test_predictions.txt")) == 17


@pytest.mark.slow
@pytest.mark.parametrize("precision", [
    "use_fp16", pytest.param("use_bf16", marks=helpers.needs_bf16)])
def test_mixed_precision_trains_on_cpu(tmp_path, tiny_model_dir, data_dir,
                                       precision):
  out = str(tmp_path / "out")
  settings = run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, out, do_eval=False, num_train_steps=3,
      **{precision: True}))
  results = run_ner.run(settings)
  checkpoint = tf.train.latest_checkpoint(out)
  assert tf.train.load_variable(checkpoint, "global_step") == 3
  names = dict(tf.train.list_variables(checkpoint))
  # Variables stay float32; only fp16 keeps a loss scale.
  assert tf.train.load_variable(checkpoint, "output_weights").dtype == np.float32
  assert ("loss_scale" in names) == (precision == "use_fp16")
  assert count_token_lines(os.path.join(out, "test_predictions.txt")) == 17
  assert "entity_f1" in results["test"]


def test_bf16_is_refused_on_a_cpu_without_it(tmp_path, tiny_model_dir,
                                             data_dir, monkeypatch):
  """On a CPU without native bfloat16 (this one's /proc/cpuinfo, or one
  written without the flags where this CPU has them), --use_bf16 stops at
  the flag checks, before any work, with one line."""
  if helpers.native_bf16():
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n")
    monkeypatch.setattr(machine, "CPUINFO", str(cpuinfo))
  out = str(tmp_path / "out")
  with pytest.raises(ValueError, match=r"^--use_bf16 needs a CPU with native "
                     r"bfloat16 \(avx512_bf16 or amx_bf16 in \S*cpuinfo\), "
                     r"and this one has neither: .* Leave --use_bf16 out\.$"):
    run_ner.validate_flags_or_throw(tiny_values(
        tiny_model_dir, data_dir, out, use_bf16=True))
  assert not os.path.exists(out)


@pytest.mark.slow
def test_static_shapes_count_every_example_once(tmp_path, tiny_model_dir,
                                                data_dir):
  """TPU-style batches ([batch, max_seq_length], eval/predict padded with
  weight-0 examples) on TPUEstimator with use_tpu=False, batch sizes that do
  not divide the data: same predictions and token figures as dynamic ones."""
  out = str(tmp_path / "out")
  run_ner.run(run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, out, num_train_steps=2)))
  figures = {}
  for static in (False, True):
    settings = run_ner.validate_flags_or_throw(values(
        output_dir=out, data_dir=data_dir, do_eval=True, do_predict=True,
        max_seq_length=8, window_stride=3, eval_batch_size=4,
        predict_batch_size=5, static_shapes=static))
    figures[static] = run_ner.run(settings)
    with open(os.path.join(out, "test_predictions.txt")) as f:
      figures[static]["lines"] = f.read()
  assert figures[True]["test"]["token_micro_f1"] == figures[False]["test"][
      "token_micro_f1"]
  assert figures[True]["dev"]["loss"] == pytest.approx(
      figures[False]["dev"]["loss"], rel=1e-5)
  assert figures[True]["lines"] == figures[False]["lines"]
  assert count_token_lines(os.path.join(out, "test_predictions.txt")) == 17


def synthetic_corpus(num_sentences, seed):
  """Sentences of the tiny vocabulary's words around one disease mention."""
  rng = random.Random(seed)
  diseases = [["breast", "cancer"], ["colon", "cancer"], ["syndrome"],
              ["tumour"], ["colon", "tumour"]]
  others = ("the of and in with patients gene was is for an to cell "
            "mutation").split()
  sentences = []
  for _ in range(num_sentences):
    words = [(rng.choice(others), "O") for _ in range(rng.randint(2, 4))]
    at = rng.randint(0, len(words))
    words[at:at] = [(w, "I-Disease" if i else "B-Disease")
                    for i, w in enumerate(rng.choice(diseases))]
    sentences.append("".join("%s\t%s\n" % pair for pair in words))
  return "\n".join(sentences)


@pytest.mark.slow
def test_best_checkpoint_beats_the_last_when_the_learning_rate_overshoots(
    tmp_path, tiny_model_dir):
  data = tmp_path / "data"
  data.mkdir()
  (data / "train.tsv").write_text(synthetic_corpus(24, seed=0))
  (data / "dev.tsv").write_text(synthetic_corpus(12, seed=1))
  (data / "test.tsv").write_text(synthetic_corpus(12, seed=2))
  # The learning rate climbs through the whole run to 0.02, far past what
  # the tiny model can take: it learns the mentions, then collapses.
  out = str(tmp_path / "out")
  export = str(tmp_path / "export")
  results = run_ner.run(run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, str(data), out, max_seq_length=16, train_batch_size=4,
      learning_rate=0.02, warmup_proportion=0.99, num_train_steps=48,
      eval_every_steps=8, save_checkpoints_steps=1000, export_dir=export)))
  history = model_selection.read_eval_history(out)
  steps = [h["step"] for h in history]
  f1s = [h["dev_f1"] for h in history]
  assert steps == list(range(8, 49, 8))
  best_step = steps[f1s.index(max(f1s))]
  assert max(f1s) >= 50 and f1s[-1] < max(f1s) - 20 and best_step < 48
  assert [h["step"] for h in history if h["best"]] == [best_step]
  # best/ holds that checkpoint; dev, test and the export all use it.
  best = helpers.read_results(os.path.join(out, "best", "best_results.txt"))
  assert int(best["global_step"]) == best_step
  assert float(best["entity_f1"]) == max(f1s)
  assert tf.train.load_variable(tf.train.latest_checkpoint(out),
                                "global_step") == 48
  assert results["dev"]["global_step"] == best_step
  assert results["dev"]["entity_f1"] == max(f1s)
  assert results["test"]["global_step"] == best_step
  assert tf.train.load_variable(
      os.path.join(export, "variables", "variables"),
      "global_step") == best_step
  # --predict_with=last scores the collapsed last checkpoint instead.
  last = run_ner.run(run_ner.validate_flags_or_throw(values(
      output_dir=out, data_dir=str(data), do_eval=True, max_seq_length=16,
      window_stride=3, predict_with="last")))
  assert last["dev"]["global_step"] == 48
  assert last["dev"]["entity_f1"] == f1s[-1]


@pytest.mark.slow
def test_saved_model_predicts_like_the_estimator(tmp_path, tiny_model_dir,
                                                 data_dir):
  out = str(tmp_path / "out")
  export = str(tmp_path / "export")
  run_ner.run(run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, out, do_eval=False, num_train_steps=4,
      export_dir=export)))
  for name in ("saved_model.pb", "label_list.txt", "vocab.txt",
               "tokenizer_config.json"):
    assert os.path.exists(os.path.join(export, name)), name
  assert not os.path.exists(export + ".tmp")
  # The export alone tags the test file: the same words, gold and
  # predictions as the estimator, and the same entity-level figures.
  tagged = str(tmp_path / "tagged")
  figures = predict_saved_model.tag_file(
      export, os.path.join(data_dir, "test.tsv"), tagged,
      input_format="conll", batch_size=2)
  with open(os.path.join(out, "test_predictions.txt")) as f:
    estimator_lines = f.read()
  with open(os.path.join(tagged, "predictions.txt")) as f:
    assert f.read() == estimator_lines
  test_results = helpers.read_results(os.path.join(out, "test_results.txt"))
  assert round(figures["f1"], 2) == float(test_results["entity_f1"])
  with open(os.path.join(tagged, "results.txt")) as f:
    assert f.read().startswith(conlleval.report(figures) + "strict IOB2:\n")
  # --repair_tags decodes the same from the export as from the checkpoint.
  run_ner.run(run_ner.validate_flags_or_throw(values(
      output_dir=out, data_dir=data_dir, do_predict=True, max_seq_length=8,
      window_stride=3, repair_tags=True)))
  predict_saved_model.tag_file(
      export, os.path.join(data_dir, "test.tsv"), tagged,
      input_format="conll", batch_size=2, repair_tags=True)
  with open(os.path.join(out, "test_predictions.txt")) as f:
    estimator_lines = f.read()
  with open(os.path.join(tagged, "predictions.txt")) as f:
    assert f.read() == estimator_lines


@pytest.mark.slow
@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_saved_model_tags_raw_text_like_run_ner(tmp_path, tiny_model_dir,
                                                data_dir, head):
  out = str(tmp_path / "out")
  export = str(tmp_path / "export")
  text = tmp_path / "raw.txt"
  text.write_text("Familial breast cancer (BRCA1), colon cancer again.\n\n"
                  "Naïve tumour in Zürich; the breast cancer gene 中文.\n",
                  encoding="utf-8")
  run_ner.run(run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, out, do_eval=False, num_train_steps=6,
      head=head, predict_file=str(text), input_format="text",
      export_dir=export)))
  tagged = str(tmp_path / "tagged")
  assert predict_saved_model.tag_file(export, str(text), tagged) is None
  for ours, theirs in (("predictions.txt", "test_predictions.txt"),
                       ("entities.jsonl", "test_entities.jsonl")):
    with open(os.path.join(tagged, ours), encoding="utf-8") as f:
      from_export = f.read()
    with open(os.path.join(out, theirs), encoding="utf-8") as f:
      assert from_export == f.read(), ours
  # 11 + 12 words (CJK characters are words of their own).
  assert count_token_lines(os.path.join(tagged, "predictions.txt")) == 23


@pytest.mark.slow
@pytest.mark.slow
def test_an_export_without_its_settings_is_refused(tmp_path, tiny_model_dir,
                                                  data_dir):
  export = str(tmp_path / "export")
  run_ner.run(run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, str(tmp_path / "out"), do_eval=False,
      do_predict=False, num_train_steps=1, export_dir=export)))
  assert model_settings.read(export)[0].max_seq_length == 8
  os.remove(os.path.join(export, "tokenizer_config.json"))
  with pytest.raises(ValueError, match="is not a run_ner.py export: "
                     "tokenizer_config.json missing"):
    saved_model_backend.load_tagger(export)


def test_saved_model_tool_errors(tmp_path):
  with pytest.raises(ValueError, match=r"not a run_ner.py export: "
                     r"saved_model.pb, vocab.txt, label_list.txt, "
                     r"tokenizer_config.json missing"):
    saved_model_backend.load_tagger(str(tmp_path))
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "predict_saved_model.py"),
       "--export_dir", str(tmp_path), "--input_file", "x.txt",
       "--output_dir", str(tmp_path / "o")],
      capture_output=True, text=True, check=False)
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1].startswith(
      "predict_saved_model.py: error: %s is not a run_ner.py export" %
      tmp_path)


@pytest.mark.slow
def test_raw_text_prediction(tmp_path, tiny_model_dir, data_dir):
  out = str(tmp_path / "out")
  text = tmp_path / "raw.txt"
  lines = ["Familial breast cancer (BRCA1), breast cancer again.", "",
           "Naïve colon tumour in Zürich; the colon."]
  text.write_text("\n".join(lines) + "\n", encoding="utf-8")
  run_ner.run(run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, out, do_eval=False, num_train_steps=4,
      predict_file=str(text), input_format="text")))
  assert count_token_lines(os.path.join(out, "test_predictions.txt")) == 11 + 9
  with open(os.path.join(out, "test_entities.jsonl"), encoding="utf-8") as f:
    records = [json.loads(line) for line in f]
  assert [r["text"] for r in records] == lines
  for record in records:
    for entity in record["entities"]:
      assert record["text"][entity["start"]:entity["end"]] == entity["text"]


@pytest.mark.slow
@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_one_pass_token_figures_are_estimator_evaluates(tmp_path,
                                                        tiny_model_dir,
                                                        data_dir, head):
  """A file with gold is predicted once: the token figures and loss of the
  prediction pass are those of an estimator.evaluate pass."""
  from bert_ner.run import job as job_lib  # pylint: disable=g-import-not-at-top
  out = str(tmp_path / "out")
  settings = run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, out, do_eval=False, do_predict=False,
      num_train_epochs=30.0, head=head, learning_rate=2e-3,
      save_checkpoints_steps=1000))
  run_ner.run(settings)
  settings = run_ner.validate_flags_or_throw(tiny_values(
      tiny_model_dir, data_dir, out, do_train=False, head=head))
  job = job_lib.Job(settings)
  results = job.evaluate_and_predict(job.dev_split)  # the training text
  info = job.records(job.dev_split, sort_by_length=True)
  token = job.estimator.evaluate(input_fn=job.input_fn(info, False, 3))
  for average in ("micro", "macro"):
    for key in ("precision", "recall", "f1"):
      name = "token_%s_%s" % (average, key)
      assert results[name] == round(float(token[name]), 4), name
  assert results["loss"] == pytest.approx(float(token["eval_loss"]),
                                          rel=1e-5)
  assert results["global_step"] == int(token["global_step"])
  # A model that predicts entities: the figures compared are not all 0.
  assert results["token_micro_recall"] > 0, results
