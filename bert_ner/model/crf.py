# coding=utf-8
"""A linear-chain CRF in TensorFlow 1.x style, with masked positions.

The chain runs over the positions whose mask is 1 (in NER: the first
WordPiece of each word); positions with mask 0 (`X` pieces, [CLS], [SEP],
padding) are skipped, not tagged: transitions link consecutive unmasked
positions. Shapes are static-friendly (a scan over the sequence axis), so
it runs on TPU as well as CPU/GPU.

Scores: start[t_1] + sum_i emissions[i, t_i] + sum_i transitions[t_{i-1}, t_i]
+ end[t_n], over the unmasked positions 1..n.
"""

import re

import numpy as np
import tensorflow.compat.v1 as tf

# Added to forbidden transitions and to the emissions of labels that are
# never a word's tag: exp() of it is 0, and it stays finite.
FORBIDDEN = -10000.0


class CrfParams(object):
  """The CRF's variables: transitions [L, L] (from, to), start [L], end [L]."""

  def __init__(self, num_tags, allowed=None, scope="crf"):
    """
    Args:
      num_tags: int.
      allowed: optional (allowed_transitions [L, L], allowed_start [L],
        allowed_end [L]) lists of 0/1; forbidden ones get FORBIDDEN added.
      scope: variable scope.
    """
    with tf.variable_scope(scope):
      self.transition_variables = tf.get_variable(
          "transitions", [num_tags, num_tags],
          initializer=tf.zeros_initializer())
      self.start_variables = tf.get_variable(
          "start_transitions", [num_tags], initializer=tf.zeros_initializer())
      self.end_variables = tf.get_variable(
          "end_transitions", [num_tags], initializer=tf.zeros_initializer())
    # The scores used: the variables plus FORBIDDEN where not allowed.
    self.transitions = tf.identity(self.transition_variables)
    self.start = tf.identity(self.start_variables)
    self.end = tf.identity(self.end_variables)
    if allowed is not None:
      trans_ok, start_ok, end_ok = allowed
      self.transitions += (1.0 - tf.constant(trans_ok, tf.float32)) * FORBIDDEN
      self.start += (1.0 - tf.constant(start_ok, tf.float32)) * FORBIDDEN
      self.end += (1.0 - tf.constant(end_ok, tf.float32)) * FORBIDDEN


def iob2_allowed(labels):
  """Allowed transitions for IOB2 tags: no O/start -> I-x, no B-x -> I-y.

  Labels that are not IOB2 tags (the special ones) are left unconstrained;
  their emissions are masked instead.

  Returns:
    (transitions [L][L], start [L], end [L]) lists of 0/1.
  """
  def parse(label):
    match = re.match(r"^([BI])-(.+)$", label)
    return (match.group(1), match.group(2)) if match else (label, None)

  parsed = [parse(l) for l in labels]
  n = len(labels)
  trans = [[1] * n for _ in range(n)]
  start = [1] * n
  for j, (tag, type_) in enumerate(parsed):
    if tag != "I":
      continue
    start[j] = 0
    for i, (prev_tag, prev_type) in enumerate(parsed):
      if prev_tag not in ("B", "I") or prev_type != type_:
        trans[i][j] = 0
  return trans, start, [1] * n


class TagRepair(object):
  """Valid IOB2 tags from a softmax head's per-word probabilities
  (--repair_tags): the tag sequence with the highest product of
  probabilities among those with no I-x after O, after another type or at
  the start of a sentence (Viterbi over log-probabilities, transitions
  0 or forbidden). Where the argmax tags are valid they are kept.
  """

  def __init__(self, labels, predictable_ids):
    trans, start, _ = iob2_allowed(labels)
    self.transitions = np.where(np.array(trans, bool), 0.0, -np.inf)
    self.start = np.where(np.array(start, bool), 0.0, -np.inf)
    self.emission_mask = np.full(len(labels), -np.inf)
    self.emission_mask[list(predictable_ids)] = 0.0

  def decode(self, probabilities):
    """probabilities: float [words, labels] -> list of label ids."""
    # A floor for probabilities that underflowed to 0, so that a valid path
    # always has a finite score.
    scores = np.log(np.maximum(np.asarray(probabilities, np.float64), 1e-300))
    scores = scores + self.emission_mask
    if not len(scores):
      return []
    best = self.start + scores[0]
    back = []
    for row in scores[1:]:
      candidates = best[:, None] + self.transitions
      back.append(np.argmax(candidates, axis=0))
      best = candidates.max(axis=0) + row
    path = [int(np.argmax(best))]
    for pointers in reversed(back):
      path.append(int(pointers[path[-1]]))
    return path[::-1]


def _num_tags(emissions):
  """The tag count: static when known (ONNX's OneHot needs a constant
  depth), else from the shape."""
  return tf.compat.dimension_value(emissions.shape[-1]) or tf.shape(
      emissions)[2]


def _time_major(x):
  rank = len(x.shape)
  return tf.transpose(x, [1, 0] + list(range(2, rank)))


def log_likelihood(emissions, tags, mask, params):
  """Log-likelihood of the tag sequences under the CRF.

  Args:
    emissions: float32 Tensor [batch, seq, num_tags].
    tags: int32 Tensor [batch, seq] (ignored where mask is 0).
    mask: Tensor [batch, seq], 1 on the positions of the chain.
    params: CrfParams.

  Returns:
    float32 Tensor [batch]: log p(tags | emissions); 0 for a sequence
    without any unmasked position.
  """
  emissions = tf.cast(emissions, tf.float32)
  mask = tf.cast(mask, tf.bool)
  num_tags = tf.shape(emissions)[2]
  batch = tf.shape(emissions)[0]
  tag_onehot = tf.one_hot(tags, num_tags, dtype=tf.float32)
  emit_scores = tf.reduce_sum(emissions * tag_onehot, axis=-1)  # [B, S]

  def step(state, inputs):
    alpha, prev_onehot, score, started = state
    emit, onehot, emit_score, m = inputs
    m_f = tf.cast(m, tf.float32)[:, None]
    # Forward algorithm: first position from start, then from alpha.
    from_prev = tf.reduce_logsumexp(
        alpha[:, :, None] + params.transitions[None, :, :], axis=1) + emit
    first = params.start[None, :] + emit
    new_alpha = tf.where(started, from_prev, first)
    alpha = m_f * new_alpha + (1.0 - m_f) * alpha
    # Gold path score.
    trans = tf.reduce_sum(
        tf.matmul(prev_onehot, params.transitions) * onehot, axis=-1)
    gold = tf.where(started, trans, tf.reduce_sum(
        params.start[None, :] * onehot, axis=-1)) + emit_score
    score += tf.where(m, gold, tf.zeros_like(gold))
    prev_onehot = tf.where(m, onehot, prev_onehot)
    started = tf.logical_or(started, m)
    return alpha, prev_onehot, score, started

  init = (tf.zeros([batch, num_tags]), tf.zeros([batch, num_tags]),
          tf.zeros([batch]), tf.zeros([batch], tf.bool))
  alpha, last_onehot, score, started = tf.scan(
      step, (_time_major(emissions), _time_major(tag_onehot),
             _time_major(emit_scores), _time_major(mask)), initializer=init)
  alpha, last_onehot, score, started = (alpha[-1], last_onehot[-1], score[-1],
                                        started[-1])
  log_z = tf.reduce_logsumexp(alpha + params.end[None, :], axis=1)
  score += tf.reduce_sum(last_onehot * params.end[None, :], axis=-1)
  return tf.where(started, score - log_z, tf.zeros_like(score))


def log_partition(emissions, mask, params):
  """log of the summed score of every tag path over the unmasked
  positions (forward algorithm): float32 [batch]; 0 without any."""
  emissions = tf.cast(emissions, tf.float32)
  mask = tf.cast(mask, tf.bool)

  def step(state, inputs):
    alpha, started = state
    emit, m = inputs
    from_prev = tf.reduce_logsumexp(
        alpha[:, :, None] + params.transitions[None, :, :], axis=1) + emit
    new_alpha = tf.where(started, from_prev, params.start[None, :] + emit)
    m_f = tf.cast(m, tf.float32)[:, None]
    return (m_f * new_alpha + (1.0 - m_f) * alpha,
            tf.logical_or(started, m))

  batch, num_tags = tf.shape(emissions)[0], tf.shape(emissions)[2]
  alpha, started = tf.scan(
      step, (_time_major(emissions), _time_major(mask)),
      initializer=(tf.zeros([batch, num_tags]), tf.zeros([batch], tf.bool)))
  log_z = tf.reduce_logsumexp(alpha[-1] + params.end[None, :], axis=1)
  return tf.where(started[-1], log_z, tf.zeros_like(log_z))


def partial_log_likelihood(emissions, allowed, mask, params):
  """log of the summed probability of every tag path that takes, at each
  position, one of its allowed tags (allowed: float [batch, seq, tags] of
  0/1; one-hot gold tags give log_likelihood)."""
  emissions = tf.cast(emissions, tf.float32)
  restricted = emissions + (1.0 - allowed) * FORBIDDEN
  return (log_partition(restricted, mask, params) -
          log_partition(emissions, mask, params))


def marginals(emissions, mask, params):
  """P(tag y at position t | emissions) under the CRF, by the
  forward-backward algorithm: exp(alpha_t + beta_t - log Z), where alpha_t
  scores the chain up to t (t's emission included) and beta_t what follows
  t. Positions off the chain (mask 0) are skipped: both passes carry their
  state over them. (No gradients in the graph, so that a SavedModel with
  this head converts to ONNX.)

  Args:
    emissions: float Tensor [batch, seq, num_tags].
    mask: Tensor [batch, seq], 1 on the positions of the chain.
    params: CrfParams.

  Returns:
    float32 Tensor [batch, seq, num_tags]: each chain position's marginals
    (summing to 1); 0 off the chain.
  """
  emissions = tf.cast(emissions, tf.float32)
  on = tf.cast(mask, tf.bool)
  batch, num_tags = tf.shape(emissions)[0], tf.shape(emissions)[2]
  transitions = params.transitions[None, :, :]

  def forward(state, inputs):
    alpha, started = state
    emit, m = inputs
    step = tf.where(
        started, tf.reduce_logsumexp(alpha[:, :, None] + transitions,
                                     axis=1) + emit,
        params.start[None, :] + emit)
    alpha = tf.where(m, step, alpha)
    return alpha, tf.logical_or(started, m)

  def backward(state, inputs):
    # `after`: emission plus beta of the next chain position.
    after, started, _ = state
    emit, m = inputs
    beta = tf.where(started, tf.reduce_logsumexp(
        transitions + after[:, None, :], axis=2),
                    tf.tile(params.end[None, :], [batch, 1]))
    after = tf.where(m, emit + beta, after)
    return after, tf.logical_or(started, m), beta

  none = tf.zeros([batch], tf.bool)
  zeros = tf.zeros([batch, num_tags])
  alphas, _ = tf.scan(forward, (_time_major(emissions), _time_major(on)),
                      initializer=(zeros, none))
  _, _, betas = tf.scan(
      backward, (tf.reverse(_time_major(emissions), [0]),
                 tf.reverse(_time_major(on), [0])),
      initializer=(zeros, none, zeros))
  betas = tf.reverse(betas, [0])
  log_z = tf.reduce_logsumexp(alphas[-1] + params.end[None, :], axis=1)
  log_marginals = _time_major(alphas + betas) - log_z[:, None, None]
  on_chain = tf.cast(on, tf.float32)[:, :, None]
  return tf.exp(tf.minimum(log_marginals, 0.0)) * on_chain


def viterbi_decode(emissions, mask, params):
  """The best tag sequence under the CRF.

  Args:
    emissions: float32 Tensor [batch, seq, num_tags].
    mask: Tensor [batch, seq], 1 on the positions of the chain.
    params: CrfParams.

  Returns:
    int32 Tensor [batch, seq]: the best tags on unmasked positions; on
    masked positions, the tag of the next unmasked position to the left
    (or of the first one), which callers ignore.
  """
  emissions = tf.cast(emissions, tf.float32)
  mask = tf.cast(mask, tf.bool)
  num_tags = _num_tags(emissions)
  batch = tf.shape(emissions)[0]
  identity = tf.tile(tf.range(num_tags)[None, :], [batch, 1])

  def forward(state, inputs):
    delta, _, started = state
    emit, m = inputs
    candidates = delta[:, :, None] + params.transitions[None, :, :]
    best_prev = tf.argmax(candidates, axis=1, output_type=tf.int32)
    from_prev = tf.reduce_max(candidates, axis=1) + emit
    first = params.start[None, :] + emit
    new_delta = tf.where(started, from_prev, first)
    # Before the chain starts, a backpointer is the identity too.
    pointer = tf.where(started, best_prev, identity)
    m_f = tf.cast(m, tf.float32)[:, None]
    delta = m_f * new_delta + (1.0 - m_f) * delta
    pointer = tf.where(m, pointer, identity)
    return delta, pointer, tf.logical_or(started, m)

  init = (tf.zeros([batch, num_tags]), identity, tf.zeros([batch], tf.bool))
  deltas, pointers, _ = tf.scan(
      forward, (_time_major(emissions), _time_major(mask)), initializer=init)
  last_tag = tf.argmax(deltas[-1] + params.end[None, :], axis=1,
                       output_type=tf.int32)

  # Walk back: the tag at position t is the one position t+1 pointed to.
  def backward(tag, pointer):
    return tf.reduce_sum(
        pointer * tf.one_hot(tag, num_tags, dtype=tf.int32), axis=1)

  shifted = pointers[1:]  # pointers of positions 1..S-1
  tags_rev = tf.scan(backward, tf.reverse(shifted, [0]), initializer=last_tag)
  tags = tf.concat([tf.reverse(tags_rev, [0]), last_tag[None, :]], axis=0)
  return tf.transpose(tags, [1, 0])
