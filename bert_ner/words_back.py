"""Predicted windows back to words: one label per word, in input order."""

import numpy as np


def chosen_probabilities(predicted_ids, probabilities):
  """The probability of the label predicted at each position.

  Args:
    predicted_ids: int array [..., length].
    probabilities: float array [..., length, num_labels].

  Returns:
    float array [..., length].
  """
  return np.take_along_axis(probabilities, predicted_ids[..., None],
                            axis=-1)[..., 0]


def iter_word_labels(examples, predictions, label_map, score_key=None,
                     repair=None):
  """Puts predicted windows back together: one label per word, in order.

  Streams: each example is yielded as soon as all its words are predicted,
  and predictions that arrive early wait in a buffer. Records sorted by
  length within bounded shards keep that buffer to about one shard.

  Args:
    examples: iterable of the InputExamples the records were made from, in
      file order.
    predictions: iterable of dicts with "example_index" (int, -1 for padding
      examples), "word_ids" (int array [seq_length]) and "predicted_ids"
      (int array [seq_length]), one per window.
    label_map: LabelMap.
    score_key: optional key of the predictions holding a float array
      [seq_length] (such as the predicted label's probability).
    repair: optional crf.TagRepair: the words' labels are decoded from the
      predictions' "probabilities" ([seq_length, num_labels]) as valid IOB2
      tags instead of taken from "predicted_ids".

  Yields:
    (example, list of label strings, one per word), or with score_key
    (example, labels, list of the words' scores).

  Raises:
    AssertionError: a word predicted twice or never.
  """
  predictions = iter(predictions)
  pending = {}  # example_index -> {word index: label}
  index = -1
  for index, example in enumerate(examples):
    labels = pending.pop(index, {})
    while len(labels) < len(example.words):
      try:
        prediction = next(predictions)
      except StopIteration:
        missing = min(set(range(len(example.words))) - set(labels))
        raise AssertionError("Sentence %s: word %d got no prediction." %
                             (example.guid, missing))
      example_index = int(prediction["example_index"])
      word_ids = np.asarray(prediction["word_ids"])
      if example_index < 0 or not np.any(word_ids >= 0):
        continue  # Padding, or a window whose words others predict.
      if example_index < index:
        raise AssertionError("Sentence %d predicted after it was complete." %
                             example_index)
      target = (labels if example_index == index else
                pending.setdefault(example_index, {}))
      predicted = np.asarray(prediction["predicted_ids"])
      for position in np.nonzero(word_ids >= 0)[0]:
        word = int(word_ids[position])
        if word in target:
          raise AssertionError("Word %d of sentence %d predicted twice." %
                               (word, example_index))
        target[word] = (
            int(predicted[position]),
            float(prediction[score_key][position]) if score_key else None,
            prediction["probabilities"][position] if repair else None)
    if len(labels) > len(example.words):
      raise AssertionError("Sentence %s: %d words, %d predicted." %
                           (example.guid, len(example.words), len(labels)))
    words = [labels[w] for w in range(len(example.words))]
    if repair and words:
      ids = repair.decode(np.stack([p for _, _, p in words]))
    else:
      ids = [i for i, _, _ in words]
    names = [label_map.labels[i] for i in ids]
    if score_key and repair:  # the probability of the label chosen
      yield example, names, [float(p[i]) for (_, _, p), i in zip(words, ids)]
    elif score_key:
      yield example, names, [score for _, score, _ in words]
    else:
      yield example, names
  for prediction in predictions:
    if int(prediction["example_index"]) > index:
      raise AssertionError("A prediction for sentence %d, beyond the %d "
                           "sentences read." % (prediction["example_index"],
                                                index + 1))
  if pending:
    raise AssertionError("Predictions for sentence(s) %s, beyond the %d "
                         "sentences read." % (sorted(pending), index + 1))


def predictions_to_word_labels(examples, predictions, label_map):
  """`iter_word_labels` as a list (one per example) of label lists."""
  return [labels for _, labels in
          iter_word_labels(examples, predictions, label_map)]
