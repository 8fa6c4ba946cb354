"""A tenant's organizations: which CA accounts they use, what they may order, who approves."""
