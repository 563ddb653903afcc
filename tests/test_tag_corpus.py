"""Tests of tag_corpus.py: Beam's local runner tags like predict_saved_model,
bad lines go to dead letters, and a killed job finishes on a second run."""

import glob
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

import helpers

beam = helpers.import_beam()

from bert_ner.tagging import beam_tagging  # pylint: disable=g-import-not-at-top,wrong-import-position
import predict_saved_model  # pylint: disable=g-import-not-at-top,wrong-import-position
import tag_corpus  # pylint: disable=g-import-not-at-top,wrong-import-position

# Every test here runs Beam pipelines or SavedModel exports.
pytestmark = pytest.mark.slow

WORDS = helpers.TINY_WORDS


def sentences(count, seed):
  rng = random.Random(seed)
  return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30)))
          for _ in range(count)]


@pytest.fixture(scope="module")
def export_dir(trained_runs):
  """The shared trained softmax run's export (a model that tags diseases;
  the jobs here only read it)."""
  return trained_runs.get("softmax")[1]


def read_shards(output_dir, kind="entities"):
  """Records of all shards of a kind, in id order (file, then line)."""
  records = []
  for path in sorted(glob.glob(os.path.join(output_dir, kind + "-*.jsonl"))):
    with open(path, encoding="utf-8") as f:
      records.extend(json.loads(line) for line in f)
  return records


def without_scores(record):
  return {"text": record["text"],
          "entities": [{k: e[k] for k in ("start", "end", "type", "text")}
                       for e in record["entities"]]}


def reference_entities(export, path, tmp_path):
  out = str(tmp_path / ("reference_" + os.path.basename(path)))
  predict_saved_model.tag_file(export, path, out, "text")
  with open(os.path.join(out, "entities.jsonl"), encoding="utf-8") as f:
    return [without_scores(json.loads(line)) for line in f]


def test_local_runner_tags_like_predict_saved_model(export_dir, tmp_path):
  corpus = tmp_path / "corpus"
  corpus.mkdir()
  a, b, c = sentences(120, 1), sentences(60, 2), sentences(40, 3)
  (corpus / "a.txt").write_text("\n".join(a) + "\n", encoding="utf-8")
  with gzip.open(str(corpus / "b.txt.gz"), "wt", encoding="utf-8") as f:
    f.write("\n".join(b) + "\n")
  # Line 8 of c.txt is not UTF-8: a dead letter; the rest is tagged.
  (corpus / "c.txt").write_bytes(
      ("\n".join(c[:7]) + "\n").encode() + b"caf\xe9 cancer\n" +
      ("\n".join(c[7:]) + "\n").encode())
  (corpus / "c_good.txt").write_text("\n".join(c) + "\n", encoding="utf-8")
  out = str(tmp_path / "tagged")
  total = beam_tagging.run(
      export_dir, [str(corpus / "a.txt"), str(corpus / "b.txt.gz"),
                   str(corpus / "c.txt")], out, lines_per_shard=25,
      beam_args=["--direct_num_workers=2"])
  # a: 5 shards of 25 lines or fewer; b.txt.gz: one; c: 41 lines, 2.
  assert total["shards"] == 8 and len(glob.glob(out + "/entities-*")) == 8
  assert total["lines"] == 221 and total["dead_letters"] == 1
  assert total["sentences"] == 220
  (dead,) = read_shards(out, "dead_letter")
  assert dead["file"].endswith("c.txt") and dead["line"] == 8
  assert "UTF-8" in dead["reason"] and dead["value"].endswith("cancer")

  records = read_shards(out)
  by_file = {}
  for record in records:
    path, line = record["id"].rsplit(":", 1)
    by_file.setdefault(os.path.basename(path), []).append((int(line), record))
  reference = {
      "a.txt": reference_entities(export_dir, str(corpus / "a.txt"), tmp_path),
      "b.txt.gz": reference_entities(export_dir, str(corpus / "b.txt.gz"),
                                     tmp_path),
      "c.txt": reference_entities(export_dir, str(corpus / "c_good.txt"),
                                  tmp_path)}
  assert sorted(by_file) == sorted(reference)
  for name, expected in reference.items():
    lines = [line for line, _ in sorted(by_file[name])]
    assert lines == (list(range(1, 8)) + list(range(9, 42)) if name == "c.txt"
                     else list(range(1, len(expected) + 1)))
    ours = [without_scores(r) for _, r in sorted(by_file[name])]
    assert ours == expected, name
  entities = [e for r in records for e in r["entities"]]
  assert len(entities) == total["entities"] > 20
  assert all(0 < e["score"] <= 1 for e in entities)


def test_killed_job_finishes_on_a_second_run(export_dir, tmp_path):
  corpus = str(tmp_path / "corpus.txt")
  with open(corpus, "w", encoding="utf-8") as f:
    f.write("\n".join(sentences(400, 4)) + "\n")
  clean = str(tmp_path / "clean")
  beam_tagging.run(export_dir, [corpus], clean, lines_per_shard=10,
                 beam_args=["--direct_num_workers=1"])

  out = str(tmp_path / "killed")
  command = [sys.executable, os.path.join(helpers.ROOT, "tag_corpus.py"),
             "--export_dir=" + export_dir, "--input=" + corpus,
             "--output_dir=" + out, "--lines_per_shard=10",
             "--direct_num_workers=1"]
  job = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
  deadline = time.time() + 120
  while (time.time() < deadline and job.poll() is None and
         len(glob.glob(out + "/entities-*.jsonl")) < 3):
    time.sleep(0.05)
  os.killpg(job.pid, signal.SIGKILL)
  job.wait()
  done = sorted(glob.glob(out + "/entities-*.jsonl"))
  assert 3 <= len(done) < 40, "the job was not killed half way"
  # What looks finished is whole: each shard has its 10 lines.
  for path in done:
    with open(path, encoding="utf-8") as f:
      assert len(f.readlines()) == 10, path
  before = {path: os.stat(path).st_mtime_ns for path in done}

  total = beam_tagging.run(export_dir, [corpus], out, lines_per_shard=10,
                         beam_args=["--direct_num_workers=1"])
  assert total["lines"] == 400 and total["shards"] == 40
  # Finished shards were not tagged again; the output equals a clean run's.
  assert {p: os.stat(p).st_mtime_ns for p in done} == before
  assert read_shards(out) == read_shards(clean)
  assert not glob.glob(out + "/*.tmp-*")


def test_conll_input_with_a_bad_column(export_dir, tmp_path):
  corpus = tmp_path / "corpus.tsv"
  corpus.write_text(
      "-DOCSTART-\tO\n\nBreast\tB-Disease\ncancer\tI-Disease\n.\tO\n\n"
      "The\tO\n\tB-Disease\ngene\tO\n\nColon\tB-Disease\ntumour\tI-Disease\n",
      encoding="utf-8")
  out = str(tmp_path / "tagged")
  total = beam_tagging.run(export_dir, [str(corpus)], out,
                         input_format="conll", conll_output=True,
                         beam_args=["--direct_num_workers=1"])
  assert (total["sentences"], total["dead_letters"]) == (2, 1)
  (dead,) = read_shards(out, "dead_letter")
  assert dead["line"] == 8 and "1 column(s)" in dead["reason"]
  records = read_shards(out)
  assert [r["id"].rsplit(":", 1)[1] for r in records] == ["3", "11"]
  assert [r["text"] for r in records] == ["Breast cancer .", "Colon tumour"]
  with open(os.path.join(out, "predictions-00000-of-00001.conll")) as f:
    rows = [line.split() for line in f if line.strip()]
  assert [r[:2] for r in rows] == [["Breast", "B-Disease"],
                                   ["cancer", "I-Disease"], [".", "O"],
                                   ["Colon", "B-Disease"],
                                   ["tumour", "I-Disease"]]
  # The same words and gold through predict_saved_model, same predictions.
  good = tmp_path / "good.tsv"
  good.write_text("Breast\tB-Disease\ncancer\tI-Disease\n.\tO\n\n"
                  "Colon\tB-Disease\ntumour\tI-Disease\n", encoding="utf-8")
  reference = str(tmp_path / "reference")
  predict_saved_model.tag_file(export_dir, str(good), reference, "conll")
  with open(os.path.join(reference, "predictions.txt")) as f:
    assert [line.split() for line in f if line.strip()] == rows


def test_another_jobs_output_folder_is_refused(export_dir, tmp_path):
  corpus = tmp_path / "a.txt"
  corpus.write_text("the breast cancer\n", encoding="utf-8")
  out = str(tmp_path / "tagged")
  beam_tagging.run(export_dir, [str(corpus)], out,
                 beam_args=["--direct_num_workers=1"])
  with pytest.raises(ValueError, match="output of another tagging job"):
    beam_tagging.run(export_dir, [str(corpus)], out, lines_per_shard=7,
                   beam_args=["--direct_num_workers=1"])
  with pytest.raises(ValueError, match="matches no file"):
    beam_tagging.run(export_dir, [str(tmp_path / "nothing*.txt")], out)


def test_repair_tags_on_the_local_runner(export_dir, tmp_path):
  path = tmp_path / "a.txt"
  path.write_text("\n".join(sentences(30, 4)) + "\n", encoding="utf-8")
  out = str(tmp_path / "tagged")
  beam_tagging.run(export_dir, [str(path)], out, lines_per_shard=20,
                 beam_args=["--direct_num_workers=1"], repair_tags=True)
  with open(os.path.join(out, beam_tagging.PLAN_NAME)) as f:
    assert json.load(f)["repair_tags"] is True
  reference = str(tmp_path / "reference")
  predict_saved_model.tag_file(export_dir, str(path), reference, "text",
                               repair_tags=True)
  with open(os.path.join(reference, "entities.jsonl"), encoding="utf-8") as f:
    expected = [json.loads(line) for line in f]
  records = read_shards(out)
  assert len(records) == 30
  assert [without_scores(r) for r in records] == [
      without_scores(e) for e in expected]


def test_a_misspelt_flag_stops_before_any_work(capsys):
  args, beam_args = tag_corpus.parse_args(
      ["--export_dir=e", "--input=a.txt,b.txt", "--output_dir=o",
       "--direct_num_workers=2", "--runner=DirectRunner"])
  assert args.input == ["a.txt", "b.txt"]
  assert beam_args == ["--direct_num_workers=2", "--runner=DirectRunner"]
  for typo in ("--conll_outptu", "--conll"):  # misspelt; a prefix
    with pytest.raises(SystemExit) as e:
      tag_corpus.parse_args(["--export_dir=e", "--input=a.txt",
                             "--output_dir=o", typo])
    assert e.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        "error: %s: neither an argument of tag_corpus.py nor a Beam "
        "pipeline option (see --help)" % typo)


def test_nothing_tagged_is_an_error(export_dir, tmp_path, capsys):
  empty = tmp_path / "empty.txt"
  empty.write_text("")
  assert tag_corpus.main(["--export_dir=" + export_dir, "--input=" +
                          str(empty), "--output_dir=" + str(tmp_path / "a"),
                          "--direct_num_workers=1"]) == 1
  assert capsys.readouterr().err.splitlines()[-1] == (
      "tag_corpus.py: error: no sentence was tagged: the input holds 0 "
      "line(s).")
  latin = tmp_path / "latin.txt"
  latin.write_bytes(b"caf\xe9\nna\xefve\n")
  out = str(tmp_path / "b")
  assert tag_corpus.main(["--export_dir=" + export_dir, "--input=" +
                          str(latin), "--output_dir=" + out,
                          "--direct_num_workers=1"]) == 1
  assert capsys.readouterr().err.splitlines()[-1] == (
      "tag_corpus.py: error: no sentence was tagged: the input holds 2 "
      "line(s), all in the dead letters (see %s/dead_letter-*.jsonl)." % out)

