"""Mentions with their gold concepts, to link and to score on, and the
field's score (BioSyn's protocol).

BioSyn's preprocessed layout (`read_biosyn_split`): a folder of
PMID.concept files, one mention a line,

    PMID||START|END||TYPE||MENTION||IDS

the mention lower-cased, punctuation removed, abbreviations expanded; a
composite mention's parts joined by | in MENTION and their ids by | in
IDS ("pineal tumours|retinal tumors||D019572|D010871").

A corpus as released (`document_queries`: PubTator's id column, BioC's
`identifier` infon) gives the same queries: a mention's short forms
expanded by the abbreviations its document defines, a composite mention
(several gold ids) split into its parts (mention_rules), each part
normalised; the offsets are the document's.

A query is right at k (`accuracy_at`) when each of its parts has, among
its k best candidates, one whose ids hold one of the query's gold ids.
"""

import collections
import os

import tensorflow.compat.v1 as tf

import tokenization

from bert_ner.linking import concept_ids
from bert_ner.linking import dictionary as dictionary_lib
from bert_ner.linking import mention_rules

Query = collections.namedtuple("Query", [
    "document", "start", "end", "type", "mention", "gold", "parts"])


def read_biosyn_split(folder):
  """The Queries of a folder of .concept files, by file name then line.

  Raises:
    ValueError: naming the folder, file and line of a bad one.
  """
  if not tf.io.gfile.isdir(folder):
    raise ValueError("%s is not a folder of BioSyn's .concept files." %
                     folder)
  names = sorted(n for n in tf.io.gfile.listdir(folder)
                 if n.endswith(".concept"))
  if not names:
    raise ValueError("%s holds no .concept file." % folder)
  queries = []
  for name in names:
    path = os.path.join(folder, name)
    for number, line in tokenization.iter_utf8_lines(path, "concept file"):
      if line.strip():
        queries.append(parse_concept_line(line, path, number))
  return queries


def parse_concept_line(line, path, number):
  """The Query of one PMID||START|END||TYPE||MENTION||IDS line."""
  fields = line.split("||")
  where = "%s, line %d" % (path, number)
  if len(fields) != 5:
    raise ValueError("%s: expected PMID||START|END||TYPE||MENTION||IDS, got "
                     "%r." % (where, line[:160]))
  document, span, type_, mention, ids = fields
  start, _, end = span.partition("|")
  if not (start.strip().isdigit() and end.strip().isdigit()):
    raise ValueError("%s: the offsets %r are not START|END." % (where, span))
  parts = [dictionary_lib.normalize_name(p) for p in mention.split("|")]
  if not all(parts):
    raise ValueError("%s: an empty mention (or part of one): %r." % (
        where, mention))
  return Query(document.strip(), int(start), int(end), type_.strip(),
               mention, ids.strip().replace("+", "|"), tuple(parts))


def document_queries(docs, path, abbreviations=True, composites=True):
  """The Queries of the mentions of documents (documents.Document) read
  from `path`, in order; mentions without an id are left out.

  Raises:
    ValueError: when no mention of the file has an id.
  """
  queries = []
  for document in docs:
    found = (mention_rules.document_abbreviations(document.passages,
                                                  document.mentions)
             if abbreviations else {})
    for mention in document.mentions:
      gold = (mention.identifier or "").strip().replace("+", "|")
      if gold in concept_ids.NIL:
        continue
      expanded = mention_rules.expand(mention.text, found)
      count = len(concept_ids.gold_parts(gold))
      pieces = (mention_rules.split_composite(expanded, count)
                if composites else [expanded])
      parts = tuple(p for p in map(dictionary_lib.normalize_name, pieces)
                    if p)
      if parts:
        queries.append(Query(document.id, mention.start, mention.end,
                             mention.type, mention.text, gold, parts))
  if not queries:
    raise ValueError("%s: no mention has a concept id (PubTator's sixth "
                     "column, BioC's identifier infon): it cannot train or "
                     "score a linker." % path)
  return queries


def accuracy_at(hits, k):
  """Percent of queries right at k; `hits` per query, per part, whether
  each of its ranked candidates is right (lists of bools)."""
  if not hits:
    return 0.0
  right = sum(all(any(part[:k]) for part in query) for query in hits)
  return 100.0 * right / len(hits)


def part_hits(query, candidate_ids):
  """Per part of the query, whether each ranked candidate is right.

  Args:
    candidate_ids: per part, the ranked candidates' ids (entry_ids).
  """
  gold = concept_ids.gold_parts(query.gold)
  return [[concept_ids.is_hit(ids, gold) for ids in ranked]
          for ranked in candidate_ids]
