"""Filesystem mechanics: bounded reads, atomic writes, flock locks, stale temp clean-up, size limits,
fault injection for crash tests. Knows nothing of Tandem's records."""
