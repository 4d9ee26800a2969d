"""local/server layer."""
