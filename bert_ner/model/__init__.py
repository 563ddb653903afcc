"""The model: BERT with a softmax or CRF head, and its model_fn."""
