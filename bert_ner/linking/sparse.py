"""Candidates by character n-gram TF-IDF: the sparse half of the linker,
and the field's baseline (BioSyn's sparse scores, scispaCy's linker).

    index = SparseIndex.fit(dictionary.names)          # n-grams of 1 and 2
    scores, rows = best_k(index.scores(["breast cancer"]), 5)  # cosine

A name's vector counts its character n-grams (spaces included), weighted by
the smoothed inverse document frequency ln((1 + N) / (1 + df)) + 1 over the
dictionary's N names, and is scaled to unit length, so a score is a cosine
in [0, 1]. An n-gram the dictionary never has adds nothing.
"""

import numpy as np
from scipy import sparse


def char_ngrams(text, sizes=(1, 2)):
  """The character n-grams of `text` for each size, with repeats:
  "abc" -> a, b, c, ab, bc."""
  return [text[i:i + n] for n in sizes for i in range(len(text) - n + 1)]


class SparseIndex(object):
  """TF-IDF vectors of a dictionary's names and cosine top-k over them.

  Attributes:
    vocabulary: {n-gram: column}.
    idf: float32 [columns].
    matrix: scipy CSR float32 [names, columns], rows of unit length.
  """

  def __init__(self, vocabulary, idf, matrix, sizes=(1, 2)):
    self.vocabulary = vocabulary
    self.idf = idf
    self.matrix = matrix
    self.sizes = tuple(sizes)
    self._columns = None  # the matrix by columns, made on first use

  @classmethod
  def fit(cls, names, sizes=(1, 2)):
    """The index of `names` (normalised dictionary names)."""
    vocabulary = {}
    counts = _counts(names, sizes, lambda g: vocabulary.setdefault(
        g, len(vocabulary)), lambda: len(vocabulary))
    df = np.asarray((counts > 0).sum(axis=0), np.float32).ravel()
    idf = (np.log((1.0 + len(names)) / (1.0 + df)) + 1.0).astype(np.float32)
    index = cls(vocabulary, idf, None, sizes)
    index.matrix = index._weighted(counts)
    return index

  def vectors(self, texts):
    """CSR float32 [texts, columns]: the unit TF-IDF vectors of texts."""
    return self._weighted(_counts(texts, self.sizes, self.vocabulary.get,
                                  lambda: len(self.vocabulary)))

  def _weighted(self, counts):
    """Counts [texts, columns] weighted by idf, rows of unit length."""
    matrix = counts @ sparse.diags(self.idf)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ matrix,
                             dtype=np.float32)

  def scores(self, texts):
    """float32 [texts, names]: the cosine of each text with each name (the
    names' sparse rows times the texts' few vectors made dense: much
    faster than a sparse product for a handful of texts)."""
    queries = self.vectors(texts)
    used = np.unique(queries.indices)
    dense = queries[:, used].toarray().T
    if self._columns is None:
      self._columns = self.matrix.tocsc()
    return np.ascontiguousarray(
        (self._columns[:, used] @ dense).T, dtype=np.float32)

  def pair_scores(self, texts, rows):
    """float32 [texts, k]: the cosine of each text with each of its names
    (`rows` int [texts, k]), without scoring the other names."""
    queries = self.vectors(texts)
    k = rows.shape[1]
    repeated = queries[np.repeat(np.arange(len(texts)), k)]
    products = self.matrix[rows.ravel()].multiply(repeated)
    return np.asarray(products.sum(axis=1), np.float32).reshape(len(texts), k)


def _counts(texts, sizes, column_of, width):
  """CSR float32 [texts, width()] of each text's n-gram counts; column_of
  gives an n-gram's column (None: not counted)."""
  rows, columns = [], []
  for row, text in enumerate(texts):
    for gram in char_ngrams(text, sizes):
      column = column_of(gram)
      if column is not None:
        rows.append(row)
        columns.append(column)
  return sparse.csr_matrix(
      (np.ones(len(rows), np.float32), (rows, columns)),
      shape=(len(texts), width()), dtype=np.float32)


# best_k's sample: every SAMPLE_STRIDE-th score of a row, when the row
# holds more than SAMPLE_STRIDE * 8 * k scores.
SAMPLE_STRIDE = 16


def best_k(scores, k):
  """(values, indices) of the k largest of each row, best first; ties go
  to the lower index (so results do not depend on the partition's
  order). The k-th largest of a sample of the row is a floor that at
  least k scores reach, the k best among them: only the scores at or
  above it (about k * SAMPLE_STRIDE) are sorted."""
  n = scores.shape[1]
  k = min(k, n)
  if n > SAMPLE_STRIDE * 8 * k:
    sample = scores[:, ::SAMPLE_STRIDE]
    floor = np.partition(sample, sample.shape[1] - k, axis=1)[
        :, sample.shape[1] - k]
  else:
    floor = scores.min(axis=1)
  rows, columns = np.nonzero(scores >= floor[:, None])
  starts = np.searchsorted(rows, np.arange(len(scores) + 1))
  out = np.zeros([len(scores), k], np.int64)
  for i in range(len(scores)):
    chosen = columns[starts[i]:starts[i + 1]]
    out[i] = chosen[np.lexsort((chosen, -scores[i, chosen]))[:k]]
  return np.take_along_axis(scores, out, axis=1), out
