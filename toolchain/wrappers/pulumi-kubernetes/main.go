// Command pulumi-resource-kubernetes serves the upstream Kubernetes provider.
//
// Upstream's own main embeds schema-embed.json and terraform-mapping-embed.json, which its
// Makefile generates and which are not part of the provider module's zip. toolchain/build.sh
// generates them (schema.json with "version" set, terraform-mapping.json compacted) from the
// files in the provider module directory and copies them beside this file before building.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
