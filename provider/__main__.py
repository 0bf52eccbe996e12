"""The b00t Pulumi package's provider plugin: B00tCluster and B00tStack for any Pulumi language.

`pulumi package add <this directory>` from a YAML or TypeScript project; see docs/pulumi.md.
"""

from b00t_pulumi.deploy.package import serve

serve()
