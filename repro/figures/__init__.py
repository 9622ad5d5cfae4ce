"""One script per figure of the report."""
