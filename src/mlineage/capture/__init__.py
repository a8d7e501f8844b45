"""What the SDK records about where and how a run happened."""
