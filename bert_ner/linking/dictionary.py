"""Dictionaries of concept names: what a mention is linked to.

Two layouts, read by `read` (one or more files, one dictionary):

  IDS||NAME|SYNONYM|...      BioSyn's and SapBERT's dictionaries (one name
                             a line: "D012345||breast cancer") and MEDIC in
                             DNorm's layout ("D001943|114480||Breast
                             Neoplasms|Breast Cancer|..."): the concept's
                             ids (alternatives, joined by |) and its names
  CTD_diseases.tsv,          CTD's own TSV: # header lines, then Name, ID,
  CTD_chemicals.tsv          (AltDiseaseIDs), ... , Synonyms (joined by |);
                             ids as MESH:D..., OMIM:...

Names are compared normalised (`normalize_name`: lower case, punctuation
as spaces, as BioSyn's dictionaries are); ids by
concept_ids.normalize_id. A line without an id or a name, or a file
without any entry, is an error naming the file and line.
"""

import collections
import re

import tokenization

from bert_ner.linking import concept_ids

# `mentions`: the training mentions of the entry's name and concept
# (count_mentions), which break ties between concepts that share a name.
Entry = collections.namedtuple("Entry", ["name", "ids", "shown", "mentions"],
                               defaults=(0,))

_PUNCTUATION = re.compile(r"[^\w\s]|_", re.UNICODE)
_SPACES = re.compile(r"\s+")


def normalize_name(text):
  """"Tooth Agenesis, Selective, 6" -> "tooth agenesis selective 6";
  "T-cell" -> "t cell"."""
  return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text.lower())).strip()


class Dictionary(object):
  """Names (normalised, one entry per name and concept, repeats dropped)
  with the ids of their concept.

  Attributes:
    entries: [Entry(name, ids, shown, mentions)]: the normalised name, the
      concept's ids (concept_ids.entry_ids), the name as the file wrote it
      and the training mentions of that name and concept (count_mentions).
  """

  def __init__(self, entries=()):
    self.entries = []
    self._seen = set()
    for entry in entries:
      self.add(*entry)

  def add(self, name, ids, shown=None):
    key = (normalize_name(name), tuple(ids))
    if key[0] and key not in self._seen:
      self._seen.add(key)
      self.entries.append(Entry(key[0], key[1], shown or name))

  def __len__(self):
    return len(self.entries)

  def count_mentions(self, mentions):
    """Sets each entry's `mentions`: how many of the training `mentions`,
    (text, gold ids) pairs, have its name and one of its ids. "aniridia"
    is both MeSH's D015783 and OMIM's 106210 in MEDIC: NCBI-disease's
    training mentions "aniridia", all D015783, decide which it links to
    (counted by name, not by concept: a mention once annotated as a
    frequent concept does not take its other names). The caller leaves
    out composite mentions: their parts' ids may come in any order."""
    counts = collections.Counter()
    for text, gold in mentions:
      name = normalize_name(text)
      counts.update((name, i) for i in set(gold))
    self.entries = [e._replace(mentions=max(counts[e.name, i] for i in e.ids))
                    for e in self.entries]

  @property
  def names(self):
    return [e.name for e in self.entries]

  def concepts(self):
    """The number of distinct concepts (by their first id)."""
    return len({e.ids[0] for e in self.entries})


def read(paths):
  """One Dictionary of one or more files (a list, or a comma-separated
  string), each read in its layout (see the module doc).

  Raises:
    ValueError: naming the file and line of a bad entry, or a dictionary
      without any entry.
  """
  if isinstance(paths, str):
    paths = [p for p in paths.split(",") if p]
  if not paths:
    raise ValueError("Give the dictionary (--dictionary): one or more files "
                     "of id||name lines, MEDIC or CTD's TSV.")
  dictionary = Dictionary()
  for path in paths:
    before = len(dictionary)
    reader = _ctd_entries if path.lower().endswith(".tsv") else _id_entries
    for name, ids, shown in reader(path):
      dictionary.add(name, ids, shown)
    if len(dictionary) == before:
      raise ValueError("The dictionary %s holds no entry." % path)
  return dictionary


def _id_entries(path):
  """(name, ids, shown) of the IDS||NAME|SYNONYM|... lines of a file."""
  for number, line in tokenization.iter_utf8_lines(path, "dictionary"):
    if not line.strip():
      continue
    ids, sep, names = line.partition("||")
    where = "%s, line %d" % (path, number)
    if not sep:
      raise ValueError("%s: expected IDS||NAME (ids joined by |, names by "
                       "|), got %r." % (where, line[:120]))
    ids = concept_ids.entry_ids(ids)
    if not ids:
      raise ValueError("%s: the entry has no id: %r." % (where, line[:120]))
    names = [n for n in names.split("|") if normalize_name(n)]
    if not names:
      raise ValueError("%s: the entry has no name: %r." % (where, line[:120]))
    for name in names:
      yield name, ids, name.strip()


def _ctd_entries(path):
  """(name, ids, shown) of CTD's TSV (CTD_diseases.tsv, CTD_chemicals.tsv):
  the name and each synonym, with the id and the alternative ids."""
  columns = None
  for number, line in tokenization.iter_utf8_lines(path, "dictionary"):
    if line.startswith("#"):
      header = line.lstrip("#").strip().split("\t")
      if len(header) > 2 and header[0].endswith("Name"):
        columns = header
      continue
    if not line.strip():
      continue
    fields = line.split("\t")
    where = "%s, line %d" % (path, number)
    if len(fields) < 2:
      raise ValueError("%s: expected CTD's tab-separated columns (Name, ID, "
                       "...), got %r." % (where, line[:120]))
    row = dict(zip(columns or _CTD_DEFAULT_COLUMNS, fields))
    name = fields[0]
    ids = concept_ids.entry_ids("|".join(
        [fields[1]] + [v for k, v in row.items() if k.startswith("Alt")]))
    if not ids:
      raise ValueError("%s: the entry has no id: %r." % (where, line[:120]))
    if not normalize_name(name):
      raise ValueError("%s: the entry has no name: %r." % (where, line[:120]))
    for synonym in [name] + row.get("Synonyms", "").split("|"):
      if normalize_name(synonym):
        yield synonym, ids, synonym.strip()


# CTD_diseases.tsv's columns, for a file whose header was cut off.
_CTD_DEFAULT_COLUMNS = ("DiseaseName", "DiseaseID", "AltDiseaseIDs",
                        "Definition", "ParentIDs", "TreeNumbers",
                        "ParentTreeNumbers", "Synonyms", "SlimMappings")
