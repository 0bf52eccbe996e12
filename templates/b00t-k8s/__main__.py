"""Pulumi program made from the b00t-pulumi template: one B00tCluster (b00t_pulumi/deploy/program.py)."""

from b00t_pulumi.deploy.program import main

main()
