"""The team directory: who does what for which region, and who gets a task."""
