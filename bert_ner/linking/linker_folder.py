"""A linker as a folder: what `run_linker.py --export_dir` writes and the
doors (`--linker_dir`) load.

    linker.json           the settings: the types it links, sparse_weight,
                          nil_threshold, do_lower_case, max_length, counts
    dictionary.tsv        one name a line: ids (joined by |), the normalised
                          name, the name as the dictionary wrote it, the
                          training mentions of that name and concept (a
                          folder written without the fourth column reads 0)
    sparse_index.npz      the TF-IDF index (n-grams, idf, the names' rows)
    embeddings.npy        float32 [names, hidden]: the names' dense vectors
    encoder.ckpt.*        the fine-tuned encoder (BERT's variables)
    bert_config.json, vocab.txt

A folder without an encoder (a sparse linker) has no embeddings.npy,
encoder.ckpt or BERT files. The folder is written whole (into a temporary
folder renamed into place). On load the encoder embeds a few of the
dictionary's names and compares them with the saved vectors: a folder whose
files were mixed is refused, naming both.
"""

import collections
import io
import json
import os

import numpy as np
from scipy import sparse as scipy_sparse
import tensorflow.compat.v1 as tf

import modeling
import tokenization

from bert_ner import file_io
from bert_ner.linking import concept_ids
from bert_ner.linking import dictionary as dictionary_lib
from bert_ner.linking import encoder as encoder_lib
from bert_ner.linking import linker as linker_lib
from bert_ner.linking import sparse

SETTINGS_NAME = "linker.json"
DICTIONARY_NAME = "dictionary.tsv"
SPARSE_NAME = "sparse_index.npz"
EMBEDDINGS_NAME = "embeddings.npy"
ENCODER_PREFIX = "encoder.ckpt"
BERT_CONFIG_NAME = "bert_config.json"
VOCAB_NAME = "vocab.txt"
# Names re-embedded on load and compared with the saved vectors.
CHECKED_NAMES = 8
CHECK_TOLERANCE = 2e-3

Loaded = collections.namedtuple("Loaded", ["linker", "types", "folder"])


def write(folder, linker, types, do_lower_case, bert_config_file=None,
          vocab_file=None):
  """Writes `linker` (its encoder's variables, if dense) as a folder."""
  tmp = folder.rstrip("/") + ".tmp-%d" % os.getpid()
  if tf.io.gfile.exists(tmp):
    tf.io.gfile.rmtree(tmp)
  tf.io.gfile.makedirs(tmp)
  settings = {"types": sorted(types), "sparse_weight": linker.sparse_weight,
              "nil_threshold": linker.nil_threshold,
              "do_lower_case": do_lower_case,
              "names": len(linker.dictionary),
              "concepts": linker.dictionary.concepts(),
              "dense": linker.encoder is not None}
  lines = ["%s\t%s\t%s\t%d\n" % ("|".join(e.ids), e.name,
                                 e.shown.replace("\t", " "), e.mentions)
           for e in linker.dictionary.entries]
  file_io.atomic_write_text(os.path.join(tmp, DICTIONARY_NAME),
                            "".join(lines))
  _write_sparse(os.path.join(tmp, SPARSE_NAME), linker.index)
  if linker.encoder is not None:
    settings["max_length"] = linker.encoder.max_length
    write_npy(os.path.join(tmp, EMBEDDINGS_NAME),
               linker.embeddings.astype(np.float32))
    linker.encoder.save(os.path.join(tmp, ENCODER_PREFIX))
    tf.io.gfile.copy(bert_config_file, os.path.join(tmp, BERT_CONFIG_NAME))
    tf.io.gfile.copy(vocab_file, os.path.join(tmp, VOCAB_NAME))
  file_io.atomic_write_text(os.path.join(tmp, SETTINGS_NAME),
                            json.dumps(settings, indent=2) + "\n")
  if tf.io.gfile.exists(folder):
    tf.io.gfile.rmtree(folder)
  tf.io.gfile.rename(tmp, folder)


def write_npy(path, array):
  """One array as .npy (through memory: gfile's files do not seek)."""
  buffer = io.BytesIO()
  np.save(buffer, array)
  with tf.io.gfile.GFile(path, "wb") as f:
    f.write(buffer.getvalue())


def read_npy(path):
  """One array of a .npy file: a local file mapped read-only (its pages
  read when used, shared by the processes that map it), any other read
  whole (gfile's files do not seek)."""
  if "://" not in path:
    return np.asarray(np.load(path, mmap_mode="r"))
  with tf.io.gfile.GFile(path, "rb") as f:
    return np.load(io.BytesIO(f.read()))


def _write_sparse(path, index):
  grams = sorted(index.vocabulary, key=index.vocabulary.get)
  matrix = index.matrix.tocsr()
  buffer = io.BytesIO()
  np.savez(buffer, grams=np.array(grams, dtype=np.str_), idf=index.idf,
           data=matrix.data, indices=matrix.indices, indptr=matrix.indptr,
           shape=np.array(matrix.shape), sizes=np.array(index.sizes))
  with tf.io.gfile.GFile(path, "wb") as f:
    f.write(buffer.getvalue())


def _read_sparse(path):
  with tf.io.gfile.GFile(path, "rb") as f:
    saved = np.load(io.BytesIO(f.read()))
    grams = saved["grams"].tolist()
    matrix = scipy_sparse.csr_matrix(
        (saved["data"], saved["indices"], saved["indptr"]),
        shape=tuple(saved["shape"]))
    return sparse.SparseIndex({g: i for i, g in enumerate(grams)},
                              saved["idf"], matrix,
                              tuple(saved["sizes"].tolist()))


def _read_dictionary(path):
  dictionary = dictionary_lib.Dictionary()
  ids_of = {}  # a concept's ids, read once for its many names
  for number, line in tokenization.iter_utf8_lines(path, "linker dictionary"):
    fields = line.split("\t")
    if len(fields) not in (3, 4):
      raise ValueError("%s, line %d: expected ids<TAB>name<TAB>shown name"
                       "<TAB>training mentions; the linker folder is "
                       "damaged: export it again." % (path, number))
    mentions = fields[3] if len(fields) == 4 else "0"
    if not mentions.isdigit():
      raise ValueError("%s, line %d: the training mentions %r are no "
                       "count; the linker folder is damaged: export it "
                       "again." % (path, number, mentions))
    ids = ids_of.get(fields[0])
    if ids is None:
      ids = ids_of[fields[0]] = concept_ids.entry_ids(fields[0])
    dictionary.entries.append(dictionary_lib.Entry(
        fields[1], ids, fields[2], int(mentions)))
  return dictionary


def read_settings(folder):
  path = os.path.join(folder, SETTINGS_NAME)
  if not tf.io.gfile.exists(path):
    raise ValueError("--linker_dir %s is not a linker folder: it has no %s "
                     "(run_linker.py --export_dir writes one)." % (
                         folder, SETTINGS_NAME))
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)


def load(folder, threads=None):
  """The Loaded(linker, types, folder) of a linker folder.

  Raises:
    ValueError: not a linker folder; its encoder does not give its saved
      embeddings; an empty dictionary.
  """
  settings = read_settings(folder)
  dictionary = _read_dictionary(os.path.join(folder, DICTIONARY_NAME))
  if not len(dictionary):
    raise ValueError("The linker folder %s has an empty dictionary." %
                     folder)
  index = _read_sparse(os.path.join(folder, SPARSE_NAME))
  encoder, embeddings = None, None
  if settings.get("dense"):
    config = modeling.BertConfig.from_json_file(
        os.path.join(folder, BERT_CONFIG_NAME))
    tokenizer = tokenization.FullTokenizer(
        os.path.join(folder, VOCAB_NAME), settings["do_lower_case"])
    encoder = encoder_lib.NameEncoder(config, tokenizer,
                                      settings["max_length"], threads)
    encoder.restore(os.path.join(folder, ENCODER_PREFIX))
    embeddings = read_npy(os.path.join(folder, EMBEDDINGS_NAME))
    check_embeddings(folder, encoder, embeddings, dictionary)
  linker = linker_lib.Linker(dictionary, encoder, embeddings,
                             settings["sparse_weight"],
                             settings["nil_threshold"], index=index)
  return Loaded(linker, tuple(settings["types"]), folder)


def check_embeddings(folder, encoder, embeddings, dictionary):
  """Raises ValueError unless the encoder gives the saved vectors of the
  first names."""
  if embeddings.shape != (len(dictionary), encoder.hidden_size):
    raise ValueError(
        "The linker folder %s: %s holds %s vectors, its dictionary %d names "
        "and its encoder %d dimensions: export the linker again." % (
            folder, EMBEDDINGS_NAME, "x".join(map(str, embeddings.shape)),
            len(dictionary), encoder.hidden_size))
  count = min(CHECKED_NAMES, len(dictionary))
  fresh = encoder.embed([e.name for e in dictionary.entries[:count]])
  gap = float(np.max(np.abs(fresh - embeddings[:count])))
  if gap > CHECK_TOLERANCE:
    raise ValueError(
        "The linker folder %s: its encoder (%s) does not give its saved "
        "vectors (%s; the first names differ by up to %.3f): the two come "
        "from different trainings. Export the linker again." % (
            folder, ENCODER_PREFIX, EMBEDDINGS_NAME, gap))
