"""The model: BERT with a tagging head, and its TPUEstimator model_fn.

`create_model` and `model_fn_builder` keep the names and roles of Google's
run_classifier.py; run_ner.py imports them under those names.
"""

import tensorflow.compat.v1 as tf

from bert_ner import feature_spec
from bert_ner.model import crf
import modeling
import optimization
import tf_metrics


def create_model(bert_config, is_training, features, num_labels, settings,
                 use_one_hot_embeddings=False, compute_dtype=tf.float32,
                 predictable_label_ids=None, crf_allowed=None,
                 gold_allowed=None):
  """BERT with a dense tagging head (softmax or CRF) over every position.

  Args:
    bert_config: modeling.BertConfig.
    is_training: bool; dropout only when True.
    features: dict of int32 Tensors [batch_size, seq_length]: input_ids,
      input_mask, segment_ids; label_ids; label_weights, 1 where the
      position counts in the loss (first pieces of real words); and
      optionally predict_mask, the positions to decode with the CRF (first
      pieces of the words this window predicts; label_weights by default).
    num_labels: int, size of the label map (specials included).
    settings: model_settings.ModelSettings of the model; the head reads
      head ("softmax": cross-entropy per position; "crf": a linear chain
      over the decoded positions), feature_layers (the concatenation of
      the last N layers) and freeze_bert (no gradient into BERT, no
      dropout in it).
    use_one_hot_embeddings: bool (True on TPU).
    compute_dtype: dtype of the encoder's matmuls.
    predictable_label_ids: ids the prediction may take (the data's labels);
      all by default.
    crf_allowed: optional allowed transitions (crf.iob2_allowed).
    gold_allowed: optional float32 Tensor [batch_size, seq_length,
      num_labels], 1 on the labels a position may truly have
      (partial_labels.allowed_table: a corpus that annotates some types
      only); the loss is then -log of their summed probability (of every
      path through them with a CRF). The gold label alone by default.

  Returns:
    (loss: float32 scalar, mean negative log-likelihood per weighted
       position;
     per_token_loss: float32 [batch_size, seq_length] (with a CRF, each
       sequence's NLL spread evenly over its weighted positions);
     logits: float32 [batch_size, seq_length, num_labels];
     predicted_ids: int32 [batch_size, seq_length];
     probabilities: float32 [batch_size, seq_length, num_labels] that agree
       with predicted_ids: the softmax over the labels a word may take, or
       the CRF's per-position marginals on the decoded positions (0
       elsewhere); None when training).
  """
  logits = head_logits(bert_config, is_training, features, num_labels,
                       settings, use_one_hot_embeddings, compute_dtype)
  if predictable_label_ids is not None:
    allowed = [0.0] * num_labels
    for label_id in predictable_label_ids:
      allowed[label_id] = 1.0
    # Special labels ([PAD], X, [CLS], [SEP]) are never a word's prediction.
    masked_logits = logits + (1.0 - tf.constant(allowed)) * crf.FORBIDDEN
  else:
    masked_logits = logits
  label_ids, label_weights = features["label_ids"], features["label_weights"]
  weights = tf.cast(label_weights, tf.float32)
  total_weight = tf.maximum(tf.reduce_sum(weights), 1.0)

  if settings.head == "crf":
    params = crf.CrfParams(num_labels, allowed=crf_allowed)
    log_likelihood = (
        crf.log_likelihood(masked_logits, label_ids, label_weights, params)
        if gold_allowed is None else crf.partial_log_likelihood(
            masked_logits, gold_allowed, label_weights, params))
    loss = -tf.reduce_sum(log_likelihood) / total_weight
    count = tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)
    per_token_loss = (-log_likelihood / count)[:, None] * tf.ones_like(weights)
    decode_mask = features.get("predict_mask", label_weights)
    predicted_ids = crf.viterbi_decode(masked_logits, decode_mask, params)
    probabilities = (None if is_training else
                     crf.marginals(masked_logits, decode_mask, params))
    return loss, per_token_loss, logits, predicted_ids, probabilities

  per_token_loss = token_loss(logits, label_ids, num_labels, gold_allowed)
  loss = tf.reduce_sum(per_token_loss * weights) / total_weight
  predicted_ids = tf.argmax(masked_logits, axis=-1, output_type=tf.int32)
  probabilities = (None if is_training else
                   tf.nn.softmax(masked_logits, axis=-1))
  return loss, per_token_loss, logits, predicted_ids, probabilities


def head_logits(bert_config, is_training, features, num_labels, settings,
                use_one_hot_embeddings, compute_dtype):
  """The dense layer's logits, float32 [batch_size, seq_length,
  num_labels], over the encoder's features (see create_model)."""
  model = modeling.BertModel(
      config=bert_config, is_training=is_training and not settings.freeze_bert,
      input_ids=features["input_ids"], input_mask=features["input_mask"],
      token_type_ids=features["segment_ids"],
      use_one_hot_embeddings=use_one_hot_embeddings,
      compute_dtype=compute_dtype)
  layers = model.get_all_encoder_layers()
  feature_layers = settings.feature_layers
  if not 1 <= feature_layers <= len(layers):
    raise ValueError("feature_layers must be in [1, %d], got %d." %
                     (len(layers), feature_layers))
  encoded = (layers[-1] if feature_layers == 1 else
             tf.concat(layers[-feature_layers:], axis=-1))
  if settings.freeze_bert:
    encoded = tf.stop_gradient(encoded)
  batch_size, seq_length, width = modeling.get_shape_list(encoded,
                                                          expected_rank=3)
  output_weights = tf.get_variable(
      "output_weights", [num_labels, width],
      initializer=tf.truncated_normal_initializer(stddev=0.02))
  output_bias = tf.get_variable("output_bias", [num_labels],
                                initializer=tf.zeros_initializer())
  if is_training:
    encoded = tf.nn.dropout(encoded, rate=0.1)
  flat = tf.reshape(encoded, [-1, width])
  logits = tf.nn.bias_add(tf.matmul(flat, output_weights, transpose_b=True),
                          output_bias)
  return tf.reshape(logits, [batch_size, seq_length, num_labels])


# Names of the training loss and learning rate in the training graph (off
# TPU), for hooks that watch them (run/divergence.py).
TRAINING_LOSS_NAME = "training_watch/loss"
LEARNING_RATE_NAME = "training_watch/learning_rate"


def name_for_hooks(loss, learning_rate):
  """Names the training loss and learning rate (an absolute name scope:
  the same names under any enclosing scope)."""
  with tf.name_scope(TRAINING_LOSS_NAME.split("/")[0] + "/"):
    tf.identity(loss, name=TRAINING_LOSS_NAME.split("/")[1])
    tf.identity(learning_rate, name=LEARNING_RATE_NAME.split("/")[1])


def init_from_checkpoint(init_checkpoint, use_tpu):
  """Initialises BERT's variables from a checkpoint in Google's layout; the
  head's stay new. Returns the TPU scaffold_fn (None off TPU)."""
  tvars = tf.trainable_variables()
  assignment_map, initialized = modeling.get_assignment_map_from_checkpoint(
      tvars, init_checkpoint)
  fresh = [v.name for v in tvars if v.name not in initialized]
  tf.logging.info("Initialising %d of %d variables from %s; new: %s",
                  len(assignment_map), len(tvars), init_checkpoint,
                  ", ".join(fresh) or "none")
  if not use_tpu:
    tf.train.init_from_checkpoint(init_checkpoint, assignment_map)
    return None

  def tpu_scaffold():
    tf.train.init_from_checkpoint(init_checkpoint, assignment_map)
    return tf.train.Scaffold()

  return tpu_scaffold


def token_metric_fn(num_labels, entity_ids):
  """The eval metrics: the loss per weighted position and the token-level
  micro and macro P/R/F1 over the entity labels."""

  def metric_fn(per_token_loss, label_ids, predicted_ids, label_weights):
    metrics = {"eval_loss": tf.metrics.mean(per_token_loss,
                                            weights=label_weights)}
    for average in ("micro", "macro"):
      metrics.update(tf_metrics.precision_recall_f1(
          label_ids, predicted_ids, num_labels, pos_indices=entity_ids,
          weights=label_weights, average=average,
          prefix="token_%s_" % average))
    return metrics

  return metric_fn


def token_loss(logits, label_ids, num_labels, gold_allowed=None):
  """Per position, the softmax head's negative log-likelihood: of the gold
  label, or of any label gold_allowed allows (their summed probability)."""
  log_probs = tf.nn.log_softmax(logits, axis=-1)
  if gold_allowed is None:
    one_hot_labels = tf.one_hot(label_ids, depth=num_labels, dtype=tf.float32)
    return -tf.reduce_sum(one_hot_labels * log_probs, axis=-1)
  return -tf.reduce_logsumexp(
      tf.where(gold_allowed > 0, log_probs,
               tf.fill(tf.shape(log_probs), crf.FORBIDDEN)), axis=-1)


def model_fn_builder(bert_config, label_map, settings, init_checkpoint,
                     learning_rate, num_train_steps, num_warmup_steps,
                     use_tpu, compute_dtype=tf.float32,
                     gold_allowed_table=None):
  """Returns a `model_fn` for TPUEstimator (train, eval and predict).

  settings: model_settings.ModelSettings (the head and its options; see
  create_model). With compute_dtype float16, training uses dynamic loss
  scaling. gold_allowed_table: partial_labels.allowed_table of a run
  across corpora; each record's corpus_id picks its corpus's rows.
  """
  num_labels = label_map.num_labels
  crf_allowed = (crf.iob2_allowed(label_map.labels)
                 if settings.head == "crf" and settings.crf_iob2_constraints
                 else None)
  predictable = label_map.data_label_ids()
  entity_ids = label_map.entity_label_ids() or predictable

  def model_fn(features, labels, mode, params):  # pylint: disable=unused-argument
    is_training = mode == tf.estimator.ModeKeys.TRAIN
    inputs = dict(features)
    if "predict_mask" not in features:  # the serving signature has it
      inputs["predict_mask"] = feature_spec.predict_mask(features["word_ids"])
    (total_loss, per_token_loss, _, predicted_ids,
     probabilities) = create_model(
         bert_config, is_training, inputs, num_labels, settings,
         use_one_hot_embeddings=use_tpu, compute_dtype=compute_dtype,
         predictable_label_ids=predictable, crf_allowed=crf_allowed,
         gold_allowed=gold_allowed(gold_allowed_table, features))
    scaffold_fn = (init_from_checkpoint(init_checkpoint, use_tpu)
                   if init_checkpoint and is_training else None)

    if mode == tf.estimator.ModeKeys.TRAIN:
      loss_scale = (optimization.DynamicLossScale()
                    if compute_dtype == tf.float16 else None)
      train_op, lr = optimization.create_optimizer(
          total_loss, learning_rate, num_train_steps, num_warmup_steps,
          use_tpu, loss_scale=loss_scale)
      if not use_tpu:
        tf.summary.scalar("learning_rate", lr)
        name_for_hooks(total_loss, lr)
      return tf.estimator.tpu.TPUEstimatorSpec(
          mode=mode, loss=total_loss, train_op=train_op,
          scaffold_fn=scaffold_fn)
    if mode == tf.estimator.ModeKeys.EVAL:
      eval_metrics = (token_metric_fn(num_labels, entity_ids), [
          per_token_loss, features["label_ids"], predicted_ids,
          features["label_weights"]])
      return tf.estimator.tpu.TPUEstimatorSpec(
          mode=mode, loss=total_loss, eval_metrics=eval_metrics,
          scaffold_fn=scaffold_fn)
    return tf.estimator.tpu.TPUEstimatorSpec(
        mode=mode, predictions=prediction_outputs(
            features, predicted_ids, probabilities, per_token_loss),
        scaffold_fn=scaffold_fn)

  return model_fn


def prediction_outputs(features, predicted_ids, probabilities,
                       per_token_loss):
  """What PREDICT mode returns: the predictions, and for records (not the
  served inputs) what maps them back to words and what the token-level
  figures need, so that a file with gold tags is predicted and scored in
  one pass (run/token_scores.py)."""
  predictions = {"predicted_ids": predicted_ids,
                 "probabilities": probabilities}
  for name in ("word_ids", "example_index"):  # not served
    if name in features:
      predictions[name] = features[name]
  if "word_ids" in features:
    predictions.update(label_ids=features["label_ids"],
                       label_weights=features["label_weights"],
                       token_loss=per_token_loss)
  return predictions


def gold_allowed(table, features):
  """Per position, the labels its gold label allows in its corpus
  ([batch, seq, labels]), or None without a table (or served inputs)."""
  if table is None or "corpus_id" not in features:
    return None
  corpus_id = tf.clip_by_value(features["corpus_id"], 0, len(table) - 1)
  rows = tf.gather(tf.constant(table), corpus_id)  # [batch, labels, labels]
  return tf.gather(rows, features["label_ids"], batch_dims=1)


def serving_input_receiver_fn():
  """Serving inputs (feature_spec.SERVING_INPUTS): int32 [batch, seq] ids,
  mask, segment ids and predict_mask (1 on the first WordPiece of each word
  to tag; the CRF decodes over these positions)."""
  inputs = {n: tf.placeholder(tf.int32, [None, None], name=n)
            for n in feature_spec.SERVING_INPUTS}
  zeros = tf.zeros_like(inputs["input_ids"])
  features = dict(inputs, label_ids=zeros, label_weights=zeros)
  return tf.estimator.export.ServingInputReceiver(features, inputs)
