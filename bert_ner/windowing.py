# coding=utf-8
"""Sentences into windows of WordPieces (InputFeatures): long sentences are
split into overlapping windows, never truncated; each word is predicted by
the window that gives it the most context; neighbouring sentences of the
same document may fill the room left (--context_sentences)."""

import bisect
import collections

from bert_ner import feature_spec
from bert_ner import label_set
import tokenization


class InputFeatures(object):
  """One window of one sentence, unpadded (padding happens in input_fn).

  All lists have the same length: [CLS] + WordPieces + [SEP].
  """

  def __init__(self, input_ids, segment_ids, label_ids, label_weights,
               word_ids, example_index, corpus_id=0):
    """
    Args:
      input_ids: list of int, WordPiece ids.
      segment_ids: list of int: 0, and 1 on the pieces of neighbouring
        sentences (--context_sentences).
      label_ids: list of int, the label of a word on its first piece, X on
        the others, [CLS]/[SEP] on the specials.
      label_weights: list of int, 1 where the position counts in the loss and
        metrics: the first piece of a word with a known label, in the window
        chosen to predict that word.
      word_ids: list of int, the index in the sentence of the word this
        position predicts, or NO_WORD (-1).
      example_index: int, index of the sentence in its file.
      corpus_id: int, the index of the sentence's corpus in --corpora (0
        for a run of one corpus).
    """
    self.input_ids = input_ids
    self.segment_ids = segment_ids
    self.label_ids = label_ids
    self.label_weights = label_weights
    self.word_ids = word_ids
    self.example_index = example_index
    self.corpus_id = corpus_id


def word_pieces(words, tokenizer):
  """WordPiece ids of each word; a word with no piece becomes [UNK].

  Returns:
    list (one per word) of lists of int.
  """
  unk = [tokenizer.vocab[tokenization.UNK_TOKEN]]
  out = []
  for word in words:
    ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(word))
    out.append(ids or unk)
  return out


def default_window_stride(max_seq_length):
  """Half a window: the stride when none is given."""
  return max((max_seq_length - 2) // 2, 1)


def window_starts(num_pieces, window, stride):
  """Start offsets of the windows covering `num_pieces` pieces.

  Windows advance by `stride`; the last one is aligned to the end, so all
  windows are full. For example 10 pieces, window 6, stride 3: [0, 3, 4].
  """
  if num_pieces <= window:
    return [0]
  starts = list(range(0, num_pieces - window, stride))
  starts.append(num_pieces - window)
  return starts


def best_window(position, starts, window):
  """Index of the window where `position` has the most context both sides.

  The score is the smaller of the left and right context; ties go to the
  earlier window. `starts` is ascending (window_starts), so only the few
  windows whose start lies in (position - window, position] are looked at:
  a sentence of thousands of windows costs no more per word than one of
  two.
  """
  best, best_score = None, -1
  first = bisect.bisect_right(starts, position - window)
  last = bisect.bisect_right(starts, position)
  for index in range(first, last):
    start = starts[index]
    if start <= position < start + window:
      score = min(position - start, start + window - 1 - position)
      if score > best_score:
        best, best_score = index, score
  return best


def convert_example(example, example_index, label_map, tokenizer,
                    max_seq_length, stride):
  """Turns a sentence into one or more windows of InputFeatures.

  Example: "Familial breast cancer" with labels O B-Disease I-Disease, and
  a vocabulary that splits "familial" into "fam ##ilia ##l", gives one
  feature:

      tokens      [CLS] fam  ##ilia ##l breast     cancer     [SEP]
      label_ids   [CLS] O    X      X   B-Disease  I-Disease  [SEP]
      weights     0     1    0      0   1          1          0
      word_ids    -1    0    -1     -1  1          2          -1

  A sentence of more than max_seq_length - 2 pieces gives several windows
  that overlap by `window - stride` pieces.

  With `example.context` (see `add_context`), a sentence that fits one
  window has the room left filled with the pieces of its neighbours, about
  half before and half after it (the nearest ones): segment id 1, label
  [PAD], weight 0, word id -1, so the context is read, never scored.

  Args:
    example: InputExample.
    example_index: int, its index in the file.
    label_map: LabelMap.
    tokenizer: tokenization.FullTokenizer.
    max_seq_length: int, positions per window including [CLS] and [SEP].
    stride: int, pieces between the starts of consecutive windows.

  Returns:
    list of InputFeatures (none for a sentence without words).
  """
  if not example.words:
    return []  # A blank line of text: nothing to predict.
  window = max_seq_length - 2
  pieces = word_pieces(example.words, tokenizer)
  piece_ids, piece_words, piece_first = [], [], []
  for word_index, ids in enumerate(pieces):
    for k, piece in enumerate(ids):
      piece_ids.append(piece)
      piece_words.append(word_index)
      piece_first.append(k == 0)

  label_ids_of_words = []
  for word_index in range(len(example.words)):
    label = example.labels[word_index] if example.labels else None
    label_ids_of_words.append(label_map.label_to_id.get(label))

  starts = window_starts(len(piece_ids), window, stride)
  before, after = context_pieces(example, tokenizer,
                                 window - len(piece_ids))
  chosen = {}
  for position, first in enumerate(piece_first):
    if first:
      chosen[position] = best_window(position, starts, window)

  cls_id = tokenizer.vocab[tokenization.CLS_TOKEN]
  sep_id = tokenizer.vocab[tokenization.SEP_TOKEN]
  x_id = label_map.label_to_id[label_set.X_LABEL]
  features = []
  for window_index, start in enumerate(starts):
    end = min(start + window, len(piece_ids))
    input_ids = [cls_id] + before + piece_ids[start:end] + after + [sep_id]
    segment_ids = ([0] + [1] * len(before) + [0] * (end - start) +
                   [1] * len(after) + [0])
    label_ids = ([label_map.label_to_id[label_set.CLS_LABEL]] +
                 [label_map.pad_id] * len(before))
    weights = [0] * (1 + len(before))
    word_ids = [feature_spec.NO_WORD] * (1 + len(before))
    for position in range(start, end):
      if not piece_first[position]:
        label_ids.append(x_id)
        weights.append(0)
        word_ids.append(feature_spec.NO_WORD)
        continue
      word_index = piece_words[position]
      label_id = label_ids_of_words[word_index]
      predicts_here = chosen[position] == window_index
      label_ids.append(label_map.pad_id if label_id is None else label_id)
      weights.append(int(predicts_here and label_id is not None))
      word_ids.append(word_index if predicts_here else feature_spec.NO_WORD)
    label_ids.extend([label_map.pad_id] * len(after) +
                     [label_map.label_to_id[label_set.SEP_LABEL]])
    weights.extend([0] * (len(after) + 1))
    word_ids.extend([feature_spec.NO_WORD] * (len(after) + 1))
    features.append(InputFeatures(
        input_ids=input_ids, segment_ids=segment_ids,
        label_ids=label_ids, label_weights=weights, word_ids=word_ids,
        example_index=example_index, corpus_id=example.corpus))
  return features


def context_pieces(example, tokenizer, room):
  """The context pieces (before, after) that fill `room` positions: the
  last pieces of the sentences before and the first of those after, half
  the room each, a side with less leaving the rest to the other."""
  if not example.context or room <= 0:
    return [], []
  before = [p for ids in word_pieces(example.context[0], tokenizer)
            for p in ids]
  after = [p for ids in word_pieces(example.context[1], tokenizer)
           for p in ids]
  num_before = min(len(before), max(room // 2, room - len(after)))
  num_after = min(len(after), room - num_before)
  return before[len(before) - num_before:], after[:num_after]


def convert_examples(examples, label_map, tokenizer, max_seq_length, stride):
  """Converts every example (an in-memory list; large files go through
  `prepare_records`, which streams).

  Returns:
    list of InputFeatures, in example order.
  """
  features = []
  for index, example in enumerate(examples):
    features.extend(convert_example(example, index, label_map, tokenizer,
                                    max_seq_length, stride))
  return features


def add_context(examples, num_sentences):
  """Streams examples with `context` set: the words of up to
  `num_sentences` sentences before and after each one, within its
  document (--context_sentences). Holds 2 * num_sentences + 1 examples.
  """
  if num_sentences <= 0:
    for example in examples:
      example.context = None  # No context, whatever a reader set before.
      yield example
    return
  window = collections.deque()
  current = 0  # index in `window` of the next example to yield

  def with_context(index):
    example = window[index]
    same = lambda other: other.document == example.document
    before = [w for other in list(window)[max(0, index - num_sentences):index]
              if same(other) for w in other.words]
    after = [w for other in list(window)[index + 1:index + 1 + num_sentences]
             if same(other) for w in other.words]
    example.context = (before, after)
    return example

  for example in examples:
    window.append(example)
    if len(window) - 1 - current >= num_sentences:
      yield with_context(current)
      current += 1
      if current > num_sentences:
        window.popleft()
        current -= 1
  while current < len(window):
    yield with_context(current)
    current += 1


def sort_records_by_length(features):
  """Orders windows by length (stably), so predict batches carry little
  padding; each window's example_index and word_ids lead back to its words."""
  return sorted(features, key=lambda f: len(f.input_ids))
