"""Amazon Data Firehose delivery to S3 for the local AWS."""
