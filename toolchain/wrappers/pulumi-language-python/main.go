// Command pulumi-language-python is b00t-pulumi's own minimal Pulumi language host for Python.
//
// Why it exists: upstream's language host lives in its own Go module
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) that has no tags, and the Go
// module proxy reachable here serves none of its pseudo-versions, so it cannot be built offline.
// Everything it needs to run a program is in the sdk/v3 module, which the proxy does serve: the
// Python toolchain handling (virtualenv, pip, uv, poetry), the gRPC protocol and the policy-pack
// proxy. This host implements the parts of the LanguageRuntime protocol that `pulumi preview`,
// `pulumi up`, `pulumi destroy`, the Automation API and `--policy-pack` use, with the same
// command lines and environment as upstream's host:
//
//   - Run: `python pulumi-language-python-exec --monitor ... --engine ... PROGRAM` in the
//     project's virtualenv (`runtime.options.virtualenv` in Pulumi.yaml), PULUMI_CONFIG and
//     PULUMI_CONFIG_SECRET_KEYS in the environment. The exec script comes from the sdk/v3 module
//     zip of the pinned Python SDK version and must sit beside this binary.
//   - RunPlugin for policy packs: `python -u -m pulumi.policy ENGINE PACKDIR` in the pack's
//     virtualenv, working directory the pack, through the sdk's PolicyProxy (stack config in env).
//   - RunPlugin for resource plugins (source-based component providers such as b00t-pulumi's
//     provider/, found through `pulumi package add DIR` or `packages:` in Pulumi.yaml): like
//     upstream's bare-directory mode, `python PLUGINDIR ARGS...` runs the plugin's __main__.py in its
//     virtualenv (PulumiPlugin.yaml `runtime.options.virtualenv`, default `venv` beside it), in the
//     engine's working directory, with the engine's extra environment.
//   - InstallDependencies, About, GetProgramDependencies through the sdk's toolchain package; a
//     plugin with an existing virtualenv and no requirements.txt installs nothing (upstream would
//     re-create the virtualenv and upgrade pip in it whenever the plugin is loaded).
//
// Not implemented (the engine gets codes.Unimplemented): code generation (GenerateProject,
// GenerateProgram, GeneratePackage, Pack, Link, Template) -- so `pulumi package add` into a Python
// project cannot generate an SDK (Python programs import the components directly) --, resource
// plugins shipped as buildable packages without __main__.py, debugger attach, typechecker runs, and
// reporting required plugins (GetRequiredPackages answers an empty list; the engine then loads each
// provider when the program first registers a resource with it, from $PATH).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is set with -ldflags "-X main.version=...": the Pulumi Python SDK version whose exec
// script and protocol this host follows, plus a "+b00t" build suffix.
var version = "0.0.0-dev"

const (
	execScript = "pulumi-language-python-exec"
	// The Python exec script exits with this code after it printed an actionable message itself.
	exitAfterActionableMessage = 32
)

func main() {
	tracing := flag.String("tracing", "", "ignored: accepted for compatibility with upstream's host")
	showVersion := flag.Bool("version", false, "print the version and exit")
	useExecutor := flag.String("use-executor", "", "use this exec script instead of the one beside the binary")
	// Older engines (e.g. the pulumi v3.206 packages inside pulumi-language-yaml, which start this host
	// to load a Python plugin's schema) pass the runtime options as flags; they are defaults for
	// what ProgramInfo does not say.
	flag.StringVar(&flagOptions.virtualenv, "virtualenv", "", "default virtualenv (older engines pass it)")
	flag.StringVar(&flagOptions.toolchain, "toolchain", "", "default toolchain (older engines pass it)")
	flag.StringVar(&flagOptions.typechecker, "typechecker", "", "ignored: typechecker runs are not supported")
	flag.StringVar(&flagOptions.root, "root", "", "ignored: the root comes with each request")
	flag.Parse()
	_ = tracing
	if *showVersion {
		fmt.Println(version)
		return
	}
	logging.InitLogging(false, 0, false)

	exe := *useExecutor
	if exe == "" {
		self, err := os.Executable()
		if err != nil {
			cmdutil.Exit(fmt.Errorf("could not determine current executable: %w", err))
		}
		exe = filepath.Join(filepath.Dir(self), execScript)
	}
	if _, err := os.Stat(exe); err != nil {
		cmdutil.Exit(fmt.Errorf("missing executor %s (toolchain/build.sh copies it beside this binary): %w", exe, err))
	}

	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	cancelChannel := make(chan bool)
	go func() {
		<-ctx.Done()
		cancel()
		close(cancelChannel)
	}()
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, cancel); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check host RPC server: %w", err))
		}
	}

	hostCtx, hostCancel := context.WithCancel(context.Background())
	host := &languageHost{exec: exe, engineAddress: engineAddress, cancelCtx: hostCtx, cancel: hostCancel}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelChannel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	// The engine reads the port from our first line of output.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	exec          string
	engineAddress string
	cancelCtx     context.Context
	cancel        context.CancelFunc
}

// flagOptions: runtime options given as command-line flags (older engines).
var flagOptions struct{ virtualenv, toolchain, typechecker, root string }

// options maps Pulumi.yaml `runtime.options` to the sdk's toolchain options.
func options(info *pulumirpc.ProgramInfo, isPlugin bool) (toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{Root: info.GetRootDirectory(), ProgramDir: info.GetProgramDirectory()}
	m := info.GetOptions().AsMap()
	if _, ok := m["virtualenv"]; !ok && flagOptions.virtualenv != "" {
		m["virtualenv"] = flagOptions.virtualenv
	}
	if _, ok := m["toolchain"]; !ok && flagOptions.toolchain != "" {
		m["toolchain"] = flagOptions.toolchain
	}
	if v, ok := m["virtualenv"]; ok {
		s, ok := v.(string)
		if !ok {
			return opts, errors.New("virtualenv option must be a string")
		}
		opts.Virtualenv = s
	}
	if v, ok := m["toolchain"]; ok {
		switch v {
		case "pip":
			opts.Toolchain = toolchain.Pip
		case "poetry":
			opts.Toolchain = toolchain.Poetry
		case "uv":
			opts.Toolchain = toolchain.Uv
		default:
			return opts, fmt.Errorf("unsupported toolchain option: %v", v)
		}
	}
	if v, ok := m["typechecker"]; ok && v != "" {
		return opts, fmt.Errorf("the typechecker option (%v) is not supported by b00t-pulumi's language host", v)
	}
	// Like upstream: plugins (policy packs included) default to a `venv` virtualenv beside them.
	if isPlugin && (opts.Toolchain == toolchain.Pip || opts.Toolchain == toolchain.Auto) && opts.Virtualenv == "" {
		opts.Virtualenv = "venv"
	}
	return opts, nil
}

func (h *languageHost) Handshake(ctx context.Context,
	req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.engineAddress = req.GetEngineAddress()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (h *languageHost) GetRequiredPlugins(context.Context,
	*pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *languageHost) GetRequiredPackages(context.Context,
	*pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *languageHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancel()
	return &emptypb.Empty{}, nil
}

func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	if h.engineAddress == "" {
		return nil, errors.New("the engine must call Handshake (or pass its address) before Run")
	}
	opts, err := options(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}

	args := []string{h.exec}
	add := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.engineAddress)
	add("project", req.GetProject())
	add("root_directory", req.GetInfo().GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	add("dry_run", strconv.FormatBool(req.GetDryRun()))
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("organization", req.GetOrganization())
	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	runCtx, runCancel := context.WithCancel(h.cancelCtx)
	defer runCancel()
	context.AfterFunc(ctx, runCancel)
	cmd, err := tc.Command(runCtx, args...)
	if err != nil {
		return nil, err
	}
	// The engine ends the Run call (or sends Cancel) when the update is over for it, e.g. after a
	// mandatory policy violation. SIGTERM ends Python quietly; upstream's SIGINT makes the exec
	// script print a KeyboardInterrupt traceback into the update's output.
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr

	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	if cfg := req.GetConfig(); cfg != nil {
		b, err := json.Marshal(cfg)
		if err != nil {
			return nil, fmt.Errorf("failed to serialize configuration: %w", err)
		}
		env = append(env, "PULUMI_CONFIG="+string(b))
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	b, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("failed to serialize configuration secret keys: %w", err)
	}
	cmd.Env = append(env, "PULUMI_CONFIG_SECRET_KEYS="+string(b))

	if err := cmd.Run(); err != nil {
		_ = os.Stdout.Sync()
		_ = os.Stderr.Sync()
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.ExitStatus() == exitAfterActionableMessage {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with non-zero exit code: %d",
				exitErr.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf(
			"problem executing program (could not run language executor): %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

func (h *languageHost) RunPlugin(req *pulumirpc.RunPluginRequest,
	server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	switch req.GetKind() {
	case string(apitype.AnalyzerPlugin):
		return h.runPolicyPack(req, server)
	case string(apitype.ResourcePlugin), "":
		return h.runResourcePlugin(req, server)
	default:
		return status.Errorf(codes.Unimplemented,
			"b00t-pulumi's language host runs Python policy packs and resource plugins, not %q plugins",
			req.GetKind())
	}
}

// runResourcePlugin runs a source-based provider: the plugin directory's __main__.py.
func (h *languageHost) runResourcePlugin(req *pulumirpc.RunPluginRequest,
	server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	ctx := server.Context()
	opts, err := options(req.GetInfo(), true)
	if err != nil {
		return err
	}
	dir := req.GetInfo().GetProgramDirectory()
	if _, err := os.Stat(filepath.Join(dir, "__main__.py")); err != nil {
		return fmt.Errorf("plugin %s has no __main__.py: b00t-pulumi's language host runs bare-directory "+
			"Python plugins only (not buildable packages)", dir)
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return err
	}
	cmd, err := tc.Command(ctx, append([]string{dir}, req.GetArgs()...)...)
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	cmd.Dir = req.GetPwd()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, req.GetEnv()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return server.Send(&pulumirpc.RunPluginResponse{
				Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitErr.ExitCode())}, //nolint:gosec
			})
		}
		return fmt.Errorf("could not run plugin %s: %w", dir, err)
	}
	return closer.Close()
}

func (h *languageHost) runPolicyPack(req *pulumirpc.RunPluginRequest,
	server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	ctx := server.Context()
	opts, err := options(req.GetInfo(), true)
	if err != nil {
		return err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return err
	}
	args := append([]string{"-u", "-m", "pulumi.policy"}, req.GetArgs()...)
	args = append(args, req.GetInfo().GetProgramDirectory())
	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	// Policy packs run in their own directory, as they did with the old analyzer shim.
	cmd.Dir = req.GetInfo().GetProgramDirectory()

	// The pack needs the stack's configuration, which the engine only sends to an analyzer: the
	// sdk's proxy answers as the analyzer, collects it, then forwards everything to the pack.
	proxy, stdout, err := sdk.NewPolicyProxy(ctx, stdout)
	if err != nil {
		return fmt.Errorf("could not start policy pack proxy: %w", err)
	}
	cfg, err := proxy.AwaitConfiguration(ctx)
	if err != nil {
		return fmt.Errorf("could not get stack configuration: %w", err)
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	if cfg != nil {
		set := func(k, v string) {
			if v != "" {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
		}
		set("PULUMI_ORGANIZATION", cfg.GetOrganization())
		set("PULUMI_PROJECT", cfg.GetProject())
		set("PULUMI_STACK", cfg.GetStack())
		set("PULUMI_DRY_RUN", strconv.FormatBool(cfg.GetDryRun()))
		if c := cfg.GetConfig(); c != nil {
			b, err := json.Marshal(c)
			if err != nil {
				return fmt.Errorf("could not marshal stack configuration: %w", err)
			}
			set("PULUMI_CONFIG", string(b))
		}
	}
	cmd.Env = append(cmd.Env, req.GetEnv()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start policy pack: %w", err)
	}
	if err := proxy.Attach(ctx, cmd); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return server.Send(&pulumirpc.RunPluginResponse{
				Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitErr.ExitCode())}, //nolint:gosec
			})
		}
		return fmt.Errorf("could not attach policy pack proxy: %w", err)
	}
	return closer.Close()
}

func (h *languageHost) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	opts, err := options(req.GetInfo(), req.GetIsPlugin())
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return err
	}
	// A plugin without requirements.txt whose virtualenv exists (b00t-pulumi's provider/ runs in
	// the repository's .venv, which `make venv` owns): nothing to install. Upstream would re-create
	// that virtualenv and upgrade pip, setuptools and wheel in it each time the plugin is loaded.
	if req.GetIsPlugin() && tc.ValidateVenv(server.Context()) == nil {
		if _, err := os.Stat(filepath.Join(req.GetInfo().GetProgramDirectory(), "requirements.txt")); os.IsNotExist(err) {
			fmt.Fprintln(stdout, "plugin dependencies: its virtualenv exists and it has no requirements.txt; nothing to install")
			return closer.Close()
		}
	}
	if err := tc.InstallDependencies(server.Context(), req.GetInfo().GetProgramDirectory(),
		req.GetUseLanguageVersionTools(), true, stdout, stderr); err != nil {
		return err
	}
	return closer.Close()
}

func (h *languageHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	opts := toolchain.PythonOptions{Toolchain: toolchain.Pip}
	if req.GetInfo() != nil {
		var err error
		if opts, err = options(req.GetInfo(), false); err != nil {
			return nil, err
		}
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: info.PythonExecutable,
		Version:    info.PythonVersion.String(),
		Metadata: map[string]string{
			"toolchain":        toolchain.Name(opts.Toolchain),
			"toolchainVersion": info.ToolchainVersion.String(),
			"languageHost":     "b00t-pulumi " + version,
		},
	}, nil
}

func (h *languageHost) GetProgramDependencies(ctx context.Context,
	req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	opts, err := options(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	deps, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, fmt.Errorf("failed to get python dependencies: %w", err)
	}
	out := make([]*pulumirpc.DependencyInfo, len(deps))
	for i, d := range deps {
		out[i] = &pulumirpc.DependencyInfo{Name: d.Name, Version: d.Version}
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: out}, nil
}
