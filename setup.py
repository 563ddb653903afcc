"""Packages the project's modules for Beam workers on a cluster:

    python tag_corpus.py ... --runner=DataflowRunner --setup_file=./setup.py

(The local runner needs no install: its workers import from this folder.)
"""

import setuptools

setuptools.setup(
    name="bert-ner-tagger",
    version="0.1.0",
    description="BERT NER: tag a corpus with a run_ner.py export",
    py_modules=["conlleval", "ner_data", "predict_saved_model", "progress",
                "tag_corpus", "tokenization"],
    python_requires=">=3.9",
    install_requires=["tensorflow==2.15.1", "numpy>=1.23,<2"],
)
