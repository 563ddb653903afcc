"""The BERT NER library, by stage of the pipeline.

    corpora/          reading corpora: one reader per format
    label_set         the data's labels and the special ones
    windowing         sentences -> windows of WordPieces (with context)
    tfrecords         windows as TFRecord shards
    input_pipeline    the estimator's input_fn
    words_back        predicted windows -> one label per word
    tagging/          the tagging core every door uses, and its writers
    model/            BERT with its tagging heads, the model_fn
    run/              the run: settings, training, model selection, cluster
    model_settings    what travels with a trained model
"""

__version__ = "0.3.0"
