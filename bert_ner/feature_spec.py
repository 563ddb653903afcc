"""What a window holds: the TFRecord schema (written and parsed from this
one declaration), how batches pad it, and the serving signature's inputs."""

import collections

import numpy as np
import tensorflow.compat.v1 as tf


# word_ids value of a position that predicts no word ([CLS], [SEP], a
# continuing WordPiece, a word another window predicts, padding).
NO_WORD = -1


# The TFRecord schema, used both to write and to parse: name -> kind.
# "sequence" features have one value per position, "scalar" ones one per
# record. int64 on disk (all tf.Example holds); int32 for the model.
FEATURE_SPEC = collections.OrderedDict([
    ("input_ids", "sequence"),
    ("segment_ids", "sequence"),
    ("label_ids", "sequence"),
    ("label_weights", "sequence"),
    ("word_ids", "sequence"),
    ("example_index", "scalar"),
    ("corpus_id", "scalar"),  # which corpus of --corpora (0 for one)
])


# Padding values in batches (0 for the rest); input_mask is derived: 1 on
# real positions.
PADDING_VALUES = {"word_ids": NO_WORD, "example_index": -1}


# The inputs of the exported SavedModel's serving signature, int32
# [batch, seq_length] each.
SERVING_INPUTS = ("input_ids", "input_mask", "segment_ids", "predict_mask")


def predict_mask(word_ids):
  """1 where a window predicts a word (the first WordPiece of a word it
  owns), else 0; of a Tensor or of a numpy array / list."""
  if isinstance(word_ids, (tf.Tensor, tf.Variable)):
    return tf.cast(word_ids >= 0, tf.int32)
  return (np.asarray(word_ids) >= 0).astype(np.int32)


def serving_arrays(windows):
  """One padded batch of the serving signature's inputs (numpy int32) from
  windows (objects with input_ids, segment_ids and word_ids), padded as
  the estimator's batches are."""
  length = max(len(w.input_ids) for w in windows)
  arrays = {name: np.zeros([len(windows), length], np.int32)
            for name in SERVING_INPUTS}
  for row, w in enumerate(windows):
    n = len(w.input_ids)
    arrays["input_ids"][row, :n] = w.input_ids
    arrays["input_mask"][row, :n] = 1
    arrays["segment_ids"][row, :n] = w.segment_ids
    arrays["predict_mask"][row, :n] = predict_mask(w.word_ids)
  return arrays
