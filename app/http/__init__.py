"""HTTP plumbing shared by every router: problem documents, request ids, docs, health."""
