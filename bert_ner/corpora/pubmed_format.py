"""PubMed/MEDLINE XML as NCBI ships it (pubmed25nNNNN.xml.gz), streamed in
flat memory: per article its PMID, ArticleTitle and AbstractText.

Both layouts are read: the current PubmedArticleSet (PubmedArticle >
MedlineCitation, and PubmedBookArticle > BookDocument) and the older
MedlineCitationSet (MedlineCitation). A document has the passages PubTator
gives an article: the title ("t", offset 0) and, when there is one, the
abstract ("a", offset len(title) + 1); the parts of a structured abstract
are joined by spaces, each after its label ("BACKGROUND: ..."). Inline
markup (<i>, <sup>) is dropped, its text kept; a line end or tab inside a
text becomes a space (the same length, so no offset moves), as PubTator
lines cannot hold them.

    for kind, item in iter_articles("pubmed25n0001.xml.gz"):
      # ("document", Document) or ("dead", {"file", "line", "reason", ...})
"""

import gzip

from lxml import etree

from bert_ner.corpora import documents

ARTICLE_TAGS = ("PubmedArticle", "PubmedBookArticle", "MedlineCitation")
SKIPPED_TAGS = ("DeleteCitation",)
_SPACES = str.maketrans({"\n": " ", "\r": " ", "\t": " "})


def _text(element):
  return "".join(element.itertext()).translate(_SPACES)


def _citation(element):
  """The element holding PMID and the article: MedlineCitation or
  BookDocument."""
  if element.tag == "MedlineCitation":
    return element
  for tag in ("MedlineCitation", "BookDocument"):
    found = element.find(tag)
    if found is not None:
      return found
  return None


def abstract_text(abstract):
  """The AbstractText parts of an Abstract element, joined by spaces, each
  after its Label."""
  parts = []
  for part in abstract.iter("AbstractText"):
    text = _text(part).strip()
    label = part.get("Label")
    if label and text:
      text = "%s: %s" % (label, text)
    if text:
      parts.append(text)
  return " ".join(parts)


def article_document(element, path):
  """The Document of one article element.

  Raises:
    ValueError: the reason an article cannot be tagged (no PMID, no title
      and no abstract).
  """
  citation = _citation(element)
  if citation is None:
    raise ValueError("no MedlineCitation or BookDocument")
  pmid = citation.findtext("PMID")
  if not pmid or not pmid.strip():
    raise ValueError("no PMID")
  pmid = pmid.strip()
  title_element = citation.find("Article/ArticleTitle")
  if title_element is None:
    title_element = citation.find("ArticleTitle")
  if title_element is None:
    title_element = citation.find("Book/BookTitle")
  title = _text(title_element).strip() if title_element is not None else ""
  abstract = ""
  for where in ("Article/Abstract", "Abstract"):
    found = citation.find(where)
    if found is not None:
      abstract = abstract_text(found)
      break
  if not title and not abstract:
    raise ValueError("PMID %s has neither a title nor an abstract" % pmid)
  document = documents.Document(pmid, source=path,
                                line_number=element.sourceline)
  document.passages.append(documents.Passage("t", 0, title))
  if abstract:
    document.passages.append(documents.Passage("a", len(title) + 1,
                                               abstract))
  return document


def _open(path, opener):
  f = opener(path)
  if path.endswith(".gz"):
    return gzip.GzipFile(fileobj=f, mode="rb")
  return f


def iter_articles(path, opener=None):
  """Streams the articles of a PubMed XML file (.xml or .xml.gz).

  Args:
    opener: opens `path` for binary reading (default: open; tag_corpus
      gives Beam's FileSystems.open for gs:// and other file systems).

  Yields:
    ("document", Document) per article, or ("dead", {"file", "line",
    "reason", "value"}) for an article that cannot be tagged (with its
    PMID when it has one) and, when the XML stops being well formed, for
    the rest of the file.
  """
  f = _open(path, opener or (lambda p: open(p, "rb")))  # pylint: disable=consider-using-with
  try:
    context = etree.iterparse(f, events=("end",), tag=ARTICLE_TAGS +
                              SKIPPED_TAGS, resolve_entities=False,
                              no_network=True, load_dtd=False, huge_tree=True)
    try:
      for _, element in context:
        if element.tag in SKIPPED_TAGS:
          element.clear()
          continue
        if element.tag == "MedlineCitation" and (
            element.getparent() is not None and
            element.getparent().tag in ARTICLE_TAGS):
          continue  # read with its PubmedArticle
        try:
          yield "document", article_document(element, path)
        except ValueError as e:
          yield "dead", {"file": path, "line": element.sourceline,
                         "reason": str(e), "value": (
                             element.findtext(".//PMID") or "")[:200]}
        element.clear()
        parent = element.getparent()
        if parent is not None:
          while element.getprevious() is not None:
            del parent[0]  # flat memory: drop the articles already read
    except etree.XMLSyntaxError as e:
      yield "dead", {"file": path, "line": e.lineno, "value": "",
                     "reason": "the XML is not well formed (%s): the rest of "
                     "the file is not read" % e.msg}
    except (OSError, EOFError) as e:
      yield "dead", {"file": path, "line": None, "value": "",
                     "reason": "the file cannot be read to its end (%s)" % e}
  finally:
    f.close()


def iter_documents(path):
  """The documents of a PubMed XML file; a bad article is an error.

  Raises:
    ValueError: naming the file, line and reason.
  """
  for kind, item in iter_articles(path):
    if kind == "dead":
      raise ValueError("%s, line %s: %s%s." % (
          item["file"], item["line"], item["reason"],
          " (%s)" % item["value"] if item["value"] else ""))
    yield item
