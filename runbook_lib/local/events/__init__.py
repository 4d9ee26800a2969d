"""local/events layer."""
