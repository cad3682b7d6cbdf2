"""The download engine: one request per chip pixel grid, run on Ray under global quotas."""
