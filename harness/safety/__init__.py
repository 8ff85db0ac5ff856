"""Everything that keeps a fault from being left behind, one guarantee per module.

- `journal`: the append-only record every process writes to (faults before they apply)
- `lock`: one experiment per stack, and the pointer to the run that holds faults
- `signals`: SIGINT/SIGTERM as one typed exception, held while faults are removed
- `watchdog`: the process outside the harness that reverts when the harness stops
- `recover`: undo what a dead run left, from its journal
"""
