"""Tests of reproduce.py: the recipe's cited figures, the summary's
arithmetic, the train + dev file, and two seeds end to end with a resume."""

import glob
import os

import numpy as np
import pytest

import helpers
import reproduce

RECIPES = sorted(glob.glob(os.path.join(helpers.ROOT, "configs", "biobert",
                                        "*.flags")))


def test_every_biobert_recipe_cites_its_figures():
  cited = {os.path.basename(p): reproduce.cited_figures(p) for p in RECIPES}
  assert len(cited) == 8 and all(cited.values())
  assert [c.f1 for c in cited["ncbi_disease.flags"]] == [88.30, 89.71]
  assert [c.f1 for c in cited["bc2gm.flags"]] == [83.41, 84.72]
  assert cited["s800.flags"][0].f1 == 72.38
  for figures in cited.values():
    assert "dmis-lab/biobert-pytorch" in figures[0].source


@pytest.mark.parametrize("values", [[88.1, 87.3, 89.05], [70.0, 72.5],
                                    [90.12, 90.12, 90.12, 91.0, 85.33]])
def test_mean_and_sample_std_against_numpy(values):
  mean, std = reproduce.mean_std(values)
  assert mean == pytest.approx(np.mean(values), abs=1e-12)
  assert std == pytest.approx(np.std(values, ddof=1), abs=1e-12)
  assert reproduce.mean_std([81.5]) == (81.5, None)


def test_summary_lists_mean_std_and_cited_figures():
  rows = [dict(seed=s, epoch=e, dev_f1=d, test_precision=p, test_recall=r,
               test_f1=f, test_strict_f1=f - 1)
          for s, e, d, p, r, f in [(1, 3, 84.0, 80.0, 82.0, 80.99),
                                   (2, 2, 85.0, 81.0, 84.0, 82.47),
                                   (3, 3, 83.0, 79.0, 83.0, 80.95)]]
  cited = [reproduce.Cited(88.30, "re-run"), reproduce.Cited(89.71, "paper")]
  text = reproduce.summary_text(rows, cited, "ncbi.flags")
  f1 = [80.99, 82.47, 80.95]
  expected_f1 = "%.2f ± %.2f" % (np.mean(f1), np.std(f1, ddof=1))
  assert "test F1                 " + expected_f1 in text
  assert "epochs chosen            2.67 ± 0.58" in text
  assert "3 seed(s) (1, 2, 3)" in text
  assert "cited test F1  88.30 (re-run): %+.2f" % (np.mean(f1) - 88.30) in text
  assert "cited test F1  89.71 (paper)" in text
  one = reproduce.summary_text(rows[:1], [], "x.flags")
  assert "test F1                 80.99 ± n/a" in one
  assert "the recipe cites no test F1" in one


def test_results_file_round_trip(tmp_path):
  rows = [dict(seed=4, epoch=7, dev_f1=85.126, test_precision=80.0,
               test_recall=82.0, test_f1=80.99, test_strict_f1=80.5)]
  reproduce.write_results(str(tmp_path), rows)
  with open(tmp_path / reproduce.RESULTS_NAME) as f:
    assert f.read() == ("seed\tepoch\tdev_f1\ttest_precision\ttest_recall\t"
                        "test_f1\ttest_strict_f1\n"
                        "4\t7\t85.13\t80.00\t82.00\t80.99\t80.50\n")
  assert reproduce.read_results(str(tmp_path)) == [dict(
      rows[0], dev_f1=85.13)]


def test_flags_and_the_final_run_trains_with_dev(tmp_path):
  """The recipe's flags parsed by run_ner.py's definitions; the final run
  is run_ner.py --train_with_dev on the corpus as given (any format: a
  PubTator folder by --data_dir is found by run_ner.py's own rules)."""
  data = tmp_path / "data"
  data.mkdir()
  recipe = os.path.join(helpers.ROOT, "configs", "biobert",
                        "ncbi_disease.flags")
  values = reproduce.run_ner_flags(recipe, ["--data_dir=%s" % data,
                                            "--num_train_epochs=2"])
  assert values.num_train_epochs == 2 and values.learning_rate == 1e-5
  with pytest.raises(reproduce.ReproduceError, match="Unknown command line "
                     "flag 'epochs'"):
    reproduce.run_ner_flags(recipe, ["--epochs=2"])
  for arg in ("--nodo_eval", "--train_with_dev", "--train_file=x"):
    if arg == "--train_file=x":
      reproduce.run_ner_flags(recipe, [arg])  # the user's own training file
      continue
    with pytest.raises(reproduce.ReproduceError, match="%s is set by "
                       "reproduce.py" % arg):
      reproduce.run_ner_flags(recipe, [arg])
  commands = []
  reproduction = reproduce.Reproduction(
      recipe, ["--data_dir=%s" % data, "--input_format=pubtator"],
      str(tmp_path / "out"), 1, 3, log=lambda line: None)
  reproduction.run_ner = (
      lambda seed, step, flags: commands.append(flags) or str(tmp_path))
  with pytest.raises(reproduce.ReproduceError):
    reproduction.final(3, 4)  # no test results: nothing was run
  assert commands == [["--do_train", "--do_eval=false", "--do_predict",
                       "--train_with_dev", "--num_train_epochs=4",
                       "--num_train_steps=0", "--eval_every_epochs=0",
                       "--eval_every_steps=0", "--early_stopping_evals=0"]]


@pytest.mark.slow
def test_two_seeds_then_resume(tmp_path, tiny_model_dir):
  data = tmp_path / "data"
  data.mkdir()
  (data / "train.tsv").write_text(helpers.TRAIN)
  (data / "devel.tsv").write_text(helpers.TRAIN)
  (data / "test.tsv").write_text(helpers.TEST)
  out = str(tmp_path / "out")
  recipe = os.path.join(helpers.ROOT, "configs", "biobert",
                        "ncbi_disease.flags")
  args = ["--recipe=" + recipe, "--seeds=2", "--first_seed=5",
          "--output_dir=" + out, "--bert_model_dir=" + tiny_model_dir,
          "--data_dir=%s" % data, "--do_lower_case=true",
          "--max_seq_length=8", "--window_stride=3", "--train_batch_size=2",
          "--eval_batch_size=3", "--predict_batch_size=3",
          "--learning_rate=1e-3", "--num_train_epochs=3"]
  assert reproduce.main(args) == 0
  rows = reproduce.read_results(out)
  assert [r["seed"] for r in rows] == [5, 6]
  for row in rows:
    seed_dir = os.path.join(out, "seed_%d" % row["seed"])
    best = helpers.read_results(os.path.join(seed_dir, "select", "best",
                                     "best_results.txt"))
    assert row["epoch"] == round(float(best["epoch"])) and 1 <= row["epoch"] <= 3
    assert row["dev_f1"] == float(best["entity_f1"])
    test = helpers.read_results(
        os.path.join(seed_dir, "final", "test_results.txt"))
    assert row["test_f1"] == float(test["entity_f1"])
    assert row["test_strict_f1"] == float(test["strict_entity_f1"])
    assert int(test["gold_entities"]) == 5
    # The final run trained on train + dev (6 sentences) for the epochs
    # chosen: nothing was scored on dev.
    assert not os.path.exists(os.path.join(seed_dir, "final",
                                           "eval_results.txt"))
    with open(os.path.join(seed_dir, "final.log")) as f:
      log = f.read()
    assert "--num_train_epochs=%d" % row["epoch"] in log
    assert "--train_with_dev" in log
    assert "6 sentences in " in log  # train (3) + dev (3)
  with open(os.path.join(out, reproduce.SUMMARY_NAME)) as f:
    summary = f.read()
  f1 = [r["test_f1"] for r in rows]
  assert "  %-22s %6.2f ± %.2f" % ("test F1", np.mean(f1),
                                 np.std(f1, ddof=1)) in summary
  dev = [r["dev_f1"] for r in rows]
  assert "  %-22s %6.2f ± %.2f" % ("dev F1 (selection)", np.mean(dev),
                                 np.std(dev, ddof=1)) in summary
  assert "cited test F1  88.30" in summary
  with open(os.path.join(out, reproduce.PLOT_NAME), "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"

  # Resume: finished seeds are not run again.
  logs = {p: os.path.getsize(p) for p in glob.glob(os.path.join(out, "*",
                                                                "*.log"))}
  assert len(logs) == 4
  assert reproduce.main(args) == 0
  assert {p: os.path.getsize(p) for p in logs} == logs
  # A seed whose final run did not finish runs that step alone, from its
  # checkpoint, and comes back with the same row.
  reproduce.write_results(out, rows[:1])
  assert reproduce.main(args) == 0
  grown = [p for p in logs if os.path.getsize(p) != logs[p]]
  assert grown == [os.path.join(out, "seed_6", "final.log")]
  assert reproduce.read_results(out) == rows
  # Other arguments in the same folder are refused.
  assert reproduce.main(args[:-1] + ["--num_train_epochs=4"]) == 1


def test_seed_is_refused_not_taken_for_seeds(tmp_path, capsys):
  recipe = os.path.join(helpers.ROOT, "configs", "biobert",
                        "ncbi_disease.flags")
  args, passthrough = reproduce.parse_args(
      ["--recipe=" + recipe, "--output_dir=" + str(tmp_path), "--seed=5"])
  assert args.seeds == 3 and passthrough == ["--seed=5"]
  assert reproduce.main(["--recipe=" + recipe, "--output_dir=" +
                         str(tmp_path / "out"), "--seed=3"]) == 1
  assert capsys.readouterr().err == (
      "reproduce.py: error: --seed=3 is set by reproduce.py for each step; "
      "leave it out.\n")
  assert not os.path.exists(str(tmp_path / "out" / "seed_1"))

