"""Files people hand in: limits, safe names and where they are kept."""
