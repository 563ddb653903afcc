"""Concept ids as corpora and vocabularies write them, compared one way.

One normalisation (`normalize_id`): a MeSH or OMIM id is compared without
its prefix ("MESH:D012345" is "D012345"; NCBI-disease writes
"OMIM:217000" where MEDIC has "217000"); any other prefix (NCBI Gene
"NCBIGene:672", Taxonomy "NCBITaxon:9606") is kept, upper-cased before the
colon. Surrounding spaces go.

A gold id string (`gold_parts`) names one concept per part of a mention:
"D001943" one; "D001943|D010051" or "D001943+D010051" a composite mention
of two parts, each of which must be linked right; "-1" or "" no concept
(NIL). A dictionary entry's ids (`entry_ids`) are alternatives for one
concept: "C567755|613097" is the MeSH and the OMIM id of one disease. The
first is the id written for the concept: its MeSH id where it has one
(MEDIC in DNorm's layout writes some concepts OMIM first, "114480|D001943",
where CTD, PubTator and the corpora name the disease D001943), else the
first the dictionary gives.
"""

import re

# Prefixes dropped when comparing ids: the vocabularies (MEDIC, CTD) and
# the corpora (NCBI-disease, BC5CDR) write the same ids with and without.
DROPPED_PREFIXES = ("MESH", "OMIM")
NIL = ("", "-1", "-")
# A MeSH descriptor or supplementary concept, prefix dropped.
_MESH = re.compile(r"^[CD]\d+$")


def normalize_id(value):
  """The id as compared: "MESH:D012345" -> "D012345", "OMIM:217000" ->
  "217000", "ncbigene:672" -> "NCBIGENE:672"."""
  value = value.strip()
  prefix, colon, rest = value.partition(":")
  if not colon:
    return value
  if prefix.strip().upper() in DROPPED_PREFIXES:
    return rest.strip()
  return prefix.strip().upper() + ":" + rest.strip()


def entry_ids(value):
  """The alternative ids of one dictionary entry ("D1|OMIM:2" -> ("D1",
  "2"); "OMIM:2|D1" -> ("D1", "2")), normalised, without repeats: the MeSH
  ids first, then the others, each in the entry's order."""
  out = []
  for part in value.split("|"):
    part = normalize_id(part)
    if part and part not in out:
      out.append(part)
  return tuple(sorted(out, key=lambda i: not _MESH.match(i)))


def gold_parts(value):
  """The concepts of a gold id string, one per part of the mention:
  "D1|D2" and "D1+D2" give ("D1", "D2"); NIL gives ()."""
  value = value.strip()
  if value in NIL:
    return ()
  parts = [normalize_id(p) for p in value.replace("+", "|").split("|")]
  return tuple(p for p in parts if p not in NIL)


def is_hit(candidate_ids, gold):
  """Whether a candidate (its entry_ids) names one of the gold concepts
  (BioSyn's rule: a composite mention's parts may come in any order)."""
  return bool(set(candidate_ids) & set(gold))
