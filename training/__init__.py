"""Scripts that build the models shipped in the packages from named public data."""
