"""The case files are type-checked, never imported or run (some fail at run time on purpose)."""

collect_ignore_glob = ["cases/*"]
