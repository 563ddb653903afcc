"""Tests of optimization.py: schedule values, decay exclusions, training."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import helpers
import optimization


@pytest.mark.parametrize("step,expected", [
    (0, 0.0), (5, 0.5e-3), (9, 0.9e-3), (10, 0.9e-3), (55, 0.45e-3),
    (100, 0.0), (150, 0.0)])
def test_learning_rate_schedule(step, expected):
  with tf.Graph().as_default(), tf.Session() as sess:
    lr = optimization.learning_rate_schedule(
        tf.constant(step, tf.int64), init_lr=1e-3, num_train_steps=100,
        num_warmup_steps=10)
    assert sess.run(lr) == pytest.approx(expected, abs=1e-9)


def test_no_warmup():
  with tf.Graph().as_default(), tf.Session() as sess:
    lr = optimization.learning_rate_schedule(tf.constant(0, tf.int64), 2e-5,
                                             10, 0)
    assert sess.run(lr) == pytest.approx(2e-5)


def test_optimizer_reduces_loss_and_names_slots():
  with tf.Graph().as_default():
    tf.set_random_seed(0)
    x = tf.constant(np.random.RandomState(0).randn(64, 4), tf.float32)
    y = tf.reduce_sum(x * [1.0, -2.0, 3.0, 0.5], axis=1, keepdims=True)
    w = tf.get_variable("dense/kernel", [4, 1])
    b = tf.get_variable("dense/bias", [1], initializer=tf.zeros_initializer())
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
    train_op, lr = optimization.create_optimizer(loss, 0.1, 200, 10, False)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      first = sess.run(loss)
      for _ in range(200):
        sess.run(train_op)
      last, step, final_lr = sess.run([loss, tf.train.get_global_step(), lr])
      names = sorted(v.name for v in tf.global_variables())
  assert last < first * 0.05
  assert step == 200
  assert final_lr == 0.0
  assert "dense/kernel/adam_m:0" in names and "dense/bias/adam_v:0" in names


def test_weight_decay_exclusions():
  opt = optimization.AdamWeightDecayOptimizer(
      1.0, weight_decay_rate=0.01,
      exclude_from_weight_decay=list(optimization.NO_DECAY_PATTERNS))
  assert opt._do_use_weight_decay("bert/encoder/layer_0/output/dense/kernel")
  assert not opt._do_use_weight_decay(
      "bert/encoder/layer_0/output/dense/bias")
  assert not opt._do_use_weight_decay("bert/embeddings/LayerNorm/gamma")


def test_decay_applied_with_zero_gradient():
  # Zero gradient: Adam's update is 0, so only the decoupled decay moves w.
  with tf.Graph().as_default():
    w = tf.get_variable("w", initializer=tf.constant([1.0, -2.0]))
    bias = tf.get_variable("b/bias", initializer=tf.constant([1.0]))
    loss = 0.0 * tf.reduce_sum(w) + 0.0 * tf.reduce_sum(bias)
    train_op, _ = optimization.create_optimizer(loss, 0.1, 10, 0, False)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(train_op)
      w_val, b_val = sess.run([w, bias])
  np.testing.assert_allclose(w_val, [1.0 - 0.1 * 0.01, -2.0 + 0.1 * 0.02],
                             rtol=1e-6)
  np.testing.assert_allclose(b_val, [1.0])


def test_dynamic_loss_scale_reacts_to_overflow():
  with tf.Graph().as_default():
    w = tf.get_variable("w", initializer=tf.constant([1.0]))
    poison = tf.placeholder(tf.float32, [])
    loss = tf.reduce_sum(w * poison)
    scale = optimization.DynamicLossScale(initial_scale=8.0, growth_interval=2)
    train_op, _ = optimization.create_optimizer(loss, 0.1, 10, 0, False,
                                                loss_scale=scale)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(train_op, {poison: np.inf})
      assert sess.run(scale.scale) == 4.0
      assert sess.run(w)[0] == 1.0  # the overflowing step changed nothing
      sess.run(train_op, {poison: 1.0})
      sess.run(train_op, {poison: 1.0})
      assert sess.run(scale.scale) == 8.0
      assert sess.run(w)[0] < 1.0
      assert sess.run(tf.train.get_global_step()) == 3


def test_one_step_matches_bert_formula():
  # m = (1-b1) g, v = (1-b2) g^2, no bias correction,
  # w -= lr * (m / (sqrt(v) + eps) + decay * w).
  g = np.array([0.5, -2.0], np.float32)
  w0 = np.array([1.0, 3.0], np.float32)
  with tf.Graph().as_default():
    w = tf.get_variable("w", initializer=tf.constant(w0))
    opt = optimization.AdamWeightDecayOptimizer(
        0.1, weight_decay_rate=0.01, exclude_from_weight_decay=["bias"])
    op = opt.apply_gradients([(tf.constant(g), w)])
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(op)
      got = sess.run(w)
  m = 0.1 * g
  v = 0.001 * g * g
  expected = w0 - 0.1 * (m / (np.sqrt(v) + 1e-6) + 0.01 * w0)
  np.testing.assert_allclose(got, expected, rtol=1e-5)


MIRRORED_SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow.compat.v1 as tf
tf.disable_eager_execution()  # graph mode: the two logical CPUs exist
import optimization

rng = np.random.RandomState(0)
x = rng.randn(64, 4).astype(np.float32)
y = x @ np.array([[1.0], [-2.0], [3.0], [0.5]], np.float32)


def model_fn(features, labels, mode, params):
  w = tf.get_variable("dense/kernel", [4, 1],
                      initializer=tf.zeros_initializer())
  loss = tf.reduce_mean(tf.square(tf.matmul(features["x"], w) -
                                  features["y"]))
  train_op, _ = optimization.create_optimizer(loss, 0.05, 5, 0, False)
  return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


out = {}
for name, devices, batch in (("one", None, 8),
                             ("two", ["/cpu:0", "/cpu:1"], 4)):
  strategy = tf.distribute.MirroredStrategy(devices) if devices else None
  config = tf.estimator.RunConfig(
      session_config=tf.ConfigProto(device_count={"CPU": 2}),
      train_distribute=strategy)
  model_dir = sys.argv[1] + "/" + name
  estimator = tf.estimator.Estimator(model_fn, model_dir, config=config)
  estimator.train(lambda b=batch: tf.data.Dataset.from_tensor_slices(
      {"x": x, "y": y}).repeat().batch(b), max_steps=5)
  out[name] = tf.train.load_variable(tf.train.latest_checkpoint(model_dir),
                                     "dense/kernel").ravel().tolist()
print("WEIGHTS " + json.dumps(out))
"""


@pytest.mark.slow
def test_mirrored_replicas_match_one_device_at_the_same_global_batch(tmp_path):
  """Two logical CPU replicas of batch 4 train like one device of batch 8.

  Run in a fresh process: logical devices must be set before TensorFlow's
  context starts, which the other tests have already done here.
  """
  result = subprocess.run(
      [sys.executable, "-c", MIRRORED_SCRIPT, str(tmp_path)],
      cwd=helpers.ROOT, capture_output=True, text=True, timeout=600,
      env=dict(os.environ, PYTHONPATH=helpers.ROOT))
  lines = [l for l in result.stdout.splitlines() if l.startswith("WEIGHTS ")]
  assert lines, result.stderr[-3000:]
  weights = json.loads(lines[0][len("WEIGHTS "):])
  # All-reduce and one-device sums add in other orders: float noise only.
  # Five steps, while the gradients are still large: near convergence Adam
  # divides a gradient near zero by its own small root mean square, which
  # magnifies that noise (20 steps differed by 3e-4 on one machine).
  np.testing.assert_allclose(weights["two"], weights["one"], atol=1e-5)
  assert not np.allclose(weights["one"], 0.0)
