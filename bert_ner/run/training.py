"""Training a job's estimator to its planned step: resumed from the last
checkpoint, across workers with --multi_worker, and with --do_eval in
chunks of the eval interval with dev scored after each (the best
checkpoint kept by model_selection)."""

import collections
import os
import time

import tensorflow.compat.v1 as tf

from bert_ner.run import cluster
from bert_ner.run import corpus_scores
from bert_ner.run import divergence
from bert_ner.run import model_selection
from bert_ner.run import training_plot


# What training needs of the job: the estimator; input_fn(first_step), the
# training input_fn of a (re)start at that step; the planned steps; the
# training records (tfrecords.RecordsInfo); the number of the data's
# labels (the divergence check's uniform guess); and score_dev(checkpoint),
# the dev results dict of a checkpoint (entity_f1 and the rest, combined
# over the corpora), or None without --do_eval.
Plan = collections.namedtuple("Plan", [
    "estimator", "input_fn", "num_train_steps", "num_warmup_steps",
    "train_info", "num_data_labels", "score_dev"])


def train(settings, plan, hooks=None):
  """Trains `plan` (a Plan) to its num_train_steps, resuming from the last
  checkpoint; with a score_dev, scores dev every eval interval and keeps
  the best."""
  s = settings
  latest = tf.train.latest_checkpoint(s.output_dir)
  first_step = tf.train.load_variable(latest, "global_step") if latest else 0
  if latest:
    if first_step >= plan.num_train_steps:
      tf.logging.info("Training already reached step %d of %d in %s; "
                      "nothing to train.", first_step, plan.num_train_steps,
                      s.output_dir)
      return
    tf.logging.info("Resuming training from step %d of %d (%s)",
                    first_step, plan.num_train_steps, latest)
  tf.logging.info("***** Training *****")
  tf.logging.info("  %d sentences in %d windows, batch size %d, %d steps "
                  "(%d warmup)", plan.train_info.num_examples,
                  plan.train_info.num_features, s.train_batch_size,
                  plan.num_train_steps, plan.num_warmup_steps)
  start = time.time()
  hooks = list(hooks or [])
  if not s.use_tpu:  # On TPU the loss stays on the device.
    hooks.append(divergence.DivergenceHook(s.divergence_factor,
                                           plan.num_data_labels))
  try:
    if s.num_workers:
      train_multi_worker(s, plan, plan.input_fn(first_step), hooks)
    elif plan.score_dev is None:
      plan.estimator.train(input_fn=plan.input_fn(first_step),
                           max_steps=plan.num_train_steps, hooks=hooks)
    else:
      train_with_model_selection(s, plan, first_step, hooks)
  except divergence.TrainingDivergedError as e:
    raise diverged(s, e)
  tf.logging.info("Training took %.1f s", time.time() - start)


def diverged(settings, error):
  """The error to stop a diverged run with, once the checkpoints from the
  step it diverged at are removed (nothing diverged is kept, tested or
  exported)."""
  s = settings
  kept = divergence.remove_checkpoints_from(s.output_dir, error.step)
  return divergence.TrainingDivergedError(
      "%s %s. Lower --learning_rate (it is %g), or loosen the check with "
      "--divergence_factor (now %g; 0 stops only on NaN or infinity)." % (
          error, "The last checkpoint kept is " + kept if kept else
          "No checkpoint was kept", s.learning_rate, s.divergence_factor),
      error.step)


def train_multi_worker(settings, plan, input_fn, hooks):
  """Trains with the other workers; a lost worker stops this one with
  cluster.WorkerLostError instead of a wait without end."""
  s = settings
  tf.logging.info("Training with %d workers; each step waits at most %d s "
                  "for the others (--worker_timeout_secs).", s.num_workers,
                  s.worker_timeout_secs)
  try:
    with cluster.no_session_recovery():
      # Estimator trains across workers only through train_and_evaluate;
      # the eval spec is used only if TF_CONFIG names an evaluator task.
      tf.estimator.train_and_evaluate(
          plan.estimator,
          tf.estimator.TrainSpec(input_fn, max_steps=plan.num_train_steps,
                                 hooks=hooks),
          tf.estimator.EvalSpec(input_fn, steps=1, name="train_batch"))
  except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
          tf.errors.AbortedError, tf.errors.CancelledError) as e:
    raise cluster.WorkerLostError(cluster.worker_lost_message(
        e, os.environ.get("TF_CONFIG"), s.worker_timeout_secs,
        s.output_dir))


def train_with_model_selection(settings, plan, first_step, hooks):
  """Trains in chunks of the eval interval, scoring dev after each; keeps
  the best checkpoint by dev entity F1 in OUTPUT_DIR/best. A run resumed
  from a checkpoint whose dev score was never made (killed in between)
  scores it first."""
  s = settings
  every = model_selection.eval_interval(s, plan.train_info.num_features)
  selector = model_selection.ModelSelector.resumed(
      s.output_dir, s.early_stopping_evals)
  step = first_step
  tf.logging.info("Scoring dev every %d steps", every)
  if step and not selector.has_step(step):
    select(s, plan, selector, step)
  while step < plan.num_train_steps and not selector.should_stop():
    chunk_start, step = step, min(step + every, plan.num_train_steps)
    plan.estimator.train(input_fn=plan.input_fn(chunk_start),
                         max_steps=step, hooks=hooks)
    select(s, plan, selector, step)
  if selector.should_stop():
    tf.logging.info("Early stopping at step %d: no better dev F1 in %d "
                    "evaluations.", step, s.early_stopping_evals)
  tf.logging.info("Dev entity-level scores by step (* = best):\n%s",
                  model_selection.write_eval_history(
                      s.output_dir, selector.history, selector.best_step))
  tf.logging.info("Wrote %s", training_plot.plot(s.output_dir))


def select(settings, plan, selector, step):
  """Scores dev at the latest checkpoint (of `step`), keeps it as the best
  if it is, and writes the history so far (a killed run keeps its rows)."""
  s = settings
  checkpoint = tf.train.latest_checkpoint(s.output_dir)
  results = plan.score_dev(checkpoint)
  epoch = step * s.train_batch_size / plan.train_info.num_features
  tf.logging.info("Step %d (epoch %.2f): dev entity P %.2f R %.2f F1 %.2f "
                  "(strict F1 %.2f)", step, epoch,
                  results["entity_precision"], results["entity_recall"],
                  results["entity_f1"], results.get("strict_entity_f1", 0.0))
  if selector.update(step, results):
    model_selection.keep_best(s.output_dir, checkpoint, step,
                              corpus_scores.written(results), epoch)
  model_selection.write_eval_history(s.output_dir, selector.history,
                                     selector.best_step)
