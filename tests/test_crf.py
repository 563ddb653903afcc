"""crf.py against brute-force enumeration of every tag path."""

import itertools

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from bert_ner.model import crf


def path_score(emissions, path, positions, trans, start, end):
  score = start[path[0]] + end[path[-1]]
  for k, (pos, tag) in enumerate(zip(positions, path)):
    score += emissions[pos, tag]
    if k:
      score += trans[path[k - 1], tag]
  return score


def brute_force(emissions, tags, mask, trans, start, end):
  """(log-likelihood, best path) of one sequence by enumeration."""
  positions = [i for i, m in enumerate(mask) if m]
  if not positions:
    return 0.0, []
  num_tags = emissions.shape[1]
  scores = {}
  for path in itertools.product(range(num_tags), repeat=len(positions)):
    scores[path] = path_score(emissions, path, positions, trans, start, end)
  values = np.array(list(scores.values()))
  log_z = values.max() + np.log(np.exp(values - values.max()).sum())
  gold = tuple(tags[p] for p in positions)
  best = max(scores, key=scores.get)
  return scores[gold] - log_z, list(best)


def run_crf(emissions, tags, mask, trans, start, end, allowed=None):
  with tf.Graph().as_default():
    params = crf.CrfParams(emissions.shape[2], allowed=allowed)
    ll = crf.log_likelihood(tf.constant(emissions), tf.constant(tags),
                            tf.constant(mask), params)
    best = crf.viterbi_decode(tf.constant(emissions), tf.constant(mask),
                              params)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run([tf.assign(params.transition_variables, trans),
                tf.assign(params.start_variables, start),
                tf.assign(params.end_variables, end)])
      return sess.run([ll, best])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_brute_force_with_masks(seed):
  rng = np.random.RandomState(seed)
  batch, seq, num_tags = 5, 6, 3
  emissions = rng.randn(batch, seq, num_tags).astype(np.float32) * 2
  tags = rng.randint(0, num_tags, (batch, seq)).astype(np.int32)
  mask = (rng.rand(batch, seq) > 0.35).astype(np.int32)
  mask[0] = 0  # a sequence with no position at all
  mask[1] = 1  # one with every position
  trans = rng.randn(num_tags, num_tags).astype(np.float32)
  start = rng.randn(num_tags).astype(np.float32)
  end = rng.randn(num_tags).astype(np.float32)
  ll, best = run_crf(emissions, tags, mask, trans, start, end)
  for b in range(batch):
    expected_ll, expected_best = brute_force(emissions[b], tags[b], mask[b],
                                             trans, start, end)
    assert ll[b] == pytest.approx(expected_ll, abs=1e-4)
    decoded = [int(best[b, i]) for i in range(seq) if mask[b, i]]
    assert decoded == expected_best


def test_masked_positions_are_skipped_exactly():
  rng = np.random.RandomState(7)
  num_tags = 4
  dense = rng.randn(1, 3, num_tags).astype(np.float32)
  tags = np.array([[1, 2, 3]], np.int32)
  trans = rng.randn(num_tags, num_tags).astype(np.float32)
  start = rng.randn(num_tags).astype(np.float32)
  end = rng.randn(num_tags).astype(np.float32)
  ll_dense, best_dense = run_crf(dense, tags, np.ones((1, 3), np.int32),
                                       trans, start, end)
  # The same chain with junk positions in between and around.
  spread = rng.randn(1, 7, num_tags).astype(np.float32) * 50
  spread[0, [1, 3, 4]] = dense[0]
  spread_tags = np.zeros((1, 7), np.int32)
  spread_tags[0, [1, 3, 4]] = tags[0]
  mask = np.zeros((1, 7), np.int32)
  mask[0, [1, 3, 4]] = 1
  ll, best = run_crf(spread, spread_tags, mask, trans, start, end)
  assert ll[0] == pytest.approx(ll_dense[0], abs=1e-5)
  assert list(best[0, [1, 3, 4]]) == list(best_dense[0])


def test_iob2_constraints():
  labels = ["[PAD]", "O", "B-D", "I-D", "B-C", "I-C", "X"]
  trans, start, _ = crf.iob2_allowed(labels)
  index = {l: i for i, l in enumerate(labels)}
  assert trans[index["O"]][index["I-D"]] == 0
  assert trans[index["B-C"]][index["I-D"]] == 0
  assert trans[index["B-D"]][index["I-D"]] == 1
  assert trans[index["I-D"]][index["I-D"]] == 1
  assert trans[index["I-D"]][index["B-C"]] == 1
  assert start[index["I-C"]] == 0 and start[index["B-C"]] == 1
  # Decoding never takes a forbidden transition, even when emissions beg.
  num_tags = len(labels)
  emissions = np.zeros((1, 2, num_tags), np.float32)
  emissions[0, 0, index["O"]] = 5.0
  emissions[0, 1, index["I-D"]] = 5.0
  emissions[0, 1, index["B-D"]] = 1.0
  zeros = np.zeros((num_tags, num_tags), np.float32)
  _, best = run_crf(emissions, np.zeros((1, 2), np.int32),
                          np.ones((1, 2), np.int32), zeros,
                          np.zeros(num_tags, np.float32),
                          np.zeros(num_tags, np.float32),
                          allowed=crf.iob2_allowed(labels))
  # O then I-D (10) is forbidden; O then B-D (6) beats B-D then I-D (5).
  assert [labels[t] for t in best[0]] == ["O", "B-D"]
  # BioBERT's untyped tags: B, I, O.
  trans, start, _ = crf.iob2_allowed(["[PAD]", "O", "B", "I", "X"])
  assert (trans[1][3], trans[2][3], trans[3][3], start[3]) == (0, 1, 1, 0)


def brute_force_marginals(emissions, mask, trans, start, end):
  """[seq, num_tags] marginals of one sequence by enumeration."""
  positions = [i for i, m in enumerate(mask) if m]
  num_tags = emissions.shape[1]
  out = np.zeros(emissions.shape)
  if not positions:
    return out
  paths = list(itertools.product(range(num_tags), repeat=len(positions)))
  scores = np.array([path_score(emissions, p, positions, trans, start, end)
                     for p in paths])
  probs = np.exp(scores - scores.max())
  probs /= probs.sum()
  for path, p in zip(paths, probs):
    for pos, tag in zip(positions, path):
      out[pos, tag] += p
  return out


@pytest.mark.parametrize("seed", [0, 1])
def test_marginals_against_brute_force(seed):
  rng = np.random.RandomState(seed)
  batch, seq, num_tags = 4, 5, 3
  emissions = rng.randn(batch, seq, num_tags).astype(np.float32) * 2
  mask = (rng.rand(batch, seq) > 0.3).astype(np.int32)
  mask[0] = 0
  mask[1] = 1
  trans = rng.randn(num_tags, num_tags).astype(np.float32)
  start = rng.randn(num_tags).astype(np.float32)
  end = rng.randn(num_tags).astype(np.float32)
  with tf.Graph().as_default():
    params = crf.CrfParams(num_tags)
    marginals = crf.marginals(tf.constant(emissions), tf.constant(mask),
                              params)
    with tf.Session() as sess:
      sess.run([tf.assign(params.transition_variables, trans),
                tf.assign(params.start_variables, start),
                tf.assign(params.end_variables, end)])
      got = sess.run(marginals)
  for b in range(batch):
    np.testing.assert_allclose(
        got[b], brute_force_marginals(emissions[b], mask[b], trans, start,
                                      end), atol=1e-5)
  np.testing.assert_allclose(got.sum(-1), mask, atol=1e-5)


def valid_iob2(tags):
  """Whether tag strings have no I-x first, after O or after another type."""
  previous = "O"
  for tag in tags:
    if tag.startswith("I"):
      if previous == "O" or previous[2:] != tag[2:]:
        return False
    previous = tag
  return True


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_tag_repair_is_the_best_valid_sequence(seed):
  labels = ["[PAD]", "O", "B-D", "I-D", "B-C", "I-C", "X", "[CLS]", "[SEP]"]
  predictable = [1, 2, 3, 4, 5]
  repair = crf.TagRepair(labels, predictable)
  rng = np.random.RandomState(seed)
  logits = rng.normal(size=(5, len(labels))) * 3
  logits[:, [0, 6, 7, 8]] = -50
  probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
  ids = repair.decode(probs)
  # Against every valid sequence over the five predictable labels.
  best, best_score = None, -np.inf
  for path in itertools.product(predictable, repeat=5):
    if valid_iob2([labels[i] for i in path]):
      score = sum(np.log(probs[i, t]) for i, t in enumerate(path))
      if score > best_score:
        best, best_score = list(path), score
  assert ids == best
  assert valid_iob2([labels[i] for i in ids])


def test_tag_repair_keeps_valid_argmax_and_fixes_invalid():
  labels = ["[PAD]", "O", "B", "I", "X"]  # BioBERT's untyped tags
  repair = crf.TagRepair(labels, [1, 2, 3])
  index = {l: i for i, l in enumerate(labels)}

  def probs(rows):
    out = np.zeros((len(rows), len(labels)))
    for i, row in enumerate(rows):
      for label, p in row.items():
        out[i, index[label]] = p
    return out

  # Valid argmax (B I O B) is kept as is.
  valid = probs([{"B": .6, "O": .4}, {"I": .7, "O": .3}, {"O": .9, "I": .1},
                 {"B": .5, "O": .5 - 1e-3, "I": 1e-3}])
  assert [labels[i] for i in repair.decode(valid)] == ["B", "I", "O", "B"]
  # O then I (argmax) becomes O B when B is likelier than O at the first
  # word... and B I when the first word's B beats the second's B.
  assert [labels[i] for i in repair.decode(probs(
      [{"O": .9, "B": .1}, {"I": .6, "B": .3, "O": .1}]))] == ["O", "B"]
  assert [labels[i] for i in repair.decode(probs(
      [{"O": .55, "B": .45}, {"I": .9, "B": .05, "O": .05}]))] == ["B", "I"]
  # An I first in the sentence, with the other labels' probabilities
  # underflowed to 0, still gets a valid tag; specials never come out.
  assert [labels[i] for i in repair.decode(probs([{"I": 1.0}]))] in (
      ["O"], ["B"])
  assert repair.decode(np.zeros((0, len(labels)))) == []
