"""A corpus cut into shards for tagging: the pieces of the input files,
their lines read through the format's one reader, and the files of a
finished shard.

Paths go through Beam's FileSystems, so inputs and outputs may be on any
file system Beam reads (local, gs://, ...). Beam is imported when a file is
first opened: the rest of the module runs without it.
"""

import collections
import json
import os

from bert_ner.corpora import bioc_format
from bert_ner.corpora import conll_format
from bert_ner.corpora import formats
from bert_ner.corpora import offset_conversion
from bert_ner.corpora import pubmed_format
import tokenization

# Piece of an input file: lines [first_line, first_line + num_lines) at bytes
# [start, end) of a plain file; end and num_lines are None for a whole
# compressed file.
Piece = collections.namedtuple(
    "Piece", ["index", "path", "start", "end", "first_line", "num_lines"])
# Keys of a shard's counts.
COUNT_KEYS = ("lines", "documents", "sentences", "words", "entities",
              "dead_letters")


def shard_prefix(output_dir, kind, index, num_shards):
  """OUT/entities-00003-of-00012: a shard's file without its extension."""
  return os.path.join(output_dir, "%s-%05d-of-%05d" % (kind, index,
                                                       num_shards))


def shard_path(output_dir, kind, index, num_shards, extension):
  """OUT/entities-00003-of-00012.jsonl and its siblings."""
  return "%s.%s" % (shard_prefix(output_dir, kind, index, num_shards),
                    extension)


def _file_systems():
  """Beam's FileSystems (Beam is needed only to tag a corpus)."""
  from apache_beam.io import filesystems  # pylint: disable=g-import-not-at-top
  return filesystems.FileSystems


def expand_inputs(patterns):
  """Sorted, de-duplicated files of the given paths and globs.

  Raises:
    ValueError: naming a pattern that matches no file.
  """
  files = []
  for pattern in patterns:
    matched = sorted(m.path for m in
                     _file_systems().match([pattern])[0].metadata_list)
    if not matched:
      raise ValueError("--input %s matches no file." % pattern)
    files.extend(p for p in matched if p not in files)
  return files


def _open(path, compressed):
  from apache_beam.io import filesystem  # pylint: disable=g-import-not-at-top
  types = filesystem.CompressionTypes
  return _file_systems().open(path, compression_type=(
      types.AUTO if compressed else types.UNCOMPRESSED))


def is_compressed(path):
  return path.endswith(".gz")


def can_cut_before(raw, previous, input_format, context_sentences):
  """Whether a piece may start at line `raw` (bytes), `previous` being the
  line before it: never inside a CoNLL sentence, and with a model that
  reads neighbouring sentences, only where a document starts (a
  -DOCSTART- line in CoNLL, the line after a blank one in text)."""
  if input_format == "text":
    return not context_sentences or not previous.strip()
  if context_sentences:
    return conll_format.is_document_start(raw.decode("utf-8", "replace"))
  return not previous.strip()


def plan_pieces(files, input_format, lines_per_shard, context_sentences=0):
  """Splits the input files into pieces of about lines_per_shard lines.

  A plain file is read once to find the byte offsets of the cuts, at the
  first line after lines_per_shard lines where `can_cut_before` allows; a
  compressed file is one piece.

  Returns:
    list of Piece, numbered in file order.
  """
  pieces = []
  for path in files:
    if is_compressed(path) or formats.is_document_format(input_format):
      pieces.append(Piece(len(pieces), path, 0, None, 1, None))
      continue
    start = offset = 0
    first_line = number = 1
    previous = b""
    with _open(path, compressed=False) as f:
      for raw in iter(f.readline, b""):
        if (number - first_line >= lines_per_shard and
            can_cut_before(raw, previous, input_format, context_sentences)):
          pieces.append(Piece(len(pieces), path, start, offset, first_line,
                              number - first_line))
          start, first_line = offset, number
        offset += len(raw)
        previous = raw
        number += 1
    if offset > start or start == 0:
      pieces.append(Piece(len(pieces), path, start, offset, first_line,
                          number - first_line))
  return pieces


def read_piece(piece):
  """Yields (line number, bytes without line end) of a piece."""
  with _open(piece.path, compressed=piece.end is None) as f:
    if piece.end is not None and piece.start:
      f.seek(piece.start)
    offset = piece.start
    number = piece.first_line
    for raw in iter(f.readline, b""):
      if piece.end is not None and offset >= piece.end:
        break
      offset += len(raw)
      yield number, tokenization.strip_line_end(raw, number)
      number += 1


def dead_letter(path, number, reason, raw):
  return {"file": path, "line": number, "reason": reason,
          "value": raw.decode("utf-8", "replace")[:200]}


def parse_piece(piece, input_format):
  """The sentences of a piece, read by the format's one reader; a sentence
  with a bad line (bytes that are not UTF-8, a CoNLL line with the wrong
  columns) is a dead letter naming its first bad line, and the reading
  goes on with the next sentence.

  Yields:
    ("example", InputExample with `id` "FILE:LINE", `text` and `offsets`)
    or ("dead", dict with file, line, reason, value).
  """
  reader = formats.line_reader(input_format, piece.path)
  bad = None
  for number, raw in read_piece(piece):
    try:
      line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
      line, error = None, dead_letter(piece.path, number, "bytes that are "
                                      "not UTF-8 (%s)" % e.reason, raw)
    else:
      error = None
      try:
        example = reader.feed(number, line)
      except ValueError as e:
        error = dead_letter(piece.path, number, str(e), raw)
    if error:
      if input_format == "text":
        yield "dead", error
        continue
      bad = bad or error
      reader.skip_sentence()
      continue
    if bad and not reader.skipping:  # the line that ends the bad sentence
      yield "dead", bad
      bad = None
    if example is not None:
      yield "example", _identified(example, piece.path, input_format)
  example = reader.finish()
  if bad:
    yield "dead", bad
  elif example is not None:
    yield "example", _identified(example, piece.path, input_format)


def parse_documents(piece, input_format):
  """The documents of a piece of a document format; what cannot be read
  is a dead letter naming the file, line and reason, and the reading goes
  on where it can: with the next article of PubMed XML, the next document
  (after a blank line) of PubTator; a BioC file that cannot be read is one
  dead letter.

  Yields:
    ("document", Document) or ("dead", dict with file, line, reason, value).
  """
  if input_format == "pubmed":
    for item in pubmed_format.iter_articles(
        piece.path, lambda p: _open(p, compressed=False)):
      yield item
    return
  if input_format == "bioc":
    try:
      for document in _bioc_documents(piece.path):
        yield "document", document
    except ValueError as e:
      yield "dead", {"file": piece.path, "line": None, "reason": str(e),
                     "value": ""}
    return
  reader = formats.line_reader(input_format, piece.path)
  for number, raw in read_piece(piece):
    try:
      document = reader.feed(number, raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
      reason = ("bytes that are not UTF-8 (%s)" % e.reason
                if isinstance(e, UnicodeDecodeError) else str(e))
      yield "dead", dead_letter(piece.path, number, reason, raw)
      reader.skip_sentence()  # the rest of the document
      continue
    if document is not None:
      yield "document", document
  document = reader.finish()
  if document is not None:
    yield "document", document


def check_input_mentions(files, input_format, reading, log=None):
  """Checks the mentions of PubTator and BioC input before any worker
  starts, as the other doors check a file's mentions when they read it.

  A mention that does not fit its document raises the ValueError of
  offset_conversion.check_mentions (naming the file and line); with
  reading.skip_bad_mentions it is counted, and the count logged. What
  cannot be read at all is left to the workers (dead letters).
  """
  if input_format not in ("pubtator", "bioc"):
    return
  for path in files:
    report = offset_conversion.ConversionReport(path)
    for kind, item in parse_documents(Piece(0, path, 0, None, 1, None),
                                      input_format):
      if kind == "document":
        offset_conversion.check_mentions(item, reading, report, path)
    if report.counts["bad_skipped"] and log:
      log("%s: %d bad mention(s) skipped (--skip_bad_mentions)" % (
          path, report.counts["bad_skipped"]))


def _bioc_documents(path):
  with _open(path, compressed=is_compressed(path)) as f:
    data = f.read()
  return bioc_format.iter_documents(path, data)


def _identified(example, path, input_format):
  if input_format == "conll":
    conll_format.with_text(example)
  example.id = "%s:%d" % (path, example.line_number)
  return example


def read_counts(output_dir, index, num_shards):
  with _file_systems().open(shard_path(output_dir, "counts", index,
                                       num_shards, "json")) as f:
    return json.loads(f.read().decode("utf-8"))


def sum_counts(all_counts):
  total = {k: 0 for k in COUNT_KEYS}
  for counts in all_counts:
    for key in COUNT_KEYS:
      total[key] += counts.get(key, 0)
  return total
