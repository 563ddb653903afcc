"""The dense half of the linker: a BERT encoder of short names.

    encoder = NameEncoder(bert_config, tokenizer)        # its own graph
    encoder.restore(checkpoint)                           # Google's layout
    vectors = encoder.embed(["breast cancer", ...])      # float32 [n, hidden]

A name's vector is the mean of the last layer's states over its WordPiece
tokens ([CLS] and [SEP] included, padding not), scaled to unit length, so
that the dot product of two vectors is their cosine. Names are encoded in
batches of similar length (sorted, then put back in order), each batch
padded only to its longest name. `encode` builds the same encoder into a
training graph (linking/dense_training.py).
"""

import numpy as np
import tensorflow.compat.v1 as tf

import modeling

# Names longer than this many WordPiece tokens ([CLS], [SEP] included) are
# cut: dictionary names are short (MEDIC's longest, 61 tokens, is rare).
DEFAULT_MAX_LENGTH = 32


def pooled(sequence_output, input_mask):
  """[batch, hidden]: the mean of the states under the mask, unit length."""
  mask = tf.cast(tf.expand_dims(input_mask, -1), sequence_output.dtype)
  total = tf.reduce_sum(sequence_output * mask, axis=1)
  mean = total / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)
  return tf.math.l2_normalize(mean, axis=-1)


def encode(bert_config, input_ids, input_mask, is_training):
  """The unit vectors [batch, hidden] of a batch of token ids (BERT's
  variables under "bert/", reused when built twice)."""
  with tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
    model = modeling.BertModel(bert_config, is_training, input_ids,
                               input_mask=input_mask, scope="bert")
  return pooled(model.get_sequence_output(), input_mask)


def token_ids(tokenizer, texts, max_length):
  """Per text, its WordPiece ids with [CLS] and [SEP], cut to max_length."""
  cls, sep = tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]"])
  out = []
  for text in texts:
    ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text))
    out.append([cls] + ids[:max_length - 2] + [sep])
  return out


def padded(id_lists):
  """(ids int32 [n, longest], mask int32 [n, longest])."""
  longest = max(len(ids) for ids in id_lists)
  ids = np.zeros([len(id_lists), longest], np.int32)
  mask = np.zeros([len(id_lists), longest], np.int32)
  for row, values in enumerate(id_lists):
    ids[row, :len(values)] = values
    mask[row, :len(values)] = 1
  return ids, mask


class NameEncoder(object):
  """An inference graph of the encoder in a session of its own."""

  def __init__(self, bert_config, tokenizer, max_length=DEFAULT_MAX_LENGTH,
               threads=None):
    self.bert_config = bert_config
    self.tokenizer = tokenizer
    self.max_length = max_length
    self.graph = tf.Graph()
    with self.graph.as_default():
      self.input_ids = tf.placeholder(tf.int32, [None, None], "input_ids")
      self.input_mask = tf.placeholder(tf.int32, [None, None], "input_mask")
      self.vectors = encode(bert_config, self.input_ids, self.input_mask,
                            is_training=False)
      self.saver = tf.train.Saver(tf.global_variables())
    config = tf.ConfigProto()
    if threads:
      config.intra_op_parallelism_threads = threads
    self.session = tf.Session(graph=self.graph, config=config)

  @property
  def hidden_size(self):
    return self.bert_config.hidden_size

  def restore(self, checkpoint):
    """Loads BERT's variables from a checkpoint in Google's layout (any
    other variables in it are left)."""
    checkpoint = modeling.resolve_checkpoint(checkpoint)
    with self.graph.as_default():
      names = [v for v, _ in tf.train.list_variables(checkpoint)]
      variables = {v.op.name: v for v in tf.global_variables()}
      missing = sorted(set(variables) - set(names))
      if missing:
        raise ValueError(
            "The checkpoint %s lacks %d of the encoder's variables (%s): "
            "it is not a BERT checkpoint of this config." % (
                checkpoint, len(missing), ", ".join(missing[:3])))
      modeling.get_assignment_map_from_checkpoint(
          list(variables.values()), checkpoint)  # checks the shapes
      tf.train.Saver(variables).restore(self.session, checkpoint)

  def embed(self, texts, batch_size=256, progress=None):
    """float32 [len(texts), hidden]: the unit vectors of texts, in order.
    `progress(done)` is called after each batch."""
    id_lists = token_ids(self.tokenizer, texts, self.max_length)
    order = sorted(range(len(id_lists)), key=lambda i: len(id_lists[i]))
    out = np.zeros([len(texts), self.hidden_size], np.float32)
    for start in range(0, len(order), batch_size):
      rows = order[start:start + batch_size]
      ids, mask = padded([id_lists[i] for i in rows])
      out[rows] = self.session.run(self.vectors, {self.input_ids: ids,
                                                  self.input_mask: mask})
      if progress:
        progress(start + len(rows))
    return out

  def save(self, prefix):
    """Writes the encoder's variables as a checkpoint at `prefix`."""
    with self.graph.as_default():
      self.saver.save(self.session, prefix, write_meta_graph=False,
                      write_state=False)

  def close(self):
    self.session.close()
