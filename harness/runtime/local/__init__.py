"""The local stack: every component as a supervised child process on loopback."""
