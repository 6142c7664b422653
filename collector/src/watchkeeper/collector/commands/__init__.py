"""The collector's ``watchkeeper`` subcommands: one module per command, its parser beside
the code that runs it, each registered in the entry-point group ``watchkeeper.commands``."""
