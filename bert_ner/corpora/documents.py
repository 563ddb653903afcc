"""Documents with character offsets, as the field releases and reads them
(PubTator, BioC, PubMed XML): passages of text and the mentions in them.

Offsets are in the document's coordinates, as PubTator and BioC both give
them: a passage starts at `passage.offset`, so the text of a mention is
`passage.text[mention.start - passage.offset:mention.end - passage.offset]`.
In PubTator the abstract's offset is the title's length plus one.

    document = Document("10192393", [Passage("t", 0, "A common human skin "
                        "tumour ..."), Passage("a", 77, "WNT signalling ...")])
    document.mentions.append(Mention(15, 26, "skin tumour", "DiseaseClass",
                                     "D012878"))
"""


class Mention(object):
  """One annotated (or predicted) span: [start, end) in document offsets.

  A discontinuous BioC annotation has several `locations` ((start, end)
  pairs); start and end are then its first location's start and its last
  location's end.
  """

  def __init__(self, start, end, text, type_, identifier=None,
               line_number=None, locations=None, score=None, infons=None,
               link=None):
    self.start = start
    self.end = end
    self.text = text
    self.type = type_
    # The concept id column of PubTator (kept as written, leading spaces and
    # all), or None when the line has none.
    self.identifier = identifier
    self.line_number = line_number
    self.locations = locations or [(start, end)]
    self.score = score
    self.infons = infons
    # A predicted mention's concept (linker.Link: id, name, score), when a
    # linker linked it.
    self.link = link

  @property
  def is_discontinuous(self):
    return len(self.locations) > 1

  def key(self, type_=None):
    """What an exact match compares: locations and type."""
    return (tuple(self.locations), type_ or self.type)

  def __repr__(self):
    return "Mention(%d, %d, %r, %r)" % (self.start, self.end, self.text,
                                        self.type)


# BioC's passage types of PubTator's passage codes.
PASSAGE_TYPES = {"t": "title", "a": "abstract"}


class Passage(object):
  """A run of text at `offset`: a title, an abstract, a section.

  `kind` is PubTator's one-letter code ("t", "a") or BioC's type infon
  ("title", "abstract", "paragraph"); `infons` are BioC's passage infons.
  """

  def __init__(self, kind, offset, text, infons=None):
    self.kind = kind
    self.offset = offset
    self.text = text
    self.infons = (infons if infons is not None else
                   {"type": PASSAGE_TYPES.get(kind, kind)})

  @property
  def end(self):
    return self.offset + len(self.text)

  def __repr__(self):
    return "Passage(%r, %d, %r)" % (self.kind, self.offset, self.text[:40])


class Document(object):
  """A document: its id (a PMID for PubMed), passages and mentions.

  Attributes:
    relations: PubTator relation lines or BioC relations, kept as read
      (not used for tagging).
    source: where the document was read, and `line_number` its first line,
      for error messages.
    blank_lines_before: blank lines before the document in its PubTator
      file (kept so that a file written back is byte-identical).
  """

  def __init__(self, id_, passages=None, mentions=None, source=None,
               line_number=None):
    self.id = id_
    self.passages = passages or []
    self.mentions = mentions or []
    self.relations = []
    self.source = source
    self.line_number = line_number
    self.blank_lines_before = 0
    self.infons = {}

  def passage_of(self, start, end):
    """The passage holding [start, end), or None."""
    for passage in self.passages:
      if passage.offset <= start and end <= passage.end:
        return passage
    return None

  def text_at(self, start, end):
    """The text at [start, end) of the passage holding it (None if none)."""
    passage = self.passage_of(start, end)
    if passage is None:
      return None
    return passage.text[start - passage.offset:end - passage.offset]

  def __repr__(self):
    return "Document(%r, %d passages, %d mentions)" % (
        self.id, len(self.passages), len(self.mentions))


def check_mention(document, mention, path):
  """The error message of a mention whose offsets fall outside its
  document's passages or whose text differs from the passages' text at its
  offsets, or None for a good one."""
  line = mention.line_number or document.line_number
  where = "%s%s: document %s" % (path, ", line %d" % line if line else "",
                                 document.id)
  for start, end in mention.locations:
    if start < 0 or end <= start:
      return "%s: the mention %r has the offsets %d-%d, which are no span." % (
          where, mention.text, start, end)
    if document.passage_of(start, end) is None:
      return ("%s: the mention %r at %d-%d falls outside every passage (%s)." %
              (where, mention.text, start, end, ", ".join(
                  "%d-%d" % (p.offset, p.end) for p in document.passages)))
  found = document.text_at(mention.start, mention.end)
  # The offsets are what counts: a text column with spaces around it (one
  # of NCBI-disease's training mentions) still names the same span.
  if not mention.is_discontinuous and found != mention.text and (
      found.strip() != mention.text.strip()):
    return ("%s: the mention %r at %d-%d differs from the text at those "
            "offsets, %r." % (where, mention.text, mention.start, mention.end,
                              found))
  return None
