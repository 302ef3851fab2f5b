// Command starter starts and follows the mdlc pipelines: the Training and BatchInference Temporal workflows.
// It also lists runs and registered model versions, cancels runs and seeds the demo data. All logic lives in
// internal/cli; run `starter help` for the subcommands.
//
// Exit codes: 0 success, 1 error, 2 bad usage, 3 the followed workflow run failed or was canceled.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/mdlc/mdlc/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starter:", err)
		os.Exit(cli.ExitCode(err))
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return cli.Run(ctx, args, getenv, stdout, stderr)
}
