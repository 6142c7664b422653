"""watchkeeper collector: receivers, pipeline, store, review, metrics and the command line."""
