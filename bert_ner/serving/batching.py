"""Dynamic batching: the windows of requests that arrive together go
through the model in one call.

    backend = BatchingBackend(saved_model_backend.make_backend(export),
                              max_batch_windows=64, max_wait_ms=5)
    tagger = tagger_lib.Tagger(backend, ...)   # called from many threads

Each caller (a request's tagging, on a thread of its own, inside
`backend.caller()`) hands its batch of serving arrays to the one model
thread and waits. The model thread takes the first batch waiting, then
whatever else arrives within max_wait_ms, up to max_batch_windows windows,
while callers that may still send are at work (a lone request does not
wait for company that is not coming), pads them to one length (as
feature_spec.serving_arrays pads a batch: input_mask 0 there), runs the
model once, and hands each caller its rows back. When a merged call fails,
each caller's batch is run alone, so that one request's error fails that
request only.
"""

import contextlib
import queue
import threading
import time

import numpy as np


class Overloaded(RuntimeError):
  """More windows wait for the model than the server takes at once."""


class _Pending(object):
  """A caller's batch waiting for the model thread."""

  def __init__(self, arrays):
    self.arrays = arrays
    self.num_windows = len(next(iter(arrays.values())))
    self.done = threading.Event()
    self.result = None
    self.error = None


def merge(arrays_list):
  """One batch of several callers' serving arrays, zero-padded to the
  longest; returns (merged arrays, [(first row, rows, length)])."""
  length = max(a["input_ids"].shape[1] for a in arrays_list)
  rows = sum(a["input_ids"].shape[0] for a in arrays_list)
  merged = {name: np.zeros([rows, length], value.dtype)
            for name, value in arrays_list[0].items()}
  spans, first = [], 0
  for arrays in arrays_list:
    count, width = arrays["input_ids"].shape
    for name, value in arrays.items():
      merged[name][first:first + count, :width] = value
    spans.append((first, count, width))
    first += count
  return merged, spans


class BatchingBackend(object):
  """A backend (serving arrays -> (predicted_ids, probabilities)) shared by
  many threads, batching their calls (see the module doc).

  Args:
    backend: the model's backend (saved_model_backend.make_backend).
    max_batch_windows: the most windows one model call takes.
    max_wait_ms: how long the model thread waits for more windows after
      the first batch arrives.
    max_waiting_windows: the most windows that may wait; beyond, a call
      raises Overloaded (the server answers 503).
  """

  def __init__(self, backend, max_batch_windows=64, max_wait_ms=5.0,
               max_waiting_windows=4096):
    self.backend = backend
    self.max_batch_windows = max_batch_windows
    self.max_wait = max_wait_ms / 1000.0
    self.max_waiting_windows = max_waiting_windows
    self._queue = queue.Queue()
    self._carried = None  # taken, but over the last call's room: next first
    self._waiting = 0
    self._callers = 0  # inside caller(): may send a batch
    self._lock = threading.Lock()
    self.calls = 0  # model calls made and windows run: the service's figures
    self.windows = 0
    self._thread = threading.Thread(target=self._run, daemon=True,
                                    name="model")
    self._thread.start()

  @contextlib.contextmanager
  def caller(self):
    """The span in which a request may call this backend (its tagging)."""
    with self._lock:
      self._callers += 1
    try:
      yield self
    finally:
      with self._lock:
        self._callers -= 1

  def __call__(self, arrays):
    pending = _Pending(arrays)
    with self._lock:
      if self._waiting + pending.num_windows > self.max_waiting_windows:
        raise Overloaded("%d windows wait for the model already (at most "
                         "%d)" % (self._waiting, self.max_waiting_windows))
      self._waiting += pending.num_windows
    self._queue.put(pending)
    pending.done.wait()
    if pending.error is not None:
      raise pending.error
    return pending.result

  def _take(self):
    """The next batches to run together: the first waiting, and what
    arrives within max_wait, up to max_batch_windows windows."""
    if self._carried is not None:
      batch, self._carried = [self._carried], None
    else:
      batch = [self._queue.get()]
    windows = batch[0].num_windows
    deadline = time.monotonic() + self.max_wait
    while windows < self.max_batch_windows:
      if self._queue.empty() and self._callers <= len(batch):
        break  # every caller at work has sent: nobody else to wait for
      timeout = deadline - time.monotonic()
      try:
        item = (self._queue.get(timeout=timeout) if timeout > 0 else
                self._queue.get_nowait())
      except queue.Empty:
        break
      if windows + item.num_windows > self.max_batch_windows:
        self._carried = item  # the next call's first, ahead of later ones
        break
      batch.append(item)
      windows += item.num_windows
    with self._lock:
      self._waiting -= windows
    return batch

  def _run(self):
    while True:
      batch = self._take()
      try:
        self._call(batch)
      except Exception:  # pylint: disable=broad-except
        for item in batch:  # alone, so only a faulty batch fails
          try:
            self._call([item])
          except Exception as e:  # pylint: disable=broad-except
            item.error = e
      for item in batch:
        item.done.set()

  def _call(self, batch):
    if len(batch) == 1:
      outputs = [self.backend(batch[0].arrays)]
    else:
      merged, spans = merge([item.arrays for item in batch])
      predicted, probabilities = self.backend(merged)
      outputs = [(predicted[first:first + count, :width],
                  probabilities[first:first + count, :width])
                 for first, count, width in spans]
    self.calls += 1
    self.windows += sum(item.num_windows for item in batch)
    for item, output in zip(batch, outputs):
      item.result = output
