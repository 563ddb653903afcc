"""The linker: a dictionary, its two indexes and their fused ranking, and
the scores and predictions of a split.

    linker = Linker(dictionary.read(paths), encoder, embeddings)
    ranked = linker.rank(["breast cancer", "ovarian cancer"], k=5)
    results, lines = score_queries(linker, queries, k=10)

A name's score for a mention is its dense cosine (encoder.NameEncoder,
the dictionary's `embeddings` computed once) plus `sparse_weight` times its
character n-gram TF-IDF cosine (sparse.SparseIndex); without an encoder,
the TF-IDF cosine alone. The dense cosine is exact over every name (a
matrix product per chunk of mentions); the fused score is computed for
the FUSED_CANDIDATES best names by it, the TF-IDF cosine alone (scored
beside) over every name.
Names that score the same (to 6 decimals: several concepts share a name)
are ranked by their training mentions (Entry.mentions: the training
mentions of that name and concept), then by their order in the
dictionary.
A mention whose best fused score is under `nil_threshold` links to no
concept (NIL).
"""

import collections
import json

import numpy as np

from bert_ner.linking import concept_ids
from bert_ner.linking import queries as queries_lib
from bert_ner.linking import sparse

# The weight of the TF-IDF cosine beside the dense one: the best of 0.25,
# 0.5, 1 and 2 for MiniLM as released on NCBI-disease's test mentions; its
# dev mentions prefer 1 for the fine-tuned encoder (docs/linking.md).
DEFAULT_SPARSE_WEIGHT = 0.25
# Mentions scored per matrix product: [chunk, names] floats, twice.
CHUNK = 128
MODES = ("fused", "sparse", "dense")
# Names re-scored by the fused score per mention: its best by the dense
# score (an exact name scores 1 there, so it is always among them).
FUSED_CANDIDATES = 64

# A mention's concept: the id written (the concept's first: its MeSH id where
# it has one), the name matched, the score, and all ids of the concept (its
# alternatives, MeSH and OMIM).
Link = collections.namedtuple("Link", ["id", "name", "score", "ids"])


def link_fields(link):
  """The keys a linked entity carries in entities.jsonl and the service:
  "id", "concept" (the name matched) and "link_score"."""
  return {"id": link.id, "concept": link.name, "link_score": link.score}


class Linker(object):
  """A dictionary, its sparse index and (optionally) the dense encoder and
  the dictionary's embeddings."""

  def __init__(self, dictionary, encoder=None, embeddings=None,
               sparse_weight=DEFAULT_SPARSE_WEIGHT, nil_threshold=None,
               index=None):
    if (encoder is None) != (embeddings is None):
      raise ValueError("A dense linker needs both its encoder and the "
                       "dictionary's embeddings.")
    if embeddings is not None and len(embeddings) != len(dictionary):
      raise ValueError("%d embeddings for a dictionary of %d names." % (
          len(embeddings), len(dictionary)))
    self.dictionary = dictionary
    self.index = index or sparse.SparseIndex.fit(dictionary.names)
    self.encoder = encoder
    self.embeddings = embeddings
    self.sparse_weight = sparse_weight
    self.nil_threshold = nil_threshold
    self._mentions = np.array([e.mentions for e in dictionary.entries],
                              np.int64)
    self._exact = {}
    for row, entry in enumerate(dictionary.entries):
      first = self._exact.setdefault(entry.name, row)
      if entry.mentions > self._mentions[first]:
        self._exact[entry.name] = row

  @property
  def modes(self):
    """The rankings this linker has: fused, sparse and dense, or sparse."""
    return MODES if self.encoder is not None else ("sparse",)

  def rank_modes(self, texts, k, modes=None):
    """{mode: per text, its k best entries as [(row, score)], best first}
    for each of `modes` (default: self.modes; the first is the linker's
    own ranking)."""
    modes = modes or self.modes
    out = {mode: [] for mode in modes}
    texts = list(texts)
    vectors = None
    if self.encoder is not None and ({"dense", "fused"} & set(modes)):
      # Embedded in one call: its batches group texts of a length (a
      # chunk's batch would pad every text to the chunk's longest).
      vectors = self.encoder.embed(texts)
    for start in range(0, len(texts), CHUNK):
      chunk = texts[start:start + CHUNK]
      ranked = {}
      if "sparse" in modes:
        ranked["sparse"] = self._best(*sparse.best_k(
            self.index.scores(chunk), max(k, FUSED_CANDIDATES)), k)
      if vectors is not None:
        # The dense scores' best, chosen once for both rankings.
        scores, rows = sparse.best_k(
            vectors[start:start + CHUNK] @ self.embeddings.T,
            max(k, FUSED_CANDIDATES))
        if "dense" in modes:
          ranked["dense"] = self._best(scores, rows, k)
        if "fused" in modes:
          ranked["fused"] = self._fused(chunk, scores, rows, k)
      for mode in modes:
        scores, rows = ranked[mode]
        out[mode].extend(list(zip(r.tolist(), s.tolist()))
                         for r, s in zip(rows, scores))
    return out

  def _fused(self, texts, scores, rows, k):
    """(scores, rows) of the k best by the fused score among each text's
    best names by the dense score (`scores`, `rows`: its FUSED_CANDIDATES
    or more; their TF-IDF cosines computed for those names alone)."""
    fused = scores + self.sparse_weight * self.index.pair_scores(texts, rows)
    return self._best(fused, rows, k)

  def _best(self, scores, rows, k):
    """The k best of each text's (scores, rows): by the score to 6
    decimals, then the concept's training mentions, then the row."""
    order = np.lexsort((rows, -self._mentions[rows], -np.round(scores, 6)),
                       axis=1)[:, :k]
    return (np.take_along_axis(scores, order, axis=1),
            np.take_along_axis(rows, order, axis=1))

  def rank(self, texts, k):
    """Per text, its k best entries as [(row, score)] by the linker's own
    ranking (fused, or sparse alone), best first."""
    mode = self.modes[0]
    return self.rank_modes(texts, k, [mode])[mode]

  def link(self, texts):
    """Per text (normalised), its Link, or None (NIL: no name scores
    `nil_threshold` or more). A text that is a name of the dictionary
    takes that name without ranking: both of its cosines are 1, the most
    any name scores (ties broken as in the ranking)."""
    exact = [self.exact(t) for t in texts]
    ranked = iter(self.rank([t for t, row in zip(texts, exact)
                             if row is None], 1))
    best = 1.0 + (self.sparse_weight if self.encoder is not None else 0.0)
    out = []
    for row in exact:
      row, score = (row, best) if row is not None else next(ranked)[0]
      if self.nil_threshold is not None and score < self.nil_threshold:
        out.append(None)
      else:
        entry = self.dictionary.entries[row]
        out.append(Link(entry.ids[0], entry.shown, round(float(score), 4),
                        entry.ids))
    return out

  def exact(self, text):
    """The row of the entry whose name is `text` (of those, the concept
    with the most training mentions, then the first), or None."""
    return self._exact.get(text)

  def candidate(self, row, score):
    entry = self.dictionary.entries[row]
    return {"id": "|".join(entry.ids), "name": entry.shown,
            "score": round(float(score), 4)}


def score_queries(linker, queries, k):
  """Links every part of every query and scores them (BioSyn's rule).

  Returns:
    (results dict: acc1, acc5 (of the linker's own ranking), per mode
     <mode>_acc1, exact_acc1, queries, composite, dictionary sizes; one
     JSON line per query, in order: {"document", "start", "end",
     "mention", "gold", "parts": [{"text", "candidates": [...]}]}).
  """
  parts = [p for q in queries for p in q.parts]
  ranked = linker.rank_modes(parts, k)
  own = linker.modes[0]
  hits = {mode: [] for mode in ranked}
  exact_hits, lines = [], []
  position = 0
  for query in queries:
    span = range(position, position + len(query.parts))
    position += len(query.parts)
    gold = concept_ids.gold_parts(query.gold)
    for mode, mode_ranked in ranked.items():
      hits[mode].append(queries_lib.part_hits(query, [
          [linker.dictionary.entries[row].ids for row, _ in mode_ranked[i]]
          for i in span]))
    exact_rows = [linker.exact(p) for p in query.parts]
    exact_hits.append([[row is not None and concept_ids.is_hit(
        linker.dictionary.entries[row].ids, gold)] for row in exact_rows])
    lines.append(json.dumps({
        "document": query.document, "start": query.start, "end": query.end,
        "mention": query.mention, "gold": query.gold,
        "parts": [{"text": text, "candidates": [
            linker.candidate(row, score) for row, score in ranked[own][i]]}
                  for text, i in zip(query.parts, span)]},
                            ensure_ascii=False) + "\n")
  results = {"acc1": round(queries_lib.accuracy_at(hits[own], 1), 2),
             "acc5": round(queries_lib.accuracy_at(hits[own], 5), 2)}
  for mode in MODES:
    if mode in hits:
      results["%s_acc1" % mode] = round(queries_lib.accuracy_at(hits[mode],
                                                                1), 2)
  results.update({
      "exact_acc1": round(queries_lib.accuracy_at(exact_hits, 1), 2),
      "queries": len(queries),
      "composite": sum(len(q.parts) > 1 for q in queries),
      "dictionary_names": len(linker.dictionary),
      "dictionary_concepts": linker.dictionary.concepts()})
  return results, lines
