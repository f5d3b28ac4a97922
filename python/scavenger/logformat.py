"""One log line format for every command: ISO 8601 local time (``2026-11-30T18:55:45``), level, logger, text.
The live view's rich handler prints the same time format."""

LINE = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TIME = "%Y-%m-%dT%H:%M:%S"
