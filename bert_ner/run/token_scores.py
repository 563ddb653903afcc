"""Token-level figures from the prediction pass: the loss per weighted
position and micro/macro P/R/F1 over the entity labels, the figures
`estimator.evaluate` gives (ner_model.token_metric_fn, tf_metrics), so a
file with gold tags is predicted and scored in one pass.

    counter = TokenCounter(label_map.num_labels, entity_ids)
    for prediction in counter.tee(estimator.predict(...)):   # passes through
      ...
    counter.results()   # {"loss", "token_micro_f1", ...}
"""

import numpy as np

# What the prediction pass must also return (ner_model's PREDICT mode
# outputs them for records with labels).
PREDICT_KEYS = ("label_ids", "label_weights", "token_loss")


class TokenCounter(object):
  """A float64 confusion matrix (rows gold) weighted by label_weights, and
  the weighted loss, accumulated over predicted windows."""

  def __init__(self, num_labels, entity_ids):
    self.num_labels = num_labels
    self.entity_ids = list(entity_ids)
    self.confusion = np.zeros([num_labels, num_labels], np.float64)
    self.loss_sum = 0.0
    self.weight_sum = 0.0

  def add(self, prediction):
    weights = np.asarray(prediction["label_weights"], np.float64)
    keep = weights > 0
    if not keep.any():
      return
    gold = np.asarray(prediction["label_ids"])[keep]
    predicted = np.asarray(prediction["predicted_ids"])[keep]
    np.add.at(self.confusion, (gold, predicted), weights[keep])
    self.loss_sum += float(np.sum(np.asarray(
        prediction["token_loss"], np.float64)[keep] * weights[keep]))
    self.weight_sum += float(np.sum(weights[keep]))

  def tee(self, predictions):
    for prediction in predictions:
      self.add(prediction)
      yield prediction

  def figures(self, average):
    """(precision, recall, f1) as tf_metrics.metrics_from_confusion_matrix
    computes them over the entity labels."""
    idx = self.entity_ids
    true_pos = np.diag(self.confusion)[idx]
    predicted = self.confusion.sum(axis=0)[idx]
    gold = self.confusion.sum(axis=1)[idx]

    def div(a, b):
      return np.where(b > 0, a / np.where(b > 0, b, 1.0), 0.0)

    def fbeta(p, r):
      return div(2.0 * p * r, p + r)

    if average == "micro":
      p = div(true_pos.sum(), predicted.sum())
      r = div(true_pos.sum(), gold.sum())
      return float(p), float(r), float(fbeta(p, r))
    per_p, per_r = div(true_pos, predicted), div(true_pos, gold)
    return (float(per_p.mean()), float(per_r.mean()),
            float(fbeta(per_p, per_r).mean()))

  def results(self):
    """{"loss", "token_<micro|macro>_<precision|recall|f1>"} (rounded as
    the results files give them)."""
    out = {"loss": self.loss_sum / self.weight_sum if self.weight_sum
           else 0.0}
    for average in ("micro", "macro"):
      for key, value in zip(("precision", "recall", "f1"),
                            self.figures(average)):
        out["token_%s_%s" % (average, key)] = round(value, 4)
    return out
