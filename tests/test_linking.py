"""Linking mentions to concepts (bert_ner/linking, run_linker.py): the id
rules, the dictionary readers and their errors, TF-IDF by hand, BioSyn's
scoring rule, a whole run on a tiny corpus and on NCBI-disease; the dense
encoder trained on a tiny BERT, the linker folder and its checks, the NIL
threshold. The doors' ids: test_document_doors.py."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from bert_ner.corpora import documents
from bert_ner.tagging import document_output
from bert_ner.tagging import entity_offsets
from bert_ner.linking import concept_ids
from bert_ner.linking import dictionary as dictionary_lib
from bert_ner.linking import linker as linker_lib
from bert_ner.linking import linker_build
from bert_ner.linking import linker_folder
from bert_ner.linking import mention_linking
from bert_ner.linking import mention_rules
from bert_ner.linking import queries as queries_lib
from bert_ner.linking import sparse
import helpers
import run_linker


def test_ids_compare_after_one_normalisation():
  assert concept_ids.normalize_id(" MESH:D012345 ") == "D012345"
  assert concept_ids.normalize_id("OMIM:217000") == "217000"
  assert concept_ids.normalize_id("ncbigene:672") == "NCBIGENE:672"
  assert concept_ids.entry_ids("D1|OMIM:2|D1") == ("D1", "2")
  # The first id is the one written: MeSH where the concept has one
  # (MEDIC writes "114480|D001943"), then the others in their order.
  assert concept_ids.entry_ids("114480|D001943") == ("D001943", "114480")
  assert concept_ids.entry_ids("9|NCBIGene:3|C5|D4") == (
      "C5", "D4", "9", "NCBIGENE:3")
  # A gold string: one concept per part; | and + both join parts.
  assert concept_ids.gold_parts("D1+MESH:D2") == ("D1", "D2")
  assert concept_ids.gold_parts("D1|D2") == ("D1", "D2")
  assert concept_ids.gold_parts("-1") == () == concept_ids.gold_parts(" ")
  assert concept_ids.is_hit(("C5", "217000"), ("217000",))
  assert not concept_ids.is_hit(("C5",), ())


def write(tmp_path, name, text):
  path = tmp_path / name
  path.write_text(text, encoding="utf-8")
  return str(path)


def test_dictionary_layouts(tmp_path):
  biosyn = write(tmp_path, "dict.txt", "D001943||breast cancer\n"
                 "C567755|613097||tooth agenesis selective 6\n\n")
  medic = write(tmp_path, "medic.txt",
                "D001943|114480||Breast Neoplasms|Breast Cancer\n")
  ctd = write(tmp_path, "CTD_diseases.tsv",
              "# Fields:\n# DiseaseName\tDiseaseID\tAltDiseaseIDs\t"
              "Definition\tParentIDs\tTreeNumbers\tParentTreeNumbers\t"
              "Synonyms\tSlimMappings\n"
              "Breast Neoplasms\tMESH:D001943\tDO:DOID:1612|OMIM:114480\t\t"
              "\t\t\tBreast Cancer|Tumors, Breast\tCancer\n")
  d = dictionary_lib.read([biosyn, medic, ctd])
  # Repeats (the same normalised name and ids) are dropped.
  assert [(e.name, e.ids) for e in d.entries] == [
      ("breast cancer", ("D001943",)),
      ("tooth agenesis selective 6", ("C567755", "613097")),
      ("breast neoplasms", ("D001943", "114480")),
      ("breast cancer", ("D001943", "114480")),
      ("breast neoplasms", ("D001943", "DO:DOID:1612", "114480")),
      ("breast cancer", ("D001943", "DO:DOID:1612", "114480")),
      ("tumors breast", ("D001943", "DO:DOID:1612", "114480"))]
  assert d.entries[-1].shown == "Tumors, Breast"
  assert d.concepts() == 2
  assert dictionary_lib.normalize_name(" T-cell  Leukemia, ") == (
      "t cell leukemia")


@pytest.mark.parametrize("text, message", [
    ("D1||a\nno separator here\n", "line 2: expected IDS||NAME"),
    ("D1||a\n||a name\n", "line 2: the entry has no id"),
    ("D1||,;\n", "line 1: the entry has no name"),
    ("\n\n", "holds no entry"),
])
def test_dictionary_errors_name_the_file_and_line(tmp_path, text, message):
  path = write(tmp_path, "dict.txt", text)
  with pytest.raises(ValueError) as e:
    dictionary_lib.read(path)
  assert message in str(e.value) and path in str(e.value)
  with pytest.raises(ValueError, match="CTD_x.tsv, line 2: the entry has no "
                     "id"):
    dictionary_lib.read(write(tmp_path, "CTD_x.tsv", "ok\tMESH:D1\na\t\n"))
  with pytest.raises(ValueError, match="Give the dictionary"):
    dictionary_lib.read("")


def test_tfidf_by_hand():
  """Two names, "ab" and "b": n-grams a, b, ab | b; idf with N = 2:
  a and ab ln(3/2) + 1, b ln(3/3) + 1 = 1. The query "b" has the vector of
  "b": cosine 1 with "b", with "ab" 1 / |(w, 1, w)|."""
  index = sparse.SparseIndex.fit(["ab", "b"])
  w = math.log(1.5) + 1.0
  assert index.idf[index.vocabulary["a"]] == pytest.approx(w)
  assert index.idf[index.vocabulary["b"]] == pytest.approx(1.0)
  scores = index.scores(["b", "zz"])
  np.testing.assert_allclose(scores[0], [1 / math.sqrt(2 * w * w + 1), 1.0],
                             rtol=1e-6)
  np.testing.assert_allclose(scores[1], [0.0, 0.0])  # no known n-gram
  values, rows = sparse.best_k(index.scores(["b", "ab"]), 2)
  assert rows.tolist() == [[1, 0], [0, 1]]
  assert values[1, 0] == pytest.approx(1.0)


def test_best_k_breaks_ties_by_the_lower_index():
  scores = np.array([[0.5, 0.9, 0.5, 0.5, 0.1]], np.float32)
  values, rows = sparse.best_k(scores, 3)
  assert rows.tolist() == [[1, 0, 2]]
  assert values.tolist() == [[pytest.approx(0.9), 0.5, 0.5]]


def test_best_k_over_a_sample_floor_equals_a_full_sort():
  """Rows long enough for best_k's sampled floor, with ties at and around
  the k-th value: the same as sorting each whole row by (-score, index)."""
  rng = np.random.default_rng(7)
  scores = rng.standard_normal((6, 20000)).astype(np.float32)
  scores[1, 100:400] = scores[1, 7]          # 300 ties
  scores[2] = np.round(scores[2], 1)         # ties everywhere
  scores[3] = 0.5                            # one value
  scores[4, ::2] = 3.0                       # 10,000 ties above the rest
  for k in (1, 5, 64):
    values, rows = sparse.best_k(scores, k)
    for i, row in enumerate(scores):
      expected = np.lexsort((np.arange(len(row)), -row))[:k]
      assert rows[i].tolist() == expected.tolist(), (i, k)
      assert values[i].tolist() == row[expected].tolist()


def test_biosyn_rule_by_hand():
  """A query is right at k when each of its parts has a right candidate in
  its first k; a composite's parts may come in any order."""
  hits = [[[False, True]],                  # right at 2
          [[True], [False, False, True]],   # composite: right at 3
          [[False, False, False]]]          # never
  assert [queries_lib.accuracy_at(hits, k) for k in (1, 2, 3)] == [
      0.0, pytest.approx(100 / 3), pytest.approx(200 / 3)]
  query = queries_lib.parse_concept_line(
      "1||5|30||CompositeMention||ovarian cancers|other cancers||"
      "D010051|D009369", "x.concept", 1)
  assert query.parts == ("ovarian cancers", "other cancers")
  assert queries_lib.part_hits(query, [[("D009369",), ("D1",)],
                                       [("D2",)]]) == [[True, False],
                                                       [False]]


@pytest.mark.parametrize("line, message", [
    ("1||5|30||T||m", "expected PMID||START|END||TYPE||MENTION||IDS"),
    ("1||5-30||T||m||D1", "the offsets '5-30' are not START|END"),
    ("1||5|30||T||a||||D1", "expected PMID"),
    ("1||5|30||T||a|,||D1", "an empty mention (or part of one)"),
])
def test_concept_line_errors(line, message):
  with pytest.raises(ValueError) as e:
    queries_lib.parse_concept_line(line, "in.concept", 7)
  assert "in.concept, line 7" in str(e.value) and message in str(e.value)


TINY_DICTIONARY = ("D001943||breast cancer\nD010051||ovarian cancer\n"
                   "D009369||neoplasms\nD009369||cancer\n"
                   "D003110||colon cancer\nD015179||colorectal neoplasms\n")


def tiny_layout(tmp_path):
  data = tmp_path / "linking"
  (data / "processed_test").mkdir(parents=True)
  (data / "processed_test" / "11.concept").write_text(
      "11||0|13||SpecificDisease||breast cancer||D001943\n"
      "11||20|38||CompositeMention||ovarian cancer|breast cancers||"
      "D010051+D001943\n"
      "11||40|60||DiseaseClass||colorectal cancer||D003110\n"
      "11||61|70||Modifier||tumours||-1\n")
  return str(data), write(tmp_path, "dict.txt", TINY_DICTIONARY)


def test_run_linker_on_a_tiny_corpus(tmp_path):
  data, dictionary = tiny_layout(tmp_path)
  out = str(tmp_path / "out")
  results = run_linker.run(run_linker.values_of(
      do_predict=True, dictionary=[dictionary], data_dir=data,
      output_dir=out, dense=False), log=lambda line: None)["test"]
  # Right at 1: "breast cancer", the composite (each part's first name
  # is right); "colorectal cancer" ranks "colorectal neoplasms" (cosine
  # 0.742) before its gold "colon cancer" (0.724): right at 5 only; NIL is
  # never right. Exact names: "breast cancer" alone ("breast cancers" is
  # not one).
  assert (results["acc1"], results["acc5"], results["exact_acc1"]) == (
      50.0, 75.0, 25.0)
  assert (results["queries"], results["composite"]) == (4, 1)
  with open(os.path.join(out, "test_predictions.jsonl")) as f:
    lines = [json.loads(line) for line in f]
  assert [l["mention"] for l in lines] == [
      "breast cancer", "ovarian cancer|breast cancers", "colorectal cancer",
      "tumours"]
  second = lines[1]
  assert second["gold"] == "D010051|D001943"
  assert (second["document"], second["start"], second["end"]) == ("11", 20,
                                                                  38)
  assert [p["text"] for p in second["parts"]] == ["ovarian cancer",
                                                  "breast cancers"]
  assert [c["id"] for c in second["parts"][0]["candidates"][:1]] == [
      "D010051"]
  assert len(second["parts"][0]["candidates"]) == 6  # the whole dictionary
  assert [(c["id"], c["score"]) for c in lines[2]["parts"][0]["candidates"][
      :2]] == [("D015179", 0.7418), ("D003110", 0.724)]
  assert helpers.read_results(os.path.join(out, "test_results.txt"))[
      "acc1"] == "50.0"


def test_run_linker_errors_are_one_line(tmp_path):
  data, dictionary = tiny_layout(tmp_path)
  for given, message in (
      ({}, "Give --do_train, --do_eval, --do_predict and/or --export_dir."),
      ({"do_eval": True, "dictionary": [dictionary], "data_dir": data,
        "output_dir": str(tmp_path)},
       "--data_dir %s has no processed_dev/ (the dev split, for --do_eval)." %
       data),
      ({"do_predict": True, "dictionary": [dictionary], "data_dir": data,
        "output_dir": str(tmp_path), "num_candidates": 3},
       "--num_candidates must be 5 or more"),
      ({"do_train": True, "do_eval": True, "train_with_dev": True,
        "dictionary": [dictionary], "data_dir": data,
        "output_dir": str(tmp_path)},
       "--train_with_dev trains on the dev mentions too: it needs "
       "--do_train and excludes --do_eval."),
      ({"do_train": True, "dense": False, "dictionary": [dictionary],
        "data_dir": data, "output_dir": str(tmp_path)},
       "--do_train trains the dense encoder: drop --nodense.")):
    with pytest.raises(ValueError) as e:
      run_linker.run(run_linker.values_of(**given), log=lambda line: None)
    assert message in str(e.value)
  # As a user types it: one line and exit 2.
  result = subprocess.run(
      [sys.executable, os.path.join(helpers.ROOT, "run_linker.py"),
       "--do_predict", "--dictionary=" + str(tmp_path / "none.txt"),
       "--data_dir=" + data, "--output_dir=" + str(tmp_path), "--nodense"],
      capture_output=True, text=True, timeout=120, check=False)
  assert result.returncode == 2, result.stderr[-1000:]
  assert result.stderr.strip().splitlines()[-1] == (
      "run_linker.py: error: The dictionary %s does not exist." %
      (tmp_path / "none.txt"))


@pytest.mark.slow
def test_tfidf_on_ncbi_disease_as_biosyn_scores_it(tmp_path):
  """BioSyn's protocol on NCBI-disease's 960 test mentions: the TF-IDF and
  exact-match figures of the MEDIC names alone (train_dictionary.txt) and
  with the training mentions (test_dictionary.txt)."""
  data = helpers.shared_path("data", "ncbi_disease_linking")
  figures = {}
  for name in ("train_dictionary.txt", "test_dictionary.txt"):
    results = run_linker.run(run_linker.values_of(
        do_predict=True, dictionary=[os.path.join(data, name)],
        data_dir=data, output_dir=str(tmp_path / name), dense=False),
                             log=lambda line: None)["test"]
    figures[name] = (results["acc1"], results["acc5"], results["exact_acc1"])
  assert figures == {"train_dictionary.txt": (76.35, 82.19, 60.0),
                     "test_dictionary.txt": (87.71, 90.52, 76.88)}


# Synonyms that share no n-gram worth the name: TF-IDF cannot link them,
# an encoder trained on them must.
SYNONYMS_TRAIN = ("1||0|14||Disease||kidney failure||D001\n"
                  "1||15|21||Disease||tumour||D002\n"
                  "1||22|34||Disease||heart attack||D003\n"
                  "1||35|54||Disease||high blood pressure||D004\n")
SYNONYMS_DICTIONARY = ("D001||renal insufficiency\nD002||neoplasms\n"
                       "D003||myocardial infarction\nD004||hypertension\n"
                       "D005||kidney stone\nD006||heart failure\n"
                       "D007||blood disorder\nD008||tumor lysis syndrome\n")


def synonyms_layout(tmp_path):
  data = tmp_path / "synonyms"
  for split in ("processed_train", "processed_test"):
    (data / split).mkdir(parents=True)
    (data / split / "1.concept").write_text(SYNONYMS_TRAIN)
  return str(data), write(tmp_path, "synonyms.txt", SYNONYMS_DICTIONARY)


def dense_values(tmp_path, model_dir, name, **overrides):
  data, dictionary = synonyms_layout(tmp_path) if not (
      tmp_path / "synonyms").exists() else (str(tmp_path / "synonyms"),
                                            str(tmp_path / "synonyms.txt"))
  values = dict(do_predict=True, dictionary=[dictionary], data_dir=data,
                output_dir=str(tmp_path / name), bert_model_dir=model_dir,
                learning_rate=1e-3, train_batch_size=4,
                add_training_mentions=False, entity_types="*=Disease",
                export_dir=str(tmp_path / name / "linker"))
  values.update(overrides)
  return run_linker.values_of(**values)


def test_the_encoder_learns_synonyms_tfidf_cannot_link(tmp_path,
                                                       tiny_model_dir):
  """A tiny random BERT links none of four synonyms by the fused score;
  trained 60 steps on them it links all four (TF-IDF alone: none). The
  trained linker's folder, loaded, links as the run did; a second run
  resumes from the last checkpoint and trains no further."""
  quiet = lambda line: None
  before = run_linker.run(dense_values(tmp_path, tiny_model_dir, "before"),
                          log=quiet)["test"]
  assert (before["sparse_acc1"], before["acc1"]) == (0.0, 0.0)
  after = run_linker.run(dense_values(tmp_path, tiny_model_dir, "after",
                                      do_train=True, train_steps=60),
                         log=quiet)["test"]
  assert (after["sparse_acc1"], after["dense_acc1"], after["acc1"]) == (
      0.0, 100.0, 100.0)
  assert sorted(os.listdir(str(tmp_path / "after" / "encoder"))) == [
      "checkpoint", "model.ckpt-60.data-00000-of-00001",
      "model.ckpt-60.index", "model.ckpt-60.meta"]
  loaded = linker_folder.load(str(tmp_path / "after" / "linker"))
  assert loaded.types == ("Disease",)
  assert [l.id for l in loaded.linker.link(
      ["kidney failure", "tumour", "heart attack", "high blood pressure"])
         ] == ["D001", "D002", "D003", "D004"]
  lines = []
  again = run_linker.run(dense_values(tmp_path, tiny_model_dir, "after",
                                      do_train=True, train_steps=60),
                         log=lines.append)["test"]
  assert again == dict(after, seconds=again["seconds"])
  assert any(l.startswith("Resuming the encoder's training from ")
             for l in lines)
  assert not any(l.startswith("Encoder step") for l in lines)


def test_a_linker_folder_whose_files_were_mixed_is_refused(tmp_path,
                                                          tiny_model_dir):
  run_linker.run(dense_values(tmp_path, tiny_model_dir, "run"),
                 log=lambda line: None)
  folder = str(tmp_path / "run" / "linker")
  vectors = np.load(os.path.join(folder, "embeddings.npy"))
  np.save(os.path.join(folder, "embeddings.npy"), vectors[::-1].copy())
  with pytest.raises(ValueError) as error:
    linker_folder.load(folder)
  assert str(error.value).startswith(
      "The linker folder %s: its encoder (encoder.ckpt) does not give its "
      "saved vectors (embeddings.npy; the first names differ by up to " %
      folder)
  np.save(os.path.join(folder, "embeddings.npy"), vectors[:3])
  with pytest.raises(ValueError, match="embeddings.npy holds 3x32 vectors, "
                     "its dictionary 8 names"):
    linker_folder.load(folder)
  with pytest.raises(ValueError, match="is not a linker folder: it has no "
                     "linker.json"):
    linker_folder.load(str(tmp_path))


ANIRIDIA = ("106210|C536372||ANIRIDIA\nD015783||Aniridia|Irideremia\n"
            "D005128||Eye Abnormalities\n")


def test_concepts_sharing_a_name_go_to_the_training_mentions(tmp_path):
  """MEDIC names two concepts "aniridia"; the first in the file wins
  until training mentions name one of them: counted by name and
  concept, composite mentions left out."""
  path = write(tmp_path, "medic.txt", ANIRIDIA)
  linker = linker_lib.Linker(dictionary_lib.read(path))
  assert [l.id for l in linker.link(["aniridia"])] == ["C536372"]
  assert [row for row, _ in linker.rank(["aniridias"], 2)[0]] == [0, 1]
  train = [
      queries_lib.Query("1", 0, 8, "Disease", "Aniridia", "D015783",
                        ["aniridia"]),
      queries_lib.Query("1", 9, 17, "Disease", "aniridia", "MESH:D015783",
                        ["aniridia"]),
      queries_lib.Query("2", 0, 8, "Disease", "ANIRIDIA", "OMIM:106210",
                        ["aniridia"]),
      # Two parts: not counted (were it, D015783's "aniridia" would
      # count 3).
      queries_lib.Query("3", 0, 20, "Disease", "aniridia and coloboma",
                        "D015783|D003103", ["aniridia", "coloboma"]),
      # Another name of D015783: counts for irideremia alone.
      queries_lib.Query("4", 0, 10, "Disease", "irideremia", "D015783",
                        ["irideremia"])] + [queries_lib.Query(
                            "5", 0, 17, "Disease", "eye abnormalities",
                            "D005128", ["eye abnormalities"])] * 3
  dictionary = dictionary_lib.read(path)
  dictionary.count_mentions(linker_build.single_mentions(train))
  assert [(e.name, e.mentions) for e in dictionary.entries] == [
      ("aniridia", 1), ("aniridia", 2), ("irideremia", 1),
      ("eye abnormalities", 3)]
  linker = linker_lib.Linker(dictionary)
  assert [l.id for l in linker.link(["aniridia"])] == ["D015783"]
  # Tied in the ranking too (the same name: the same score): D015783's
  # row first, for the sparse, dense and fused rankings alike.
  assert [row for row, _ in linker.rank(["aniridias"], 2)[0]] == [1, 0]
  # The counts travel with the linker folder; a folder written before
  # them (three columns) reads 0 and links as the file orders.
  folder = str(tmp_path / "linker")
  linker_folder.write(folder, linker, ["Disease"], do_lower_case=True)
  loaded = linker_folder.load(folder).linker
  assert [e.mentions for e in loaded.dictionary.entries] == [1, 2, 1, 3]
  assert [l.id for l in loaded.link(["aniridia"])] == ["D015783"]
  tsv = os.path.join(folder, "dictionary.tsv")
  with open(tsv) as f:
    rows = [line.rstrip("\n").split("\t") for line in f]
  assert rows[0] == ["C536372|106210", "aniridia", "ANIRIDIA", "1"]
  with open(tsv, "w") as f:
    f.write("".join("\t".join(r[:3]) + "\n" for r in rows))
  assert [l.id for l in linker_folder.load(folder).linker.link(
      ["aniridia"])] == ["C536372"]
  with open(tsv, "w") as f:
    f.write("".join("\t".join(r[:3] + ["x"]) + "\n" for r in rows))
  with pytest.raises(ValueError, match="dictionary.tsv, line 1: the training "
                     "mentions 'x' are no count"):
    linker_folder.load(folder)


def test_lines_are_linked_in_batches_as_one_by_one(tmp_path, monkeypatch):
  """EntityLines holds lines until LINK_BATCH entities wait, links them
  together and writes them in order; close writes the rest. The lines
  are those of linking each alone (a short form defined on its own line
  only)."""
  dictionary = dictionary_lib.read(write(tmp_path, "d.txt", TINY_DICTIONARY))
  linkers = mention_linking.MentionLinkers([linker_folder.Loaded(
      linker_lib.Linker(dictionary, nil_threshold=0.9), ("Disease",), "d")])

  def record(text, *words):
    return {"text": text, "entities": [
        {"start": text.index(w), "end": text.index(w) + len(w), "text": w,
         "type": "Disease"} for w in words]}
  texts = [("Ovarian cancer (OC) and OC.", "Ovarian cancer", "OC"),
           ("OC again.", "OC"), ("No entity here.",),
           ("Breast cancer, colon cancer.", "Breast cancer", "colon cancer"),
           ("Neoplasms.", "Neoplasms")]
  alone = [json.dumps(linkers.link_records([record(*t)])[0]) + "\n"
           for t in texts]
  monkeypatch.setattr(mention_linking, "LINK_BATCH", 2)
  written = []

  class Out(object):
    def write(self, line):
      written.append(line)
  lines = entity_offsets.EntityLines(Out(), linkers)
  lines.write(record(*texts[0]))       # 2 entities: linked and written
  assert len(written) == 1
  lines.write(record(*texts[1]))
  lines.write(record(*texts[2]))
  assert len(written) == 1             # 1 entity waits
  lines.write(record(*texts[3]))
  assert len(written) == 4
  lines.write(record(*texts[4]))       # waits for close
  assert len(written) == 4
  lines.close()
  assert written == alone
  assert [e.get("id") for e in json.loads(written[0])["entities"]] == [
      "D010051", "D010051"]
  assert "id" not in json.loads(written[1])["entities"][0]  # "OC" alone
  # Without linkers, a line is written as it comes.
  written.clear()
  plain = entity_offsets.EntityLines(Out())
  plain.write(record(*texts[1]))
  assert written == [json.dumps(record(*texts[1])) + "\n"]


def test_the_doors_score_a_link_by_every_gold_concept():
  """By span and id, a link is right when its concept's ids hold each gold
  concept of the span: one of them for one, all for a composite."""
  counter = document_output.MentionCounter(linked=True)

  def mention(start, gold, ids=None):
    m = documents.Mention(start, start + 1, "x", "Disease", gold)
    if ids is not None:
      m.link = linker_lib.Link(ids[0], "x", 1.0, ids)
      m.identifier = ids[0]
    return m
  gold = [mention(0, "MESH:D001943"), mention(2, "D001943|D010051"),
          mention(4, "OMIM:201400|C535668"), mention(6, "-1"),
          mention(8, "D1")]
  counter.add(gold, [
      mention(0, None, ("D001943", "114480")),  # right: one of its ids
      mention(2, None, ("D001943",)),           # a composite: one of two
      mention(4, None, ("C535668", "201400")),  # two ids of one concept
      mention(6, None, ("D2",)),                # NIL gold: never right
      mention(8, None, ("D2",))])               # wrong
  assert sum(counter.correct.values()) == 5
  assert sum(counter.correct_ids.values()) == 2


def test_nil_threshold_and_types_by_hand(tmp_path):
  dictionary = dictionary_lib.read(write(tmp_path, "d.txt", TINY_DICTIONARY))
  linker = linker_lib.Linker(dictionary, nil_threshold=0.9)
  # "breast cancer" is a name (cosine 1); "colorectal cancer" is nearest
  # to "colorectal neoplasms" at 0.742, under the threshold: NIL.
  links = linker.link(["breast cancer", "colorectal cancer"])
  assert links[0] == linker_lib.Link("D001943", "breast cancer", 1.0,
                                     ("D001943",))
  assert links[1] is None
  # The doors: a mention goes to the linker of its type; NIL keeps no id.
  linkers = mention_linking.MentionLinkers([
      linker_folder.Loaded(linker, ("Disease",), "diseases")])
  mentions = [documents.Mention(0, 13, "Breast Cancer", "Disease"),
              documents.Mention(14, 31, "colorectal cancer", "Disease"),
              documents.Mention(32, 45, "breast cancer", "Gene"),
              documents.Mention(46, 47, "-", "Disease")]
  linkers.link_mentions(mentions)
  assert [m.identifier for m in mentions] == ["D001943", None, None, None]
  entities = linkers.link_entities([{"text": "breast cancer",
                                     "type": "Disease"}])
  assert entities == [{"text": "breast cancer", "type": "Disease",
                       "id": "D001943", "concept": "breast cancer",
                       "link_score": 1.0}]
  # A text's entities: a short form it defines links as its long form.
  text = "Ovarian cancer (OC) and OC."
  entities = linkers.link_entities(
      [{"start": 0, "end": 14, "text": "Ovarian cancer", "type": "Disease"},
       {"start": 24, "end": 26, "text": "OC", "type": "Disease"}], text)
  assert [(e["id"], e["concept"]) for e in entities] == [
      ("D010051", "ovarian cancer")] * 2
  # Without the text, "oc" alone is near no name (NIL under 0.9).
  assert "id" not in linkers.link_entities([{
      "start": 24, "end": 26, "text": "OC", "type": "Disease"}])[0]


def test_abbreviations_by_hand():
  found = mention_rules.abbreviations(
      "Duchenne muscular dystrophy (DMD) is rare. Spinocerebellar ataxia "
      "type 1 (SCA1), adrenoleukodystrophy (ALD) and the gene (BRCA1) and "
      "a note (see below).")
  assert found == {"DMD": "Duchenne muscular dystrophy",
                   "SCA1": "Spinocerebellar ataxia type 1",
                   "ALD": "adrenoleukodystrophy"}
  assert mention_rules.expand("DMD", found) == "Duchenne muscular dystrophy"
  assert mention_rules.expand("ALD patients", found) == (
      "adrenoleukodystrophy patients")
  assert mention_rules.expand("BRCA1", found) == "BRCA1"
  # A mention followed by a short form in parentheses defines it, even
  # when its letters are not in the short form's order.
  passages = [documents.Passage("t", 0, "Myotonic dystrophy (DM) and "
                                "Duchenne muscular dystrophy (DMD)."),
              documents.Passage("a", 63, "DM and DMD.")]
  mentions = [documents.Mention(0, 18, "Myotonic dystrophy", "Disease")]
  assert mention_rules.document_abbreviations(passages, mentions) == {
      "DM": "Myotonic dystrophy", "DMD": "Duchenne muscular dystrophy"}
  assert mention_rules.document_abbreviations(passages, []) == {
      "DMD": "Duchenne muscular dystrophy"}


@pytest.mark.parametrize("mention, parts, expected", [
    ("breast and ovarian cancer", 2, ["breast cancer", "ovarian cancer"]),
    ("colon or rectal cancers", 2, ["colon cancers", "rectal cancers"]),
    ("breast cancer and ovarian cancer", 2, ["breast cancer",
                                             "ovarian cancer"]),
    ("breast, ovarian and colon tumours", 3, ["breast tumours",
                                              "ovarian tumours",
                                              "colon tumours"]),
    ("breast and ovarian cancer", 3, ["breast and ovarian cancer"]),
    ("breast cancer", 1, ["breast cancer"]),
])
def test_composite_mentions_split_by_hand(mention, parts, expected):
  assert mention_rules.split_composite(mention, parts) == expected


def test_a_released_corpus_gives_queries_with_both_rules(tmp_path):
  """PubTator as released: the id column read (MESH: dropped, + as |), an
  abbreviation expanded, a composite split, a mention without id left
  out; a split without any id is an error naming the file."""
  data = tmp_path / "released"
  data.mkdir()
  text = ("1|t|Duchenne muscular dystrophy (DMD) and breast and ovarian "
          "cancer.\n1|a|DMD boys.\n")
  (data / "test.txt").write_text(
      text + "1\t0\t27\tDuchenne muscular dystrophy\tSpecificDisease\t"
      "D020388\n1\t39\t64\tbreast and ovarian cancer\tCompositeMention\t"
      "MESH:D001943+D010051\n1\t66\t69\tDMD\tSpecificDisease\tD020388\n"
      "1\t74\t78\tboys\tModifier\t-1\n\n")
  values = run_linker.values_of(
      do_predict=True, dictionary=[write(tmp_path, "d.txt",
                                         "D020388||duchenne muscular "
                                         "dystrophy\nD001943||breast "
                                         "cancer\nD010051||ovarian cancer\n"
                                         "D003920||dm\n")],
      data_dir=str(data), input_format="pubtator", dense=False,
      output_dir=str(tmp_path / "out"), entity_types="*=Disease")
  results = run_linker.run(values, log=lambda line: None)["test"]
  assert (results["queries"], results["composite"], results["acc1"]) == (
      3, 1, 100.0)
  with open(str(tmp_path / "out" / "test_predictions.jsonl")) as f:
    lines = [json.loads(line) for line in f]
  assert [(l["start"], l["mention"], l["gold"], [p["text"] for p in
                                                 l["parts"]])
          for l in lines] == [
              (0, "Duchenne muscular dystrophy", "D020388",
               ["duchenne muscular dystrophy"]),
              (39, "breast and ovarian cancer", "MESH:D001943|D010051",
               ["breast cancer", "ovarian cancer"]),
              (66, "DMD", "D020388", ["duchenne muscular dystrophy"])]
  # Without the rules: "dmd" and the whole composite are linked as they
  # are ("dmd" is nearest to "dm", another concept; the composite's one
  # part is scored against either id).
  values.abbreviations = values.split_composites = False
  results = run_linker.run(values, log=lambda line: None)["test"]
  assert (results["composite"], results["acc1"]) == (0, 66.67)
  (data / "test.txt").write_text(text + "1\t74\t78\tboys\tModifier\n\n")
  with pytest.raises(ValueError, match="test.txt: no mention has a concept "
                     "id"):
    run_linker.run(values, log=lambda line: None)



def test_train_with_dev_trains_on_the_dev_mentions_too(tmp_path,
                                                       tiny_model_dir):
  data, _ = synonyms_layout(tmp_path)
  (tmp_path / "synonyms" / "processed_dev").mkdir()
  (tmp_path / "synonyms" / "processed_dev" / "2.concept").write_text(
      "2||0|6||Disease||cancer||D002\n")
  lines = []
  results = run_linker.run(dense_values(
      tmp_path, tiny_model_dir, "with_dev", do_train=True, train_steps=2,
      train_with_dev=True, add_training_mentions=True), log=lines.append)
  assert "Training the encoder on 5 mention parts, 2 steps of 4" in lines
  # The dev mention joined the dictionary: 8 names and 4 mentions + 1.
  assert results["test"]["dictionary_names"] == 13
