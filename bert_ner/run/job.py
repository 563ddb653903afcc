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
from bert_ner.model import ner_model
from bert_ner import model_input
from bert_ner import model_settings
from bert_ner import progress
from bert_ner.run import cluster
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

def build_label_map(settings, train_label_counts):
  """Label map from --labels_file, the training data's labels (label ->
  count) or the saved list.

  A resumed training must keep the label ids of its checkpoints.
  """
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
              settings.train_file, settings.labels_file,
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


def compute_dtype(settings):
  return (tf.float16 if settings.use_fp16 else
          tf.bfloat16 if settings.use_bf16 else tf.float32)


class Job(job_data.JobData):
  """Train, evaluate and predict with one estimator and one label map.

  The constructor does what every stage needs: it reads each split once (a
  bad line fails here, before any slow work), builds the label map,
  converts the training records (their count sets the number of steps) and
  builds the estimator.
  """

  def __init__(self, settings):
    s = self.settings = settings
    self.model_input = model_input.ModelInput.of_run(s)
    self.tokenizer = self.model_input.tokenizer
    self.reading = self.model_input.reading
    self.records_dir = os.path.join(s.output_dir, RECORDS_DIR_NAME)
    self.corpora = getattr(s, "corpus_list", None) or None
    self.train_splits = self.scan_all("train") if s.do_train else []
    self.label_map = build_label_map(s, sum(
        (x.summary.label_counts for x in self.train_splits),
        collections.Counter()) if s.do_train else None)
    tf.logging.info("Labels (%d with the specials): %s",
                    self.label_map.num_labels,
                    " ".join(self.label_map.labels))
    self.dev_splits = self.scan_all("dev") if s.do_eval else []
    self.test_splits = self.scan_all("test") if s.do_predict else []
    for split in self.dev_splits + self.test_splits:
      label_set.warn_unknown_labels(split.summary.label_counts,
                                    self.label_map, split.path)
    table = self.partial_label_table()

    self.train_info = None
    self.num_train_steps = self.num_warmup_steps = 0
    if s.do_train:
      self.train_info = self.records(
          self.train_splits if self.corpora else self.train_splits[0],
          sort_by_length=False)
      self.num_train_steps = s.num_train_steps or int(math.ceil(
          self.train_info.num_features * s.num_train_epochs /
          s.train_batch_size))
      self.num_warmup_steps = int(self.num_train_steps * s.warmup_proportion)

    model_fn = ner_model.model_fn_builder(
        bert_config=s.bert_config, label_map=self.label_map,
        init_checkpoint=s.init_checkpoint if s.do_train else None,
        learning_rate=s.learning_rate, num_train_steps=self.num_train_steps,
        num_warmup_steps=self.num_warmup_steps, use_tpu=s.use_tpu,
        use_one_hot_embeddings=s.use_tpu, head=s.head,
        feature_layers=s.feature_layers, freeze_bert=s.freeze_bert,
        crf_iob2_constraints=s.crf_iob2_constraints,
        compute_dtype=compute_dtype(s), gold_allowed_table=table)
    self.estimator = cluster.make_estimator(s, model_fn)
    self.repair = tagger.tag_repair(self.label_map, s.repair_tags)
    # TPUEstimator hands input_fn its batch size; a plain Estimator does not.
    self.replicas = len(s.mirrored_devices or ()) or s.num_workers or 1
    self.is_chief = (cluster.tf_config_is_chief(os.environ.get("TF_CONFIG"))
                     if s.num_workers else self.estimator.config.is_chief)

  # ------------------------------------------------------------- the run

  def run(self, train_hooks=None):
    """Trains, evaluates and predicts each split, exports; returns {split:
    results dict}."""
    s = self.settings
    if self.is_chief:
      for folder in (s.output_dir, self.records_dir):
        for path in file_io.remove_stale_temporary_files(folder):
          tf.logging.info("Removed %s, left by a process that is gone", path)
    if s.do_train:
      if self.is_chief:
        self.write_model_files(s.output_dir)
      training.train(self, train_hooks)
    if not self.is_chief:
      tf.logging.info("Training done; eval and predict are the chief's.")
      return {}
    results = {}
    for splits in (self.dev_splits, self.test_splits):
      if not self.corpora:
        for split in splits:
          results[split.name] = self.evaluate_and_predict(split)
      elif splits:
        results[splits[0].name] = corpus_scores.write_summary(
            s.output_dir, splits[0].name, [
                (x.corpus.name, self.evaluate_and_predict(x)) for x in splits])
    if s.export_dir:
      self.export(s.export_dir)
    return results

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
        input_fn=self.input_fn(info, False, self.settings.predict_batch_size),
        yield_single_examples=True, checkpoint_path=checkpoint_path,
        predict_keys=keys)
    if token_counter:
      predictions = token_counter.tee(predictions)
    if scores:
      predictions = with_scores(predictions)
    return words_back.iter_word_labels(
        self.examples(split), predictions, self.label_map,
        score_key="scores" if scores else None, repair=self.repair)

  def token_counter(self):
    """A token_scores.TokenCounter of this model's labels."""
    return token_scores.TokenCounter(
        self.label_map.num_labels,
        self.label_map.entity_label_ids() or self.label_map.data_label_ids())

  def evaluate_and_predict(self, split):
    """Token-level eval (with gold), predictions, entity-level scores."""
    s = self.settings
    info = self.records(split, sort_by_length=True)
    has_gold = split.summary.has_gold
    counter = self.token_counter() if has_gold else None
    folder = split.folder or s.output_dir
    out_path = os.path.join(folder, "%s_predictions.txt" % split.name)
    jsonl_path = (
        os.path.join(folder, "%s_entities.jsonl" % split.name)
        if split.input_format == "text" else None)
    output_formats = document_output.output_formats(
        s.output_format, split.input_format, split.path)
    documents = (document_output.DocumentSink(
        os.path.join(folder, "%s_predictions" % split.name), output_formats,
        scope=split.corpus.scope if split.corpus else None)
                 if output_formats else None)
    scores = self.write_predictions(info, split, out_path, jsonl_path,
                                    documents, counter)
    for path in [out_path, jsonl_path] + (documents.paths if documents
                                          else []):
      if path:
        tf.logging.info("Wrote %s", path)
    if not has_gold:
      return {}
    results = counter.results()
    results["global_step"] = self.checkpoint_step()
    if documents:
      figures = documents.counter.figures()
      results.update(document_output.mention_results(figures))
      for line in document_output.report(figures).splitlines():
        tf.logging.info("  %s", line)

    figures, strict = scores
    results.update(model_selection.entity_results(figures, strict))
    model_selection.write_results(
        model_selection.results_path(folder, split.name), results)
    tf.logging.info("***** %s results%s (entity level = conlleval; strict_ "
                    "= strict IOB2; token level = per first WordPiece) *****",
                    split.name, " of " + split.corpus.name + ", scored on "
                    "its types" if split.corpus else "")
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

  def write_predictions(self, info, split, out_path, jsonl_path=None,
                        documents=None, token_counter=None):
    """Predicts a split and streams the words out as they come back: CoNLL
    lines to out_path, entities to jsonl_path (plain-text input), the
    documents to a DocumentSink (document formats), each written whole or
    not at all.

    Returns:
      (conlleval figures, strict IOB2 figures) when the split has gold
      labels, else None.
    """
    # Scores are written only with the entities and documents.
    tagged = self.predict_words(info, split, self.eval_checkpoint(),
                                token_counter,
                                scores=bool(jsonl_path or documents))
    with documents or contextlib.ExitStack():
      return writers.write_word_labels(
          documents.tee(tagged) if documents else tagged, out_path,
          jsonl_path, score=split.summary.has_gold,
          progress_log=progress.Progress("Predicted", "sentences",
                                         split.summary.num_examples),
          iobes=self.label_map.iobes,
          scope=split.corpus.scope if split.corpus else None)


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
