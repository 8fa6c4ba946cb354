"""Background work: job rows with explicit states, run by the worker, visible through the API."""
