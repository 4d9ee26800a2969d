"""buildspec layer."""
