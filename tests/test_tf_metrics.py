"""tf_metrics.py against plain numpy on random data."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tf_metrics


def numpy_prf(labels, preds, weights, num_classes, pos, average):
  cm = np.zeros((num_classes, num_classes))
  for l, p, w in zip(labels, preds, weights):
    cm[l, p] += w
  tp = np.array([cm[i, i] for i in pos])
  predicted = np.array([cm[:, i].sum() for i in pos])
  gold = np.array([cm[i, :].sum() for i in pos])

  def div(a, b):
    return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)

  if average == "micro":
    p = div(tp.sum(), predicted.sum())
    r = div(tp.sum(), gold.sum())
    return p, r, div(2 * p * r, p + r)
  per_p, per_r = div(tp, predicted), div(tp, gold)
  per_f = div(2 * per_p * per_r, per_p + per_r)
  if average == "macro":
    return per_p.mean(), per_r.mean(), per_f.mean()
  share = gold / gold.sum()
  return (per_p * share).sum(), (per_r * share).sum(), (per_f * share).sum()


@pytest.mark.parametrize("average", ["micro", "macro", "weighted"])
def test_streaming_metrics_match_numpy(average):
  rng = np.random.RandomState(3)
  num_classes, pos = 6, [1, 2, 4]
  batches = [(rng.randint(0, num_classes, (4, 9)),
              rng.randint(0, num_classes, (4, 9)),
              rng.randint(0, 2, (4, 9))) for _ in range(5)]
  with tf.Graph().as_default():
    labels = tf.placeholder(tf.int32, [None, None])
    preds = tf.placeholder(tf.int32, [None, None])
    weights = tf.placeholder(tf.int32, [None, None])
    metrics = tf_metrics.precision_recall_f1(labels, preds, num_classes, pos,
                                             weights, average)
    single = tf_metrics.f1(labels, preds, num_classes, pos, weights, average)
    with tf.Session() as sess:
      sess.run(tf.local_variables_initializer())
      for l, p, w in batches:
        sess.run([m[1] for m in metrics.values()] + [single[1]],
                 {labels: l, preds: p, weights: w})
      values = sess.run({k: v[0] for k, v in metrics.items()})
      single_value = sess.run(single[0])
  all_l = np.concatenate([b[0].ravel() for b in batches])
  all_p = np.concatenate([b[1].ravel() for b in batches])
  all_w = np.concatenate([b[2].ravel() for b in batches])
  p, r, f = numpy_prf(all_l, all_p, all_w, num_classes, pos, average)
  assert values["precision"] == pytest.approx(p, abs=1e-12)
  assert values["recall"] == pytest.approx(r, abs=1e-12)
  assert values["f1"] == pytest.approx(f, abs=1e-12)
  assert single_value == pytest.approx(f, abs=1e-12)
  assert 0 < f < 1


def test_weights_exclude_positions_and_empty_is_zero():
  with tf.Graph().as_default():
    metrics = tf_metrics.precision_recall_f1(
        tf.constant([1, 1, 2]), tf.constant([1, 2, 2]), 3, [1, 2],
        tf.constant([1, 0, 1]))
    empty = tf_metrics.precision(tf.constant([0]), tf.constant([0]), 3, [1])
    with tf.Session() as sess:
      sess.run(tf.local_variables_initializer())
      sess.run([m[1] for m in metrics.values()] + [empty[1]])
      assert sess.run(metrics["f1"][0]) == 1.0
      assert sess.run(empty[0]) == 0.0


def test_bad_average():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match="average must be one of"):
      tf_metrics.recall(tf.constant([0]), tf.constant([0]), 2, average="avg")
