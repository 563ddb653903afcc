"""Linking at the doors: the linker folders of --linker_dir, each linking
the mentions of the types it was trained for, in one pass with tagging.

    linkers = MentionLinkers.load(["OUT/disease_linker"], tagger_types)
    linkers.link_mentions(mentions)      # documents.Mention: identifier, link
    linkers.link_entities(entities)      # entity dicts: id, concept, link_score

A mention linked gets its concept's id (the PubTator id column, BioC's
`identifier` infon, "id" in entities.jsonl and the service) and
`link = linker.Link(id, name, score, ids)`; a NIL mention (under the
linker's threshold, or no words to link) keeps no id.
"""

from bert_ner.corpora import documents
from bert_ner.linking import dictionary as dictionary_lib
from bert_ner.linking import linker as linker_lib
from bert_ner.linking import linker_folder
from bert_ner.linking import mention_rules


# Texts a linker keeps the links of (then starts again).
CACHE_SIZE = 200000
# Mentions the doors gather before linking them together (one encoder call,
# one product): documents (document_output.DocumentSink) and lines of text
# (entity_offsets.EntityLines).
LINK_BATCH = 256


def parse_folders(value):
  """--linker_dir's folders (a list, or a comma-separated string)."""
  if not value:
    return []
  if isinstance(value, str):
    value = value.split(",")
  return [v.strip() for v in value if v and v.strip()]


def check_types(settings, folder, tagger_types):
  """Raises ValueError when a linker folder's settings name a type the
  tagger does not tag (naming both lists)."""
  foreign = sorted(set(settings["types"]) - set(tagger_types))
  if foreign:
    raise ValueError(
        "--linker_dir %s links %s, which the model does not tag (it tags "
        "%s). Train the linker with run_linker.py --entity_types naming the "
        "tagger's types." % (folder, ", ".join(foreign),
                             ", ".join(sorted(tagger_types)) or "no type"))


class MentionLinkers(object):
  """Loaded linker folders; a mention goes to the first whose types hold
  its type (a folder without types links every type)."""

  def __init__(self, loaded):
    self.loaded = list(loaded)
    # Per linker, {normalised text: Link or None}: a corpus names the same
    # diseases again and again; each text is linked once.
    self._cache = [{} for _ in self.loaded]

  @classmethod
  def load(cls, folders, tagger_types=None, threads=None):
    """The linkers of `folders`, checked against the tagger's types; None
    when no folder is given.

    Raises:
      ValueError: a folder that is no linker; a linker of a type the
        tagger does not tag, naming both lists.
    """
    folders = parse_folders(folders)
    if not folders:
      return None
    if tagger_types is not None:
      for folder in folders:
        check_types(linker_folder.read_settings(folder), folder,
                    tagger_types)
    return cls([linker_folder.load(folder, threads) for folder in folders])

  def describe(self):
    """{folder: [types]} for /v1/model and the logs."""
    return {item.folder: list(item.types) for item in self.loaded}

  def _links(self, texts, types):
    """Per (text, type), its Link or None."""
    out = [None] * len(texts)
    for item, cache in zip(self.loaded, self._cache):
      rows = [i for i, t in enumerate(types)
              if out[i] is None and (not item.types or t in item.types)]
      names = {i: dictionary_lib.normalize_name(texts[i]) for i in rows}
      new = sorted({n for n in names.values() if n and n not in cache})
      if len(cache) + len(new) > CACHE_SIZE:
        cache.clear()
      cache.update(zip(new, item.linker.link(new)))
      for i, name in names.items():
        out[i] = cache.get(name) if name else None
    return out

  def link_mentions(self, mentions, document=None):
    """Sets each Mention's identifier and link (None: NIL); with the
    document, a short form it defines is linked as its long form
    (mention_rules.document_abbreviations over the mentions found)."""
    if document is not None:
      return self.link_documents([(document, mentions)])[0]
    self._set(mentions, [m.text for m in mentions])
    return mentions

  def link_documents(self, documents):
    """link_mentions of each (document, mentions), in one pass."""
    mentions, texts = [], []
    for document, found in documents:
      mentions.extend(found)
      texts.extend(_expanded(document.passages, found))
    self._set(mentions, texts)
    return [found for _, found in documents]

  def _set(self, mentions, texts):
    links = self._links(texts, [m.type for m in mentions])
    for mention, link in zip(mentions, links):
      mention.link = link
      mention.identifier = link.id if link else None

  def link_entities(self, entities, text=None):
    """Adds "id", "concept" and "link_score" to each entity dict linked
    (offsets into `text`: a short form the text defines is linked as its
    long form, as in a document)."""
    if text is not None:
      return self.link_records([{"text": text, "entities": entities}])[0][
          "entities"]
    self._update(entities, [e["text"] for e in entities])
    return entities

  def link_records(self, records):
    """link_entities of each {"text", "entities"} record, in one pass."""
    entities, texts = [], []
    for record in records:
      found = record["entities"]
      entities.extend(found)
      texts.extend(_expanded(
          [documents.Passage("text", 0, record["text"])],
          [documents.Mention(e["start"], e["end"], e["text"], e["type"])
           for e in found]))
    self._update(entities, texts)
    return records

  def _update(self, entities, texts):
    links = self._links(texts, [e["type"] for e in entities])
    for entity, link in zip(entities, links):
      if link is not None:
        entity.update(linker_lib.link_fields(link))


def _expanded(passages, mentions):
  """The mentions' texts, a short form the passages define (after a
  mention or by Schwartz and Hearst's rule) replaced by its long form."""
  short_forms = mention_rules.document_abbreviations(passages, mentions)
  return [mention_rules.expand(m.text, short_forms) for m in mentions]
