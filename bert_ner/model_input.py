"""A model's input: what reads and cuts text for it, built in one place from
its settings, for every door.

    model_input = ModelInput.of_folder(export_dir, skip_bad_mentions=False)
    model_input.tokenizer      # its vocabulary and case
    model_input.reading        # how documents become its sentences
    model_input.settings       # window, stride, context (ModelSettings)

run_ner.py's Job builds it from the run's settings (`of_run`: the flags,
with a predict-only run's trained model's settings in them),
predict_saved_model.py and the Beam workers of tag_corpus.py from the
export (`of_folder`; the Beam plan reads it once and hands it to its
workers). A folder written by an older version lacks some settings: what
was assumed is told by `assumed_line`, the same line at every door.
"""

import os

from bert_ner.corpora import offset_conversion
from bert_ner import model_settings
import tokenization


def assumed_line(folder, assumed, values):
  """The line that tells which settings an older folder did not save and
  what was assumed for them; None when nothing was.

  Args:
    folder: the model folder.
    assumed: the setting names assumed.
    values: dict, name -> the value taken.
  """
  if not assumed:
    return None
  return "%s saved no %s (an older version trained it): assumed %s." % (
      folder, ", ".join(assumed),
      ", ".join("%s=%s" % (name, values[name]) for name in assumed))


def check_repair_tags(head, repair_tags, source=None):
  """Raises ValueError for --repair_tags with a CRF head (it decodes whole
  sequences itself); `source` names the export whose head it is."""
  if repair_tags and head == "crf":
    raise ValueError(
        "--repair_tags is for the softmax head; %s decodes whole sequences "
        "(train it with --crf_iob2_constraints for valid IOB2 tags)." % (
            "the export %s has a CRF head, which" % source if source else
            "the CRF head"))


class ModelInput(object):
  """The tokenizer, document reading, windows and context of one model.

  Attributes:
    settings: model_settings.ModelSettings (case, window, stride, context,
      sentences, entity types, head).
    tokenizer: tokenization.FullTokenizer of the model's vocabulary and
      case.
    reading: offset_conversion.Reading of the model's entity types and
      sentence mode, and the door's --skip_bad_mentions.
    assumed: the setting names an older folder did not save.
    folder: the model folder it was read from, or None.
  """

  def __init__(self, settings, vocab_file, skip_bad_mentions=False,
               assumed=(), folder=None):
    self.settings = settings
    self.tokenizer = tokenization.FullTokenizer(vocab_file,
                                                settings.do_lower_case)
    self.reading = offset_conversion.Reading(
        offset_conversion.parse_entity_types(settings.entity_types),
        settings.sentences, bool(skip_bad_mentions))
    self.assumed = tuple(assumed)
    self.folder = folder

  @classmethod
  def of_folder(cls, folder, skip_bad_mentions=False):
    """The input of a trained model's folder (an export or a run's output
    folder): its saved settings and vocabulary.

    Raises:
      ValueError: naming the file, for a folder without the settings.
    """
    settings, assumed = model_settings.read(folder)
    return cls(settings, os.path.join(folder, model_settings.VOCAB_NAME),
               skip_bad_mentions, assumed, folder)

  @classmethod
  def of_run(cls, run_settings):
    """The input of a run (run_settings.RunSettings: the flags, and without
    --do_train the trained model's settings in them)."""
    settings = model_settings.ModelSettings(**{
        name: getattr(run_settings, name)
        for name in model_settings.ModelSettings._fields})
    return cls(settings, run_settings.vocab_file,
               run_settings.skip_bad_mentions)

  def assumed_line(self):
    """What an older folder did not save and was assumed, or None."""
    return assumed_line(self.folder, self.assumed, self.settings._asdict())

  def check_repair_tags(self, repair_tags):
    check_repair_tags(self.settings.head, repair_tags, self.folder)
