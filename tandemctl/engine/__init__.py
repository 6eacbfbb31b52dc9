"""Mirrors of the engine's own rules: record models and validation, list semantics, dispositions,
run records, definitions, the dispatcher, the audit hash chain. No I/O; imports nothing of ours but errors."""
