"""Talking to a running engine over the network (its health probe, its HTTP API)."""
