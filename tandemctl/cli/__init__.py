"""The command line (Typer only): the root app, global options, one module per command group.
May import commands and render; never a store, the engine or fs directly."""
