"""Model weights shipped with the detectors (package data, read on first use)."""
