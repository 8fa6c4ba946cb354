"""The product catalog and the ordering policy: pure rules, no I/O."""
