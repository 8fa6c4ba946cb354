"""SCM REST routes, one module per service; each router is mounted under /api and /private/api."""
