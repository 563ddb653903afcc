"""Entities of a tagged sentence with character offsets into its text."""

import json

from bert_ner.linking import mention_linking
from bert_ner.scoring import conlleval


def entity_spans(text, offsets, labels, scores=None):
  """The entities of one tagged sentence, with character offsets into it.

  Example: text "BRCA1 causes breast cancer", offsets [(0, 5), (6, 12),
  (13, 19), (20, 26)], labels O O B-Disease I-Disease give
  [{"start": 13, "end": 26, "type": "Disease", "text": "breast cancer"}].

  Args:
    text: str, the sentence's text.
    offsets: per word (start, end) in `text`.
    labels: one tag per word (conlleval's chunk rules).
    scores: optional, per word the probability of its tag: each entity
      then has "score", the mean over its words (4 decimals).

  Returns:
    list of {"start", "end", "type", "text"[, "score"]} dicts, with
    `text[start:end] == entity["text"]`.
  """
  spans = []
  for type_, first, last in conlleval.chunks(labels):
    start, end = offsets[first][0], offsets[last - 1][1]
    span = {"start": start, "end": end, "type": type_,
            "text": text[start:end]}
    if scores is not None:
      span["score"] = round(sum(scores[first:last]) / (last - first), 4)
    spans.append(span)
  return spans


def entities_record(line, offsets, labels, scores=None):
  """{"text", "entities": entity_spans} of one tagged line (EntityLines
  writes and links them)."""
  return {"text": line, "entities": entity_spans(line, offsets, labels,
                                                 scores)}


class EntityLines(object):
  """Writes one JSON line per record ({"text", "entities"}, any other keys
  kept) to `out`, in order; with linkers, records wait until
  mention_linking.LINK_BATCH entities do and are linked together (one
  encoder call for many lines). `close` writes the rest."""

  def __init__(self, out, linkers=None):
    self.out = out
    self.linkers = linkers
    self._pending, self._entities = [], 0

  def write(self, record):
    if self.linkers is None:
      self._emit([record])
      return
    self._pending.append(record)
    self._entities += len(record["entities"])
    if self._entities >= mention_linking.LINK_BATCH:
      self.flush()

  def flush(self):
    if self._pending:
      self._emit(self.linkers.link_records(self._pending))
    self._pending, self._entities = [], 0

  def close(self):
    self.flush()

  def _emit(self, records):
    for record in records:
      self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
