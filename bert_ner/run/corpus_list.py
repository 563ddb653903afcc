"""--corpora: one model trained across several corpora, each annotating
its own entity types (its scope).

The file is a JSON list, one object per corpus:

  [{"name": "ncbi", "input_format": "conll", "entity_types": "Disease",
    "data_dir": "data/ncbi_disease"},
   {"name": "bc5cdr_chem", "entity_types": "Chemical",
    "train_file": "bc5cdr/train.tsv", "dev_file": "bc5cdr/dev.tsv",
    "test_file": "bc5cdr/test.tsv"},
   {"name": "tmvar", "input_format": "pubtator",
    "entity_types": "DNAMutation=Variant,ProteinMutation=Variant,SNP=Variant",
    "data_dir": "tmvar"}]

  name          the corpus's folder under OUTPUT_DIR/corpora/ (letters,
                digits, - and _), unique
  input_format  conll (the default), pubtator or bioc
  entity_types  --entity_types' syntax: the types the corpus annotates,
                renamed to the model's shared names; tags and mentions of
                other types are read as O (counted) and the corpus
                teaches nothing about the types outside its scope
  data_dir      the corpus's folder (train/dev/test found by their names),
                or train_file, dev_file, test_file (each overrides it)

The model's types are the union of the scopes.
"""

import collections
import json
import os
import re

import tensorflow.compat.v1 as tf

from bert_ner.corpora import formats
from bert_ner.corpora import offset_conversion
from bert_ner import label_set

KEYS = ("name", "input_format", "entity_types", "data_dir", "train_file",
        "dev_file", "test_file")
SPLITS = ("train", "dev", "test")
CORPORA_DIR_NAME = "corpora"
# Letters, digits, - and _: never "." or "..", which would put a corpus's
# results in OUTPUT_DIR itself (or above it).
_NAME = re.compile(r"[A-Za-z0-9_-]+")


class Corpus(collections.namedtuple("Corpus", [
    "index", "name", "input_format", "entity_types", "files"])):
  """One corpus of a run: its index (the records' corpus_id), name (None for
  the one corpus of the file flags), format, entity_types ({type in the
  data: model type}, as offset_conversion.parse_entity_types gives; None
  for the one corpus of the file flags, which annotates every type its
  data has) and files ({split: path} of the splits the run uses).

  A run always has a list of corpora: the file flags make a list of one
  (`of_files`), --corpora a list of several (`read`).
  """

  @property
  def scope(self):
    """The model's types this corpus annotates, sorted; None: every type
    (the corpus of the file flags)."""
    if self.entity_types is None:
      return None
    return tuple(sorted(set(self.entity_types.values())))

  def reading(self, base):
    """The offset_conversion.Reading of this corpus's documents."""
    if self.entity_types is None:
      return base
    return base._replace(entity_types=self.entity_types)

  def folder(self, output_dir):
    """Where the corpus's outputs go: OUTPUT_DIR/corpora/<name>, or
    OUTPUT_DIR itself for the corpus of the file flags."""
    if self.name is None:
      return output_dir
    return os.path.join(output_dir, CORPORA_DIR_NAME, self.name)

  def split_format(self, split):
    """The format a split's file is read in: train and dev are CoNLL unless
    the corpus is of a training format (a test file may be text or PubMed
    XML)."""
    if split == "test" or self.input_format in formats.TRAINING_FORMATS:
      return self.input_format
    return "conll"

  def records_name(self, split):
    """The name of a split's records: dev, or dev-<corpus>."""
    return split if self.name is None else "%s-%s" % (split, self.name)

  def reading_key(self, document_key):
    """The records' fingerprint of a split of this corpus: the document
    reading's key, with the corpus's index and scope if it has one."""
    if self.entity_types is None:
      return document_key
    return {"reading": document_key, "corpus": self.index,
            "entity_types": list(self.entity_types.items())}

  def examples(self, stream, input_format, other_types):
    """A split's examples as the model learns them: CoNLL tags renamed to
    the scope's names (those of other types read as O, counted in
    `other_types`) and each example tagged with the corpus's index.
    Documents are renamed as they are read (`reading`)."""
    if self.entity_types is not None and input_format == "conll":
      stream = rename_tags(stream, self.entity_types, other_types)
    return with_corpus(stream, self.index)


def of_files(files, input_format):
  """The one corpus of the file flags, as a list of one: no name (its
  outputs in OUTPUT_DIR), every type its data has.

  Args:
    files: {split: path} of the splits the run uses.
    input_format: --input_format.
  """
  return [Corpus(0, None, input_format, None, dict(files))]


def full_scope(scope, labels):
  """A corpus's scope, every type of `labels` for the corpus of the file
  flags (scope None)."""
  if scope is not None:
    return scope
  return tuple(label_set.types_of(labels))


def describe(corpus):
  """What a corpus's results line says of it: "" for the corpus of the
  file flags."""
  if corpus.name is None:
    return ""
  return " of %s, scored on its types" % corpus.name


def scopes(corpora):
  """((name, scope), ...) of the named corpora, as the model saves them
  (model_settings' corpus_scopes); () for the corpus of the file flags."""
  return tuple((c.name, c.scope) for c in corpora if c.name is not None)


def check_scopes(corpora, saved, folder):
  """A predict-only run across corpora against the model's saved
  corpus_scopes: a type no corpus of the model annotated is an error
  (the model never learned it); any other difference is returned as one
  line to log (None when they agree).

  Raises:
    ValueError: naming the corpus, the type and the model's folder.
  """
  given = scopes(corpora)
  if not given or tuple(saved) == given:
    return None
  learned = {t for _, scope in saved for t in scope}
  for name, scope in given:
    unknown = sorted(set(scope) - learned)
    if unknown:
      raise ValueError(
          "--corpora, corpus %r: the model in %s was trained on no corpus "
          "annotating %s (its corpora: %s)." % (
              name, folder, ", ".join(unknown), describe_scopes(saved)))
  return ("The corpora differ from those the model in %s was trained on: "
          "%s now, %s then; each corpus is scored on its types as given." % (
              folder, describe_scopes(given), describe_scopes(saved)))


def describe_scopes(named_scopes):
  return "; ".join("%s (%s)" % (name, ", ".join(scope))
                   for name, scope in named_scopes) or "none named"


def parse(text, path):
  """The corpora of a --corpora file's text (files not yet resolved).

  Raises:
    ValueError: one line naming the file, the corpus and what is wrong.
  """
  try:
    items = json.loads(text)
  except ValueError as e:
    raise ValueError("--corpora %s is not valid JSON (%s)." % (path, e))
  if not isinstance(items, list) or not items:
    raise ValueError("--corpora %s: expected a JSON list of corpora (objects "
                     "with %s), got %s." % (path, ", ".join(KEYS),
                                            json.dumps(items)[:80]))
  corpora, names = [], set()
  for index, item in enumerate(items):
    where = "--corpora %s, corpus %d" % (path, index + 1)
    if not isinstance(item, dict):
      raise ValueError("%s: expected an object, got %s." % (
          where, json.dumps(item)[:80]))
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
      raise ValueError("%s: \"name\" must be a folder name (letters, digits, "
                       "- and _), got %s." % (where, json.dumps(name)))
    where = "--corpora %s, corpus %r" % (path, name)
    if name in names:
      raise ValueError("%s: the name is given twice." % where)
    names.add(name)
    unknown = sorted(set(item) - set(KEYS))
    if unknown:
      raise ValueError("%s: unknown key(s) %s (known: %s)." % (
          where, ", ".join(map(json.dumps, unknown)), ", ".join(KEYS)))
    for key, value in item.items():
      if not isinstance(value, str):
        raise ValueError("%s: %s must be a string, got %s." % (
            where, key, json.dumps(value)))
    input_format = item.get("input_format", "conll")
    if input_format not in formats.TRAINING_FORMATS:
      raise ValueError("%s: input_format %r is no training format (%s)." % (
          where, input_format, ", ".join(formats.TRAINING_FORMATS)))
    corpora.append(Corpus(index, name, input_format,
                          parse_scope(item.get("entity_types", ""), where),
                          dict(item)))
  return corpora


def parse_scope(value, where):
  """entity_types as {type in the data: model type}; an empty one, or a
  type of the data named twice, is an error."""
  if not value.strip():
    raise ValueError("%s: entity_types is empty: name the types the corpus "
                     "annotates (TYPE or TYPE=NAME, comma-separated)." % where)
  seen = collections.Counter(item.partition("=")[0].strip()
                             for item in value.split(","))
  twice = sorted(t for t, n in seen.items() if n > 1)
  if twice:
    raise ValueError("%s: entity_types names %s twice." % (
        where, ", ".join(twice)))
  try:
    return offset_conversion.parse_entity_types(value)
  except ValueError as e:
    raise ValueError("%s: %s" % (where, e))


def read(path, splits, find_file):
  """The corpora of a --corpora file, with the files of `splits` found.

  Args:
    path: the JSON file.
    splits: the splits the run uses ("train", "dev", "test").
    find_file: (explicit file or None, data_dir or None, split, key,
      input_format) -> path; raises ValueError (run_settings.split_file).
  """
  if not tf.io.gfile.exists(path):
    raise ValueError("--corpora %s does not exist." % path)
  with tf.io.gfile.GFile(path) as f:
    corpora = parse(f.read(), path)
  out = []
  for corpus in corpora:
    given, files = corpus.files, {}
    for split in splits:
      key = "%s_file" % split
      try:
        files[split] = find_file(given.get(key), given.get("data_dir"), split,
                                 key, corpus.input_format)
      except ValueError as e:
        raise ValueError("--corpora %s, corpus %r: %s" % (
            path, corpus.name, str(e).replace("--", "")))
    out.append(corpus._replace(files=files))
  return out


def rename_tags(examples, entity_types, counts):
  """CoNLL examples with their tags' types renamed by a scope (B-GENE read
  as B-Gene); a tag of a type outside it becomes O, counted in
  counts["other_type_tags"] (and in counts[type])."""
  for example in examples:
    if example.labels is not None:
      example.labels = [_renamed(label, entity_types, counts)
                        for label in example.labels]
    yield example


def _renamed(label, entity_types, counts):
  prefix, type_ = label_set.split_tag(label)
  if not type_:
    return label
  new = entity_types.get(type_, entity_types.get(offset_conversion.ALL_TYPES))
  if new is None:
    counts["other_type_tags"] += 1
    counts[type_] += 1
    return "O"
  return "%s-%s" % (prefix, new)


def with_corpus(examples, index):
  """The examples with their corpus's index (the records' corpus_id)."""
  for example in examples:
    example.corpus = index
    yield example


def other_types_report(path, counts):
  """The conversion report of a CoNLL file of a corpus: its tags of types
  outside the scope, read as O."""
  by_type = {t: n for t, n in counts.items() if t != "other_type_tags"}
  return {"path": path, "other_type_tags": counts["other_type_tags"],
          "other_types": by_type,
          "line": "%s: %d tags of types outside the corpus's scope read as O"
                  " (%s)" % (path, counts["other_type_tags"], ", ".join(
                      "%s %d" % kv for kv in sorted(by_type.items())))}


def sampled(examples_of, sizes, alpha):
  """The training stream across corpora: corpus i gives
  round(N * n_i^alpha / sum_j n_j^alpha) sentences (N the sentences of
  all, n_i its own): alpha 1 takes each corpus as it is, alpha < 1 draws
  the small ones more often (its sentences again, from its first, as many
  times as needed), the large ones less (its first sentences only); the
  input pipeline shuffles them.

  Args:
    examples_of: corpus index -> a fresh iterator of its examples.
    sizes: the sentences of each corpus.
  """
  for index, count in enumerate(sampled_counts(sizes, alpha)):
    taken = 0
    while taken < count:
      for example in examples_of(index):
        if taken == count:
          break
        taken += 1
        yield example


def sampled_counts(sizes, alpha):
  """The sentences each corpus gives an epoch (see `sampled`)."""
  total = sum(sizes)
  if alpha == 1.0:
    return list(sizes)
  weights = [n ** alpha if n else 0.0 for n in sizes]
  return [int(round(total * w / sum(weights))) for w in weights]
