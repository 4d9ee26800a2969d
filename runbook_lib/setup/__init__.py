"""setup layer."""
