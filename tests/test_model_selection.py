"""Tests of model_selection.py and of the dev-score history it leaves."""

import collections
import os

from bert_ner.run import model_selection


def test_model_selector_keeps_the_best_and_stops_early():
  selector = model_selection.ModelSelector(patience=2)
  scores = [(10, 50.0), (20, 71.5), (30, 71.5), (40, 64.0), (50, 80.0)]
  kept = []
  for step, f1 in scores:
    if selector.update(step, {"entity_precision": f1, "entity_recall": f1,
                              "entity_f1": f1, "token_accuracy": 90.0}):
      kept.append(step)
    if selector.should_stop():
      break
  # 30 ties 20 (the earlier stays); 40 is the second without progress.
  assert kept == [10, 20]
  assert (selector.best_step, selector.best_f1) == (20, 71.5)
  assert [step for step, _ in selector.history] == [10, 20, 30, 40]
  never = model_selection.ModelSelector()
  for step, f1 in scores:
    never.update(step, {"entity_precision": 0, "entity_recall": 0,
                        "entity_f1": f1, "token_accuracy": 0})
    assert not never.should_stop()
  assert never.best_step == 50


Schedule = collections.namedtuple("Schedule", [
    "eval_every_steps", "eval_every_epochs", "train_batch_size",
    "save_checkpoints_steps"])


def test_eval_interval():
  # 1000 windows in batches of 32: an epoch is 31.25 steps.
  assert model_selection.eval_interval(Schedule(0, 1.0, 32, 500), 1000) == 31
  assert model_selection.eval_interval(Schedule(0, 2.0, 32, 500), 1000) == 62
  assert model_selection.eval_interval(Schedule(0, 0.01, 32, 500), 1000) == 1
  assert model_selection.eval_interval(Schedule(7, 0, 32, 500), 1000) == 7
  assert model_selection.eval_interval(Schedule(0, 0, 32, 500), 1000) == 500


def test_resumed_selector_keeps_the_previous_best(tmp_path):
  out = str(tmp_path)
  assert model_selection.ModelSelector.resumed(out).best_f1 is None
  os.makedirs(os.path.join(out, "best"))
  model_selection.write_results(
      os.path.join(out, "best", "best_results.txt"),
      {"entity_f1": 81.5, "global_step": 300})
  selector = model_selection.ModelSelector.resumed(out, patience=3)
  assert (selector.best_f1, selector.best_step, selector.patience) == (
      81.5, 300, 3)
  assert not selector.update(400, {"entity_f1": 81.5})
  assert model_selection.results_path(out, "dev").endswith("eval_results.txt")
  assert model_selection.results_path(out, "test").endswith(
      "test_results.txt")
