"""Human review: queues fed by sampling and detectors, labelled through an API and a UI."""
