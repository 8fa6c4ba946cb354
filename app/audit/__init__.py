"""The audit log: who did what to which object, when. Rows are only ever added."""
