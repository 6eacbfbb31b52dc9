"""The storage seam (`base.py`) and its implementations: the 0.6.x JSON files, the 0.6.9+ databases,
the running engine; plus store detection, the journal and the intents that make writes crash-safe."""
