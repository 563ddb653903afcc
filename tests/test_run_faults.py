"""run_ner.py under faults: a diverging run, an interrupted or killed one
resumed, what dead processes left, a second job on a folder in use."""

import glob
import logging
import os
import random
import re
import socket
import subprocess
import sys
import time

import pytest
import tensorflow.compat.v1 as tf

from bert_ner.run import model_selection
import helpers
import run_ner


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
  settings = run_ner.validate_flags_or_throw(helpers.tiny_values(
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
  settings = run_ner.validate_flags_or_throw(helpers.tiny_values(
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
def test_a_rerun_removes_what_dead_processes_left(tmp_path, trained_runs):
  out, _, data_dir = trained_runs.copy(tmp_path)
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
    run_ner.run(run_ner.validate_flags_or_throw(helpers.run_values(
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
    assert time.time() < deadline and job.poll() is None, helpers.read_text(log)[-3000:]
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
        helpers.read_text(first_log)[-3000:])
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
  assert first.wait(timeout=600) == 0, helpers.read_text(first_log)[-3000:]
  assert checkpoint_step(out) == 1000
  assert helpers.count_token_lines(os.path.join(out, "test_predictions.txt")) == 17
  # Nothing of the second job's: no eval results, its lock gone with it.
  assert not os.path.exists(os.path.join(out, "eval_results.txt"))
  assert os.listdir(os.path.join(out, ".locks")) == []
