"""The run: flag checks, settings, the job, training, model selection, the
cluster and the output folder's lock."""
