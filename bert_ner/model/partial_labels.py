"""Partial annotation: what a corpus that annotates some types only
teaches about a word it tags O.

A corpus's scope is the types it annotates. Its O says "no entity of my
types here", not "no entity": the word may be a gene in a disease corpus.
Per corpus and gold label, the table built here gives the labels the word
may truly have; the loss is then -log of their summed probability
(softmax), or of the summed probability of every tag path through them
(CRF), so a word is never taught "not an entity of type T" by a corpus
whose scope lacks T:

  marginal   O in a corpus without T also allows B-T and I-T (and E-, S-
             in IOBES) for each such T; an entity tag allows itself only.
  ignore_o   O in a corpus that lacks any of the model's types allows
             every label: such words add no loss at all (the corpus
             teaches its entities only, never O).
  none       every gold label allows itself only: the corpora are taken
             as fully annotated, as if concatenated into one.

A corpus whose scope holds every type of the model gets the full
supervision of `none` under every mechanism, and so does a run of one
corpus.
"""

import numpy as np

from bert_ner.label_set import label_type

MECHANISMS = ("marginal", "ignore_o", "none")


def allowed_table(labels, scopes, mechanism):
  """[corpora, labels, labels] float32 of 0/1: table[c, gold, y] = 1 if in
  corpus c a word of gold label `gold` may truly have label y.

  Args:
    labels: the label map's labels, by id.
    scopes: per corpus (by its index), the types it annotates.
    mechanism: one of MECHANISMS.
  """
  if mechanism not in MECHANISMS:
    raise ValueError("Unknown partial-label mechanism %r: use one of %s." %
                     (mechanism, ", ".join(MECHANISMS)))
  num = len(labels)
  types = {label_type(label) for label in labels} - {None}
  table = np.tile(np.eye(num, dtype=np.float32), [max(len(scopes), 1), 1, 1])
  if mechanism == "none" or "O" not in labels:
    return table
  o_id = labels.index("O")
  for corpus, scope in enumerate(scopes):
    outside = types - set(scope)
    if not outside:
      continue
    if mechanism == "ignore_o":
      table[corpus, o_id, :] = 1.0
      continue
    for label_id, label in enumerate(labels):
      if label_type(label) in outside:
        table[corpus, o_id, label_id] = 1.0
  return table


def is_full(table):
  """True if the table allows every gold label itself alone (each corpus
  fully annotated): the plain loss, no table needed."""
  return bool((table == np.eye(table.shape[-1], dtype=table.dtype)).all())


def describe(table, labels, scopes, names):
  """One line per corpus of an allowed_table: its scope and what its O
  allows."""
  lines = []
  o_id = labels.index("O") if "O" in labels else None
  for corpus, (scope, name) in enumerate(zip(scopes, names)):
    also = ([labels[i] for i in np.nonzero(table[corpus, o_id])[0]
             if i != o_id] if o_id is not None else [])
    lines.append("%s: annotates %s; its O %s" % (
        name, ", ".join(scope) or "nothing",
        "may also be " + " ".join(also) if also else "means O"))
  return lines
