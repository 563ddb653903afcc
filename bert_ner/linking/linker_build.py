"""run_linker.py's steps: the mentions of each split, the dictionary, the
encoder (fine-tuned with --do_train), the dictionary's vectors computed
once per encoder, and the linker folder.

    built = build(values, log)        # Built(linker, types, scored, model)
    export(built, values)             # values.export_dir
"""

import collections
import hashlib
import os

import tensorflow.compat.v1 as tf

import modeling
import tokenization

from bert_ner import file_io
from bert_ner import progress
from bert_ner.corpora import formats
from bert_ner.corpora import offset_conversion
from bert_ner.linking import dense_training
from bert_ner.linking import dictionary as dictionary_lib
from bert_ner.linking import encoder as encoder_lib
from bert_ner.linking import linker as linker_lib
from bert_ner.linking import linker_folder
from bert_ner.linking import queries as queries_lib
from bert_ner.run import model_files
from bert_ner.run import run_settings

SPLIT_FOLDERS = collections.OrderedDict([
    ("train", "processed_train"), ("dev", "processed_dev"),
    ("test", "processed_test")])
SPLIT_FLAGS = {"train": "do_train", "dev": "do_eval", "test": "do_predict"}
ENCODER_DIR_NAME = "encoder"
# --input_format of BioSyn's preprocessed folders; the others are the
# corpora as released.
BIOSYN_FORMAT = "biosyn"
INPUT_FORMATS = (BIOSYN_FORMAT, "pubtator", "bioc")
# Candidates per training mention the hard negatives are drawn from.
NEGATIVE_POOL = 20
TRAIN_EPOCHS = 3

# What build() reads of its values, with the defaults of run_linker's flags.
DEFAULTS = {
    "dictionary": None, "data_dir": None, "output_dir": None,
    "entity_types": None, "dense": True, "add_training_mentions": True,
    "bert_model_dir": None, "bert_config_file": None, "vocab_file": None,
    "init_checkpoint": None, "train_steps": None, "train_batch_size": 32,
    "num_negatives": 3, "learning_rate": 2e-5, "temperature": 0.05,
    "max_name_length": 32, "seed": 1,
    "sparse_weight": linker_lib.DEFAULT_SPARSE_WEIGHT, "nil_threshold": None,
    "input_format": BIOSYN_FORMAT, "abbreviations": True,
    "split_composites": True, "train_with_dev": False}

Built = collections.namedtuple("Built", ["linker", "types", "scored",
                                         "model"])


def check_values(values):
  """One line per mistake in the encoder's and training's values."""
  for name, low in (("train_batch_size", 1), ("num_negatives", 0),
                    ("max_name_length", 3)):
    if getattr(values, name) < low:
      raise ValueError("--%s must be %d or more, got %d." % (
          name, low, getattr(values, name)))
  if values.train_steps is not None and values.train_steps < 1:
    raise ValueError("--train_steps must be positive, got %d." %
                     values.train_steps)
  if values.temperature <= 0 or values.sparse_weight < 0:
    raise ValueError("--temperature must be positive and --sparse_weight "
                     "not negative, got %g and %g." % (values.temperature,
                                                       values.sparse_weight))
  offset_conversion.parse_entity_types(values.entity_types)
  if values.train_with_dev and (values.do_eval or not values.do_train):
    raise ValueError("--train_with_dev trains on the dev mentions too: it "
                     "needs --do_train and excludes --do_eval.")


def read_queries(values):
  """{split: [Query]} of the splits the --do_ flags ask for, their types
  renamed by --entity_types (mentions of other types left out); with
  --train_with_dev the dev mentions join the training ones."""
  reading = offset_conversion.Reading(
      offset_conversion.parse_entity_types(values.entity_types), None, False)
  out = collections.OrderedDict()
  for split, folder_name in SPLIT_FOLDERS.items():
    if not (getattr(values, SPLIT_FLAGS[split], False) or (
        split == "dev" and values.train_with_dev)):
      continue
    queries = []
    for query in split_queries(values, split, folder_name):
      label = reading.label_of(query.type)
      if label is not None:
        queries.append(query._replace(type=label))
    if not queries:
      raise ValueError("The %s split of %s holds no mention of "
                       "--entity_types %s." % (split, values.data_dir,
                                               values.entity_types))
    out[split] = queries
  if values.train_with_dev:
    out["train"] = out["train"] + out.pop("dev")
  return out


def split_queries(values, split, folder_name):
  """The queries of a split: BioSyn's folder, or the corpus's file as
  released (found in --data_dir as run_ner.py finds it)."""
  if values.input_format == BIOSYN_FORMAT:
    folder = os.path.join(values.data_dir, folder_name)
    if not tf.io.gfile.isdir(folder):
      raise ValueError("--data_dir %s has no %s/ (the %s split, for --%s)." %
                       (values.data_dir, folder_name, split,
                        SPLIT_FLAGS[split]))
    return queries_lib.read_biosyn_split(folder)
  path = run_settings.split_file(None, values.data_dir, split, "data_dir",
                                 values.input_format)
  return queries_lib.document_queries(
      formats.iter_documents(path, values.input_format), path,
      values.abbreviations, values.split_composites)


def linked_types(entity_types, split_queries):
  """The types the linker links, sorted: --entity_types' labels when
  given, else the types of the mentions read (empty ones left out); none
  (every type) without either."""
  chosen = offset_conversion.parse_entity_types(entity_types)
  if chosen:
    return sorted(set(chosen.values()))
  return sorted({q.type for queries in split_queries.values()
                 for q in queries if q.type})


def build(values, log=print):
  """The Built linker of run_linker's values; trains the encoder first
  with values.do_train."""
  split_queries = read_queries(values)
  dictionary = dictionary_lib.read(values.dictionary)
  log("Dictionary: %d names of %d concepts" % (len(dictionary),
                                               dictionary.concepts()))
  train = split_queries.pop("train", None)
  parts = dense_training.training_parts(train or [])
  if train is not None and values.add_training_mentions:
    for part in parts:
      dictionary.add(part.text, part.gold)
    log("With the training mentions: %d names" % len(dictionary))
  dictionary.count_mentions(single_mentions(train or []))
  types = linked_types(values.entity_types,
                       dict(split_queries, train=train or []))
  if not values.dense:
    linker = linker_lib.Linker(dictionary, sparse_weight=values.sparse_weight,
                               nil_threshold=values.nil_threshold)
    return Built(linker, types, split_queries, None)
  config_file, vocab_file, checkpoint = model_files.resolve_model_files(
      {k: getattr(values, k) for k in model_files.MODEL_FLAGS},
      values.output_dir, trained=False)
  encoder = encoder_lib.NameEncoder(
      modeling.BertConfig.from_json_file(config_file),
      tokenization.FullTokenizer(vocab_file, do_lower_case=True),
      values.max_name_length)
  encoder.restore(checkpoint)
  index_linker = None
  if train is not None:
    index_linker = linker_lib.Linker(
        dictionary, encoder, cached_vectors(values.output_dir, encoder,
                                            checkpoint, dictionary, log),
        values.sparse_weight)
    checkpoint = train_encoder(values, index_linker, parts, checkpoint,
                               log)
    encoder.restore(checkpoint)
  linker = linker_lib.Linker(
      dictionary, encoder, cached_vectors(values.output_dir, encoder,
                                          checkpoint, dictionary, log),
      values.sparse_weight, values.nil_threshold,
      index=index_linker and index_linker.index)
  return Built(linker, types, split_queries, (config_file, vocab_file))


def single_mentions(queries):
  """(text, gold ids) of the queries of one part with a gold concept: the
  mentions that break ties between concepts sharing a name
  (Dictionary.count_mentions). A composite mention's parts are left out:
  their ids may come in another order than the parts ("recurrent
  meningitis", D008581+D012008)."""
  return dense_training.training_parts(
      [q for q in queries if len(q.parts) == 1])


def train_encoder(values, linker, parts, init_checkpoint, log):
  """Fine-tunes the encoder into OUTPUT_DIR/encoder (resumed there);
  returns the trained checkpoint."""
  dictionary = linker.dictionary
  parts, positives = dense_training.positive_rows(parts, dictionary)
  ranked = linker.rank([p.text for p in parts], NEGATIVE_POOL)
  negatives = dense_training.hard_negatives(
      parts, dictionary, [[row for row, _ in r] for r in ranked],
      NEGATIVE_POOL)
  steps = values.train_steps or max(
      1, TRAIN_EPOCHS * len(parts) // values.train_batch_size)
  settings = dense_training.TrainSettings(
      steps, values.train_batch_size, values.num_negatives,
      values.learning_rate, values.temperature, values.max_name_length,
      values.seed, save_every=100)
  folder = os.path.join(values.output_dir, ENCODER_DIR_NAME)
  tf.io.gfile.makedirs(folder)
  log("Training the encoder on %d mention parts, %d steps of %d" % (
      len(parts), steps, values.train_batch_size))
  return dense_training.train(linker.encoder.bert_config,
                              linker.encoder.tokenizer, init_checkpoint,
                              settings, parts, positives, negatives,
                              dictionary, folder, log)


def cached_vectors(output_dir, encoder, checkpoint, dictionary, log):
  """The dictionary's vectors by the encoder restored from `checkpoint`,
  computed once: kept in OUTPUT_DIR/vectors-<key>.npy, the key hashing
  the checkpoint's files, the names and the length cut."""
  key = hashlib.sha1()
  stat = tf.io.gfile.stat(modeling.resolve_checkpoint(checkpoint) + ".index")
  key.update(("%s %d %d" % (checkpoint, stat.length,
                            stat.mtime_nsec)).encode("utf-8"))
  key.update(("%d\n" % encoder.max_length).encode("utf-8"))
  key.update("\n".join(dictionary.names).encode("utf-8"))
  path = os.path.join(output_dir, "vectors-%s.npy" % key.hexdigest()[:16])
  if tf.io.gfile.exists(path):
    return linker_folder.read_npy(path)
  tf.io.gfile.makedirs(output_dir)
  counter = progress.Progress("Embedded", "names", total=len(dictionary),
                              log=log)
  last = [0]

  def advance(done):
    counter.add(done - last[0])
    last[0] = done

  vectors = encoder.embed(dictionary.names, progress=advance)
  counter.done()
  with file_io.atomic_path(path) as tmp:
    linker_folder.write_npy(tmp, vectors)
  return vectors


def export(built, values):
  """Writes the linker folder at values.export_dir."""
  config_file, vocab_file = built.model or (None, None)
  linker_folder.write(values.export_dir, built.linker, built.types,
                      do_lower_case=True, bert_config_file=config_file,
                      vocab_file=vocab_file)
