# coding=utf-8
"""BERT's optimizer: Adam with decoupled weight decay, warmup, linear decay."""

import re

import tensorflow.compat.v1 as tf

# Variables matching these are not weight-decayed (as in BERT).
NO_DECAY_PATTERNS = ("LayerNorm", "layer_norm", "bias")


def learning_rate_schedule(global_step, init_lr, num_train_steps,
                           num_warmup_steps):
  """Linear warmup from 0 to `init_lr`, then linear decay to 0.

  lr(step) = init_lr * step / num_warmup_steps            if step < warmup
           = init_lr * (1 - step / num_train_steps)       otherwise

  Args:
    global_step: int64 scalar Tensor.

  Returns:
    float32 scalar Tensor.
  """
  step = tf.cast(global_step, tf.float32)
  total = float(max(num_train_steps, 1))
  decayed = init_lr * tf.maximum(1.0 - tf.minimum(step, total) / total, 0.0)
  if not num_warmup_steps:
    return decayed
  warmup = init_lr * step / float(num_warmup_steps)
  return tf.where(step < float(num_warmup_steps), warmup, decayed)


def create_optimizer(loss, init_lr, num_train_steps, num_warmup_steps, use_tpu,
                     loss_scale=None, weight_decay_rate=0.01, clip_norm=1.0):
  """Builds the training op.

  Args:
    loss: float32 scalar Tensor.
    init_lr: peak learning rate.
    num_train_steps: steps at which the learning rate reaches 0.
    num_warmup_steps: steps of linear warmup.
    use_tpu: wrap the optimizer to average gradients across TPU cores.
    loss_scale: optional `DynamicLossScale` for float16 training: the loss is
      multiplied before differentiation, gradients are divided back, and a
      step with non-finite gradients is skipped.
    weight_decay_rate: decoupled weight decay (not on LayerNorm and biases).
    clip_norm: global-norm clipping threshold.

  Returns:
    (train_op, learning_rate Tensor).
  """
  global_step = tf.train.get_or_create_global_step()
  learning_rate = learning_rate_schedule(global_step, init_lr, num_train_steps,
                                         num_warmup_steps)
  optimizer = AdamWeightDecayOptimizer(
      learning_rate=learning_rate,
      weight_decay_rate=weight_decay_rate,
      beta_1=0.9,
      beta_2=0.999,
      epsilon=1e-6,
      exclude_from_weight_decay=list(NO_DECAY_PATTERNS))
  if use_tpu:
    optimizer = tf.tpu.CrossShardOptimizer(optimizer)

  tvars = tf.trainable_variables()
  if loss_scale is not None:
    scaled = tf.gradients(loss * loss_scale.scale, tvars)
    grads = [None if g is None else g / loss_scale.scale for g in scaled]
  else:
    grads = tf.gradients(loss, tvars)
  grads_and_vars = [(g, v) for g, v in zip(grads, tvars) if g is not None]
  grads, tvars = zip(*grads_and_vars) if grads_and_vars else ((), ())
  grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
           for g in grads]
  grads = _mean_across_replicas(grads, tvars)
  # With a loss scale, a step whose gradients overflowed is skipped below, so
  # the non-finite norm clipping produces here is never applied.
  (grads, _) = tf.clip_by_global_norm(grads, clip_norm=clip_norm)

  def apply():
    apply_op = optimizer.apply_gradients(list(zip(grads, tvars)),
                                         global_step=global_step)
    # AdamWeightDecayOptimizer does not step the global step itself (BERT's
    # convention), so it is done here, once per training step.
    with tf.control_dependencies([apply_op]):
      return tf.assign_add(global_step, 1)

  if loss_scale is None:
    train_op = apply()
  else:
    all_finite = tf.reduce_all(
        [tf.reduce_all(tf.is_finite(g)) for g in grads])
    with tf.control_dependencies([loss_scale.update(all_finite)]):
      # A step with overflowing gradients changes no weight, but still counts,
      # so that the schedule and the planned step count hold.
      train_op = tf.cond(all_finite, apply,
                         lambda: tf.assign_add(global_step, 1))
  return train_op, learning_rate


class DynamicLossScale(object):
  """Loss scale for float16 training: halves on overflow, doubles when stable.

  Its state lives in non-trainable variables, so it is checkpointed.
  """

  def __init__(self, initial_scale=2.0**15, growth_interval=2000,
               min_scale=1.0):
    self.scale = tf.get_variable(
        "loss_scale", initializer=tf.constant(initial_scale, tf.float32),
        trainable=False)
    self.good_steps = tf.get_variable(
        "good_steps", initializer=tf.constant(0, tf.int64), trainable=False)
    self.growth_interval = growth_interval
    self.min_scale = min_scale

  def update(self, all_finite):
    """Returns the op updating the scale after a step."""

    def on_finite():
      grow = self.good_steps + 1 >= self.growth_interval
      new_scale = tf.where(grow, self.scale * 2.0, self.scale)
      new_steps = tf.where(grow, tf.constant(0, tf.int64), self.good_steps + 1)
      return tf.group(self.scale.assign(new_scale),
                      self.good_steps.assign(new_steps))

    def on_overflow():
      return tf.group(
          self.scale.assign(tf.maximum(self.scale / 2.0, self.min_scale)),
          self.good_steps.assign(0))

    return tf.cond(all_finite, on_finite, on_overflow)


def _mean_across_replicas(grads, tvars):
  """Under a mirrored strategy, every replica applies the mean gradient.

  The update below writes each replica's own copy of the variables, so the
  copies stay equal only if they all see the same (all-reduced) gradients.
  """
  if not grads or not tf.distribute.has_strategy():
    return grads
  context = tf.distribute.get_replica_context()
  if context is None or context.num_replicas_in_sync == 1:
    return grads

  def reduce(strategy, grads_and_vars):
    return strategy.extended.batch_reduce_to(tf.distribute.ReduceOp.MEAN,
                                             grads_and_vars)

  return context.merge_call(reduce, args=(list(zip(grads, tvars)),))


def _apply_adam(param, m, v, beta_power, lr, beta_1, beta_2, epsilon, grad):
  """TensorFlow's fused Adam kernel, for resource or reference variables."""
  if hasattr(param, "handle"):
    return tf.raw_ops.ResourceApplyAdam(
        var=param.handle, m=m.handle, v=v.handle, beta1_power=beta_power,
        beta2_power=beta_power, lr=lr, beta1=beta_1, beta2=beta_2,
        epsilon=epsilon, grad=grad)
  return tf.raw_ops.ApplyAdam(
      var=param, m=m, v=v, beta1_power=beta_power, beta2_power=beta_power,
      lr=lr, beta1=beta_1, beta2=beta_2, epsilon=epsilon, grad=grad)


class AdamWeightDecayOptimizer(tf.train.Optimizer):
  """Adam with decoupled weight decay (no bias correction), as in BERT.

  The weight decay is added to the update, not to the loss, so that it does
  not interact with Adam's m and v. Slots are `<var>/adam_m` and
  `<var>/adam_v`, the names of Google's fine-tuned checkpoints.
  """

  def __init__(self, learning_rate, weight_decay_rate=0.0, beta_1=0.9,
               beta_2=0.999, epsilon=1e-6, exclude_from_weight_decay=None,
               name="AdamWeightDecayOptimizer"):
    super(AdamWeightDecayOptimizer, self).__init__(False, name)
    self.learning_rate = learning_rate
    self.weight_decay_rate = weight_decay_rate
    self.beta_1 = beta_1
    self.beta_2 = beta_2
    self.epsilon = epsilon
    self.exclude_from_weight_decay = exclude_from_weight_decay

  def apply_gradients(self, grads_and_vars, global_step=None, name=None):
    """Applies one step to every variable with a gradient.

    Each variable takes two fused kernels instead of a dozen element-wise
    ops: the decoupled decay `param -= lr * decay * param`, then TensorFlow's
    ApplyAdam with both beta powers at 0, which makes its bias correction
    the identity: `param -= lr * m / (sqrt(v) + epsilon)`. The decay reads
    the parameter before the Adam step, as BERT's formula does.
    """
    del global_step  # Stepped by create_optimizer.
    lr = tf.cast(self.learning_rate, tf.float32)
    zero = tf.constant(0.0)
    updates = []
    for grad, param in grads_and_vars:
      if grad is None or param is None:
        continue
      param_name = self._get_variable_name(param.name)
      m = tf.get_variable(name=param_name + "/adam_m",
                          shape=param.shape.as_list(), dtype=tf.float32,
                          trainable=False, initializer=tf.zeros_initializer())
      v = tf.get_variable(name=param_name + "/adam_v",
                          shape=param.shape.as_list(), dtype=tf.float32,
                          trainable=False, initializer=tf.zeros_initializer())
      grad = tf.convert_to_tensor(grad)
      deps = []
      if self._do_use_weight_decay(param_name):
        deps.append(param.assign_sub(lr * self.weight_decay_rate * param))
      with tf.control_dependencies(deps):
        updates.append(_apply_adam(param, m, v, zero, lr, self.beta_1,
                                   self.beta_2, self.epsilon,
                                   tf.cast(grad, tf.float32)))
    return tf.group(*updates, name=name)

  def _do_use_weight_decay(self, param_name):
    if not self.weight_decay_rate:
      return False
    for pattern in self.exclude_from_weight_decay or ():
      if re.search(pattern, param_name) is not None:
        return False
    return True

  @staticmethod
  def _get_variable_name(param_name):
    match = re.match("^(.*):\\d+$", param_name)
    return match.group(1) if match else param_name

  # The base class's abstract methods; apply_gradients does all the work.
  def _apply_dense(self, grad, var):
    raise NotImplementedError("Use apply_gradients.")

  def _resource_apply_dense(self, grad, handle):
    raise NotImplementedError("Use apply_gradients.")

  def _resource_apply_sparse(self, grad, handle, indices):
    raise NotImplementedError("Use apply_gradients.")

  def _apply_sparse(self, grad, var):
    raise NotImplementedError("Use apply_gradients.")
