// Command localaws serves the local SageMaker, Lambda, S3 and CloudWatch Logs (job logs) endpoint (package
// localaws) on one address.
//
//	localaws --addr 127.0.0.1:4570 --data-dir .data/localaws
//
// Flags default to environment variables: LOCALAWS_ADDR, LOCALAWS_DATA_DIR, AWS_REGION, LOCALAWS_XGBOOST,
// LOCALAWS_FUNCTION_TIMEOUT, LOCALAWS_LOG_FORMAT, LOCALAWS_LOG_LEVEL, LOCALAWS_ALLOW_HOSTS and
// LOCALAWS_CORS_ORIGINS (comma-separated). It has no authentication, so it refuses to listen on a
// non-loopback address unless --allow-remote is given.
//
// It answers requests whose Host is a loopback name or address, or the listen address; clients that reach
// it under another name (a container's service name, such as localaws in docker compose) need
// --allow-host NAME. Browser pages get no CORS access unless --cors-origin grants their origin.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mdlc/mdlc/localaws"
	"github.com/mdlc/mdlc/localaws/algorithm"
	"github.com/mdlc/mdlc/localaws/sagemaker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "localaws:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	addr            string
	dataDir         string
	region          string
	xgboost         string
	imageCommands   map[string]string
	functionTimeout time.Duration
	maxModelBytes   int64
	logFormat       string
	logLevel        slog.Level
	allowRemote     bool
	allowHosts      []string
	corsOrigins     []string
	shutdownTimeout time.Duration
}

// parseFlags reads flags (args) over environment (getenv) over defaults and validates the result.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	envOr := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	cfg := &config{imageCommands: map[string]string{}}
	fs := flag.NewFlagSet("localaws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", envOr("LOCALAWS_ADDR", "127.0.0.1:4570"), "listen address (env LOCALAWS_ADDR)")
	fs.StringVar(&cfg.dataDir, "data-dir", envOr("LOCALAWS_DATA_DIR", ".data/localaws"), "directory for all state (env LOCALAWS_DATA_DIR)")
	fs.StringVar(&cfg.region, "region", envOr("AWS_REGION", localaws.DefaultRegion), "region in ARNs (env AWS_REGION)")
	fs.StringVar(&cfg.xgboost, "xgboost", getenv("LOCALAWS_XGBOOST"), "path of the xgboost program; looked up on PATH when empty (env LOCALAWS_XGBOOST)")
	fs.Func("image-command", "IMAGE_REGEX=COMMAND: run COMMAND for training images matching IMAGE_REGEX (repeatable)", func(v string) error {
		re, cmd, ok := strings.Cut(v, "=")
		if !ok || re == "" || cmd == "" {
			return fmt.Errorf("want IMAGE_REGEX=COMMAND, got %q", v)
		}
		cfg.imageCommands[re] = cmd
		return nil
	})
	fs.Int64Var(&cfg.maxModelBytes, "max-model-bytes", sagemaker.DefaultMaxModelBytes, "largest unpacked size of a model.tar.gz a transform job may unpack, in bytes")
	timeout := envOr("LOCALAWS_FUNCTION_TIMEOUT", "15m")
	fs.StringVar(&timeout, "function-timeout", timeout, "Lambda function timeout (env LOCALAWS_FUNCTION_TIMEOUT)")
	fs.StringVar(&cfg.logFormat, "log-format", envOr("LOCALAWS_LOG_FORMAT", "text"), "log format: text or json (env LOCALAWS_LOG_FORMAT)")
	level := envOr("LOCALAWS_LOG_LEVEL", "info")
	fs.StringVar(&level, "log-level", level, "log level: debug, info, warn, error (env LOCALAWS_LOG_LEVEL)")
	fs.BoolVar(&cfg.allowRemote, "allow-remote", false, "allow a non-loopback --addr (localaws has no authentication)")
	cfg.allowHosts = envList(getenv, "LOCALAWS_ALLOW_HOSTS")
	fs.Func("allow-host", "also answer requests whose Host is `NAME` (besides loopback ones and the listen address), e.g. a compose service name (repeatable; env LOCALAWS_ALLOW_HOSTS)", func(v string) error {
		cfg.allowHosts = append(cfg.allowHosts, v)
		return nil
	})
	cfg.corsOrigins = envList(getenv, "LOCALAWS_CORS_ORIGINS")
	fs.Func("cors-origin", "grant the browser `ORIGIN` (scheme://host[:port]) cross-origin access to the AWS APIs (repeatable; env LOCALAWS_CORS_ORIGINS); none by default", func(v string) error {
		cfg.corsOrigins = append(cfg.corsOrigins, v)
		return nil
	})
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long to wait for requests in flight on shutdown")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	d, err := time.ParseDuration(timeout)
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("function timeout %q: want a positive duration such as 15m", timeout)
	}
	cfg.functionTimeout = d
	if cfg.logFormat != "text" && cfg.logFormat != "json" {
		return nil, fmt.Errorf("log format %q: want text or json", cfg.logFormat)
	}
	if err := cfg.logLevel.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	if !cfg.allowRemote {
		if err := checkLoopback(cfg.addr); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// checkLoopback refuses listen addresses reachable from other machines.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("listen address %q is not a loopback address and localaws has no authentication; pass --allow-remote to listen on it anyway", addr)
}

// envList splits a comma-separated environment variable.
func envList(getenv func(string) string, name string) []string {
	var out []string
	for _, v := range strings.Split(getenv(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// listenHosts are the hosts of the listen address that clients may name: its host unless it is the
// wildcard (a request for the wildcard host names an interface address, which needs --allow-host).
func listenHosts(addr string) []string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return nil
	}
	return []string{host}
}

// selfEndpoint is the URL the in-process Lambda functions reach this listener at: its own address, with a
// wildcard host replaced by loopback (the Host the functions send must be one localaws answers).
func selfEndpoint(addr net.Addr) string {
	a, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	if a.IP == nil || a.IP.IsUnspecified() {
		return "http://" + net.JoinHostPort("127.0.0.1", fmt.Sprint(a.Port))
	}
	return "http://" + a.String()
}

// run serves until ctx ends, configured by args and the environment getenv reads.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	hopts := &slog.HandlerOptions{Level: cfg.logLevel}
	var logger *slog.Logger
	if cfg.logFormat == "json" {
		logger = slog.New(slog.NewJSONHandler(stderr, hopts))
	} else {
		logger = slog.New(slog.NewTextHandler(stderr, hopts))
	}

	algorithms, err := algorithm.NewResolver(algorithm.Config{XGBoost: cfg.xgboost, Commands: cfg.imageCommands})
	if err != nil {
		return fmt.Errorf("algorithms: %w", err)
	}
	srv, err := localaws.New(ctx, localaws.Options{
		DataDir:         cfg.dataDir,
		Region:          cfg.region,
		Algorithms:      algorithms,
		FunctionTimeout: cfg.functionTimeout,
		MaxModelBytes:   cfg.maxModelBytes,
		Logger:          logger,
		AllowedHosts:    append(listenHosts(cfg.addr), cfg.allowHosts...),
		CORSOrigins:     cfg.corsOrigins,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return errors.Join(fmt.Errorf("listen on %s: %w", cfg.addr, err), srv.Close())
	}
	if err := registerFunctions(srv, selfEndpoint(ln.Addr()), cfg.region); err != nil {
		return errors.Join(err, ln.Close(), srv.Close())
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "localaws listening on http://%s\n", ln.Addr())
	logger.Info("listening", "addr", ln.Addr().String(), "dataDir", cfg.dataDir, "region", cfg.region)

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return errors.Join(fmt.Errorf("serve: %w", err), srv.Close())
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout)
	defer cancel()
	var errs []error
	if err := hs.Shutdown(shutdownCtx); err != nil {
		errs = append(errs, fmt.Errorf("shutdown: %w", err))
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serve: %w", err))
	}
	if err := srv.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close: %w", err))
	}
	return errors.Join(errs...)
}
