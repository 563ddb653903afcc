"""Tests of ner_model.py: the tagging heads and what they predict."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_ner import model_settings
import helpers
import modeling
import run_ner


def features(ids, label_ids, label_weights):
  """create_model's features of int32 ids [batch, seq]: mask 1, segment 0."""
  ids = tf.constant(ids)
  return {"input_ids": ids, "input_mask": tf.ones_like(ids),
          "segment_ids": tf.zeros_like(ids), "label_ids": label_ids,
          "label_weights": label_weights}

def test_create_model_loss_and_predictions():
  config = modeling.BertConfig.from_json_file(helpers.TINY_CONFIG)
  rng = np.random.RandomState(0)
  ids = rng.randint(5, 100, (3, 6)).astype(np.int32)
  label_ids = rng.randint(0, 7, (3, 6)).astype(np.int32)
  weights = rng.randint(0, 2, (3, 6)).astype(np.int32)
  with tf.Graph().as_default():
    loss, per_token, logits, predicted, probabilities = run_ner.create_model(
        config, False, features(ids, tf.constant(label_ids),
                                tf.constant(weights)), 7,
        model_settings.of(None), predictable_label_ids=[1, 2, 3])
    names = sorted(v.name for v in tf.global_variables()
                   if not v.name.startswith("bert/"))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      loss, per_token, logits, predicted, probabilities = sess.run(
          [loss, per_token, logits, predicted, probabilities])
  assert names == ["output_bias:0", "output_weights:0"]
  assert logits.shape == (3, 6, 7) and predicted.shape == (3, 6)
  log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  expected = -np.take_along_axis(log_probs, label_ids[..., None], -1)[..., 0]
  np.testing.assert_allclose(per_token, expected, rtol=1e-5)
  assert loss == pytest.approx((expected * weights).sum() / weights.sum(),
                               rel=1e-5)
  assert set(predicted.ravel()) <= {1, 2, 3}
  np.testing.assert_array_equal(predicted, logits[..., 1:4].argmax(-1) + 1)
  # The probabilities are those of the prediction: over the labels a word
  # may take, their argmax the predicted label.
  allowed = np.exp(logits[..., 1:4])
  np.testing.assert_allclose(probabilities[..., 1:4],
                             allowed / allowed.sum(-1, keepdims=True),
                             rtol=1e-5)
  np.testing.assert_allclose(probabilities[..., [0, 4, 5, 6]], 0, atol=1e-6)
  np.testing.assert_array_equal(probabilities.argmax(-1), predicted)


def test_crf_probabilities_are_marginals_of_the_decoded_positions():
  config = modeling.BertConfig.from_json_file(helpers.TINY_CONFIG)
  rng = np.random.RandomState(1)
  ids = rng.randint(5, 100, (2, 6)).astype(np.int32)
  predict_mask = np.array([[0, 1, 1, 0, 1, 0], [0, 1, 0, 0, 0, 0]], np.int32)
  with tf.Graph().as_default():
    outputs = run_ner.create_model(
        config, False, dict(features(ids, tf.zeros_like(ids),
                                     tf.constant(predict_mask)),
                            predict_mask=tf.constant(predict_mask)), 7,
        model_settings.of(None, head="crf"), predictable_label_ids=[1, 2, 3])
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      _, _, _, predicted, probabilities = sess.run(outputs)
  # A distribution over the predictable labels at each decoded position,
  # nothing elsewhere.
  np.testing.assert_allclose(probabilities.sum(-1), predict_mask, atol=1e-5)
  np.testing.assert_allclose(probabilities[..., [0, 4, 5, 6]], 0, atol=1e-5)
  # With zero transitions (a fresh CRF) the chain factorizes: each
  # position's marginal is the softmax of its emissions, and the Viterbi
  # path takes each position's most probable label.
  decoded = predict_mask.astype(bool)
  np.testing.assert_array_equal(probabilities.argmax(-1)[decoded],
                                predicted[decoded])


def test_training_graph_builds_no_probabilities():
  config = modeling.BertConfig.from_json_file(helpers.TINY_CONFIG)
  ids = np.ones((1, 4), np.int32)
  with tf.Graph().as_default():
    for head in ("softmax", "crf"):
      with tf.variable_scope(head):
        outputs = run_ner.create_model(
            config, True, features(ids, tf.zeros_like(ids),
                                   tf.ones_like(ids)), 5,
            model_settings.of(None, head=head))
      assert outputs[4] is None
      assert outputs[0].shape.as_list() == []
  with pytest.raises(ValueError, match=r"feature_layers must be in \[1, 2\]"):
    with tf.Graph().as_default():
      run_ner.create_model(
          config, False, features(ids, tf.zeros_like(ids), tf.ones_like(ids)),
          5, model_settings.of(None, feature_layers=3))
