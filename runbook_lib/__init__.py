"""Pipeline runbooks: build and operate an AWS CI/CD pipeline from notebooks."""
