"""The field's formats: PubTator, BioC XML and JSON, PubMed XML; mentions
to IOB2 tags by offsets and back; mention-level scores."""

import gzip
import io
import json
import logging
import os
import re

import pytest

import helpers

from bert_ner.corpora import bioc_format  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.corpora import documents  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.corpora import formats  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.corpora import input_example  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.corpora import offset_conversion  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.corpora import pubmed_format  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.corpora import pubtator_format  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.tagging import document_output  # pylint: disable=g-import-not-at-top,wrong-import-position

NCBI = ("NCBItrainset_corpus.txt", "NCBIdevelopset_corpus.txt",
        "NCBItestset_corpus.txt")


def write(tmp_path, name, text):
  path = tmp_path / name
  path.write_text(text, encoding="utf-8")
  return str(path)


def read_pubtator(path):
  readers = []
  docs = list(pubtator_format.iter_documents(path, readers))
  return docs, readers[0]


# ----------------------------------------------------------------- PubTator

@pytest.mark.parametrize("name,num_docs,num_mentions", [
    ("ncbi_disease_pubtator/" + NCBI[0], 593, 5145),
    ("ncbi_disease_pubtator/" + NCBI[1], 100, 787),
    ("ncbi_disease_pubtator/" + NCBI[2], 100, 960),
    ("tmvar_pubtator_bioc/train.PubTator.txt", 334, 967),
    ("tmvar_pubtator_bioc/test.PubTator.txt", 166, 464)])
def test_pubtator_round_trip_is_byte_identical(name, num_docs, num_mentions):
  path = helpers.shared_path("data", *name.split("/"))
  docs, reader = read_pubtator(path)
  assert len(docs) == num_docs
  assert sum(len(d.mentions) for d in docs) == num_mentions
  with open(path, encoding="utf-8", newline="") as f:
    original = f.read()
  assert pubtator_format.format_as_read(docs, reader.blank_lines) == original
  for document in docs:
    assert [p.kind for p in document.passages] == ["t", "a"]
    assert document.passages[1].offset == len(document.passages[0].text) + 1


def test_ncbi_ids_with_a_leading_space_are_kept():
  docs, _ = read_pubtator(helpers.shared_path(
      "data", "ncbi_disease_pubtator", NCBI[0]))
  identifiers = [m.identifier for d in docs for m in d.mentions]
  spaced = [i for i in identifiers if i.startswith(" ")]
  assert spaced and all(i.strip() for i in spaced)
  line = pubtator_format.mention_line(docs[0].id, docs[0].mentions[0])
  assert line == "10192393\t15\t26\tskin tumour\tDiseaseClass\tD012878"


def test_pubtator_relations_are_kept_and_counted(tmp_path):
  text = ("1|t|Aspirin and ulcers.\n1|a|Ulcers.\n"
          "1\t0\t7\tAspirin\tChemical\tD001241\n"
          "1\t12\t18\tulcers\tDisease\tD014456\n"
          "1\tCID\tD001241\tD014456\n\n"
          "2|t|None.\n2|a|\n\n")
  path = write(tmp_path, "cdr.txt", text)
  docs, reader = read_pubtator(path)
  assert reader.num_relations == 1
  assert docs[0].relations == ["1\tCID\tD001241\tD014456"]
  assert pubtator_format.format_as_read(docs, reader.blank_lines) == text
  report = offset_conversion.ConversionReport(path)
  examples = list(formats.iter_file(path, "pubtator", report=report))
  assert report.counts["relations"] == 1
  assert [e.labels for e in examples] == [
      ["B-Chemical", "O", "B-Disease", "O"], ["O", "O"], ["O", "O"]]
  # An empty abstract gives no example; document 2 still has its title.
  assert [e.id for e in examples] == ["1", "1", "2"]


@pytest.mark.parametrize("text,message", [
    ("1|t|Title.\nnonsense\n", r"x.txt, line 2: 'nonsense' is no PubTator "
     "line"),
    ("1|t|Title.\n2\t0\t5\tTitle\tX\n", r"x.txt, line 2: the annotation line "
     r".* names the document '2', but it follows document '1'"),
    ("1|t|Title.\n1\t0\t5\tTitle\n", "line 2: the mention line .* has no "
     "type column"),
    ("|t|Title.\n", "line 1: .* has no document id"),
])
def test_pubtator_errors_name_the_file_and_line(tmp_path, text, message):
  path = write(tmp_path, "x.txt", text)
  with pytest.raises(ValueError, match=message):
    list(pubtator_format.iter_documents(path))


def test_a_mention_off_its_text_is_an_error_or_a_counted_skip(tmp_path):
  text = ("7|t|Breast cancer.\n7|a|Colon cancer here.\n"
          "7\t0\t13\tBreast cancer\tDisease\n"
          "7\t15\t27\tcolon cancer\tDisease\n"
          "7\t40\t52\tlost cancer\tDisease\n")
  path = write(tmp_path, "bad.txt", text)
  with pytest.raises(ValueError) as error:
    list(formats.iter_file(path, "pubtator"))
  assert str(error.value).startswith(
      "%s, line 4: document 7: the mention 'colon cancer' at 15-27 differs "
      "from the text at those offsets, 'Colon cancer'." % path)
  assert "--skip_bad_mentions" in str(error.value)
  reading = offset_conversion.Reading(None, "syntok", True)
  report = offset_conversion.ConversionReport(path)
  examples = list(formats.iter_file(path, "pubtator", reading=reading,
                                    report=report))
  assert report.counts["bad_skipped"] == 2
  assert "2 had offsets outside their passage" in report.line()
  assert [e.labels for e in examples] == [
      ["B-Disease", "I-Disease", "O"], ["O", "O", "O", "O"]]
  assert examples[0].gold[0].key() == (((0, 13),), "Disease")
  outside = write(tmp_path, "outside.txt", "7|t|Short.\n"
                  "7\t3\t40\tlong\tDisease\n")
  with pytest.raises(ValueError, match=r"outside.txt, line 2: document 7: "
                     r"the mention 'long' at 3-40 falls outside every passage "
                     r"\(0-6\)"):
    list(formats.iter_file(outside, "pubtator"))


# ------------------------------------------------------- mentions to tags

def _one_document(tmp_path, title, abstract, mentions, **reading):
  lines = ["9|t|" + title, "9|a|" + abstract]
  lines += ["9\t%d\t%d\t%s\t%s" % m for m in mentions]
  path = write(tmp_path, "one.txt", "\n".join(lines) + "\n")
  values = dict(entity_types=None, sentences="syntok",
                skip_bad_mentions=False)
  values.update(reading)
  report = offset_conversion.ConversionReport(path)
  examples = list(formats.iter_file(
      path, "pubtator", reading=offset_conversion.Reading(**values),
      report=report))
  return examples, report


def test_each_rule_of_the_conversion_is_applied_and_counted(tmp_path):
  title = "Familial breast-cancer genes."
  abstract = ("Colon tumours grow. The colon cancer syndrome. Rare cases. "
              "It spreads")
  text = title + " " + abstract  # the abstract starts at len(title) + 1

  def at(phrase, type_, after=0):
    start = text.index(phrase, after)
    return (start, start + len(phrase), phrase, type_)

  colon = text.index("colon cancer")
  mentions = [
      at("breast-cancer", "Disease"),                # exact
      at("Colon tumo", "Disease"),                   # ends inside a word
      at("colon cancer syndrome", "Disease"),        # longest of three
      at("colon", "Anatomy", colon),                 # nested in it
      at("cancer syndr", "Disease", colon),          # overlaps it, off a word
      at("me. Rare case", "Disease"),                # across two sentences
  ]
  with pytest.raises(ValueError, match="line 9: document 9: the mention .. has the offsets 3-3, which are no span"):
    _one_document(tmp_path, title, abstract, mentions + [(3, 3, "", "X")])
  space = text.index(" ", colon)
  mentions.append((space, space + 1, " ", "Disease"))  # covers no word
  examples, report = _one_document(tmp_path, title, abstract, mentions)
  assert [e.words for e in examples] == [
      ["Familial", "breast", "-", "cancer", "genes", "."],
      ["Colon", "tumours", "grow", "."],
      ["The", "colon", "cancer", "syndrome", ".", "Rare", "cases", "."],
      ["It", "spreads"]]
  assert [e.labels for e in examples] == [
      ["O", "B-Disease", "I-Disease", "I-Disease", "O", "O"],
      ["B-Disease", "I-Disease", "O", "O"],
      ["O", "B-Disease", "I-Disease", "I-Disease", "O", "O", "O", "O"],
      ["O", "O"]]
  c = report.counts
  assert (c["documents"], c["mentions"], c["tagged"]) == (1, 7, 3)
  assert (c["off_boundary"], c["overlapping"], c["across_sentences"],
          c["no_word"]) == (3, 3, 1, 1)
  # Every example's text is the passage's at its base offset.
  for example in examples:
    document = example.source_document
    assert document.text_at(example.base, example.base + len(
        example.text)) == example.text
  # Passage mode: one example per passage, the same tags.
  examples, _ = _one_document(tmp_path, title, abstract, mentions,
                              sentences="passage")
  assert len(examples) == 2 and len(examples[1].words) == 14


def test_entity_types_choose_and_rename(tmp_path):
  title = "Aspirin for colon cancer."
  mentions = [(0, 7, "Aspirin", "Chemical"), (12, 24, "colon cancer",
                                              "Disease")]
  examples, report = _one_document(tmp_path, title, "", mentions,
                                   entity_types={"Chemical": "Chemical"})
  assert examples[0].labels == ["B-Chemical", "O", "O", "O", "O"]
  assert report.counts["other_types"] == 1
  assert [m.type for m in examples[0].gold] == ["Chemical"]
  examples, _ = _one_document(
      tmp_path, title, "", mentions,
      entity_types=offset_conversion.parse_entity_types("*=Entity"))
  assert examples[0].labels == ["B-Entity", "O", "B-Entity", "I-Entity", "O"]
  with pytest.raises(ValueError, match="'=X' is no TYPE or TYPE=LABEL"):
    offset_conversion.parse_entity_types("Chemical,=X")


def test_ncbi_disease_conversion_report():
  folder = helpers.shared_path("data", "ncbi_disease_pubtator")
  path = os.path.join(folder, NCBI[0])
  report = offset_conversion.ConversionReport(path)
  reading = offset_conversion.Reading(
      offset_conversion.parse_entity_types("*=Disease"), "syntok", False)
  summary = input_example.summarize(formats.iter_file(
      path, "pubtator", reading=reading, report=report))
  # BioBERT's preprocessed release has 5,424 sentences, 135,701 words and
  # 5,134 B-Disease tags.
  assert (summary.num_examples, summary.num_words) == (5391, 136086)
  assert summary.label_counts["B-Disease"] == 5145
  assert report.as_dict() == {"documents": 593, "mentions": 5145,
                              "tagged": 5145, "off_boundary": 2,
                              "text_with_spaces": 1}


# -------------------------------------------------------------------- BioC

def _escaped_extra(text):
  """Characters XML escaping adds: &gt; &lt; (3 each), &amp; (4), &apos;
  &quot; (5 each)."""
  return (3 * (text.count(">") + text.count("<")) + 4 * text.count("&") +
          5 * (text.count("'") + text.count('"')))


@pytest.mark.parametrize("split,num_shifted", [("train", 28), ("test", 9)])
def test_tmvar_bioc_and_pubtator_give_the_same_documents(split, num_shifted):
  folder = helpers.shared_path("data", "tmvar_pubtator_bioc")
  pubtator = list(pubtator_format.iter_documents(
      os.path.join(folder, "%s.PubTator.txt" % split)))
  bioc = list(bioc_format.iter_documents(
      os.path.join(folder, "%s.BioC.xml" % split)))
  assert [d.id for d in bioc] == [d.id for d in pubtator]
  shifted = 0
  for a, b in zip(pubtator, bioc):
    assert [p.text for p in a.passages] == [p.text for p in b.passages]
    assert ([(m.start, m.end, m.text, m.type) for m in a.mentions] ==
            [(m.start, m.end, m.text, m.type) for m in b.mentions])
    # The BioC release counted its abstracts' offsets in the escaped XML
    # text of the title; the mentions use PubTator's coordinates.
    extra = _escaped_extra(a.passages[0].text)
    assert b.passages[1].offset == a.passages[1].offset + extra
    shifted += bool(extra)
  assert shifted == num_shifted


def test_bioc_xml_and_json_written_and_read_back(tmp_path):
  folder = helpers.shared_path("data", "tmvar_pubtator_bioc")
  docs = list(pubtator_format.iter_documents(
      os.path.join(folder, "test.PubTator.txt")))
  for name, as_json in (("out.bioc.xml", False), ("out.bioc.json", True)):
    out = io.StringIO()
    writer = bioc_format.BioCWriter(out, as_json)
    for document in docs:
      writer.write(document)
    writer.close()
    path = write(tmp_path, name, out.getvalue())
    back = list(bioc_format.iter_documents(path))
    assert [(d.id, [(p.kind, p.offset, p.text) for p in d.passages],
             [(m.start, m.end, m.text, m.type) for m in d.mentions])
            for d in back] == [
                (d.id, [(documents.PASSAGE_TYPES[p.kind], p.offset, p.text)
                        for p in d.passages],
                 [(m.start, m.end, m.text, m.type) for m in d.mentions])
                for d in docs]
    assert all(documents.check_mention(d, m, path) is None
               for d in back for m in d.mentions)


def test_bioc_errors(tmp_path):
  path = write(tmp_path, "bad.xml", "<collection><document><id>1</id>\n"
               "<passage><text>ab</passage></document></collection>")
  with pytest.raises(ValueError, match=r"bad.xml, line 2: the BioC XML is "
                     r"not well formed: Opening and ending tag mismatch"):
    list(bioc_format.iter_documents(path))
  path = write(tmp_path, "bad.json", '{"documents": 3}')
  with pytest.raises(ValueError, match="bad.json is not BioC JSON"):
    list(bioc_format.iter_documents(path))
  path = write(tmp_path, "notype.xml", (
      "<collection><document><id>5</id><passage><offset>0</offset>"
      "<text>ab</text><annotation id='a1'><location offset='0' length='2'/>"
      "<text>ab</text></annotation></passage></document></collection>"))
  with pytest.raises(ValueError, match=r"notype.xml: document 5, annotation "
                     r"a1 \('ab'\) has no 'type' infon"):
    list(bioc_format.iter_documents(path))


def test_a_discontinuous_bioc_mention_tags_its_longest_part(tmp_path):
  path = write(tmp_path, "d.xml", (
      "<collection><document><id>5</id><passage><infon key='type'>title"
      "</infon><offset>0</offset><text>breast and ovarian cancer</text>"
      "<annotation id='a1'><infon key='type'>Disease</infon>"
      "<location offset='0' length='6'/><location offset='19' length='6'/>"
      "<text>breast cancer</text></annotation></passage></document>"
      "</collection>"))
  report = offset_conversion.ConversionReport(path)
  examples = list(formats.iter_file(path, "bioc", report=report))
  assert examples[0].labels == ["B-Disease", "O", "O", "O"]
  assert report.counts["discontinuous"] == 1
  assert examples[0].gold[0].key() == (((0, 6), (19, 25)), "Disease")


# -------------------------------------------------------------- PubMed XML

def test_pubmed_both_layouts():
  current = helpers.shared_path("data", "pubmed_xml",
                                 "test_current_medline.xml.gz")
  older = helpers.shared_path("data", "pubmed_xml", "medline16n0902.xml.gz")
  for path, num, titles_only in ((current, 4, 1), (older, 604, 78)):
    items = list(pubmed_format.iter_articles(path))
    with gzip.open(path, "rt", encoding="utf-8") as f:
      pmids = re.findall(r"<MedlineCitation[^>]*>\s*<PMID[^>]*>(\d+)</PMID>",
                         f.read())
    assert [kind for kind, _ in items] == ["document"] * num
    assert [d.id for _, d in items] == pmids
    assert sum(len(d.passages) == 1 for _, d in items) == titles_only
    for _, document in items:
      title = document.passages[0]
      assert title.offset == 0 and title.text
      if len(document.passages) > 1:
        assert document.passages[1].offset == len(title.text) + 1
  first = next(pubmed_format.iter_articles(current))[1]
  assert first.id == "36400559"
  assert first.passages[0].text == ("Back Pain: Differential Diagnosis and "
                                    "Management.")
  docs = [d for _, d in pubmed_format.iter_articles(older)]
  structured = docs[0].passages[1].text
  assert structured.startswith("PURPOSE: An auditory electrophysiological")
  assert " METHODS: " in structured and " CONCLUSION" in structured


PUBMED = """<?xml version="1.0"?>
<PubmedArticleSet>
<PubmedArticle><MedlineCitation><PMID>11</PMID><Article><ArticleTitle>A
<i>BRCA1</i> study.</ArticleTitle></Article></MedlineCitation></PubmedArticle>
<PubmedArticle><MedlineCitation><Article><ArticleTitle>No id.</ArticleTitle>
</Article></MedlineCitation></PubmedArticle>
<PubmedArticle><MedlineCitation><PMID>13</PMID><Article><ArticleTitle/>
<Abstract><AbstractText Label="AIM">Tumour.</AbstractText><AbstractText
Label="RESULTS">None.</AbstractText></Abstract></Article></MedlineCitation>
</PubmedArticle>
<DeleteCitation><PMID>99</PMID></DeleteCitation>
<PubmedArticle><MedlineCitation><PMID>14</PMID><Article><ArticleTitle>Cut
"""


def test_pubmed_dead_letters(tmp_path):
  path = write(tmp_path, "p.xml", PUBMED)
  items = list(pubmed_format.iter_articles(path))
  assert [kind for kind, _ in items] == ["document", "dead", "document",
                                         "dead"]
  assert [(p.kind, p.offset, p.text) for p in items[0][1].passages] == [
      ("t", 0, "A BRCA1 study.")]
  assert items[1][1]["reason"] == "no PMID" and items[1][1]["line"] == 5
  assert [(p.kind, p.offset, p.text) for p in items[2][1].passages] == [
      ("t", 0, ""), ("a", 1, "AIM: Tumour. RESULTS: None.")]
  assert items[3][1]["reason"].startswith("the XML is not well formed")
  assert items[3][1]["reason"].endswith("the rest of the file is not read")
  with pytest.raises(ValueError, match=r"p.xml, line 5: no PMID"):
    list(pubmed_format.iter_documents(path))


# ------------------------------------------------------------ the outputs

def test_mention_scores_by_offsets():
  gold = [documents.Mention(0, 5, "a", "X"), documents.Mention(6, 9, "b", "X"),
          documents.Mention(10, 12, "c", "Y")]
  predicted = [documents.Mention(0, 5, "a", "X"),     # correct
               documents.Mention(6, 8, "b", "X"),     # span differs
               documents.Mention(10, 12, "c", "X")]   # type differs
  counter = document_output.MentionCounter()
  counter.add(gold, predicted)
  counter.add([], [documents.Mention(1, 2, "d", "Y")])
  figures = counter.figures()
  assert (figures["gold"], figures["found"], figures["correct"]) == (3, 4, 1)
  assert figures["precision"] == 25.0
  assert round(figures["recall"], 4) == 33.3333
  assert round(figures["f1"], 4) == round(2 * 25 * 100 / 3 / (25 + 100 / 3),
                                          4)
  assert figures["per_type"]["Y"]["found"] == 1
  results = document_output.mention_results(figures)
  assert results["mention_precision"] == 25.0
  assert results["mention_X_recall"] == 50.0
  assert results["mention_Y_precision"] == 0.0


def test_predicted_documents_are_written_with_exact_offsets(tmp_path):
  path = write(tmp_path, "in.txt", "3|t|Breast cancer.\n3|a|A colon "
               "tumour.\n\n")
  examples = list(formats.iter_file(path, "pubtator"))
  tagged = [(examples[0], ["B-Disease", "I-Disease", "O"], [0.9, 0.7, 1.0]),
            (examples[1], ["O", "B-Disease", "I-Disease", "O"],
             [1.0, 0.6, 0.5, 1.0])]
  prefix = str(tmp_path / "out")
  sink = document_output.DocumentSink(prefix, list(formats.DOCUMENT_OUTPUTS))
  with sink:
    assert list(sink.tee(tagged)) == tagged
  assert sink.num_documents == 1
  # In memory (the service's documents): the same text as each file.
  memory = document_output.DocumentSink(None, list(formats.DOCUMENT_OUTPUTS))
  with memory:
    list(memory.tee(tagged))
  for name, text in memory.texts().items():
    extension = formats.DOCUMENT_OUTPUTS[name].extension
    assert text == helpers.read_text(prefix + "." + extension), name
  with open(prefix + ".pubtator", encoding="utf-8") as f:
    assert f.read() == ("3|t|Breast cancer.\n3|a|A colon tumour.\n"
                        "3\t0\t13\tBreast cancer\tDisease\t-\n"
                        "3\t17\t29\tcolon tumour\tDisease\t-\n\n")
  for name in ("bioc.xml", "bioc.json"):
    docs = list(bioc_format.iter_documents(prefix + "." + name))
    assert [(m.start, m.end, m.text) for m in docs[0].mentions] == [
        (0, 13, "Breast cancer"), (17, 29, "colon tumour")]
  with open(prefix + ".bioc.json", encoding="utf-8") as f:
    annotation = json.load(f)["documents"][0]["passages"][0]["annotations"][0]
  assert annotation["infons"] == {"type": "Disease", "score": "0.8000"}
  assert sink.counter.figures()["correct"] == 0  # the input had no mentions


# ----------------------------------------------------------------- flags

def test_document_flags_are_checked_up_front(tmp_path):
  import run_ner  # pylint: disable=g-import-not-at-top
  from bert_ner.run import flag_checks  # pylint: disable=g-import-not-at-top
  from bert_ner.run import run_settings  # pylint: disable=g-import-not-at-top
  values = run_ner.flag_defaults()
  values.update(do_train=True, output_dir=str(tmp_path))
  for changes, message in (
      ({"entity_types": "Chemical"}, "--entity_types needs a document "
       "format"),
      ({"input_format": "pubtator", "output_format": "xml"},
       "Unknown --output_format 'xml': use pubtator, bioc_xml, bioc_json"),
      ({"input_format": "text", "skip_bad_mentions": True},
       "--skip_bad_mentions needs --input_format=pubtator or bioc"),
      ({"input_format": "bioc", "entity_types": "A=,B"},
       "'A=' is no TYPE or TYPE=LABEL")):
    with pytest.raises(ValueError, match=message):
      flag_checks.check_values(dict(values, **changes))
  for name in ("NCBItrainset_corpus.txt", "NCBIdevelopset_corpus.txt",
               "NCBItestset_corpus.txt", "LICENSE"):
    (tmp_path / name).write_text("")
  assert run_settings.find_document_file(
      str(tmp_path), "dev", "dev_file", "pubtator").endswith(
          "NCBIdevelopset_corpus.txt")
  with pytest.raises(ValueError, match=r"No train file in .*: looked for a "
                     r"name holding 'train' ending in .xml/.json. Name it "
                     r"with --train_file"):
    run_settings.find_document_file(str(tmp_path), "train", "train_file",
                                    "bioc")
  (tmp_path / "test_extra.txt").write_text("")
  with pytest.raises(ValueError, match=r"More than one test file .* \(found "
                     r"NCBItestset_corpus.txt, test_extra.txt\)"):
    run_settings.find_document_file(str(tmp_path), "test", "test_file",
                                    "pubtator")


def test_empty_and_foreign_files_are_clear_errors(tmp_path):
  empty = write(tmp_path, "empty.txt", "\n\n")
  with pytest.raises(ValueError, match="The train file .*empty.txt holds no "
                     "documents"):
    list(formats.iter_file(empty, "pubtator", "train"))
  conll = write(tmp_path, "train.tsv", "BRCA1\tB-Gene\n")
  with pytest.raises(ValueError, match=r"train.tsv, line 1: 'BRCA1\\tB-Gene' "
                     "is no PubTator line"):
    list(formats.iter_file(conll, "pubtator"))
  with pytest.raises(ValueError, match=r"train.tsv, line 1: the BioC XML is "
                     "not well formed"):
    list(formats.iter_file(conll, "bioc"))
  crlf = write(tmp_path, "crlf.txt", "\ufeff4|t|Colon cancer.\r\n"
               "4\t0\t12\tColon cancer\tDisease\r\n\r\n")
  examples = list(formats.iter_file(crlf, "pubtator"))
  assert examples[0].labels == ["B-Disease", "I-Disease", "O"]


def test_predicted_pubtator_reads_back_as_mentions_in_the_bioc_package(
    tmp_path):
  """A predicted mention has no concept id: "-" in that column, so the
  bioc package's PubTator reader (which takes five columns for a relation)
  reads it as a mention; a file read and written back keeps its columns."""
  bioc_pubtator = pytest.importorskip("bioc.pubtator")
  text = "3|t|Breast cancer.\n3|a|A colon tumour.\n3\t2\t8\tcolon\tX\n\n"
  path = write(tmp_path, "in.txt", text)
  (document,) = pubtator_format.iter_documents(path)
  assert pubtator_format.format_document(document) == text
  predicted = [documents.Mention(0, 13, "Breast cancer", "Disease")]
  written = pubtator_format.format_document(document, predicted)
  assert written.splitlines()[2] == "3\t0\t13\tBreast cancer\tDisease\t-"
  (theirs,) = bioc_pubtator.loads(written)
  assert [(a.start, a.end, a.text, a.type) for a in theirs.annotations] == [
      (0, 13, "Breast cancer", "Disease")]
  assert theirs.relations == []


@pytest.mark.parametrize("line", ["3\t1x\t8\tcolon\tX", "3\t2\t8.5\tcolon\tX",
                                  "3\t-2\t8\tcolon\tX"])
def test_a_mention_line_with_a_bad_offset_is_an_error_not_a_relation(
    tmp_path, line):
  path = write(tmp_path, "in.txt", "3|t|Breast cancer.\n%s\n\n" % line)
  with pytest.raises(ValueError, match=r"in.txt, line 2: the mention line .* "
                     r"has the start .* and the end .*: both must be whole "
                     r"numbers"):
    list(pubtator_format.iter_documents(path))
  relation = write(tmp_path, "rel.txt", "3|t|Breast cancer.\n"
                   "3\tAssociation\tD001943\tC000001\tNovel\n\n")
  (document,) = pubtator_format.iter_documents(relation)
  assert document.relations == ["3\tAssociation\tD001943\tC000001\tNovel"]


def test_two_documents_with_one_pmid_are_both_read_with_a_warning(tmp_path,
                                                                  caplog):
  path = write(tmp_path, "in.txt", "7|t|One.\n7|a|Two.\n\n8|t|Other.\n\n"
               "7|t|Again.\n\n")
  with caplog.at_level(logging.WARNING, logger="bert_ner"):
    docs = list(pubtator_format.iter_documents(path))
  assert [d.id for d in docs] == ["7", "8", "7"]
  assert [r.getMessage() for r in caplog.records] == [
      "%s: the document at line 6 has the id 7 of the document at line 1: "
      "two documents with one PMID (both are read)." % path]


def test_bioc_json_as_ncbi_releases_it_without_infons(tmp_path):
  """BioRED's BioC JSON has no infons at collection, document or passage
  level (nor sentences or relations lists): read with empty ones."""
  collection = {"source": "PubTator", "date": "", "key": "",
                "documents": [{"id": "17", "passages": [
                    {"offset": 0, "text": "BRCA1 in breast cancer.",
                     "annotations": [{"id": "T0", "text": "breast cancer",
                                      "infons": {"type": "Disease"},
                                      "locations": [{"offset": 9,
                                                     "length": 13}]}]}]}]}
  path = write(tmp_path, "biored.json", json.dumps(collection))
  (document,) = bioc_format.iter_documents(path)
  assert document.id == "17" and document.passages[0].text == (
      "BRCA1 in breast cancer.")
  assert [(m.start, m.end, m.type) for m in document.mentions] == [
      (9, 22, "Disease")]
