"""Data versioning: pointer files beside the data, a workspace that adds, checks out and reports status,
push/pull to a remote, and cache maintenance (gc, fsck)."""
