"""Checks that run on an untrusted `.keras` file before kiln reads it."""
