"""Windows as TFRecord shards: written once per input and settings (a
fingerprint names them), converted by worker processes in flat memory, and
read back."""

import collections
import hashlib
import json
import multiprocessing
import os

import tensorflow.compat.v1 as tf

from bert_ner import feature_spec
from bert_ner import file_io
from bert_ner import progress
from bert_ner import windowing


# Bumped whenever the records' contents change, so old caches are rebuilt.
RECORD_FORMAT_VERSION = 3


# Sentences per TFRecord shard. Eval and predict records are sorted by
# length within a shard, so this also bounds what prediction holds in memory
# while putting sentences back in order.
DEFAULT_SHARD_SENTENCES = 20000


# Sentences per conversion task handed to a worker process.
CONVERT_TASK_SENTENCES = 1000


def feature_to_example_proto(feature):
  def ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
  fields = {}
  for name, kind in feature_spec.FEATURE_SPEC.items():
    value = getattr(feature, name)
    fields[name] = ints([value] if kind == "scalar" else value)
  return tf.train.Example(features=tf.train.Features(feature=fields))


def write_tfrecord(features, path):
  """Writes features to `path` whole: under a temporary name, then renamed."""
  with file_io.atomic_path(path) as tmp:
    with tf.io.TFRecordWriter(tmp) as writer:
      for feature in features:
        writer.write(feature_to_example_proto(feature).SerializeToString())


def read_tfrecord(paths):
  """Reads records (one file or a list of shards) back as InputFeatures
  (for tests and tools)."""
  features = []
  for path in [paths] if isinstance(paths, str) else paths:
    for record in tf.io.tf_record_iterator(path):
      proto = tf.train.Example.FromString(record)
      values = {name: list(proto.features.feature[name].int64_list.value)
                for name in feature_spec.FEATURE_SPEC}
      for name, kind in feature_spec.FEATURE_SPEC.items():
        if kind == "scalar":
          values[name] = values[name][0]
      features.append(windowing.InputFeatures(**values))
  return features


def _file_digest(path):
  digest = hashlib.sha256()
  with tf.io.gfile.GFile(path, "rb") as f:
    while True:
      chunk = f.read(1 << 20)
      if not chunk:
        break
      digest.update(chunk)
  return digest.hexdigest()


def records_fingerprint(input_file, vocab_file, do_lower_case, max_seq_length,
                        stride, label_map, sort_by_length=False,
                        shard_sentences=DEFAULT_SHARD_SENTENCES,
                        context_sentences=0, reading=None):
  """Hash of everything the records of a file depend on (`reading`: how a
  document format's file becomes sentences, offset_conversion.Reading.key)."""
  key = {
      "format": RECORD_FORMAT_VERSION,
      "input": (_file_digest(input_file) if isinstance(input_file, str) else
                [_file_digest(path) for path in input_file]),
      "vocab": _file_digest(vocab_file),
      "do_lower_case": bool(do_lower_case),
      "max_seq_length": int(max_seq_length),
      "stride": int(stride),
      "labels": label_map.labels,
      "sorted": bool(sort_by_length),
      "shard_sentences": int(shard_sentences),
  }
  if context_sentences:
    key["context_sentences"] = int(context_sentences)
  if reading:
    key["reading"] = reading
  return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


RecordsInfo = collections.namedtuple(
    "RecordsInfo", ["path", "files", "num_examples", "num_features",
                    "num_words", "num_pieces"])


def shard_name(prefix, index, num_shards):
  """"train.<fingerprint>-00003-of-00012"."""
  return "%s-%05d-of-%05d" % (prefix, index, num_shards)


# What conversion workers share; set before the pool forks, so the tokenizer
# and label map are inherited rather than pickled for every task.
_CONVERT_SETTINGS = {}


def _convert_task(task):
  """Converts one task of (example_index, InputExample) pairs.

  Returns:
    (records: list of (length, serialized tf.Example), num_examples,
     num_words).
  """
  s = _CONVERT_SETTINGS
  records, num_words = [], 0
  for index, example in task:
    num_words += len(example.words)
    for feature in windowing.convert_example(example, index, s["label_map"],
                                             s["tokenizer"],
                                             s["max_seq_length"], s["stride"]):
      records.append((len(feature.input_ids),
                      feature_to_example_proto(feature).SerializeToString()))
  return records, len(task), num_words


def _tasks(examples, shard_sentences, task_sentences):
  """Groups examples into (shard index, [(example_index, example)]) tasks
  that never straddle two shards."""
  task, shard = [], 0
  for index, example in enumerate(examples):
    task.append((index, example))
    last_of_shard = (index + 1) % shard_sentences == 0
    if len(task) == task_sentences or last_of_shard:
      yield shard, task
      task = []
    if last_of_shard:
      shard += 1
  if task:
    yield shard, task


def _converted(tasks, processes):
  """Yields (shard, _convert_task result) in task order, converting in
  `processes` worker processes with a bounded number of tasks in flight."""
  if processes <= 1:
    for shard, task in tasks:
      yield shard, _convert_task(task)
    return
  # Fork: the workers inherit _CONVERT_SETTINGS and need no TensorFlow
  # start-up of their own; they only tokenize and serialize protos.
  context = multiprocessing.get_context("fork")
  pending = collections.deque()
  with context.Pool(processes) as pool:
    for shard, task in tasks:
      pending.append((shard, pool.apply_async(_convert_task, (task,))))
      if len(pending) >= 2 * processes:
        shard_index, result = pending.popleft()
        yield shard_index, result.get()
    while pending:
      shard_index, result = pending.popleft()
      yield shard_index, result.get()


def write_record_shards(examples, prefix, label_map, tokenizer,
                        max_seq_length, stride, sort_by_length=False,
                        shard_sentences=DEFAULT_SHARD_SENTENCES, processes=1,
                        total=None):
  """Converts a stream of examples into TFRecord shards, in flat memory.

  Shard k holds the windows of sentences [k * shard_sentences,
  (k + 1) * shard_sentences), in example order, or with sort_by_length
  shortest first (stable), so that predict batches carry little padding.
  Each shard is written under a temporary name; all are renamed to
  `shard_name(prefix, k, n)` once the last one is whole, so a killed run
  leaves no shard that looks finished.

  Args:
    examples: iterable of InputExample.
    prefix: path prefix of the shards.
    processes: worker processes that tokenize (1: this process only).
    total: the number of examples, for progress lines; None if unknown.

  Returns:
    RecordsInfo (path: the shards' glob pattern).
  """
  _CONVERT_SETTINGS.update(label_map=label_map, tokenizer=tokenizer,
                           max_seq_length=max_seq_length, stride=stride)
  task_sentences = min(CONVERT_TASK_SENTENCES, shard_sentences)
  progress_log = progress.Progress("Converted", "sentences", total)
  temporary = []
  counts = collections.Counter()
  current, records = None, []

  def flush():
    if sort_by_length:
      records.sort(key=lambda r: r[0])
    tmp = file_io.temporary_name("%s-%05d" % (prefix, len(temporary)))
    with tf.io.TFRecordWriter(tmp) as writer:
      for _, record in records:
        writer.write(record)
    temporary.append(tmp)
    del records[:]

  try:
    for shard, (task_records, num_examples, num_words) in _converted(
        _tasks(examples, shard_sentences, task_sentences), processes):
      if shard != current and current is not None:
        flush()
      current = shard
      records.extend(task_records)
      counts["examples"] += num_examples
      counts["words"] += num_words
      counts["features"] += len(task_records)
      counts["pieces"] += sum(length for length, _ in task_records)
      progress_log.add(num_examples)
    if records or not temporary:
      flush()
  except BaseException:
    for tmp in temporary:
      if tf.io.gfile.exists(tmp):
        tf.io.gfile.remove(tmp)
    raise
  finally:
    _CONVERT_SETTINGS.clear()
  progress_log.done()
  files = []
  for index, tmp in enumerate(temporary):
    files.append(shard_name(prefix, index, len(temporary)))
    tf.io.gfile.rename(tmp, files[-1], overwrite=True)
  return RecordsInfo(
      path="%s-*-of-%05d" % (prefix, len(files)), files=files,
      num_examples=counts["examples"], num_features=counts["features"],
      num_words=counts["words"], num_pieces=counts["pieces"])


def prepare_records(examples, input_file, split, records_dir, tokenizer,
                    vocab_file, label_map, max_seq_length, stride,
                    sort_by_length=False,
                    shard_sentences=DEFAULT_SHARD_SENTENCES, processes=1,
                    total=None, context_sentences=0, reading=None):
  """Writes the split's TFRecord shards once; reuses them while their inputs
  are unchanged.

  The shards are named after a fingerprint of the input file, vocabulary,
  case, max_seq_length, stride, labels and shard size, so any change
  rebuilds them: `records_dir/<split>.<fingerprint>-00000-of-000NN`, with
  `<split>.<fingerprint>.json` (the RecordsInfo) written last: shards
  without it, or missing one of its files, are rebuilt.

  Args:
    examples: iterable of InputExample (read only when the records are
      built, so a generator costs nothing when they are reused).
    sort_by_length: eval and predict: shortest first within each shard.
    processes: worker processes for the conversion.
    total: the number of examples, for progress lines.
    context_sentences: neighbouring sentences of the same document that
      fill each window (`add_context`).

  Returns:
    RecordsInfo.
  """
  fingerprint = records_fingerprint(input_file, vocab_file,
                                    tokenizer.do_lower_case, max_seq_length,
                                    stride, label_map, sort_by_length,
                                    shard_sentences, context_sentences,
                                    reading)[:16]
  prefix = os.path.join(records_dir, "%s.%s" % (split, fingerprint))
  info_path = prefix + ".json"
  if tf.io.gfile.exists(info_path):
    with tf.io.gfile.GFile(info_path) as f:
      try:
        info = RecordsInfo(**json.load(f))
      except (TypeError, ValueError):
        info = None
    if info and all(tf.io.gfile.exists(p) for p in info.files):
      tf.logging.info("Reusing %s (%d windows of %d sentences)", info.path,
                      info.num_features, info.num_examples)
      return info
  tf.io.gfile.makedirs(records_dir)
  for old in tf.io.gfile.glob(os.path.join(records_dir, "%s.*" % split)):
    if not file_io.written_by_live_process(old):
      tf.io.gfile.remove(old)
  tf.logging.info("Converting %s with %d process(es)", input_file, processes)
  examples = windowing.add_context(examples, context_sentences)
  info = write_record_shards(examples, prefix, label_map, tokenizer,
                             max_seq_length, stride, sort_by_length,
                             shard_sentences, processes, total)
  file_io.atomic_write_text(info_path, json.dumps(info._asdict(), indent=1))
  tf.logging.info("Wrote %s: %d windows of %d sentences in %d shard(s)",
                  info.path, info.num_features, info.num_examples,
                  len(info.files))
  return info
