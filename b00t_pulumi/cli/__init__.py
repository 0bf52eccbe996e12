"""The ``b00t-pulumi`` command line. Starts fast and never imports pulumi."""
