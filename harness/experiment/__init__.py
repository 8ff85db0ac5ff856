"""Running an experiment: planning, the run context, phases, the fault loop and the verdict."""
