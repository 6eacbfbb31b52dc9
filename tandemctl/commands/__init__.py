"""The use cases: each command's one entry point, returning a typed outcome that owns its exit code.
Reaches data only through the storage seam (`stores/base.py`); no Typer, no Rich."""
