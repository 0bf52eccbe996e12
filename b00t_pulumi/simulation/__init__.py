"""The local kwok cluster as a simulation of a real one: its fake nodes (``nodes``) and how long a fake
Job pod runs (``durations``). Pure: Kubernetes object dicts, no client."""
