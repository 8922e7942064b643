"""The ``xinyong`` command line: the same services as the web, for the office's operators."""
