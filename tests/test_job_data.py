"""What a job reads (run/job_data.py): one corpus of
the file flags or several of --corpora, one list either way; the training
stream, --train_with_dev in every format, the folders and records names."""

import json
import os

import pytest

from bert_ner.corpora import bioc_format
from bert_ner.corpora import pubtator_format
from bert_ner.run import job as job_lib
import helpers
import run_ner

GENE_DOCS = [
    "11|t|BRCA1 gene in breast cancer.\n11|a|The BRCA2 mutation was naive.\n"
    "11\t0\t5\tBRCA1\tGENE\t672\n11\t33\t38\tBRCA2\tGENE\t675\n",
    "12|t|The cell gene.\n12|a|BRCA1 in the colon.\n"
    "12\t15\t20\tBRCA1\tGENE\t672\n",
]


def write_bioc(path, pubtator_text):
  """The documents of a PubTator text as a BioC XML file."""
  source = str(path) + ".pubtator"
  with open(source, "w") as f:
    f.write(pubtator_text)
  with open(path, "w") as f:
    writer = bioc_format.BioCWriter(f, as_json=False)
    for document in pubtator_format.iter_documents(source):
      writer.write(document)
    writer.close()
  os.remove(source)
  return str(path)


def job_of(tmp_path, tiny_model_dir, **flags):
  values = helpers.tiny_values(tiny_model_dir, None, str(tmp_path / "out"),
                               do_eval=False, do_predict=False)
  values.update(flags)
  return job_lib.Job(run_ner.validate_flags_or_throw(values))


def test_the_file_flags_make_a_list_of_one_corpus(tmp_path, tiny_model_dir):
  data = helpers.write_tiny_corpus(str(tmp_path / "data"))
  job = job_of(tmp_path, tiny_model_dir, data_dir=data, do_eval=True,
               do_predict=True)
  (corpus,) = job.corpora
  assert (corpus.index, corpus.name, corpus.scope) == (0, None, None)
  assert corpus.folder(job.settings.output_dir) == job.settings.output_dir
  assert corpus.records_name("dev") == "dev"
  assert [(x.name, x.path, x.training) for x in
          job.train_splits + job.dev_splits + job.test_splits] == [
              ("train", os.path.join(data, "train.tsv"), True),
              ("dev", os.path.join(data, "dev.tsv"), False),
              ("test", os.path.join(data, "test.tsv"), False)]
  assert job.train_info.num_examples == 3
  # One corpus annotating every type: the plain loss, no allowed table.
  assert job_lib.partial_label_table(job.label_map, job.corpora,
                                     "marginal") is None


def test_train_with_dev_reads_both_files_of_each_corpus(tmp_path,
                                                        tiny_model_dir):
  """--train_with_dev: each corpus's train and dev read together in memory,
  BioC included (no file joined on disk); one CoNLL corpus by the file
  flags too."""
  data = helpers.write_tiny_corpus(str(tmp_path / "data"))
  job = job_of(tmp_path, tiny_model_dir, data_dir=data, train_with_dev=True)
  assert [x.name for x in job.train_splits] == ["train", "dev"]
  assert job.train_info.num_examples == 6
  genes = tmp_path / "genes"
  genes.mkdir()
  write_bioc(genes / "train.BioC.xml", GENE_DOCS[0])
  write_bioc(genes / "dev.BioC.xml", GENE_DOCS[1])
  corpora = tmp_path / "corpora.json"
  corpora.write_text(json.dumps([
      {"name": "diseases", "entity_types": "Disease", "data_dir": data},
      {"name": "genes", "input_format": "bioc", "entity_types": "GENE=Gene",
       "data_dir": str(genes)}]))
  job = job_of(tmp_path / "multi", tiny_model_dir, corpora=str(corpora),
               train_with_dev=True)
  assert [(x.corpus.name, x.name, x.input_format) for x in
          job.train_splits] == [
              ("diseases", "train", "conll"), ("genes", "train", "bioc"),
              ("diseases", "dev", "conll"), ("genes", "dev", "bioc")]
  # 3 + 3 disease sentences; the genes' train document has 2 sentences,
  # its dev document 2.
  gene_sentences = sum(x.summary.num_examples for x in job.train_splits
                       if x.corpus.name == "genes")
  assert gene_sentences == 4
  assert job.train_info.num_examples == 10
  assert not [n for n in os.listdir(tmp_path / "multi" / "out")
              if "train_dev" in n]


@pytest.mark.parametrize("flags, message", [
    ({"train_with_dev": True, "do_train": False, "do_predict": True},
     "--train_with_dev trains on train + dev: it needs --do_train."),
    ({"train_with_dev": True, "do_eval": True},
     "--train_with_dev trains on the dev file: scoring dev too"),
])
def test_train_with_dev_flag_errors(tmp_path, flags, message):
  values = helpers.tiny_values("model", "data", str(tmp_path), **flags)
  with pytest.raises(ValueError) as e:
    run_ner.validate_flags_or_throw(values)
  assert str(e.value).startswith(message)
