"""PubTator files, as NCBI-disease, BC5CDR, tmVar and PubTator3 ship them:

    10192393|t|A common human skin tumour is caused by activating mutations ...
    10192393|a|WNT signalling orchestrates a number of developmental ...
    10192393<TAB>15<TAB>26<TAB>skin tumour<TAB>DiseaseClass<TAB>D012878
    10192393<TAB>CID<TAB>D008750<TAB>D003866        (a relation line)

and a blank line between documents. Passages follow each other with one
character between them, so the abstract above starts at offset
len(title) + 1; mention offsets are in those coordinates. Mention lines
have a type column and may have a concept id column (kept as written: some
releases write " D008661" with a space). Relation lines are kept, counted
and not used.

The layout of blank lines is kept too, so that a file read and written
back is byte-identical.
"""

import logging
import re

from bert_ner.corpora import documents
import tokenization

_ONE_LINE = str.maketrans({"\n": " ", "\r": " "})
_PASSAGE_RE = re.compile(r"^([^|\t]*)\|([^|\t]*)\|(.*)$", re.DOTALL)


class PubTatorReader(object):
  """The PubTator rules, fed one line at a time.

      reader = PubTatorReader("train.PubTator.txt")
      for number, line in numbered_lines:
        document = reader.feed(number, line)   # a finished document or None
      document = reader.finish()               # the last one or None

  Raises ValueError (naming the file, line and text) for a line that is
  none of the above, a mention of another document than the one it
  follows, or offsets that are no numbers.
  """

  def __init__(self, path):
    self.path = path
    self.document = None
    self.blank_lines = 0
    self.num_relations = 0
    self.skipping = False

  def feed(self, number, line):
    """Reads line `number`; returns the document it ends, or None."""
    if not line.strip():
      done = self.finish()
      self.blank_lines += 1
      self.skipping = False
      return done
    if self.skipping:
      return None
    passage = _PASSAGE_RE.match(line) if "\t" not in line.split("|", 2)[0] \
        else None
    if passage:
      return self._passage(number, line, *passage.groups())
    columns = line.split("\t")
    if len(columns) < 4:
      raise ValueError(
          "%s, line %d: %r is no PubTator line: expected ID|t|title, "
          "ID|a|abstract, or tab-separated mention (ID, start, end, text, "
          "type[, concept id]) or relation columns." % (self.path, number,
                                                        line[:200]))
    if self.document is None or columns[0] != self.document.id:
      raise ValueError(
          "%s, line %d: the annotation line %r names the document %r, but it "
          "follows %s. Annotation lines come after their document's text "
          "lines." % (self.path, number, line[:200], columns[0],
                      "document %r" % self.document.id if self.document
                      else "no document"))
    if not (_is_offset(columns[1]) and _is_offset(columns[2])):
      if _is_offset(columns[1]) or _is_offset(columns[2]) or (
          _NUMBER_RE.match(columns[1]) or _NUMBER_RE.match(columns[2])):
        raise ValueError(
            "%s, line %d: the mention line %r has the start %r and the end "
            "%r: both must be whole numbers (character offsets)." % (
                self.path, number, line[:200], columns[1], columns[2]))
      # PMID<TAB>relation type<TAB>concept<TAB>concept...
      self.document.relations.append(line)
      self.num_relations += 1
      return None
    if len(columns) < 5:
      raise ValueError(
          "%s, line %d: the mention line %r has no type column (ID, start, "
          "end, text, type[, concept id])." % (self.path, number, line[:200]))
    start, end = int(columns[1]), int(columns[2])
    self.document.mentions.append(documents.Mention(
        start, end, columns[3], columns[4],
        "\t".join(columns[5:]) if len(columns) > 5 else None, number))
    return None

  def _passage(self, number, line, id_, kind, text):
    done = None
    if self.document is not None and (id_ != self.document.id or
                                      self.document.mentions or
                                      self.document.relations):
      done = self.finish()
    if self.document is None:
      if not id_.strip():
        raise ValueError("%s, line %d: %r has no document id before its "
                         "first '|'." % (self.path, number, line[:200]))
      self.document = documents.Document(id_, source=self.path,
                                         line_number=number)
      self.document.blank_lines_before = self.blank_lines
      self.blank_lines = 0
    passages = self.document.passages
    offset = passages[-1].end + 1 if passages else 0
    passages.append(documents.Passage(kind, offset, text))
    return done

  def skip_sentence(self):
    """Drops the document under way, up to the next blank line."""
    self.document = None
    self.skipping = True

  def finish(self):
    """The document under way, or None."""
    done, self.document = self.document, None
    return done


# A column that starts like a number: an offset written wrong, not a
# relation's type or concept.
_NUMBER_RE = re.compile(r"^\s*[-+]?\.?\d")
# The concept id column of a predicted mention (it has none), so that the
# line has the six columns readers of PubTator expect of a mention.
NO_CONCEPT = "-"


def _is_offset(text):
  return text.isdigit() and text.isascii()


def iter_documents(path, reader_out=None, data=None):
  """Streams the documents of a PubTator file.

  Args:
    reader_out: optional list that gets the PubTatorReader (for its counts
      and the blank lines after the last document).
    data: the file's bytes, when in memory already (`path` names them).

  Raises:
    ValueError: see PubTatorReader; bytes that are not UTF-8.
  """
  reader = PubTatorReader(path)
  if reader_out is not None:
    reader_out.append(reader)
  first_lines = {}

  def seen(document):
    first = first_lines.setdefault(document.id, document.line_number)
    if first != document.line_number:
      logging.getLogger("bert_ner").warning(
          "%s: the document at line %d has the id %s of the document at "
          "line %d: two documents with one PMID (both are read).", path,
          document.line_number, document.id, first)
    return document

  for number, line in tokenization.iter_utf8_lines(path, "PubTator file",
                                                   data):
    document = reader.feed(number, line)
    if document is not None:
      yield seen(document)
  document = reader.finish()
  if document is not None:
    yield seen(document)


def mention_line(document_id, mention, predicted=False):
  """A mention's line; a predicted one without a concept id gets
  NO_CONCEPT in that column (a mention read keeps the columns it had)."""
  columns = [document_id, str(mention.start), str(mention.end), mention.text,
             mention.type]
  if mention.identifier is not None:
    columns.append(mention.identifier)
  elif predicted:
    columns.append(NO_CONCEPT)
  return "\t".join(columns)


class PubTatorWriter(object):
  """Writes documents to an open text file as PubTator, a document at a
  time (as bioc_format.BioCWriter writes BioC)."""

  def __init__(self, out):
    self.out = out

  def write(self, document, mentions=None):
    self.out.write(format_document(document, mentions))

  def close(self):
    pass


def format_document(document, mentions=None, blank_line=True):
  """A document as PubTator lines (with "\\n" ends), then a blank line.

  Args:
    mentions: the mentions to write (default: the document's own, and its
      relation lines), such as predicted ones.
    blank_line: end with the blank line that separates documents.
  """
  # A line end in a passage (BioC allows them) would break the
  # line: a space keeps every offset.
  lines = ["%s|%s|%s" % (document.id, _passage_code(passage),
                         passage.text.translate(_ONE_LINE))
           for passage in document.passages]
  for mention in document.mentions if mentions is None else mentions:
    lines.append(mention_line(document.id, mention, mentions is not None))
  lines.extend(document.relations if mentions is None else ())
  if blank_line:
    lines.append("")
  return "".join(line + "\n" for line in lines)


def _passage_code(passage):
  """PubTator's passage code: t and a for BioC's title and abstract."""
  codes = {v: k for k, v in documents.PASSAGE_TYPES.items()}
  return codes.get(passage.kind, passage.kind)


def format_as_read(docs, trailing_blank_lines):
  """Documents with the blank lines around them as read (see
  PubTatorReader): a file read and formatted so is byte-identical."""
  return "".join("\n" * document.blank_lines_before +
                 format_document(document, blank_line=False)
                 for document in docs) + "\n" * trailing_blank_lines
