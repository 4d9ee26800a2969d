"""local/s3 layer."""
