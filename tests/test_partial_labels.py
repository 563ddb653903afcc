"""What a corpus's O teaches (model/partial_labels.py and the losses that
use its table): the allowed table by hand, the softmax loss and its
gradients in each corpus, the partial CRF against brute force."""

import itertools
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_ner.model import crf
from bert_ner.model import ner_model
from bert_ner.model import partial_labels
from bert_ner import model_settings
import modeling

LABELS = ["[PAD]", "O", "B-Disease", "B-Gene", "I-Disease", "I-Gene", "X",
          "[CLS]", "[SEP]"]


# ------------------------------------------------------ the corpora file

def test_allowed_table_by_hand():
  scopes = [("Disease",), ("Gene",), ("Disease", "Gene")]
  table = partial_labels.allowed_table(LABELS, scopes, "marginal")
  o = LABELS.index("O")
  allows = lambda c, gold: [LABELS[i] for i in np.nonzero(table[c, gold])[0]]
  assert allows(0, o) == ["O", "B-Gene", "I-Gene"]
  assert allows(1, o) == ["O", "B-Disease", "I-Disease"]
  assert allows(2, o) == ["O"]  # annotates every type: O is O
  for c in range(3):
    for gold in range(len(LABELS)):
      if gold != o:
        assert allows(c, gold) == [LABELS[gold]]
  ignore = partial_labels.allowed_table(LABELS, scopes, "ignore_o")
  assert ignore[0, o].sum() == ignore[1, o].sum() == len(LABELS)
  assert ignore[2, o].sum() == 1
  none = partial_labels.allowed_table(LABELS, scopes, "none")
  assert (none == np.eye(len(LABELS))[None]).all()
  with pytest.raises(ValueError, match="Unknown partial-label mechanism"):
    partial_labels.allowed_table(LABELS, scopes, "other")


def tiny_head_graph(tiny_model_dir, mechanism, corpus_id, head="softmax"):
  """The loss of the tiny model on two windows of labels (O, B-Disease, O,
  O) in a corpus: its loss, per token, the logits, the gradient of the O
  words' loss on the output bias, and that bias."""
  config = modeling.BertConfig.from_json_file(
      os.path.join(tiny_model_dir, "bert_config.json"))
  o, disease = LABELS.index("O"), LABELS.index("B-Disease")
  label_ids = tf.constant([[LABELS.index("[CLS]"), o, disease, o, o,
                            LABELS.index("[SEP]")]] * 2)
  weights = tf.constant([[0, 1, 1, 1, 1, 0]] * 2)
  table = partial_labels.allowed_table(LABELS, [("Disease",), ("Gene",)],
                                       mechanism)
  allowed = ner_model.gold_allowed(table, {
      "corpus_id": tf.constant([corpus_id] * 2), "label_ids": label_ids})
  tf.set_random_seed(1)
  ids = tf.constant([[2, 40, 41, 42, 43, 3], [2, 44, 45, 46, 47, 3]])
  loss, per_token, logits, _, _ = ner_model.create_model(
      config, False, {"input_ids": ids, "input_mask": tf.ones_like(ids),
                      "segment_ids": tf.zeros_like(ids),
                      "label_ids": label_ids, "label_weights": weights},
      len(LABELS), model_settings.of(None, head=head), gold_allowed=allowed)
  bias = [v for v in tf.global_variables() if v.name == "output_bias:0"][0]
  o_loss = tf.reduce_sum(tf.gather(per_token, [1, 3, 4], axis=1))
  return loss, per_token, logits, tf.gradients(o_loss, bias)[0], bias


@pytest.mark.parametrize("corpus_id", [0, 1])
@pytest.mark.parametrize("mechanism", ["marginal", "ignore_o", "none"])
def test_softmax_loss_of_a_corpus_without_a_type(tiny_model_dir, mechanism,
                                                 corpus_id):
  """In the disease corpus (corpus 0), a word tagged O costs -log(p(O) +
  p(B-Gene) + p(I-Gene)) (marginal), nothing (ignore_o) or -log p(O)
  (none); in the gene corpus (corpus 1) the same with the disease labels;
  a gold entity always costs -log p(gold). So an O word never pushes the
  labels of the types outside its corpus down (their loss's gradient on
  their bias is never above 0), as it does under `none`."""
  with tf.Graph().as_default():
    loss, per_token, logits, grad, bias = tiny_head_graph(
        tiny_model_dir, mechanism, corpus_id)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(bias.assign(np.linspace(-1, 1, len(LABELS))))
      loss, per_token, logits, grad = sess.run(
          [loss, per_token, logits, grad])
  p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
  o = LABELS.index("O")
  other = [LABELS.index(x) for x in (("B-Gene", "I-Gene") if corpus_id == 0
                                     else ("B-Disease", "I-Disease"))]
  expected_o = {"marginal": -np.log(p[:, :, [o] + other].sum(-1)),
                "ignore_o": np.zeros(p.shape[:2]),
                "none": -np.log(p[:, :, o])}[mechanism]
  for position in (1, 3, 4):
    np.testing.assert_allclose(per_token[:, position],
                               expected_o[:, position], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(per_token[:, 2],
                             -np.log(p[:, 2, LABELS.index("B-Disease")]),
                             rtol=1e-5)
  np.testing.assert_allclose(loss, per_token[:, 1:5].mean(), rtol=1e-5)
  if mechanism == "none":
    assert (grad[other] > 0).all()  # taught: not an entity of that type
  else:
    assert (grad[other] <= 1e-7).all()


def test_partial_crf_sums_the_allowed_paths():
  """partial_log_likelihood against brute force over every tag path of 3
  tags and 3 positions; one-hot gold gives log_likelihood."""
  rng = np.random.RandomState(0)
  emissions = rng.randn(1, 3, 3).astype(np.float32)
  allowed = np.array([[[1, 1, 0], [0, 1, 0], [1, 0, 1]]], np.float32)
  with tf.Graph().as_default():
    params = crf.CrfParams(3)
    partial = crf.partial_log_likelihood(tf.constant(emissions),
                                         tf.constant(allowed),
                                         tf.ones([1, 3]), params)
    gold = tf.constant([[1, 1, 2]])
    full = crf.log_likelihood(tf.constant(emissions), gold, tf.ones([1, 3]),
                              params)
    one_hot = crf.partial_log_likelihood(
        tf.constant(emissions), tf.one_hot(gold, 3), tf.ones([1, 3]), params)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      start, end, transitions = sess.run(
          [params.start, params.end, params.transitions])
      partial, full, one_hot = sess.run([partial, full, one_hot])

  def score(path):
    s = start[path[0]] + end[path[-1]] + sum(
        emissions[0, i, t] for i, t in enumerate(path))
    return s + sum(transitions[a, b] for a, b in zip(path, path[1:]))
  paths = list(itertools.product(range(3), repeat=3))
  log_z = np.logaddexp.reduce([score(p) for p in paths])
  log_allowed = np.logaddexp.reduce([
      score(p) for p in paths if all(allowed[0, i, t] for i, t in
                                     enumerate(p))])
  np.testing.assert_allclose(partial, [log_allowed - log_z], rtol=1e-5)
  np.testing.assert_allclose(one_hot, full, rtol=1e-5)
