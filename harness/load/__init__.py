"""Open-loop load: the generator and the background runner a run drives it from."""
