"""The inventory across CAs: SCM certificates ordered elsewhere, uploaded PEMs, and a summary."""
