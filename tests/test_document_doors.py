"""Documents through every door: a model trained on PubTator (offsets)
predicts the same mentions through run_ner.py --do_predict,
predict_saved_model.py and tag_corpus.py, for PubTator and BioC input;
its mention-level scores are those of the predicted file against the gold
one; tag_corpus.py tags both PubMed XML layouts, every article present and
every offset exact."""

import glob
import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys

import pytest

import helpers

helpers.import_beam()

from bert_ner.corpora import bioc_format  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.corpora import documents  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.corpora import pubtator_format  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.tagging import beam_tagging  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_ner.serving import service as service_lib  # pylint: disable=g-import-not-at-top,wrong-import-position
import predict_saved_model  # pylint: disable=g-import-not-at-top,wrong-import-position
import run_linker  # pylint: disable=g-import-not-at-top,wrong-import-position
import run_ner  # pylint: disable=g-import-not-at-top,wrong-import-position

pytestmark = pytest.mark.slow

PHRASES = [("breast cancer", "Disease"), ("colon tumour", "Disease"),
           ("syndrome", "Disease"), ("BRCA1", "Gene"), ("BRCA2", "Gene")]
# "syndrome" and "BRCA1" also come unannotated: no model gets every one.
FILLER = ("the of and in with patients cell mutation was is for an to "
          "syndrome BRCA1").split()


def make_documents(seed, count):
  """PubTator documents of filler words and mentions, some sentences ending
  in '.', with the mentions' exact offsets."""
  rng = random.Random(seed)
  docs = []
  for number in range(count):
    document = documents.Document(str(1000 + number))
    offset = 0
    for kind in ("t", "a"):
      text = ""
      for _ in range(rng.choice([4, 9, 25])):
        if rng.random() < 0.3:
          phrase, type_ = rng.choice(PHRASES)
          start = len(text) + (1 if text else 0)
          text += (" " if text else "") + phrase
          document.mentions.append(documents.Mention(
              offset + start, offset + start + len(phrase), phrase, type_))
        else:
          text += (" " if text else "") + rng.choice(FILLER)
        if rng.random() < 0.15:
          text += "."
      document.passages.append(documents.Passage(kind, offset, text))
      offset += len(text) + 1
    docs.append(document)
  return docs


def write_pubtator(path, docs):
  with open(path, "w", encoding="utf-8") as f:
    for document in docs:
      f.write(pubtator_format.format_document(document))


def mention_set(docs):
  return {(d.id, m.start, m.end, m.type) for d in docs for m in d.mentions}


def read_docs(path):
  if path.endswith(".pubtator"):
    docs = list(pubtator_format.iter_documents(path))
  else:
    docs = list(bioc_format.iter_documents(path))
  for document in docs:
    for mention in document.mentions:
      assert documents.check_mention(document, mention, path) is None
  return docs


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir):
  """A tiny model trained on PubTator, exported: (out, export, data)."""
  root = tmp_path_factory.mktemp("document_doors")
  data = root / "data"
  data.mkdir()
  write_pubtator(str(data / "train.txt"), make_documents(0, 40))
  write_pubtator(str(data / "dev.txt"), make_documents(1, 6))
  write_pubtator(str(data / "test.txt"), make_documents(2, 8))
  out, export = str(root / "out"), str(root / "export")
  values = run_ner.flag_defaults()
  values.update(bert_model_dir=tiny_model_dir, data_dir=str(data),
                output_dir=out, do_train=True, do_eval=True, do_predict=True,
                input_format="pubtator", max_seq_length=16,
                train_batch_size=16, learning_rate=5e-3, num_train_steps=60,
                warmup_proportion=0.0, save_checkpoints_steps=60,
                export_dir=export, output_format="pubtator,bioc_xml,bioc_json")
  results = run_ner.run(run_ner.validate_flags_or_throw(values))
  return out, export, str(data), results


def test_mention_scores_are_those_of_the_written_predictions(trained):
  out, _, data, results = trained
  gold = mention_set(read_docs_pubtator(os.path.join(data, "test.txt")))
  predicted = read_docs(os.path.join(out, "test_predictions.pubtator"))
  found = mention_set(predicted)
  assert [d.id for d in predicted] == [str(1000 + i) for i in range(8)]
  correct = len(gold & found)
  assert 0 < correct < len(gold)  # a model that learned, not perfectly
  scores = helpers.read_results(os.path.join(out, "test_results.txt"))
  assert int(scores["gold_mentions"]) == len(gold)
  assert int(scores["found_mentions"]) == len(found)
  assert int(scores["correct_mentions"]) == correct
  precision = 100.0 * correct / len(found)
  recall = 100.0 * correct / len(gold)
  assert float(scores["mention_f1"]) == round(
      2 * precision * recall / (precision + recall), 2)
  assert results["test"]["mention_f1"] == float(scores["mention_f1"])
  assert "entity_f1" in scores  # conlleval's, beside
  for name in ("bioc.xml", "bioc.json"):
    assert mention_set(read_docs(os.path.join(
        out, "test_predictions." + name))) == found
  with open(os.path.join(out, "train_conversion.json")) as f:
    report = json.load(f)
  assert report["documents"] == 40 and report["tagged"] == report["mentions"]


def read_docs_pubtator(path):
  return list(pubtator_format.iter_documents(path))


def test_every_door_predicts_the_same_mentions(trained, tmp_path):
  out, export, data, _ = trained
  test = os.path.join(data, "test.txt")
  with open(os.path.join(out, "test_predictions.pubtator"),
            encoding="utf-8") as f:
    expected = f.read()
  # predict_saved_model.py, PubTator in: the same bytes.
  saved = str(tmp_path / "saved")
  predict_saved_model.tag_file(export, test, saved, "pubtator", batch_size=3)
  with open(os.path.join(saved, "predictions.pubtator"),
            encoding="utf-8") as f:
    assert f.read() == expected
  with open(os.path.join(saved, "results.txt")) as f:
    assert "mention level, by offsets" in f.read()
  # BioC XML in: the same mentions, written as BioC.
  bioc_in = str(tmp_path / "test.bioc.xml")
  with open(bioc_in, "w", encoding="utf-8") as f:
    writer = bioc_format.BioCWriter(f, as_json=False)
    for document in read_docs_pubtator(test):
      writer.write(document)
    writer.close()
  saved_bioc = str(tmp_path / "saved_bioc")
  predict_saved_model.tag_file(export, bioc_in, saved_bioc, "bioc")
  expected_mentions = mention_set(read_docs(os.path.join(
      out, "test_predictions.pubtator")))
  assert mention_set(read_docs(os.path.join(
      saved_bioc, "predictions.bioc.xml"))) == expected_mentions
  # tag_corpus.py on Beam's local runner: PubTator in, PubTator out.
  corpus = str(tmp_path / "corpus")
  beam_tagging.run(export, [test], corpus, "pubtator",
                   output_format="pubtator,bioc_json",
                   beam_args=["--direct_num_workers=1"])
  shards = sorted(glob.glob(os.path.join(corpus, "documents-*.pubtator")))
  assert len(shards) == 1
  with open(shards[0], encoding="utf-8") as f:
    assert f.read() == expected
  assert mention_set(read_docs(shards[0].replace(
      ".pubtator", ".bioc.json"))) == expected_mentions


def test_tag_corpus_tags_pubmed_xml(trained, tmp_path):
  _, export, _, _ = trained
  paths = [helpers.shared_path("data", "pubmed_xml", name) for name in
           ("test_current_medline.xml.gz", "medline16n0902.xml.gz")]
  out = str(tmp_path / "pubmed")
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "tag_corpus.py"),
       "--export_dir=" + export, "--input=" + ",".join(paths),
       "--input_format=pubmed", "--output_dir=" + out,
       "--output_format=pubtator,bioc_xml"],
      capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "Tagged 608 documents" in result.stdout
  for index, path in enumerate(paths):
    with gzip.open(path, "rt", encoding="utf-8") as f:
      pmids = re.findall(r"<MedlineCitation[^>]*>\s*<PMID[^>]*>(\d+)</PMID>",
                         f.read())
    shard = os.path.join(out, "documents-%05d-of-00002" % index)
    for name in (".pubtator", ".bioc.xml"):
      docs = read_docs(shard + name)
      assert [d.id for d in docs] == pmids
    with open(os.path.join(out, "entities-%05d-of-00002.jsonl" % index),
              encoding="utf-8") as f:
      records = [json.loads(line) for line in f]
    assert [r["id"] for r in records] == pmids
    for record in records:
      helpers.check_document_entities(record)
  with open(os.path.join(out, "summary.json")) as f:
    summary = json.load(f)
  assert (summary["documents"], summary["dead_letters"]) == (608, 0)


def test_one_file_with_a_bad_mention_has_one_verdict_at_every_door(
    trained, tmp_path):
  """One PubTator file, one of whose mentions has text its offsets do not
  hold, through run_ner.py --do_predict, predict_saved_model.py and
  tag_corpus.py: refused by all three with the same line; with
  --skip_bad_mentions, tagged by all three into the same documents."""
  out, export, data, _ = trained
  docs = make_documents(3, 4)
  bad = docs[2].mentions[0]
  docs[2].mentions[0] = documents.Mention(bad.start, bad.end,
                                          "x" + bad.text[1:], bad.type)
  path = str(tmp_path / "bad.txt")
  write_pubtator(path, docs)
  with open(path, encoding="utf-8") as f:
    bad_line = 1 + f.read().split("\n").index("\t".join([
        docs[2].id, str(bad.start), str(bad.end), "x" + bad.text[1:],
        bad.type]))
  model = str(tmp_path / "model")
  shutil.copytree(out, model)

  def doors(skip):
    tagged = str(tmp_path / ("skip" if skip else "refuse"))
    values = run_ner.flag_defaults()
    values.update(output_dir=model, data_dir=data, do_predict=True,
                  test_file=path, input_format="pubtator",
                  skip_bad_mentions=skip)
    yield lambda: run_ner.run(run_ner.validate_flags_or_throw(values))
    yield lambda: predict_saved_model.tag_file(
        export, path, tagged + "_saved", "pubtator",
        skip_bad_mentions=skip)
    yield lambda: beam_tagging.run(
        export, [path], tagged + "_corpus", "pubtator",
        beam_args=["--direct_num_workers=1"], skip_bad_mentions=skip)

  messages = []
  for door in doors(skip=False):
    with pytest.raises(ValueError) as error:
      door()
    messages.append(str(error.value))
  assert messages == [messages[0]] * 3, messages
  assert messages[0].startswith(
      "%s, line %d: document %s: the mention %r at %d-%d differs from the "
      "text at those offsets" % (path, bad_line, docs[2].id,
                                 "x" + bad.text[1:], bad.start, bad.end))
  for door in doors(skip=True):
    door()
  written = []
  for name in (os.path.join(model, "test_predictions.pubtator"),
               str(tmp_path / "skip_saved" / "predictions.pubtator"),
               str(tmp_path / "skip_corpus" /
                   "documents-00000-of-00001.pubtator")):
    with open(name, encoding="utf-8") as f:
      written.append(f.read())
  assert written[0] == written[1] == written[2]
  assert [d.id for d in pubtator_format.iter_documents(
      os.path.join(model, "test_predictions.pubtator"))] == [
          d.id for d in docs]


# The concepts of PHRASES, and two linkers' dictionaries: the diseases'
# (with a synonym) and the genes'.
PHRASE_IDS = {"breast cancer": "MESH:D001943", "colon tumour": "D003110",
              "syndrome": "D013577", "BRCA1": "672", "BRCA2": "675"}
DISEASE_DICTIONARY = ("D001943||breast cancer|breast neoplasms\n"
                      "D003110||colonic neoplasms|colon tumour\n"
                      "D013577||syndrome\n")
GENE_DICTIONARY = "672||brca1\n675||brca2\n"


def sparse_linker(tmp_path, name, text, entity_types):
  """A TF-IDF linker folder of a dictionary, for the types given."""
  path = tmp_path / (name + ".txt")
  path.write_text(text, encoding="utf-8")
  folder = str(tmp_path / name)
  run_linker.run(run_linker.values_of(
      dictionary=[str(path)], output_dir=str(tmp_path / (name + "_out")),
      export_dir=folder, entity_types=entity_types, dense=False),
                 log=lambda line: None)
  return folder


def test_every_door_links_the_same_ids(trained, tmp_path):
  """A PubTator file with gold ids through run_ner.py --do_predict,
  predict_saved_model.py, tag_corpus.py and the service, each with a
  disease and a gene linker: the same documents, each mention found
  carrying its concept's id, and scored by span and by span and id."""
  out, export, data, _ = trained
  docs = make_documents(2, 8)
  for document in docs:
    for mention in document.mentions:
      # "syndrome"'s gold id is one no linker gives: found right, linked
      # wrong.
      mention.identifier = ("D000001" if mention.text == "syndrome" else
                            PHRASE_IDS[mention.text])
  path = str(tmp_path / "test_ids.txt")
  write_pubtator(path, docs)
  linkers = ",".join([
      sparse_linker(tmp_path, "diseases", DISEASE_DICTIONARY, "Disease"),
      sparse_linker(tmp_path, "genes", GENE_DICTIONARY, "Gene")])
  model = str(tmp_path / "model")
  shutil.copytree(out, model)
  values = run_ner.flag_defaults()
  values.update(output_dir=model, data_dir=data, do_predict=True,
                test_file=path, input_format="pubtator", linker_dir=linkers)
  run_ner.run(run_ner.validate_flags_or_throw(values))
  predict_saved_model.tag_file(export, path, str(tmp_path / "saved"),
                               "pubtator", linker_dir=linkers)
  beam_tagging.run(export, [path], str(tmp_path / "corpus"), "pubtator",
                   beam_args=["--direct_num_workers=1"], linker_dir=linkers)
  with open(path, "rb") as f:
    served = service_lib.TaggingService(export, linker_dir=linkers.split(
        ",")).tag_documents(f.read(), "pubtator")
  written = []
  for name in (os.path.join(model, "test_predictions.pubtator"),
               str(tmp_path / "saved" / "predictions.pubtator"),
               str(tmp_path / "corpus" / "documents-00000-of-00001.pubtator")):
    with open(name, encoding="utf-8") as f:
      written.append(f.read())
  assert written[0] == written[1] == written[2] == served
  predicted = [m for d in read_docs_pubtator(os.path.join(
      model, "test_predictions.pubtator")) for m in d.mentions]
  assert predicted
  for mention in predicted:
    expected = PHRASE_IDS.get(mention.text, "").replace("MESH:", "")
    # A span the model cut elsewhere still links to its nearest name.
    if expected:
      assert mention.identifier == expected, mention
  # By span and id: every span found right links right but "syndrome"'s;
  # a gold id in another form (MESH:D001943) still matches.
  gold_spans = {(d.id, m.start, m.end): m.text for d in docs
                for m in d.mentions}
  found_right = [gold_spans[(d.id, m.start, m.end)] for d in
                 read_docs_pubtator(os.path.join(
                     model, "test_predictions.pubtator"))
                 for m in d.mentions if (d.id, m.start, m.end) in gold_spans]
  scores = helpers.read_results(os.path.join(model, "test_results.txt"))
  assert int(scores["correct_mentions"]) == len(found_right)
  linked_right = len([t for t in found_right if t != "syndrome"])
  assert 0 < linked_right < len(found_right)
  assert int(scores["correct_linked_mentions"]) == linked_right
  with open(str(tmp_path / "saved" / "results.txt")) as f:
    assert "by offsets and concept id: %d correct" % linked_right in (
        f.read())
  # BioC in: the gold ids read from the identifier infon, scored alike.
  bioc_in = str(tmp_path / "test_ids.bioc.xml")
  with open(bioc_in, "w", encoding="utf-8") as f:
    writer = bioc_format.BioCWriter(f, as_json=False)
    for document in docs:
      writer.write(document)
    writer.close()
  predict_saved_model.tag_file(export, bioc_in, str(tmp_path / "bioc"),
                               "bioc", linker_dir=linkers)
  with open(str(tmp_path / "bioc" / "results.txt")) as f:
    assert "by offsets and concept id: %d correct" % linked_right in (
        f.read())
  with open(str(tmp_path / "corpus" / "entities-00000-of-00001.jsonl"),
            encoding="utf-8") as f:
    entities = [e for line in f for e in json.loads(line)["entities"]]
  assert [e["id"] for e in entities] == [m.identifier for m in predicted]
  assert {e["concept"] for e in entities if e["id"] == "D003110"} <= {
      "colonic neoplasms", "colon tumour"}


def test_a_linker_of_a_type_the_model_does_not_tag_is_refused(trained,
                                                              tmp_path):
  _, export, data, _ = trained
  folder = sparse_linker(tmp_path, "chemicals", "D002244||carbon\n",
                         "Chemical")
  with pytest.raises(ValueError) as error:
    predict_saved_model.tag_file(export, os.path.join(data, "test.txt"),
                                 str(tmp_path / "out"), "pubtator",
                                 linker_dir=folder)
  assert str(error.value) == (
      "--linker_dir %s links Chemical, which the model does not tag (it "
      "tags Disease, Gene). Train the linker with run_linker.py "
      "--entity_types naming the tagger's types." % folder)
  # run_ner.py checks the folder before any work, the types once the
  # model's labels are known.
  out, _, data, _ = trained
  model = str(tmp_path / "model")
  shutil.copytree(out, model)
  values = run_ner.flag_defaults()
  values.update(output_dir=model, data_dir=data, do_predict=True,
                input_format="pubtator", linker_dir=str(tmp_path))
  with pytest.raises(ValueError, match="--linker_dir %s is not a linker "
                     "folder: it has no linker.json" % tmp_path):
    run_ner.run(run_ner.validate_flags_or_throw(values))
  values["linker_dir"] = folder
  with pytest.raises(ValueError, match="links Chemical, which the model "
                     "does not tag"):
    run_ner.run(run_ner.validate_flags_or_throw(values))
