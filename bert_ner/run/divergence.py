"""Training that diverges stops with an error, and its diverged checkpoints
are removed.

The rule: a loss that is NaN or infinite, or a loss over
--divergence_factor (10 by default; 0 turns this part off) times the
run's start: the larger of its first loss and ln(labels), the loss of a
uniform guess among the data's labels (a resumed run starts lower than a
new one, and may not be held to that). A cross-entropy per word of 10
times a guess's is no noisy batch: with 3 labels that is 11, and a model
that predicts at all stays far under it.

    hook = DivergenceHook(factor=10.0, num_labels=3)
    estimator.train(..., hooks=[hook])   # raises TrainingDivergedError
"""

import math
import os
import re

import tensorflow.compat.v1 as tf

from bert_ner import errors
from bert_ner.model import ner_model

DEFAULT_FACTOR = 10.0


class TrainingDivergedError(errors.JobError):
  """The loss went NaN, infinite or far past its start."""

  def __init__(self, message, step):
    super().__init__(message)
    self.step = step


class DivergenceHook(tf.train.SessionRunHook):
  """Raises TrainingDivergedError at the first step whose loss breaks the
  rule (see the module's docstring).

  Args:
    factor: how many times the run's start a loss may reach; 0 or less:
      only NaN and infinite losses stop training.
    num_labels: the data's labels (those the model predicts).
  """

  def __init__(self, factor=DEFAULT_FACTOR, num_labels=2):
    self.factor = factor
    self.guess_loss = math.log(max(num_labels, 2))
    self.start = None
    self._fetches = None

  def begin(self):
    graph = tf.get_default_graph()
    self._fetches = {
        "loss": graph.get_tensor_by_name(ner_model.TRAINING_LOSS_NAME + ":0"),
        "learning_rate": graph.get_tensor_by_name(
            ner_model.LEARNING_RATE_NAME + ":0"),
        "step": tf.train.get_global_step()}

  def before_run(self, run_context):
    return tf.train.SessionRunArgs(self._fetches)

  def after_run(self, run_context, run_values):
    values = run_values.results
    loss, step = float(values["loss"]), int(values["step"])
    learning_rate = float(values["learning_rate"])
    if not math.isfinite(loss):
      raise TrainingDivergedError(
          "Training diverged at step %d: the loss is %s (learning rate %.3g "
          "at that step)." % (step, loss, learning_rate), step)
    if self.start is None:
      self.start = max(loss, self.guess_loss)
    if self.factor > 0 and loss > self.factor * self.start:
      raise TrainingDivergedError(
          "Training diverged at step %d: the loss is %.3g, over %g times its "
          "start (%.3g), at learning rate %.3g." % (
              step, loss, self.factor, self.start, learning_rate), step)


def checkpoint_step(path):
  match = re.search(r"-(\d+)$", path)
  return int(match.group(1)) if match else None


def remove_checkpoints_from(output_dir, step):
  """Removes the checkpoints of `output_dir` from `step` on (diverged);
  returns the last one kept, or None."""
  state = tf.train.get_checkpoint_state(output_dir)
  if not state:
    return None
  kept = []
  for path in state.all_model_checkpoint_paths:
    if (checkpoint_step(path) or 0) >= step:
      for name in tf.io.gfile.glob(path + ".*"):
        tf.io.gfile.remove(name)
    else:
      kept.append(path)
  if kept:
    tf.train.update_checkpoint_state(output_dir, kept[-1],
                                     all_model_checkpoint_paths=kept)
    return kept[-1]
  tf.io.gfile.remove(os.path.join(output_dir, "checkpoint"))
  return None
