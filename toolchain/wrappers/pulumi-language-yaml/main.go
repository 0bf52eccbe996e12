// Command pulumi-language-yaml is Pulumi's YAML language host (github.com/pulumi/pulumi-yaml, the
// newest version the Go module proxy serves) with one addition b00t-pulumi needs:
//
//   - Link. `pulumi package add DIR` generates a package "SDK" (for YAML, a lock file under sdks/)
//     and then asks the project's language host to link it. pulumi-yaml v1.25.0 predates that RPC
//     (codes.Unimplemented), so the pulumi CLI v3.259.0 fails with "linking package: method Link
//     not implemented" after writing the lock file. A YAML program needs nothing linked: the CLI
//     records the package under `packages:` in Pulumi.yaml and the YAML host resolves resource
//     types from there. This Link answers with the instructions only.
//
// Everything else is upstream's server (pkg/server) unchanged, started as upstream's
// cmd/pulumi-language-yaml/main.go starts it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/pulumi/pulumi-yaml/pkg/server"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

type yamlHost struct {
	pulumirpc.LanguageRuntimeServer
}

func (yamlHost) Link(_ context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	var names []string
	for _, p := range req.GetPackages() {
		names = append(names, p.GetPackage().GetName())
	}
	return &pulumirpc.LinkResponse{ImportInstructions: fmt.Sprintf(
		"YAML programs need no SDK: use the resource types of %s (e.g. type: %s:index:<Name>).",
		strings.Join(names, ", "), strings.Join(names, "/"))}, nil
}

func main() {
	var tracing, root, compiler string
	flag.StringVar(&tracing, "tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	flag.StringVar(&root, "root", "", "Root of the program execution")
	flag.StringVar(&compiler, "compiler", "", "[obsolete] Compiler to use to pre-process YAML")
	flag.Parse()
	args := flag.Args()
	logging.InitLogging(false, 0, false)
	cmdutil.InitTracing("pulumi-language-yaml", "pulumi-language-yaml", tracing)

	var engineAddress string
	var cancelChannel chan bool
	if len(args) > 0 {
		engineAddress = args[0]
		ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
		cancelChannel = make(chan bool)
		go func() {
			<-ctx.Done()
			cancel()
			close(cancelChannel)
		}()
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, cancel); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check host RPC server: %w", err))
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelChannel,
		Init: func(srv *grpc.Server) error {
			host := server.NewLanguageHost(engineAddress, tracing, false /* useRPCLoader */)
			pulumirpc.RegisterLanguageRuntimeServer(srv, yamlHost{host})
			return nil
		},
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}
