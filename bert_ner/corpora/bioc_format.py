"""BioC XML and BioC JSON, read and written through the `bioc` package:
documents of passages (a type infon, an offset, the text) with annotations
(a type infon, one or more locations, the text).

A file whose name ends in .json is BioC JSON; any other is BioC XML. A
passage given as sentences (no passage text) is read as one passage per
sentence. An annotation of several locations is discontinuous.
"""

import io
import json

import bioc
from bioc.biocjson import decoder as json_decoder
from bioc.biocjson import encoder as json_encoder
from bioc.biocxml import encoder as xml_encoder
from lxml import etree
import tensorflow as tf

from bert_ner.corpora import documents

TYPE_INFON = "type"
# The infon of an annotation's concept id (BioC's convention; PubTator's id
# column when converted): a gold mention's id, scored at the doors.
IDENTIFIER_INFON = "identifier"


def is_json(path):
  return path.lower().endswith(".json")


def iter_documents(path, data=None):
  """Streams the documents of a BioC XML or JSON file.

  Args:
    data: the file's bytes, when read already (from any file system).

  Raises:
    ValueError: a missing file, XML that is not well formed (naming the
      line), JSON that is not BioC, an annotation without a type.
  """
  if data is None:
    if not tf.io.gfile.exists(path):
      raise ValueError("The BioC file %s does not exist." % path)
    with tf.io.gfile.GFile(path, "rb") as f:
      data = f.read()
  if is_json(path):
    try:
      collection = json_decoder.parse_collection(
          with_bioc_defaults(json.loads(data.decode("utf-8"))))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
      raise ValueError("%s is not BioC JSON (%s: %s)." % (
          path, type(e).__name__, e)) from None
    for document in collection.documents:
      yield from_bioc(document, path)
    return
  try:
    for document in bioc.biocxml.BioCXMLDocumentReader(io.BytesIO(data)):
      yield from_bioc(document, path)
  except etree.XMLSyntaxError as e:
    raise ValueError("%s, line %s: the BioC XML is not well formed: %s." % (
        path, e.lineno, e.msg)) from None


# What NCBI's BioC JSON releases (BioRED's, PubTator3's) may leave out, and
# the bioc package requires: the empty value of each, by level; and the
# lists of each level that hold the levels below.
_JSON_DEFAULTS = {
    "collection": {"source": "", "date": "", "key": "", "infons": {}},
    "document": {"infons": {}, "relations": []},
    "passage": {"infons": {}, "sentences": [], "annotations": [],
                "relations": []},
    "sentence": {"infons": {}, "annotations": [], "relations": []},
    "annotation": {"infons": {}},
    "relation": {"infons": {}, "nodes": []},
}
_JSON_CHILDREN = {
    "collection": {"documents": "document"},
    "document": {"passages": "passage", "annotations": "annotation",
                 "relations": "relation"},
    "passage": {"sentences": "sentence", "annotations": "annotation",
                "relations": "relation"},
    "sentence": {"annotations": "annotation", "relations": "relation"},
}


def with_bioc_defaults(obj, level="collection"):
  """A BioC JSON object (a collection's dict by default) with the keys a
  release left out (infons at every level, empty lists) filled in, in
  place, at its level and every level below."""
  if isinstance(obj, dict):
    for key, value in _JSON_DEFAULTS[level].items():
      obj.setdefault(key, type(value)())
    for key, child_level in _JSON_CHILDREN.get(level, {}).items():
      for child in obj.get(key) or []:
        with_bioc_defaults(child, child_level)
  return obj


def _passages(bioc_document):
  for passage in bioc_document.passages:
    if passage.text is None and passage.sentences:
      for sentence in passage.sentences:
        yield passage, sentence
    else:
      yield passage, passage


def from_bioc(bioc_document, path):
  """A bioc.BioCDocument as a Document (mentions from every level)."""
  document = documents.Document(bioc_document.id, source=path)
  document.infons = dict(bioc_document.infons)
  annotations = list(bioc_document.annotations)
  for passage, holder in _passages(bioc_document):
    kind = passage.infons.get(TYPE_INFON, "passage")
    document.passages.append(documents.Passage(
        kind, holder.offset, holder.text or "", dict(passage.infons)))
    annotations.extend(holder.annotations)
  for annotation in annotations:
    type_ = annotation.infons.get(TYPE_INFON)
    if type_ is None:
      raise ValueError("%s: document %s, annotation %s (%r) has no %r infon." %
                       (path, document.id, annotation.id, annotation.text,
                        TYPE_INFON))
    locations = sorted((loc.offset, loc.offset + loc.length)
                       for loc in annotation.locations)
    if not locations:
      raise ValueError("%s: document %s, annotation %s (%r) has no location." %
                       (path, document.id, annotation.id, annotation.text))
    document.mentions.append(documents.Mention(
        locations[0][0], locations[-1][1], annotation.text or "", type_,
        identifier=annotation.infons.get(IDENTIFIER_INFON),
        locations=locations, infons=dict(annotation.infons)))
  document.mentions.sort(key=lambda m: (m.start, m.end))
  document.relations = list(bioc_document.relations)
  return document


def to_bioc(document, mentions=None):
  """A Document as a bioc.BioCDocument, with `mentions` (default: its own)
  as annotations of the passages that hold them; a mention with a score
  gets a "score" infon."""
  out = bioc.BioCDocument()
  out.id = document.id
  out.infons.update(document.infons)
  passages = []
  for passage in document.passages:
    p = bioc.BioCPassage()
    p.offset, p.text = passage.offset, passage.text
    p.infons.update(passage.infons)
    out.add_passage(p)
    passages.append((passage, p))
  for number, mention in enumerate(
      document.mentions if mentions is None else mentions):
    annotation = bioc.BioCAnnotation()
    annotation.id = str(number)
    annotation.infons.update(mention.infons or {})
    annotation.infons[TYPE_INFON] = mention.type
    if mention.identifier is not None:
      annotation.infons.setdefault(IDENTIFIER_INFON,
                                   mention.identifier.strip())
    if mention.score is not None:
      annotation.infons["score"] = "%.4f" % mention.score
    for start, end in mention.locations:
      annotation.add_location(bioc.BioCLocation(start, end - start))
    annotation.text = mention.text
    holder = next((p for passage, p in passages
                   if passage.offset <= mention.start <= passage.end), None)
    (holder or out).add_annotation(annotation)
  return out


class BioCWriter(object):
  """Writes documents to an open text file as one BioC XML or JSON
  collection, a document at a time (flat memory)."""

  def __init__(self, out, as_json, source="bert_ner"):
    self.out = out
    self.as_json = as_json
    self.count = 0
    if as_json:
      out.write('{"source": %s, "date": "", "key": "", "infons": {}, '
                '"documents": [\n' % json.dumps(source))
    else:
      out.write("<?xml version='1.0' encoding='utf-8' standalone='yes'?>\n"
                "<collection><source>%s</source><date></date><key></key>\n" %
                _xml_text(source))

  def write(self, document, mentions=None):
    bioc_document = to_bioc(document, mentions)
    if self.as_json:
      self.out.write((",\n" if self.count else "") + json.dumps(
          json_encoder.toJSON(bioc_document), ensure_ascii=False))
    else:
      self.out.write(etree.tostring(xml_encoder.encode_document(
          bioc_document), encoding="unicode") + "\n")
    self.count += 1

  def close(self):
    self.out.write("\n]}\n" if self.as_json else "</collection>\n")


def _xml_text(text):
  return (text.replace("&", "&amp;").replace("<", "&lt;")
          .replace(">", "&gt;"))
