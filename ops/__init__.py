"""Operator commands, run from a clone against a stack: `make verify` (verify.py), `make releases`
(release_heads.py), the restore drill's stack file (restore_drill.py) and the pull request's cost table (cost_diff.py)."""
