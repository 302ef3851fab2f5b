// Package temporalconn connects the mdlc binaries to a Temporal server and says clearly what to do when it
// cannot.
//
// The address and namespace come from the caller (the binaries' --temporal-address and --namespace flags, which
// default to $TEMPORAL_ADDRESS and $TEMPORAL_NAMESPACE). TLS, mTLS and API-key settings come from the
// environment as Temporal's own clients read them, so that pointing mdlc at Temporal Cloud or a self-hosted
// server with TLS changes only the environment:
//
//   - the SDK's environment configuration (go.temporal.io/sdk/contrib/envconfig): a TOML profile
//     ($TEMPORAL_CONFIG_FILE, default ~/.config/temporalio/temporal.toml; $TEMPORAL_PROFILE, default "default")
//     overlaid with TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH/_DATA,
//     TEMPORAL_TLS_CLIENT_KEY_PATH/_DATA, TEMPORAL_TLS_SERVER_CA_CERT_PATH/_DATA, TEMPORAL_TLS_SERVER_NAME,
//     TEMPORAL_TLS_DISABLE_HOST_VERIFICATION and TEMPORAL_GRPC_META_*;
//   - the Temporal CLI's names for the same settings: TEMPORAL_TLS_CERT, TEMPORAL_TLS_CERT_DATA,
//     TEMPORAL_TLS_KEY, TEMPORAL_TLS_KEY_DATA, TEMPORAL_TLS_CA, TEMPORAL_TLS_CA_DATA (the SDK's name wins when
//     both are set to different values: that is an error).
//
// An API key turns TLS on unless TEMPORAL_TLS=false; without any of these the connection is plaintext, as the
// local dev server and cluster expect.
package temporalconn

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/log"
)

// DefaultAddress is the Temporal dev server's gRPC address.
const DefaultAddress = "127.0.0.1:7233"

// Options say where the server is.
type Options struct {
	Address   string
	Namespace string
	Logger    *slog.Logger
	// MetricsHandler receives the SDK's metrics; none when nil.
	MetricsHandler client.MetricsHandler
	// ConnectTimeout bounds the first connection; 10 s when zero.
	ConnectTimeout time.Duration
	// LookupEnv reads the TLS/API-key environment (see the package doc); os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
	// Environ lists the environment for TEMPORAL_GRPC_META_*; os.Environ when nil.
	Environ func() []string
}

// cliNames maps the Temporal CLI's environment variables onto the SDK envconfig names they mean.
var cliNames = map[string]string{
	"TEMPORAL_TLS_CLIENT_CERT_PATH":    "TEMPORAL_TLS_CERT",
	"TEMPORAL_TLS_CLIENT_CERT_DATA":    "TEMPORAL_TLS_CERT_DATA",
	"TEMPORAL_TLS_CLIENT_KEY_PATH":     "TEMPORAL_TLS_KEY",
	"TEMPORAL_TLS_CLIENT_KEY_DATA":     "TEMPORAL_TLS_KEY_DATA",
	"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "TEMPORAL_TLS_CA",
	"TEMPORAL_TLS_SERVER_CA_CERT_DATA": "TEMPORAL_TLS_CA_DATA",
}

// env is the environment envconfig reads: the SDK's names, falling back to the CLI's.
type env struct {
	lookup  func(string) (string, bool)
	environ func() []string
}

func (e env) LookupEnv(key string) (string, bool) {
	if v, ok := e.lookup(key); ok {
		return v, true
	}
	if alias, ok := cliNames[key]; ok {
		return e.lookup(alias)
	}
	return "", false
}

func (e env) Environ() []string { return e.environ() }

func (e env) conflicts() error {
	for sdk, cli := range cliNames {
		a, okA := e.lookup(sdk)
		b, okB := e.lookup(cli)
		if okA && okB && a != b {
			return fmt.Errorf("%s and %s are both set, to different values: set one of them", sdk, cli)
		}
	}
	return nil
}

// ClientOptions returns the SDK client options Dial uses: opts' address and namespace (the defaults when
// empty), and the TLS, API-key and gRPC-metadata settings of the environment.
func ClientOptions(opts Options) (client.Options, error) {
	e := env{lookup: opts.LookupEnv, environ: opts.Environ}
	if e.lookup == nil {
		e.lookup = os.LookupEnv
	}
	if e.environ == nil {
		e.environ = os.Environ
	}
	if err := e.conflicts(); err != nil {
		return client.Options{}, err
	}
	prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{EnvLookup: e})
	if err != nil {
		return client.Options{}, fmt.Errorf("load the Temporal client profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE): %w", err)
	}
	co, err := prof.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal TLS settings (TEMPORAL_TLS_*): %w", err)
	}
	co.HostPort, co.Namespace = firstSet(opts.Address, co.HostPort, DefaultAddress), firstSet(opts.Namespace, co.Namespace, "default")
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	co.Logger, co.MetricsHandler = log.NewStructuredLogger(logger), opts.MetricsHandler
	return co, nil
}

func firstSet(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// Dial connects to the server and checks that it answers.
func Dial(ctx context.Context, opts Options) (client.Client, error) {
	co, err := ClientOptions(opts)
	if err != nil {
		return nil, err
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	c, err := client.DialContext(ctx, co)
	if err != nil {
		hint := "start it (make up, or temporal server start-dev) or set --temporal-address"
		if co.ConnectionOptions.TLS != nil {
			hint = "check the address and the TEMPORAL_TLS_*/TEMPORAL_API_KEY settings"
		}
		return nil, fmt.Errorf("cannot reach Temporal at %s (namespace %q, %s): %w; %s", co.HostPort, co.Namespace, transport(co), err, hint)
	}
	return c, nil
}

// transport describes how the connection is secured, for error messages (never the secrets themselves).
func transport(co client.Options) string {
	var parts []string
	switch {
	case co.ConnectionOptions.TLS == nil:
		parts = append(parts, "plaintext")
	case len(co.ConnectionOptions.TLS.Certificates) > 0:
		parts = append(parts, "mTLS")
	default:
		parts = append(parts, "TLS")
	}
	if co.Credentials != nil {
		parts = append(parts, "API key")
	}
	return strings.Join(parts, " + ")
}
