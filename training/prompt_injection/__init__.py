"""The prompt-injection classifier: its data sets (``build_dataset``) and its training
(``train``). See docs/models/prompt-injection.md and docs/data-sources.md."""
