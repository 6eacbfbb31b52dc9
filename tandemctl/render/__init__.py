"""Output (Rich and the machine formats only): tables for people, the versioned JSON envelope,
JSON Lines and CSV for scripts. Renders outcomes; never reads state."""
