"""Evalset coverage of production: how novel live inputs are relative to the evalsets,
a coverage share per route, and the most novel inputs for the eval team to add."""
