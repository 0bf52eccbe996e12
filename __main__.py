"""Pulumi program of the b00t-k8s project: see b00t_pulumi/deploy/program.py and docs/pulumi.md."""

from b00t_pulumi.deploy.program import main

main()
