"""The tagging core: (a model, a stream of sentences) -> one label per word,
with the probability of each label.

    tagger = Tagger(backend, settings, label_map, tokenizer)
    for example, labels, scores in tagger.tag_stream(examples):
      ...

Every door tags through the same stages: the model's context (the
neighbouring sentences of each document), windows (`windowing`), batches
of windows sorted by length, the backend's predictions, words back
(`words_back`) and, with --repair_tags, valid IOB2 tags. run_ner.py feeds
the same windows to the estimator through TFRecords (the TPU path) and
shares every other stage. A backend is any callable from the serving
inputs (numpy int32 arrays [batch, length], see feature_spec.SERVING_INPUTS)
to (predicted_ids int [batch, length], probabilities float [batch, length,
num_labels]); the SavedModel is one (saved_model_backend.py).
"""

from bert_ner import feature_spec
from bert_ner.model import crf
from bert_ner import label_set
from bert_ner import tfrecords
from bert_ner import windowing
from bert_ner import words_back


def tag_repair(label_map, repair_tags):
  """The --repair_tags decoder (crf.TagRepair) of a label map, or None."""
  if not repair_tags:
    return None
  return crf.TagRepair(label_map.labels, label_map.data_label_ids())


class Tagger(object):
  """Tags streams of InputExamples with a backend and its model settings.

  Args:
    backend: callable, serving arrays -> (predicted_ids, probabilities).
    settings: model_settings.ModelSettings of the model (the window,
      stride and context it was trained with).
    label_map: label_set.LabelMap of the model.
    tokenizer: tokenization.FullTokenizer with the model's vocabulary and
      case.
    repair_tags: decode valid IOB2 tags from the words' probabilities.
    window_stride: a stride other than the model's (any stride in [1,
      max_seq_length - 2] is valid at predict time).
  """

  def __init__(self, backend, settings, label_map, tokenizer,
               repair_tags=False, window_stride=None):
    self.backend = backend
    self.settings = settings
    self.label_map = label_map
    self.tokenizer = tokenizer
    self.repair = tag_repair(label_map, repair_tags)
    self.window_stride = window_stride or settings.window_stride

  def predict(self, features, batch_size):
    """Yields one prediction dict per window, in the order of `features`:
    example_index, word_ids, predicted_ids, scores (the probability of the
    predicted label at each position) and probabilities."""
    for first in range(0, len(features), batch_size):
      batch = features[first:first + batch_size]
      predicted, probabilities = self.backend(
          feature_spec.serving_arrays(batch))
      scores = words_back.chosen_probabilities(predicted, probabilities)
      for row, feature in enumerate(batch):
        n = len(feature.word_ids)
        yield {"example_index": feature.example_index,
               "word_ids": feature.word_ids,
               "predicted_ids": predicted[row, :n],
               "scores": scores[row, :n],
               "probabilities": probabilities[row, :n]}

  def tag_stream(self, examples, batch_size=32,
                 chunk_sentences=tfrecords.DEFAULT_SHARD_SENTENCES):
    """Tags a stream of examples in flat memory.

    The model's context is added over the whole stream; examples are then
    taken `chunk_sentences` at a time, each chunk's windows sorted by
    length (little padding) and put back in order before the next chunk.

    Yields:
      (example, one label per word, per word the probability of its
      label), in input order.
    """
    chunk = []
    for example in windowing.add_context(examples,
                                         self.settings.context_sentences):
      chunk.append(example)
      if len(chunk) == chunk_sentences:
        for item in self._tag_chunk(chunk, batch_size):
          yield item
        chunk = []
    if chunk:
      for item in self._tag_chunk(chunk, batch_size):
        yield item

  def _tag_chunk(self, chunk, batch_size):
    features = windowing.sort_records_by_length(windowing.convert_examples(
        chunk, self.label_map, self.tokenizer, self.settings.max_seq_length,
        self.window_stride))
    return words_back.iter_word_labels(
        chunk, list(self.predict(features, batch_size)), self.label_map,
        score_key="scores", repair=self.repair)

  def tag(self, examples, batch_size=32):
    """One predicted label per word of every example (a list)."""
    return [labels for _, labels, _ in self.tag_stream(examples, batch_size)]


def entity_types(label_map):
  """The entity types a label map tags, sorted."""
  return label_set.types_of(label_map.data_labels)


def wanted_types(label_map, wanted, source="--write_types"):
  """The types `wanted` (a list, a comma-separated string; None, "" or []
  for all, at every door) as a list ([] for all); ValueError naming
  `source` for a type the model does not tag."""
  if isinstance(wanted, str):
    wanted = [t.strip() for t in wanted.split(",") if t.strip()]
  known = entity_types(label_map)
  unknown = sorted(set(wanted or ()) - set(known))
  if unknown:
    raise ValueError("%s: the model tags %s, not %s." % (
        source, ", ".join(known), ", ".join(unknown)))
  return list(wanted or ())


def of_types(tagger, wanted, source="--write_types"):
  """The tagger of the types `wanted` (see wanted_types): `tagger` itself
  for all, else a TypeFilter."""
  wanted = wanted_types(tagger.label_map, wanted, source)
  return TypeFilter(tagger, set(wanted)) if wanted else tagger


class TypeFilter(object):
  """A tagger whose labels of the types not wanted are O: the entities and
  documents it gives hold only the types asked for (a model trained
  across corpora tags every type in its one pass)."""

  def __init__(self, tagger, wanted):
    self._tagger = tagger
    self._wanted = wanted
    self.label_map = tagger.label_map

  def tag_stream(self, examples, batch_size=32):
    for example, labels, scores in self._tagger.tag_stream(examples,
                                                           batch_size):
      yield example, label_set.in_scope(labels, self._wanted), scores
