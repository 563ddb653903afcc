"""run_ner.py on several devices and workers, as it runs: MirroredStrategy
on two logical CPUs, workers as processes on 127.0.0.1 with each model
layout, a worker that never starts, one that dies."""

import json
import os
import subprocess
import sys
import time

import pytest
import tensorflow.compat.v1 as tf

import helpers
import run_ner


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
  assert helpers.count_token_lines(os.path.join(out, "test_predictions.txt")) == 17
  assert "entity_f1" in helpers.read_results(
      os.path.join(out, "eval_results.txt"))
  with pytest.raises(ValueError, match="must divide evenly over the 3"):
    run_ner.validate_flags_or_throw(helpers.tiny_values(
        tiny_model_dir, data_dir, out, mirrored_devices="/cpu:0,/cpu:1,/cpu:2",
        train_batch_size=4))


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


def run_two_workers(command, tmp_path):
  """Runs `command` as the two workers of a job on 127.0.0.1, each to a
  clean exit; returns their log paths."""
  workers = ["127.0.0.1:%d" % helpers.free_port(),
             "127.0.0.1:%d" % helpers.free_port()]
  logs = [str(tmp_path / ("worker%d.log" % i)) for i in range(2)]
  processes = [start_worker(command, workers, i, logs[i]) for i in range(2)]
  for p, log in zip(processes, logs):
    assert p.wait(timeout=600) == 0, helpers.read_text(log)[-3000:]
  return logs


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["google", "hf"])
def test_two_workers_on_loopback_train_one_set_of_checkpoints(
    tmp_path, tiny_model_dir, data_dir, layout):
  """--multi_worker: two processes, TF_CONFIG on 127.0.0.1, one job; an HF
  model is converted once, by the chief."""
  model_dir = (hf_copy(tiny_model_dir, tmp_path) if layout == "hf"
               else tiny_model_dir)
  out = str(tmp_path / "out")
  logs = run_two_workers(worker_command(model_dir, data_dir, out), tmp_path)
  assert tf.train.load_variable(tf.train.latest_checkpoint(out),
                                "global_step") == 6
  # The chief predicted; the other worker left the outputs alone.
  assert helpers.count_token_lines(os.path.join(out, "test_predictions.txt")) == 17
  assert "eval and predict are the chief's" in helpers.read_text(logs[1])
  checkpoints = [p for p in os.listdir(out) if p.endswith(".index")]
  assert sorted(checkpoints) == ["model.ckpt-0.index", "model.ckpt-3.index",
                                 "model.ckpt-6.index"]
  converted = [name for name in os.listdir(out) if "init_model" in name]
  if layout == "hf":
    assert converted == ["init_model"]
    assert "Converting the HF model" in helpers.read_text(logs[0])
    assert "Converting the HF model" not in helpers.read_text(logs[1])
    assert os.path.exists(os.path.join(out, "init_model",
                                       "converted_from.json"))
  else:
    assert converted == []
  assert os.listdir(os.path.join(out, ".locks")) == []


@pytest.mark.slow
def test_worker_that_never_starts_stops_the_chief(tmp_path, tiny_model_dir,
                                                  data_dir):
  out = str(tmp_path / "out")
  missing = "127.0.0.1:%d" % helpers.free_port()
  workers = ["127.0.0.1:%d" % helpers.free_port(), missing]
  log = str(tmp_path / "worker0.log")
  start = time.time()
  chief = start_worker(
      worker_command(hf_copy(tiny_model_dir, tmp_path), data_dir, out, 6,
                     "--worker_timeout_secs=15"), workers, 0, log)
  assert chief.wait(timeout=600) == 1, helpers.read_text(log)[-3000:]
  text = helpers.read_text(log)
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
  workers = ["127.0.0.1:%d" % helpers.free_port(), "127.0.0.1:%d" % helpers.free_port()]
  hf_dir = hf_copy(tiny_model_dir, tmp_path)
  log = str(tmp_path / "worker1.log")
  worker = start_worker(
      worker_command(hf_dir, data_dir, out, 6, "--worker_timeout_secs=3"),
      workers, 1, log)
  assert worker.wait(timeout=300) == 2, helpers.read_text(log)[-3000:]
  assert ("run_ner.py: error: Waited 3 s (--worker_timeout_secs) for the "
          "chief worker to convert the HF model in %s into %s" %
          (hf_dir, os.path.join(out, "init_model"))) in helpers.read_text(log)
  # It never converted nor removed anything.
  assert [n for n in os.listdir(out) if "init_model" in n] == []


@pytest.mark.slow
def test_killed_worker_stops_the_other_and_the_job_resumes(
    tmp_path, tiny_model_dir, data_dir):
  out = str(tmp_path / "out")
  workers = ["127.0.0.1:%d" % helpers.free_port(), "127.0.0.1:%d" % helpers.free_port()]
  command = worker_command(tiny_model_dir, data_dir, out, 3000,
                           "--worker_timeout_secs=60")
  logs = [str(tmp_path / ("worker%d.log" % i)) for i in range(2)]
  processes = [start_worker(command, workers, i, logs[i]) for i in range(2)]
  deadline = time.time() + 300
  while not tf.train.latest_checkpoint(out) or tf.train.load_variable(
      tf.train.latest_checkpoint(out), "global_step") < 3:
    assert time.time() < deadline and processes[0].poll() is None, (
        helpers.read_text(logs[0])[-3000:])
    time.sleep(0.2)
  processes[1].kill()
  killed_at = time.time()
  assert processes[0].wait(timeout=300) == 1, helpers.read_text(logs[0])[-3000:]
  # A peer that is gone fails the step at once, not after the time limit.
  assert time.time() - killed_at < 60
  text = helpers.read_text(logs[0])
  assert ("Lost a worker of this --multi_worker job: /job:worker/task:1 "
          "(%s) does not answer" % workers[1]) in text
  assert "Start every worker again with the same command" in text
  reached = tf.train.load_variable(tf.train.latest_checkpoint(out),
                                   "global_step")
  assert 3 <= reached < 3000

  # The same command on both workers resumes from the last checkpoint.
  workers = ["127.0.0.1:%d" % helpers.free_port(), "127.0.0.1:%d" % helpers.free_port()]
  command = worker_command(tiny_model_dir, data_dir, out, reached + 6,
                           "--worker_timeout_secs=60")
  processes = [start_worker(command, workers, i, logs[i]) for i in range(2)]
  for p, log in zip(processes, logs):
    assert p.wait(timeout=600) == 0, helpers.read_text(log)[-3000:]
  assert "Restoring parameters from %s" % os.path.join(
      out, "model.ckpt-%d" % reached) in helpers.read_text(logs[0])
  assert tf.train.load_variable(tf.train.latest_checkpoint(out),
                                "global_step") == reached + 6
  assert helpers.count_token_lines(os.path.join(out, "test_predictions.txt")) == 17


@pytest.mark.slow
def test_two_workers_train_across_corpora(tmp_path, tiny_model_dir, data_dir):
  """--multi_worker with --corpora: both workers read the corpora and
  train one set of checkpoints; the chief predicts each corpus."""
  genes = tmp_path / "genes"
  genes.mkdir()
  for split in ("train", "test"):
    (genes / ("%s.tsv" % split)).write_text(
        "BRCA1\tB-GENE\ngene\tO\n\nThe\tO\nBRCA2\tB-GENE\n")
  corpora = tmp_path / "corpora.json"
  corpora.write_text(json.dumps([
      {"name": "diseases", "entity_types": "Disease", "data_dir": data_dir},
      {"name": "genes", "entity_types": "GENE=Gene",
       "data_dir": str(genes)}]))
  out = str(tmp_path / "out")
  command = [arg for arg in worker_command(tiny_model_dir, data_dir, out)
             if not arg.startswith("--data_dir=")] + ["--corpora=%s" % corpora]
  logs = run_two_workers(command, tmp_path)
  assert tf.train.load_variable(tf.train.latest_checkpoint(out),
                                "global_step") == 6
  assert "eval and predict are the chief's" in helpers.read_text(logs[1])
  for name, words in (("diseases", 17), ("genes", 4)):
    assert helpers.count_token_lines(os.path.join(
        out, "corpora", name, "test_predictions.txt")) == words
  summary = helpers.read_results(os.path.join(out, "test_results.txt"))
  assert summary["corpora"] == "diseases genes"
