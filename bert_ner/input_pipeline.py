"""The estimator's input_fn: TFRecord shards -> parsed, padded, batched
windows (length-bucketed for training, static shapes on TPU)."""

import tensorflow.compat.v1 as tf

from bert_ner import feature_spec


def parse_record(record):
  """Parses one serialized record into int32 Tensors, with input_mask."""
  spec = {}
  for name, kind in feature_spec.FEATURE_SPEC.items():
    spec[name] = (tf.io.FixedLenFeature([], tf.int64) if kind == "scalar" else
                  tf.io.VarLenFeature(tf.int64))
  parsed = tf.io.parse_single_example(record, spec)
  out = {}
  for name, kind in feature_spec.FEATURE_SPEC.items():
    value = parsed[name]
    if kind == "sequence":
      value = tf.sparse.to_dense(value)
    # tf.Example holds only int64; the model and TPUs want int32.
    out[name] = tf.cast(value, tf.int32)
  out["input_mask"] = tf.ones_like(out["input_ids"])
  return out


def bucket_boundaries(max_seq_length):
  """Length buckets for training batches, finer where sentences are common.

  Every 4 pieces up to 48, every 8 up to 64, every 16 up to 128, then every
  32. On NCBI-disease (35 pieces on average) batches then carry about 6%
  padding, against 128% when random sentences are padded to the longest.
  """
  bounds = (list(range(8, 48, 4)) + list(range(48, 64, 8)) +
            list(range(64, 128, 16)) + list(range(128, 513, 32)))
  return [b for b in bounds if b <= max_seq_length]


def _padding_values():
  return {name: tf.constant(feature_spec.PADDING_VALUES.get(name, 0), tf.int32)
          for name in list(feature_spec.FEATURE_SPEC) + ["input_mask"]}


def _fake_record(length=2):
  """A padding example: [CLS] [SEP], weight 0, predicting no word."""
  fake = {name: tf.zeros([length], tf.int32) if kind == "sequence" else
          tf.constant(feature_spec.PADDING_VALUES.get(name, 0), tf.int32)
          for name, kind in feature_spec.FEATURE_SPEC.items()}
  fake["word_ids"] = tf.fill([length], feature_spec.NO_WORD)
  fake["input_mask"] = tf.ones([length], tf.int32)
  return fake


def input_fn_builder(input_file, is_training, max_seq_length, static_shapes,
                     num_records=None, seed=None, shuffle_buffer=None):
  """Returns an `input_fn(params)` for the estimator.

  Args:
    input_file: TFRecord path, or a list of shards (RecordsInfo.files):
      read in order for eval and predict; for training, read interleaved
      in a shuffled order, so that hosts and workers read in parallel.
    is_training: shuffle and repeat.
    max_seq_length: int.
    static_shapes: True on TPU: every batch is [batch_size, max_seq_length]
      and full. Training drops the remainder of the (infinite) stream; eval
      and predict pad the last batch with fake examples of weight 0 and
      example_index -1, so no example is dropped or counted twice.
      False on CPU/GPU: batches are padded only to their own longest
      sequence, and training batches group sentences of similar length.
    num_records: number of records in the file (needed with static_shapes
      for eval and predict, and to size the shuffle buffer).
    seed: shuffling seed.
    shuffle_buffer: shuffle buffer size; all records by default.
  """

  def input_fn(params):
    batch_size = params["batch_size"]
    files = [input_file] if isinstance(input_file, str) else list(input_file)
    if is_training and len(files) > 1:
      dataset = tf.data.Dataset.from_tensor_slices(files).shuffle(
          len(files), seed=seed, reshuffle_each_iteration=True)
      dataset = dataset.interleave(
          tf.data.TFRecordDataset, cycle_length=min(len(files), 8),
          num_parallel_calls=tf.data.experimental.AUTOTUNE)
    else:
      dataset = tf.data.TFRecordDataset(files)
    if is_training:
      buffer = shuffle_buffer or min(num_records or 10000, 200000)
      dataset = dataset.shuffle(buffer_size=max(buffer, 1), seed=seed,
                                reshuffle_each_iteration=True)
      dataset = dataset.repeat()
    dataset = dataset.map(parse_record,
                          num_parallel_calls=tf.data.experimental.AUTOTUNE)
    padding_values = _padding_values()
    if static_shapes:
      if not is_training:
        if num_records is None:
          raise ValueError("static_shapes eval/predict needs num_records.")
        # On TPU, params["batch_size"] is per core and each step takes one
        # batch per core: pad to a multiple of the global batch.
        context = params.get("context")
        replicas = getattr(context, "num_replicas", 1) if context else 1
        missing = -num_records % (batch_size * replicas)
        if missing:
          fake = tf.data.Dataset.from_tensors(_fake_record()).repeat(missing)
          dataset = dataset.concatenate(fake)
      padded_shapes = {name: [max_seq_length] if kind == "sequence" else []
                       for name, kind in feature_spec.FEATURE_SPEC.items()}
      padded_shapes["input_mask"] = [max_seq_length]
      dataset = dataset.padded_batch(batch_size, padded_shapes=padded_shapes,
                                     padding_values=padding_values,
                                     drop_remainder=True)
    elif is_training:
      boundaries = bucket_boundaries(max_seq_length)
      dataset = dataset.bucket_by_sequence_length(
          element_length_func=lambda f: tf.shape(f["input_ids"])[0],
          bucket_boundaries=boundaries,
          bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
          padding_values=padding_values,
          drop_remainder=True)
    else:
      dataset = dataset.padded_batch(batch_size, padding_values=padding_values)
    return dataset.prefetch(tf.data.experimental.AUTOTUNE)

  return input_fn
