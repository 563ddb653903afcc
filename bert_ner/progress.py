"""Progress lines for long stages: count, rate and time left, at most every
30 s, so a run over millions of sentences says where it is.

    progress = Progress("Converted", "sentences", total=1000000)
    for ...:
      progress.add(1)
    progress.done()

logs, for example:

    Converted 120,000 of 1,000,000 sentences (11,873/s, about 1 min 14 s left)
"""

import time

import tensorflow.compat.v1 as tf

LOG_EVERY_SECONDS = 30.0


def format_duration(seconds):
  """"1 h 02 min", "3 min 05 s", "12 s"."""
  seconds = int(round(max(seconds, 0)))
  if seconds >= 3600:
    return "%d h %02d min" % (seconds // 3600, seconds % 3600 // 60)
  if seconds >= 60:
    return "%d min %02d s" % (seconds // 60, seconds % 60)
  return "%d s" % seconds


class Progress(object):
  """Counts work done and logs it at most once per `every` seconds.

  Args:
    verb: what was done, such as "Converted" or "Tagged".
    unit: what is counted, such as "sentences".
    total: the count when done, or None when unknown (no time left then).
    log: a function taking one str; tf.logging.info by default.
    every: seconds between lines.
    clock: a function returning seconds (tests pass a fake one).
  """

  def __init__(self, verb, unit, total=None, log=None, every=LOG_EVERY_SECONDS,
               clock=time.time):
    if log is None:
      log = tf.logging.info
    self.verb, self.unit, self.total = verb, unit, total
    self.log, self.every, self.clock = log, every, clock
    self.count = 0
    self.start = self.last = clock()

  def line(self):
    """The progress line for the current count."""
    elapsed = max(self.clock() - self.start, 1e-9)
    rate = self.count / elapsed
    if self.total is None:
      return "%s %s %s (%s/s)" % (self.verb, "{:,}".format(self.count),
                                  self.unit, "{:,.0f}".format(rate))
    left = ((self.total - self.count) / rate if rate > 0 else float("inf"))
    return "%s %s of %s %s (%s/s, about %s left)" % (
        self.verb, "{:,}".format(self.count), "{:,}".format(self.total),
        self.unit, "{:,.0f}".format(rate),
        format_duration(left) if left != float("inf") else "unknown time")

  def add(self, n=1):
    """Counts n more; logs when `every` seconds passed since the last line."""
    self.count += n
    now = self.clock()
    if now - self.last >= self.every:
      self.last = now
      self.log(self.line())

  def done(self):
    """Logs the final count, rate and time taken."""
    elapsed = self.clock() - self.start
    self.log("%s %s %s in %s (%s/s)" % (
        self.verb, "{:,}".format(self.count), self.unit,
        format_duration(elapsed),
        "{:,.0f}".format(self.count / max(elapsed, 1e-9))))
