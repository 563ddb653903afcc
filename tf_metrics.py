# coding=utf-8
"""Streaming token-level precision, recall and F1 for `eval_metric_ops`.

Each metric accumulates a confusion matrix over the evaluation and reads
its figure from it, as a `(value, update_op)` pair like `tf.metrics.*`.
These are token-level figures; the entity-level ones papers report come
from conlleval.py.
"""

import tensorflow.compat.v1 as tf

AVERAGES = ("micro", "macro", "weighted")


def streaming_confusion_matrix(labels, predictions, num_classes, weights=None,
                               name=None):
  """A [num_classes, num_classes] float64 confusion matrix (rows: gold).

  Returns:
    (total confusion matrix Tensor, update_op).
  """
  with tf.variable_scope(name, default_name="confusion_matrix"):
    total = tf.get_variable(
        "total_confusion_matrix", [num_classes, num_classes], dtype=tf.float64,
        initializer=tf.zeros_initializer(), trainable=False,
        collections=[tf.GraphKeys.LOCAL_VARIABLES,
                     tf.GraphKeys.METRIC_VARIABLES])
  labels = tf.reshape(tf.cast(labels, tf.int64), [-1])
  predictions = tf.reshape(tf.cast(predictions, tf.int64), [-1])
  if weights is not None:
    weights = tf.reshape(tf.cast(weights, tf.float64), [-1])
  current = tf.math.confusion_matrix(labels, predictions,
                                     num_classes=num_classes, weights=weights,
                                     dtype=tf.float64)
  return tf.convert_to_tensor(total), tf.assign_add(total, current)


def _safe_div(numerator, denominator):
  return tf.where(denominator > 0,
                  numerator / tf.where(denominator > 0, denominator,
                                       tf.ones_like(denominator)),
                  tf.zeros_like(numerator))


def metrics_from_confusion_matrix(cm, pos_indices=None, average="micro",
                                  beta=1.0):
  """Precision, recall and F-beta of the classes in `pos_indices`.

  Args:
    cm: float64 Tensor [num_classes, num_classes], rows gold, columns
      predicted.
    pos_indices: class ids counted as positive (all classes by default).
    average: "micro" (pool the counts of the positive classes), "macro"
      (mean of per-class figures) or "weighted" (per-class figures weighted
      by gold support).

  Returns:
    (precision, recall, fbeta) float64 scalar Tensors.
  """
  if average not in AVERAGES:
    raise ValueError("average must be one of %s, got %r." %
                     (", ".join(AVERAGES), average))
  num_classes = cm.shape[0]
  if pos_indices is None:
    pos_indices = list(range(num_classes))
  idx = tf.constant(list(pos_indices), tf.int32)
  true_pos = tf.gather(tf.linalg.diag_part(cm), idx)
  predicted = tf.gather(tf.reduce_sum(cm, axis=0), idx)
  gold = tf.gather(tf.reduce_sum(cm, axis=1), idx)
  b2 = beta * beta

  def fbeta(p, r):
    return _safe_div((1.0 + b2) * p * r, b2 * p + r)

  if average == "micro":
    precision = _safe_div(tf.reduce_sum(true_pos), tf.reduce_sum(predicted))
    recall = _safe_div(tf.reduce_sum(true_pos), tf.reduce_sum(gold))
    return precision, recall, fbeta(precision, recall)
  per_p = _safe_div(true_pos, predicted)
  per_r = _safe_div(true_pos, gold)
  per_f = fbeta(per_p, per_r)
  if average == "macro":
    return (tf.reduce_mean(per_p), tf.reduce_mean(per_r),
            tf.reduce_mean(per_f))
  share = _safe_div(gold, tf.reduce_sum(gold) * tf.ones_like(gold))
  return (tf.reduce_sum(per_p * share), tf.reduce_sum(per_r * share),
          tf.reduce_sum(per_f * share))


def _metric(index, labels, predictions, num_classes, pos_indices, weights,
            average, name):
  cm, update = streaming_confusion_matrix(labels, predictions, num_classes,
                                          weights, name=name)
  value = metrics_from_confusion_matrix(cm, pos_indices, average)[index]
  update_value = metrics_from_confusion_matrix(update, pos_indices,
                                               average)[index]
  return value, update_value


def precision(labels, predictions, num_classes, pos_indices=None,
              weights=None, average="micro"):
  """Streaming precision: `(value, update_op)`."""
  return _metric(0, labels, predictions, num_classes, pos_indices, weights,
                 average, "precision")


def recall(labels, predictions, num_classes, pos_indices=None, weights=None,
           average="micro"):
  """Streaming recall: `(value, update_op)`."""
  return _metric(1, labels, predictions, num_classes, pos_indices, weights,
                 average, "recall")


def f1(labels, predictions, num_classes, pos_indices=None, weights=None,
       average="micro"):
  """Streaming F1: `(value, update_op)`."""
  return _metric(2, labels, predictions, num_classes, pos_indices, weights,
                 average, "f1")


def precision_recall_f1(labels, predictions, num_classes, pos_indices=None,
                        weights=None, average="micro", prefix=""):
  """The three metrics over one shared confusion matrix.

  Returns:
    dict "<prefix>precision"/"recall"/"f1" -> (value, update_op).
  """
  cm, update = streaming_confusion_matrix(labels, predictions, num_classes,
                                          weights, name=prefix + "cm")
  values = metrics_from_confusion_matrix(cm, pos_indices, average)
  updates = metrics_from_confusion_matrix(update, pos_indices, average)
  return {prefix + name: (values[i], updates[i])
          for i, name in enumerate(("precision", "recall", "f1"))}
