// Package temporalconn connects the mdlc binaries to a Temporal server and says clearly what to do when it
// cannot.
package temporalconn

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
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
}

// Dial connects to the server and checks that it answers.
func Dial(ctx context.Context, opts Options) (client.Client, error) {
	if opts.Address == "" {
		opts.Address = DefaultAddress
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:       opts.Address,
		Namespace:      opts.Namespace,
		Logger:         log.NewStructuredLogger(opts.Logger),
		MetricsHandler: opts.MetricsHandler,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot reach Temporal at %s (namespace %q): %w; start it (make up, or temporal server start-dev) or set --temporal-address", opts.Address, opts.Namespace, err)
	}
	return c, nil
}
