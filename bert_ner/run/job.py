"""The job: train, evaluate, predict and export, as run_ner.py runs them.

    job = Job(settings)    # reads the splits, builds labels, records, estimator
    results = job.run()    # train -> evaluate and predict each split -> export

A split's data flows one way: its file (corpora.formats) -> windows and
records (windowing, tfrecords) -> input_fn (input_pipeline) -> the
estimator's predictions -> one label per word (words_back) -> the
predictions file and the entity-level scores (tagging.writers, conlleval).
Training is training.py's.
"""

import collections
import contextlib
import math
import os

import tensorflow.compat.v1 as tf

from bert_ner import file_io
from bert_ner import label_set
from bert_ner.linking import mention_linking
from bert_ner.model import ner_model
from bert_ner.model import partial_labels
from bert_ner import model_input
from bert_ner import model_settings
from bert_ner import progress
from bert_ner.run import cluster
from bert_ner.run import corpus_list
from bert_ner.run import corpus_scores
from bert_ner.run import job_data
from bert_ner.run import model_selection
from bert_ner.run import token_scores
from bert_ner.run import training
from bert_ner.tagging import document_output
from bert_ner.tagging import tagger
from bert_ner.tagging import writers
from bert_ner import words_back
from bert_ner.scoring import conlleval


RECORDS_DIR_NAME = "records"

def build_label_map(settings, train_splits):
  """Label map from --labels_file, the training splits' labels or the
  saved list (without training).

  A resumed training must keep the label ids of its checkpoints.
  """
  train_label_counts = (sum((x.summary.label_counts for x in train_splits),
                            collections.Counter())
                        if train_splits else None)
  saved_path = os.path.join(settings.output_dir, model_settings.LABEL_LIST_NAME)
  if settings.labels_file:
    label_map = label_set.LabelMap.from_file(settings.labels_file)
    missing = (label_set.count_unknown_labels(train_label_counts, label_map)
               if train_label_counts is not None else None)
    if missing:
      raise ValueError(
          "The training file %s has label(s) that --labels_file %s does not "
          "list: %s. A model trained so could never predict them. Add them "
          "to the labels file, or leave --labels_file out to take the "
          "training file's labels." % (
              ", ".join(x.path for x in train_splits), settings.labels_file,
              ", ".join("%s (%d of its words)" % kv for kv in sorted(
                  missing.items()))))
  elif train_label_counts is not None:
    label_map = label_set.LabelMap.from_labels(train_label_counts)
  else:
    label_map = label_set.LabelMap.from_file(saved_path)
  if tf.io.gfile.exists(saved_path) and tf.train.latest_checkpoint(
      settings.output_dir):
    saved = label_set.LabelMap.from_file(saved_path)
    if saved.labels != label_map.labels:
      raise ValueError(
          "The labels (%s) differ from those of the model already trained in "
          "%s (%s). Use a new --output_dir, or the same labels." %
          (", ".join(label_map.data_labels), settings.output_dir,
           ", ".join(saved.data_labels)))
  return label_map


def partial_label_table(label_map, corpora, mechanism):
  """partial_labels.allowed_table of the corpora's scopes, its rule for
  each corpus logged; None when every corpus annotates every type (one
  corpus of the file flags, or corpora of full scopes: the plain loss)."""
  labels = label_map.labels
  scopes = [corpus_list.full_scope(c.scope, labels) for c in corpora]
  table = partial_labels.allowed_table(labels, scopes, mechanism)
  if partial_labels.is_full(table):
    return None
  for line in partial_labels.describe(table, labels, scopes,
                                      [c.name for c in corpora]):
    tf.logging.info("--partial_labels=%s: %s", mechanism, line)
  return table


def compute_dtype(settings):
  return (tf.float16 if settings.use_fp16 else
          tf.bfloat16 if settings.use_bf16 else tf.float32)


class Job(object):
  """Train, evaluate and predict with one estimator and one label map, over
  the run's corpora (one from the file flags, or those of --corpora).

  The constructor does what every stage needs: it reads each split once (a
  bad line fails here, before any slow work), builds the label map,
  converts the training records (their count sets the number of steps) and
  builds the estimator.
  """

  def __init__(self, settings):
    s = self.settings = settings
    self.model_input = model_input.ModelInput.of_run(s)
    reading = self.model_input.reading
    self.records_dir = os.path.join(s.output_dir, RECORDS_DIR_NAME)
    self.corpora = s.corpus_list
    read = lambda name, training=False: job_data.read_splits(
        self.corpora, name, reading, s.output_dir, training)
    self.train_splits = []
    if s.do_train:
      self.train_splits = read("train", True) + (
          read("dev", True) if s.train_with_dev else [])
    self.label_map = build_label_map(s, self.train_splits)
    tf.logging.info("Labels (%d with the specials): %s",
                    self.label_map.num_labels,
                    " ".join(self.label_map.labels))
    self.dev_splits = read("dev") if s.do_eval else []
    self.test_splits = read("test") if s.do_predict else []
    for split in self.dev_splits + self.test_splits:
      label_set.warn_unknown_labels(split.summary.label_counts,
                                    self.label_map, split.path)
    self.records = job_data.Records(s, self.model_input.tokenizer,
                                    self.records_dir, self.label_map, reading)

    self.train_info = None
    self.num_train_steps = self.num_warmup_steps = 0
    if s.do_train:
      self.train_info = self.records.training(self.train_splits)
      self.num_train_steps = s.num_train_steps or int(math.ceil(
          self.train_info.num_features * s.num_train_epochs /
          s.train_batch_size))
      self.num_warmup_steps = int(self.num_train_steps * s.warmup_proportion)

    model_fn = ner_model.model_fn_builder(
        s.bert_config, self.label_map, model_settings.of(s),
        s.init_checkpoint if s.do_train else None, s.learning_rate,
        self.num_train_steps, self.num_warmup_steps, s.use_tpu,
        compute_dtype(s), partial_label_table(self.label_map, self.corpora,
                                              s.partial_labels))
    self.estimator = cluster.make_estimator(s, model_fn)
    self.repair = tagger.tag_repair(self.label_map, s.repair_tags)
    self._linkers = None
    self.replicas = len(s.mirrored_devices or ()) or s.num_workers or 1
    self.is_chief = (cluster.tf_config_is_chief(os.environ.get("TF_CONFIG"))
                     if s.num_workers else self.estimator.config.is_chief)

  # ------------------------------------------------------------- the run

  def run(self, train_hooks=None):
    """Trains, evaluates and predicts each split, exports; returns {split:
    results dict} (combined over the corpora: corpus_scores.combine)."""
    s = self.settings
    if self.is_chief:
      for folder in (s.output_dir, self.records_dir):
        for path in file_io.remove_stale_temporary_files(folder):
          tf.logging.info("Removed %s, left by a process that is gone", path)
    if s.do_train:
      if self.is_chief:
        self.write_model_files(s.output_dir)
      training.train(s, self.training_plan(), train_hooks)
    if not self.is_chief:
      tf.logging.info("Training done; eval and predict are the chief's.")
      return {}
    results = {}
    for name, splits in (("dev", self.dev_splits), ("test",
                                                    self.test_splits)):
      if splits:
        results[name] = self.score(splits, self.eval_checkpoint(), write=True)
        corpus_scores.write_combined(s.output_dir, name, results[name])
    if s.export_dir:
      self.export(s.export_dir)
    return results

  def training_plan(self):
    """What training.train needs: the estimator, the input, the steps and
    the dev scoring between chunks (with --do_eval)."""
    s = self.settings
    # Each (re)start of training builds a new input pipeline; seeding it
    # with the step it starts from keeps a resumed or chunked run from
    # replaying the first batches of the shuffle.
    input_fn = lambda first_step: self.records.input_fn(
        self.train_info, True, s.train_batch_size // self.replicas,
        seed=s.seed + first_step)
    score_dev = ((lambda checkpoint: self.score(self.dev_splits, checkpoint))
                 if self.dev_splits else None)
    return training.Plan(self.estimator, input_fn, self.num_train_steps,
                         self.num_warmup_steps, self.train_info,
                         len(self.label_map.data_labels), score_dev)

  def write_model_files(self, folder):
    """The model's settings, vocabulary and labels beside the checkpoints
    (so the output folder alone serves predict-only runs), with its BERT
    config, or beside an export."""
    s = self.settings
    if folder == s.output_dir:
      file_io.atomic_write_text(
          os.path.join(folder, model_settings.BERT_CONFIG_NAME),
          s.bert_config.to_json_string())
    with tf.io.gfile.GFile(s.vocab_file, "rb") as f:
      vocab = f.read()  # read first: it may be this folder's own copy
    with tf.io.gfile.GFile(os.path.join(folder, model_settings.VOCAB_NAME),
                           "wb") as f:
      f.write(vocab)
    model_settings.write(folder, s, self.label_map)

  def export(self, export_dir):
    """Writes the SavedModel of the checkpoint that evaluates and predicts
    (the best by dev F1 unless --predict_with=last), with its labels and
    vocabulary, to `export_dir` (replacing what was there)."""
    base = export_dir.rstrip("/") + ".tmp"
    if tf.io.gfile.exists(base):
      tf.io.gfile.rmtree(base)
    path = self.estimator.export_saved_model(
        base, ner_model.serving_input_receiver_fn,
        checkpoint_path=self.eval_checkpoint())
    path = path.decode("utf-8") if isinstance(path, bytes) else path
    self.write_model_files(path)
    if tf.io.gfile.exists(export_dir):
      tf.io.gfile.rmtree(export_dir)
    tf.io.gfile.rename(path, export_dir)
    tf.io.gfile.rmtree(base)
    tf.logging.info("Exported the SavedModel to %s", export_dir)

  # ------------------------------------------- evaluation and prediction

  def eval_checkpoint(self):
    """The checkpoint to evaluate and predict with after training."""
    s = self.settings
    if s.predict_with != "best":
      return None
    best = model_selection.best_checkpoint(s.output_dir)
    if best:
      tf.logging.info("Evaluating and predicting with the best checkpoint, "
                      "%s (--predict_with=last for the last one)", best)
    return best

  def score(self, splits, checkpoint, write=False):
    """Scores a split of each corpus at `checkpoint` and combines them
    (corpus_scores.combine): dev between training chunks (write=False:
    the entity-level figures alone), and dev and test after training
    (write=True: each corpus's predictions, token-level figures and
    results file in its folder too)."""
    return corpus_scores.combine([
        (split.corpus.name, self.evaluate(split, checkpoint, write))
        for split in splits])

  def predict_words(self, info, split, checkpoint_path=None,
                    token_counter=None, scores=False):
    """Streams (example, one predicted label per word) for a split, in file
    order, from its records; `token_counter` (token_scores.TokenCounter)
    gets the token-level counts on the way. With `scores`, also per word
    the probability of its label (the probabilities are fetched only then,
    or for --repair_tags)."""
    keys = ["predicted_ids", "word_ids", "example_index"]
    keys += ["probabilities"] if self.repair or scores else []
    keys += list(token_scores.PREDICT_KEYS) if token_counter else []
    predictions = self.estimator.predict(
        input_fn=self.records.input_fn(info, False,
                                       self.settings.predict_batch_size),
        yield_single_examples=True, checkpoint_path=checkpoint_path,
        predict_keys=keys)
    if token_counter:
      predictions = token_counter.tee(predictions)
    if scores:
      predictions = with_scores(predictions)
    return words_back.iter_word_labels(
        job_data.examples(split, self.model_input.reading), predictions,
        self.label_map, score_key="scores" if scores else None,
        repair=self.repair)

  def linkers(self):
    """The linkers of --linker_dir (mention_linking.MentionLinkers,
    loaded at the first split written), or None."""
    if self._linkers is None and self.settings.linker_dir:
      self._linkers = mention_linking.MentionLinkers.load(
          self.settings.linker_dir, tagger.entity_types(self.label_map))
    return self._linkers

  def token_counter(self):
    """A token_scores.TokenCounter of this model's labels."""
    return token_scores.TokenCounter(
        self.label_map.num_labels,
        self.label_map.entity_label_ids() or self.label_map.data_label_ids())

  def evaluate(self, split, checkpoint, write=True):
    """Predicts a split at `checkpoint` and scores it on its corpus's
    types; returns its results dict ({} without gold). With `write`, the
    predictions (CoNLL, entities of plain text, documents) go to the
    split's folder as they come, with the token-level figures and the
    results file."""
    s = self.settings
    info = self.records.of(split)
    has_gold = split.summary.has_gold
    folder, name = split.folder, split.name
    counter = self.token_counter() if has_gold and write else None
    jsonl_path = (os.path.join(folder, "%s_entities.jsonl" % name)
                  if write and split.input_format == "text" else None)
    output_formats = document_output.output_formats(
        s.output_format, split.input_format, split.path) if write else None
    linkers = self.linkers() if write else None
    documents = (document_output.DocumentSink(
        os.path.join(folder, "%s_predictions" % name), output_formats,
        scope=split.corpus.scope, linkers=linkers)
                 if output_formats else None)
    out_path = (os.path.join(folder, "%s_predictions.txt" % name) if write
                else None)
    # Scores are written only with the entities and documents.
    tagged = self.predict_words(info, split, checkpoint, counter,
                                scores=bool(jsonl_path or documents))
    with documents or contextlib.ExitStack():
      scores = writers.write_word_labels(
          documents.tee(tagged) if documents else tagged, out_path,
          jsonl_path, score=has_gold,
          progress_log=progress.Progress("Predicted", "sentences",
                                         split.summary.num_examples)
          if write else None,
          iobes=self.label_map.iobes, scope=split.corpus.scope,
          linkers=linkers)
    for path in [out_path, jsonl_path] + (documents.paths if documents
                                          else []):
      if path:
        tf.logging.info("Wrote %s", path)
    if not has_gold:
      return {}
    figures, strict = scores
    entities = model_selection.entity_results(figures, strict)
    if not write:
      return entities
    results = counter.results()
    results["global_step"] = self.checkpoint_step()
    if documents:
      mentions = documents.counter.figures()
      results.update(document_output.mention_results(mentions))
      for line in document_output.report(mentions).splitlines():
        tf.logging.info("  %s", line)
    results.update(entities)
    model_selection.write_results(
        model_selection.results_path(folder, name), results)
    tf.logging.info("***** %s results%s (entity level = conlleval; strict_ "
                    "= strict IOB2; token level = per first WordPiece) *****",
                    name, corpus_list.describe(split.corpus))
    for line in conlleval.report(figures).splitlines():
      tf.logging.info("  %s", line)
    for key in sorted(results):
      tf.logging.info("  %s = %s", key, results[key])
    return results

  def checkpoint_step(self):
    """The global step of the checkpoint that evaluates and predicts."""
    path = self.eval_checkpoint() or tf.train.latest_checkpoint(
        self.settings.output_dir)
    return int(tf.train.load_variable(path, tf.GraphKeys.GLOBAL_STEP))


def with_scores(predictions):
  """Each prediction with "scores": per position, the probability of the
  label predicted there (as the tagging core's backends give it)."""
  for prediction in predictions:
    prediction["scores"] = words_back.chosen_probabilities(
        prediction["predicted_ids"], prediction["probabilities"])
    yield prediction


def run(settings, train_hooks=None):
  """Runs the job described by `settings`; returns {split: results}."""
  return Job(settings).run(train_hooks=train_hooks)
