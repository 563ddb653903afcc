# coding=utf-8
"""The BERT encoder in TensorFlow 1.x graph style.

Variable names are exactly those of Google's BERT checkpoints
(`bert/embeddings/word_embeddings`, `bert/encoder/layer_0/attention/self/query/kernel`,
...), so BERT, BioBERT and SciBERT checkpoints load without renaming.
"""

import collections
import copy
import json
import math
import re

import tensorflow.compat.v1 as tf

# Keys a config must give; everything else has BERT-base's defaults.
REQUIRED_CONFIG_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers",
                        "num_attention_heads", "intermediate_size")

ACTIVATIONS = ("gelu", "gelu_new", "relu", "tanh")

# Additive attention bias for masked positions. Large enough that exp() is 0
# in float32 after the softmax's max subtraction, small enough for float16.
MASK_ADDER = -10000.0


class BertConfig(object):
  """Hyper-parameters of a BERT encoder.

  Reads Google's `bert_config.json` and HuggingFace's `config.json` alike:
  keys that do not describe the encoder (`architectures`, `model_type`,
  `transformers_version`, ...) are ignored.
  """

  def __init__(self,
               vocab_size,
               hidden_size=768,
               num_hidden_layers=12,
               num_attention_heads=12,
               intermediate_size=3072,
               hidden_act="gelu",
               hidden_dropout_prob=0.1,
               attention_probs_dropout_prob=0.1,
               max_position_embeddings=512,
               type_vocab_size=2,
               initializer_range=0.02,
               layer_norm_eps=1e-12):
    self.vocab_size = vocab_size
    self.hidden_size = hidden_size
    self.num_hidden_layers = num_hidden_layers
    self.num_attention_heads = num_attention_heads
    self.intermediate_size = intermediate_size
    self.hidden_act = hidden_act
    self.hidden_dropout_prob = hidden_dropout_prob
    self.attention_probs_dropout_prob = attention_probs_dropout_prob
    self.max_position_embeddings = max_position_embeddings
    self.type_vocab_size = type_vocab_size
    self.initializer_range = initializer_range
    self.layer_norm_eps = layer_norm_eps
    self.validate()

  def validate(self, source="BERT config"):
    """Raises ValueError naming the first inconsistent value."""
    for key in ("vocab_size", "hidden_size", "num_hidden_layers",
                "num_attention_heads", "intermediate_size",
                "max_position_embeddings", "type_vocab_size"):
      value = getattr(self, key)
      if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError("%s: %s must be a positive integer, got %r." %
                         (source, key, value))
    if self.hidden_size % self.num_attention_heads:
      raise ValueError(
          "%s: hidden_size (%d) is not a multiple of num_attention_heads (%d)."
          % (source, self.hidden_size, self.num_attention_heads))
    if self.hidden_act not in ACTIVATIONS:
      raise ValueError("%s: unknown hidden_act %r; use one of %s." %
                       (source, self.hidden_act, ", ".join(ACTIVATIONS)))
    for key in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
      value = getattr(self, key)
      if not 0.0 <= value < 1.0:
        raise ValueError("%s: %s must be in [0, 1), got %r." %
                         (source, key, value))

  @classmethod
  def from_dict(cls, json_object, source="BERT config"):
    """Builds a config from a dict, Google's or HuggingFace's keys."""
    missing = [k for k in REQUIRED_CONFIG_KEYS if k not in json_object]
    if missing:
      raise ValueError("%s: missing required key(s) %s." %
                       (source, ", ".join(missing)))
    position_type = json_object.get("position_embedding_type", "absolute")
    if position_type != "absolute":
      raise ValueError(
          "%s: position_embedding_type %r is not supported; only 'absolute' "
          "(BERT's learned position embeddings) is." % (source, position_type))
    values = dict(_CONFIG_DEFAULTS)
    values.update((k, v) for k, v in json_object.items() if k in _CONFIG_FIELDS)
    # Set the fields directly so that validate() names the source file.
    config = cls.__new__(cls)
    for key, value in values.items():
      setattr(config, key, value)
    config.validate(source)
    return config

  @classmethod
  def from_json_file(cls, json_file):
    """Reads a config from a JSON file."""
    if not tf.io.gfile.exists(json_file):
      raise ValueError("BERT config file %s does not exist." % json_file)
    with tf.io.gfile.GFile(json_file, "r") as reader:
      text = reader.read()
    try:
      data = json.loads(text)
    except ValueError as e:
      raise ValueError("BERT config file %s is not valid JSON: %s" %
                       (json_file, e))
    if not isinstance(data, dict):
      raise ValueError("BERT config file %s must hold a JSON object." %
                       json_file)
    return cls.from_dict(data, source=json_file)

  def to_dict(self):
    return {k: copy.deepcopy(getattr(self, k)) for k in _CONFIG_FIELDS}

  def to_json_string(self):
    return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


_CONFIG_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers",
                  "num_attention_heads", "intermediate_size", "hidden_act",
                  "hidden_dropout_prob", "attention_probs_dropout_prob",
                  "max_position_embeddings", "type_vocab_size",
                  "initializer_range", "layer_norm_eps")
_CONFIG_DEFAULTS = (("hidden_act", "gelu"), ("hidden_dropout_prob", 0.1),
                    ("attention_probs_dropout_prob", 0.1),
                    ("max_position_embeddings", 512), ("type_vocab_size", 2),
                    ("initializer_range", 0.02), ("layer_norm_eps", 1e-12))


class BertModel(object):
  """BERT encoder: embeddings, a stack of Transformer layers and a pooler.

  Example:

  ```python
  input_ids = tf.constant([[31, 51, 99], [15, 5, 0]])
  input_mask = tf.constant([[1, 1, 1], [1, 1, 0]])
  config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                      num_attention_heads=4, intermediate_size=64)
  model = BertModel(config, is_training=False, input_ids=input_ids,
                    input_mask=input_mask)
  sequence_output = model.get_sequence_output()  # [2, 3, 32]
  ```
  """

  def __init__(self,
               config,
               is_training,
               input_ids,
               input_mask=None,
               token_type_ids=None,
               use_one_hot_embeddings=False,
               scope=None,
               compute_dtype=tf.float32):
    """Builds the encoder graph.

    Args:
      config: `BertConfig`.
      is_training: bool. Dropout is applied only when True.
      input_ids: int32 Tensor of shape [batch_size, seq_length].
      input_mask: optional int32 Tensor of shape [batch_size, seq_length],
        1 for real tokens and 0 for padding.
      token_type_ids: optional int32 Tensor of shape [batch_size, seq_length].
      use_one_hot_embeddings: bool. Look embeddings up by one-hot matmul,
        which is faster on TPU; `tf.gather` otherwise.
      scope: variable scope, "bert" by default.
      compute_dtype: dtype of the Transformer layers' matmuls (float32, or
        float16/bfloat16 for mixed precision). Variables, layer norm and
        softmax stay float32.
    """
    config = copy.deepcopy(config)
    if not is_training:
      config.hidden_dropout_prob = 0.0
      config.attention_probs_dropout_prob = 0.0

    batch_size, seq_length = get_shape_list(input_ids, expected_rank=2)
    if input_mask is None:
      input_mask = tf.ones([batch_size, seq_length], dtype=tf.int32)
    if token_type_ids is None:
      token_type_ids = tf.zeros([batch_size, seq_length], dtype=tf.int32)

    with tf.variable_scope(scope, default_name="bert"):
      with tf.variable_scope("embeddings"):
        (self.word_embedding_output,
         self.embedding_table) = embedding_lookup(
             input_ids=input_ids,
             vocab_size=config.vocab_size,
             embedding_size=config.hidden_size,
             initializer_range=config.initializer_range,
             word_embedding_name="word_embeddings",
             use_one_hot_embeddings=use_one_hot_embeddings)
        self.embedding_output = embedding_postprocessor(
            input_tensor=self.word_embedding_output,
            token_type_ids=token_type_ids,
            token_type_vocab_size=config.type_vocab_size,
            max_position_embeddings=config.max_position_embeddings,
            initializer_range=config.initializer_range,
            dropout_prob=config.hidden_dropout_prob,
            layer_norm_eps=config.layer_norm_eps)

      with tf.variable_scope("encoder"):
        attention_bias = attention_bias_from_mask(input_mask, compute_dtype)
        self.all_encoder_layers = transformer_model(
            input_tensor=self.embedding_output,
            attention_bias=attention_bias,
            hidden_size=config.hidden_size,
            num_hidden_layers=config.num_hidden_layers,
            num_attention_heads=config.num_attention_heads,
            intermediate_size=config.intermediate_size,
            intermediate_act_fn=get_activation(config.hidden_act),
            hidden_dropout_prob=config.hidden_dropout_prob,
            attention_probs_dropout_prob=config.attention_probs_dropout_prob,
            initializer_range=config.initializer_range,
            layer_norm_eps=config.layer_norm_eps,
            compute_dtype=compute_dtype)
      self.sequence_output = self.all_encoder_layers[-1]

      # The pooler takes the hidden state of the first token ([CLS]).
      with tf.variable_scope("pooler"):
        first_token = self.sequence_output[:, 0, :]
        self.pooled_output = tf.tanh(
            dense(first_token, config.hidden_size, "dense",
                  create_initializer(config.initializer_range)))

  def get_pooled_output(self):
    """float32 Tensor of shape [batch_size, hidden_size]."""
    return self.pooled_output

  def get_sequence_output(self):
    """float32 Tensor of shape [batch_size, seq_length, hidden_size]."""
    return self.sequence_output

  def get_all_encoder_layers(self):
    """List of float32 Tensors [batch_size, seq_length, hidden_size], one per layer."""
    return self.all_encoder_layers

  def get_embedding_output(self):
    """float32 Tensor [batch_size, seq_length, hidden_size]: embeddings after layer norm."""
    return self.embedding_output

  def get_embedding_table(self):
    """float32 variable [vocab_size, hidden_size]."""
    return self.embedding_table


def gelu(x):
  """Gaussian Error Linear Unit, exact form: x * Phi(x) with erf."""
  return 0.5 * x * (1.0 + tf.math.erf(x / math.sqrt(2.0)))


def gelu_new(x):
  """GELU's tanh approximation (GPT-2's, HuggingFace's "gelu_new")."""
  cdf = 0.5 * (1.0 + tf.tanh(
      math.sqrt(2.0 / math.pi) * (x + 0.044715 * tf.pow(x, 3))))
  return x * cdf


def get_activation(name):
  """Maps an activation name of a config to a function."""
  functions = {"gelu": gelu, "gelu_new": gelu_new, "relu": tf.nn.relu,
               "tanh": tf.tanh}
  if name not in functions:
    raise ValueError("Unknown activation %r; use one of %s." %
                     (name, ", ".join(sorted(functions))))
  return functions[name]


def dropout(input_tensor, dropout_prob):
  if not dropout_prob:
    return input_tensor
  return tf.nn.dropout(input_tensor, rate=dropout_prob)


def layer_norm(input_tensor, epsilon=1e-12, name="LayerNorm"):
  """Layer normalisation over the last axis, computed in float32.

  Creates `<scope>/LayerNorm/gamma` and `<scope>/LayerNorm/beta`, the names
  of Google's checkpoints.
  """
  dtype = input_tensor.dtype
  x = tf.cast(input_tensor, tf.float32)
  depth = x.shape[-1]
  with tf.variable_scope(name):
    gamma = tf.get_variable("gamma", [depth], initializer=tf.ones_initializer())
    beta = tf.get_variable("beta", [depth], initializer=tf.zeros_initializer())
  mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
  normed = (x - mean) * tf.math.rsqrt(variance + epsilon)
  return tf.cast(normed * gamma + beta, dtype)


def create_initializer(initializer_range=0.02):
  return tf.truncated_normal_initializer(stddev=initializer_range)


def dense(input_tensor, units, name, kernel_initializer, activation=None):
  """A dense layer on the last axis with `<name>/kernel` and `<name>/bias`.

  Inputs of rank > 2 are folded to 2D for the matmul, which is faster than a
  batched matmul on CPU. Variables are float32; the matmul runs in the
  input's dtype.
  """
  in_dim = int(input_tensor.shape[-1])
  with tf.variable_scope(name):
    kernel = tf.get_variable("kernel", [in_dim, units],
                             initializer=kernel_initializer)
    bias = tf.get_variable("bias", [units], initializer=tf.zeros_initializer())
  dtype = input_tensor.dtype
  shape = get_shape_list(input_tensor)
  x = tf.reshape(input_tensor, [-1, in_dim]) if len(shape) > 2 else input_tensor
  out = tf.nn.bias_add(tf.matmul(x, tf.cast(kernel, dtype)),
                       tf.cast(bias, dtype))
  if activation is not None:
    out = activation(out)
  if len(shape) > 2:
    out = tf.reshape(out, shape[:-1] + [units])
  return out


def embedding_lookup(input_ids, vocab_size, embedding_size=128,
                     initializer_range=0.02,
                     word_embedding_name="word_embeddings",
                     use_one_hot_embeddings=False):
  """Looks up word embeddings.

  Args:
    input_ids: int32 Tensor of shape [batch_size, seq_length].

  Returns:
    (float32 Tensor [batch_size, seq_length, embedding_size], the table).
  """
  embedding_table = tf.get_variable(
      name=word_embedding_name, shape=[vocab_size, embedding_size],
      initializer=create_initializer(initializer_range))
  if use_one_hot_embeddings:
    batch_size, seq_length = get_shape_list(input_ids)
    flat_ids = tf.reshape(input_ids, [-1])
    one_hot = tf.one_hot(flat_ids, depth=vocab_size)
    output = tf.matmul(one_hot, embedding_table)
    output = tf.reshape(output, [batch_size, seq_length, embedding_size])
  else:
    output = tf.gather(embedding_table, input_ids)
  return output, embedding_table


def embedding_postprocessor(input_tensor, token_type_ids, token_type_vocab_size,
                            max_position_embeddings, initializer_range,
                            dropout_prob, layer_norm_eps=1e-12):
  """Adds token type and position embeddings, then layer norm and dropout."""
  batch_size, seq_length, width = get_shape_list(input_tensor, expected_rank=3)
  token_type_table = tf.get_variable(
      name="token_type_embeddings", shape=[token_type_vocab_size, width],
      initializer=create_initializer(initializer_range))
  # The token type vocabulary is tiny: a one-hot matmul beats a gather.
  flat_types = tf.reshape(token_type_ids, [-1])
  one_hot_types = tf.one_hot(flat_types, depth=token_type_vocab_size)
  type_embeddings = tf.reshape(tf.matmul(one_hot_types, token_type_table),
                               [batch_size, seq_length, width])
  output = input_tensor + type_embeddings

  full_position_embeddings = tf.get_variable(
      name="position_embeddings", shape=[max_position_embeddings, width],
      initializer=create_initializer(initializer_range))
  if isinstance(seq_length, int) and seq_length > max_position_embeddings:
    raise ValueError("Sequence length %d exceeds max_position_embeddings %d." %
                     (seq_length, max_position_embeddings))
  position_embeddings = tf.slice(full_position_embeddings, [0, 0],
                                 [seq_length, -1])
  output += tf.expand_dims(position_embeddings, 0)
  output = layer_norm(output, layer_norm_eps)
  return dropout(output, dropout_prob)


def attention_bias_from_mask(input_mask, dtype=tf.float32):
  """Turns a [batch, seq] 0/1 mask into an additive [batch, 1, 1, seq] bias."""
  mask = tf.cast(input_mask[:, tf.newaxis, tf.newaxis, :], dtype)
  return (1.0 - mask) * tf.cast(MASK_ADDER, dtype)


def attention_layer(from_tensor, attention_bias, num_attention_heads,
                    size_per_head, attention_probs_dropout_prob,
                    initializer_range, batch_size, seq_length):
  """Multi-head self-attention.

  Args:
    from_tensor: Tensor of shape [batch_size * seq_length, width].
    attention_bias: Tensor of shape [batch_size, 1, 1, seq_length].

  Returns:
    Tensor of shape [batch_size * seq_length, num_heads * size_per_head].
  """
  init = create_initializer(initializer_range)
  width = num_attention_heads * size_per_head

  def heads(x):
    x = tf.reshape(x, [batch_size, seq_length, num_attention_heads,
                       size_per_head])
    return tf.transpose(x, [0, 2, 1, 3])

  query = heads(dense(from_tensor, width, "query", init))
  key = heads(dense(from_tensor, width, "key", init))
  value = heads(dense(from_tensor, width, "value", init))

  scores = tf.matmul(query, key, transpose_b=True)
  scores *= tf.cast(1.0 / math.sqrt(float(size_per_head)), scores.dtype)
  scores += attention_bias
  # Softmax in float32 for range and accuracy under mixed precision.
  probs = tf.cast(tf.nn.softmax(tf.cast(scores, tf.float32)), value.dtype)
  probs = dropout(probs, attention_probs_dropout_prob)

  context = tf.matmul(probs, value)
  context = tf.transpose(context, [0, 2, 1, 3])
  return tf.reshape(context, [batch_size * seq_length, width])


def transformer_model(input_tensor, attention_bias, hidden_size,
                      num_hidden_layers, num_attention_heads, intermediate_size,
                      intermediate_act_fn, hidden_dropout_prob,
                      attention_probs_dropout_prob, initializer_range,
                      layer_norm_eps=1e-12, compute_dtype=tf.float32):
  """Post-layer-norm Transformer encoder of "Attention is All You Need".

  Args:
    input_tensor: float32 Tensor [batch_size, seq_length, hidden_size].
    attention_bias: Tensor [batch_size, 1, 1, seq_length], 0 for tokens to
      attend to and a large negative value for padding.

  Returns:
    List of float32 Tensors [batch_size, seq_length, hidden_size], one per layer.
  """
  if hidden_size % num_attention_heads:
    raise ValueError("hidden_size (%d) is not a multiple of "
                     "num_attention_heads (%d)." %
                     (hidden_size, num_attention_heads))
  size_per_head = hidden_size // num_attention_heads
  batch_size, seq_length, width = get_shape_list(input_tensor, expected_rank=3)
  if width != hidden_size:
    raise ValueError("Input width (%d) differs from hidden_size (%d)." %
                     (width, hidden_size))
  init = create_initializer(initializer_range)

  # Kept 2D between layers: reshapes are free, 3D matmuls are not on CPU.
  prev_output = tf.cast(tf.reshape(input_tensor, [-1, hidden_size]),
                        compute_dtype)
  all_layer_outputs = []
  for layer_idx in range(num_hidden_layers):
    with tf.variable_scope("layer_%d" % layer_idx):
      layer_input = prev_output
      with tf.variable_scope("attention"):
        with tf.variable_scope("self"):
          attention_output = attention_layer(
              layer_input, attention_bias, num_attention_heads, size_per_head,
              attention_probs_dropout_prob, initializer_range, batch_size,
              seq_length)
        with tf.variable_scope("output"):
          attention_output = dense(attention_output, hidden_size, "dense", init)
          attention_output = dropout(attention_output, hidden_dropout_prob)
          attention_output = layer_norm(attention_output + layer_input,
                                        layer_norm_eps)
      with tf.variable_scope("intermediate"):
        intermediate_output = dense(attention_output, intermediate_size,
                                    "dense", init,
                                    activation=intermediate_act_fn)
      with tf.variable_scope("output"):
        layer_output = dense(intermediate_output, hidden_size, "dense", init)
        layer_output = dropout(layer_output, hidden_dropout_prob)
        layer_output = layer_norm(layer_output + attention_output,
                                  layer_norm_eps)
      prev_output = layer_output
      all_layer_outputs.append(
          tf.cast(tf.reshape(layer_output, [batch_size, seq_length,
                                            hidden_size]), tf.float32))
  return all_layer_outputs


def get_shape_list(tensor, expected_rank=None):
  """Shape as a list: Python ints where static, scalar Tensors where dynamic."""
  shape = tensor.shape.as_list()
  if expected_rank is not None and len(shape) != expected_rank:
    raise ValueError("Tensor %s has rank %d, expected %d." %
                     (tensor.name, len(shape), expected_rank))
  dynamic = tf.shape(tensor)
  return [dim if dim is not None else dynamic[i] for i, dim in enumerate(shape)]


def resolve_checkpoint(init_checkpoint):
  """Returns the checkpoint prefix for a prefix or a folder holding one.

  Raises:
    ValueError: if no checkpoint is found there.
  """
  if tf.io.gfile.isdir(init_checkpoint):
    latest = tf.train.latest_checkpoint(init_checkpoint)
    if latest:
      return latest
    names = tf.io.gfile.glob(init_checkpoint.rstrip("/") + "/*.index")
    if len(names) == 1:
      return names[0][:-len(".index")]
    raise ValueError("No checkpoint found in folder %s: expected one "
                     "'<prefix>.index' file (such as bert_model.ckpt.index)."
                     % init_checkpoint)
  if not tf.io.gfile.exists(init_checkpoint + ".index"):
    raise ValueError(
        "Checkpoint %s not found: %s.index does not exist. Give the prefix "
        "(for example .../bert_model.ckpt), not one of its files." %
        (init_checkpoint, init_checkpoint))
  return init_checkpoint


def get_assignment_map_from_checkpoint(tvars, init_checkpoint):
  """Maps the graph's variables to a checkpoint's, by name.

  Args:
    tvars: list of variables of the graph.
    init_checkpoint: checkpoint prefix (or a folder holding one).

  Returns:
    (assignment_map, initialized_variable_names): an OrderedDict checkpoint
    name -> graph name for `tf.train.init_from_checkpoint`, and a dict whose
    keys are the names (with and without ":0") of the variables it covers.

  Raises:
    ValueError: if a variable found in the checkpoint has another shape,
      naming the variable and both shapes.
  """
  init_checkpoint = resolve_checkpoint(init_checkpoint)
  name_to_variable = collections.OrderedDict()
  for var in tvars:
    name = re.sub(r":\d+$", "", var.name)
    name_to_variable[name] = var

  checkpoint_shapes = dict(tf.train.list_variables(init_checkpoint))
  assignment_map = collections.OrderedDict()
  initialized_variable_names = {}
  mismatches = []
  for name, var in name_to_variable.items():
    if name not in checkpoint_shapes:
      continue
    graph_shape = var.shape.as_list()
    if list(checkpoint_shapes[name]) != graph_shape:
      mismatches.append("%s: checkpoint %s, model %s" %
                        (name, list(checkpoint_shapes[name]), graph_shape))
      continue
    assignment_map[name] = name
    initialized_variable_names[name] = 1
    initialized_variable_names[name + ":0"] = 1
  if mismatches:
    raise ValueError(
        "Checkpoint %s does not match the model's config (%d variable(s) "
        "differ in shape):\n  %s\nUse the bert_config.json that came with the "
        "checkpoint." % (init_checkpoint, len(mismatches),
                         "\n  ".join(mismatches)))
  return assignment_map, initialized_variable_names
