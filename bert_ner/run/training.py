"""Training a job's estimator to its planned step: resumed from the last
checkpoint, across workers with --multi_worker, and with --do_eval in
chunks of the eval interval with dev scored after each (the best
checkpoint kept by model_selection)."""

import os
import time

import tensorflow.compat.v1 as tf

from bert_ner import label_set
from bert_ner.run import cluster
from bert_ner.run import corpus_scores
from bert_ner.run import divergence
from bert_ner.run import model_selection
from bert_ner.run import training_plot
from bert_ner.scoring import conlleval


def train(job, hooks=None):
  """Trains `job` (a job.Job) to its num_train_steps, resuming from the
  last checkpoint; with --do_eval, scores dev every eval interval and keeps
  the best."""
  s = job.settings
  latest = tf.train.latest_checkpoint(s.output_dir)
  first_step = tf.train.load_variable(latest, "global_step") if latest else 0
  if latest:
    if first_step >= job.num_train_steps:
      tf.logging.info("Training already reached step %d of %d in %s; "
                      "nothing to train.", first_step, job.num_train_steps,
                      s.output_dir)
      return
    tf.logging.info("Resuming training from step %d of %d (%s)",
                    first_step, job.num_train_steps, latest)
  tf.logging.info("***** Training *****")
  tf.logging.info("  %d sentences in %d windows, batch size %d, %d steps "
                  "(%d warmup)", job.train_info.num_examples,
                  job.train_info.num_features, s.train_batch_size,
                  job.num_train_steps, job.num_warmup_steps)
  start = time.time()
  hooks = list(hooks or [])
  if not s.use_tpu:  # On TPU the loss stays on the device.
    hooks.append(divergence.DivergenceHook(
        s.divergence_factor, len(job.label_map.data_labels)))
  try:
    if s.num_workers:
      train_multi_worker(job, train_input_fn(job, first_step), hooks)
    elif not job.dev_splits:
      job.estimator.train(input_fn=train_input_fn(job, first_step),
                          max_steps=job.num_train_steps, hooks=hooks)
    else:
      train_with_model_selection(job, first_step, hooks)
  except divergence.TrainingDivergedError as e:
    raise diverged(job, e)
  tf.logging.info("Training took %.1f s", time.time() - start)


def diverged(job, error):
  """The error to stop a diverged run with, once the checkpoints from the
  step it diverged at are removed (nothing diverged is kept, tested or
  exported)."""
  s = job.settings
  kept = divergence.remove_checkpoints_from(s.output_dir, error.step)
  return divergence.TrainingDivergedError(
      "%s %s. Lower --learning_rate (it is %g), or loosen the check with "
      "--divergence_factor (now %g; 0 stops only on NaN or infinity)." % (
          error, "The last checkpoint kept is " + kept if kept else
          "No checkpoint was kept", s.learning_rate, s.divergence_factor),
      error.step)


def train_input_fn(job, first_step):
  # Each (re)start of training builds a new input pipeline; seeding it
  # with the step it starts from keeps a resumed or chunked run from
  # replaying the first batches of the shuffle.
  s = job.settings
  return job.input_fn(job.train_info, True,
                      s.train_batch_size // job.replicas,
                      seed=s.seed + first_step)


def train_multi_worker(job, input_fn, hooks):
  """Trains with the other workers; a lost worker stops this one with
  cluster.WorkerLostError instead of a wait without end."""
  s = job.settings
  tf.logging.info("Training with %d workers; each step waits at most %d s "
                  "for the others (--worker_timeout_secs).", s.num_workers,
                  s.worker_timeout_secs)
  try:
    with cluster.no_session_recovery():
      # Estimator trains across workers only through train_and_evaluate;
      # the eval spec is used only if TF_CONFIG names an evaluator task.
      tf.estimator.train_and_evaluate(
          job.estimator,
          tf.estimator.TrainSpec(input_fn, max_steps=job.num_train_steps,
                                 hooks=hooks),
          tf.estimator.EvalSpec(input_fn, steps=1, name="train_batch"))
  except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
          tf.errors.AbortedError, tf.errors.CancelledError) as e:
    raise cluster.WorkerLostError(cluster.worker_lost_message(
        e, os.environ.get("TF_CONFIG"), s.worker_timeout_secs,
        s.output_dir))


def score_dev(job, infos, checkpoint):
  """(conlleval figures, strict IOB2 figures) of dev at `checkpoint`; across
  corpora, each scored on its types, the mean of theirs
  (corpus_scores.mean_figures)."""
  scored = []
  for split, info in zip(job.dev_splits, infos):
    counter = conlleval.ChunkCounter(job.label_map.iobes)
    scope = split.corpus.scope if split.corpus else None
    for example, labels in job.predict_words(info, split, checkpoint):
      counter.add_sentence(example.labels, label_set.in_scope(labels, scope))
    scored.append((split.corpus.name if split.corpus else split.name,
                   counter.scores()))
  if not job.corpora:
    return scored[0][1]
  for name, (figures, _) in scored:
    tf.logging.info("  dev of %s (on its types): P %.2f R %.2f F1 %.2f", name,
                    figures["precision"], figures["recall"], figures["f1"])
  return (corpus_scores.mean_figures([(n, f) for n, (f, _) in scored]),
          corpus_scores.mean_figures([(n, s) for n, (_, s) in scored]))


def train_with_model_selection(job, first_step, hooks):
  """Trains in chunks of the eval interval, scoring dev after each; keeps
  the best checkpoint by dev entity F1 in OUTPUT_DIR/best. A run resumed
  from a checkpoint whose dev score was never made (killed in between)
  scores it first."""
  s = job.settings
  every = model_selection.eval_interval(s, job.train_info.num_features)
  infos = [job.records(split, sort_by_length=True)
           for split in job.dev_splits]
  selector = model_selection.ModelSelector.resumed(
      s.output_dir, s.early_stopping_evals)
  step = first_step
  tf.logging.info("Scoring dev every %d steps", every)
  if step and not selector.has_step(step):
    select(job, infos, selector, step)
  while step < job.num_train_steps and not selector.should_stop():
    chunk_start, step = step, min(step + every, job.num_train_steps)
    job.estimator.train(input_fn=train_input_fn(job, chunk_start),
                        max_steps=step, hooks=hooks)
    select(job, infos, selector, step)
  if selector.should_stop():
    tf.logging.info("Early stopping at step %d: no better dev F1 in %d "
                    "evaluations.", step, s.early_stopping_evals)
  tf.logging.info("Dev entity-level scores by step (* = best):\n%s",
                  model_selection.write_eval_history(
                      s.output_dir, selector.history, selector.best_step))
  tf.logging.info("Wrote %s", training_plot.plot(s.output_dir))


def select(job, infos, selector, step):
  """Scores dev at the latest checkpoint (of `step`), keeps it as the best
  if it is, and writes the history so far (a killed run keeps its rows)."""
  s = job.settings
  checkpoint = tf.train.latest_checkpoint(s.output_dir)
  figures, strict = score_dev(job, infos, checkpoint)
  epoch = step * s.train_batch_size / job.train_info.num_features
  tf.logging.info("Step %d (epoch %.2f): dev entity P %.2f R %.2f F1 %.2f "
                  "(strict F1 %.2f)%s", step, epoch, figures["precision"],
                  figures["recall"], figures["f1"], strict["f1"],
                  ", the mean over corpora" if job.corpora else "")
  if selector.update(step, figures):
    model_selection.keep_best(s.output_dir, checkpoint, step, figures,
                              strict, epoch)
  model_selection.write_eval_history(s.output_dir, selector.history,
                                     selector.best_step)
