"""Packages the project's library for Beam workers on a cluster:

    python tag_corpus.py ... --runner=DataflowRunner --setup_file=./setup.py

(The local runner needs no install: its workers import from this folder.
Workers of a portable runner, such as Flink's or Spark's, need the project
on their PYTHONPATH or this package installed.)
"""

import setuptools

setuptools.setup(
    name="bert-ner-tagger",
    version="0.3.0",
    description="BERT NER: tag a corpus with a run_ner.py export",
    packages=setuptools.find_packages(include=["bert_ner", "bert_ner.*"]),
    # The BERT files the library reads besides its package.
    py_modules=["modeling", "optimization", "tf_metrics", "tokenization"],
    python_requires=">=3.9",
    install_requires=["tensorflow==2.15.1", "numpy>=1.23,<2", "bioc==2.1",
                      "lxml==6.1.3", "syntok==1.4.4"],
)
