"""A local, faithful simulator of the Scavenger Mine server, for demos and tests."""
