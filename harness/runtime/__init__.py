"""Where services run: the local processes (`local/`) and the same topology as containers
(`compose`)."""
