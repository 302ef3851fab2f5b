// Package cli is the mdlc starter: the command-line tool that starts the Training and BatchInference
// workflows, follows them live, inspects runs and registered model versions, and seeds the demo data. The
// starter binary is a thin wrapper around Run, so tests drive the same code in-process.
//
// Exit codes: 0 success; 1 the command could not do its job (unreachable server, unknown workflow ID, ...);
// 2 bad usage (unknown subcommand, bad flag or value); 3 the followed workflow run failed, was canceled,
// terminated or timed out.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit codes of the starter; see the package documentation.
const (
	ExitOK        = 0
	ExitError     = 1
	ExitUsage     = 2
	ExitRunFailed = 3
)

// UsageError is an error in the command line: the user has to change the command to succeed.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &UsageError{msg: fmt.Sprintf(format, args...)} }

// RunFailedError says that the workflow run the command followed ended without success. The run's outcome
// has been printed already; the error repeats it in one line.
type RunFailedError struct {
	// Status is the run's final status (Failed, Canceled, Terminated, TimedOut).
	Status string
	msg    string
}

func (e *RunFailedError) Error() string { return e.msg }

// ExitCode returns the process exit code for the error Run returned.
func ExitCode(err error) int {
	var usage *UsageError
	var failed *RunFailedError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &usage):
		return ExitUsage
	case errors.As(err, &failed):
		return ExitRunFailed
	default:
		return ExitError
	}
}

// env bundles what a command reads and writes: the environment and the two output streams.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

// command is one subcommand of the starter.
type command struct {
	name     string
	args     string // synopsis after the name, e.g. "--model NAME --data-date YYYY-MM-DD [flags]"
	summary  string // one line for the command list
	help     string // paragraphs for `--help`
	examples []string
	// positional names the positional arguments the command takes, in order, separated by spaces (e.g.
	// "WORKFLOW_ID", or "MODEL VERSION"); none when empty. The command gets exactly that many, but for
	// trailing names in brackets ("ACTION [SCHEDULE_ID]"), which it may leave out: its action checks them.
	positional string
	// setup registers the command's flags on fs, with defaults from e, and returns the action that runs the
	// command once the flags are parsed.
	setup func(fs *flag.FlagSet, e *env) action
}

// action runs a parsed command; args are its positional arguments, as many as it names.
type action func(ctx context.Context, e *env, args []string) error

// run parses args for c and runs it.
func (c *command) run(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	// Errors are reported once, as a sentence, by Run's caller; help is printed by printCommandHelp.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	act := c.setup(fs, e)
	positional, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printCommandHelp(e.stdout, c, fs)
		return nil
	}
	if err != nil {
		return usagef("%s: %v; run `starter %s --help` for its flags", c.name, err, c.name)
	}
	names := strings.Fields(c.positional)
	required := len(names)
	for required > 0 && strings.HasPrefix(names[required-1], "[") {
		required--
	}
	switch {
	case len(names) == 0 && len(positional) > 0:
		return usagef("%s takes no arguments, got %q; run `starter %s --help`", c.name, positional, c.name)
	case len(positional) < required:
		return usagef("%s needs a %s argument, e.g. `starter %s`", c.name, strings.Join(names[len(positional):required], " argument and a "), c.examples[0][len("starter "):])
	case len(positional) > len(names):
		for i, n := range names {
			names[i] = strings.Trim(n, "[]")
		}
		return usagef("%s takes one %s, got %q", c.name, strings.Join(names, " and one "), positional)
	}
	return act(ctx, e, positional)
}

// parseInterspersed parses flags that come before and after positional arguments ("watch ID --output json"),
// as Temporal's and the AWS CLI's commands accept; "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// commands is the starter's table of subcommands, in the order a user meets them: Run dispatches through it
// and the help lists it.
func commands() []*command {
	return []*command{seedCommand(), trainCommand(), inferCommand(), watchCommand(), statusCommand(),
		logsCommand(), listCommand(), modelsCommand(), approveCommand(), rejectCommand(), cancelCommand(), retryCommand(),
		scheduleCommand(), backfillCommand(), parityCommand()}
}

// lookup returns the subcommand called name, or nil.
func lookup(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}

// Run runs the starter with args (without the program name), reading defaults from getenv, writing results
// to stdout and diagnostics to stderr. Its error is meant to be printed to stderr as is; ExitCode maps it to
// the process exit code.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	e := &env{getenv: getenv, stdout: stdout, stderr: stderr}
	cmds := commands()
	if len(args) == 0 {
		printUsage(stderr, cmds)
		return usagef("no subcommand: run `starter help` for the list of subcommands")
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			if c := lookup(cmds, rest[0]); c != nil {
				return c.run(ctx, e, []string{"--help"})
			}
			return usagef("unknown subcommand %q: run `starter help` for the list of subcommands", rest[0])
		}
		printUsage(stdout, cmds)
		return nil
	}
	c := lookup(cmds, name)
	if c == nil {
		if strings.HasPrefix(name, "-") {
			return usagef("flag %s before the subcommand: flags go after it, e.g. `starter train --model churn ...`; run `starter help` for the list of subcommands", name)
		}
		return usagef("unknown subcommand %q: run `starter help` for the list of subcommands", name)
	}
	return c.run(ctx, e, rest)
}

func printUsage(w io.Writer, cmds []*command) {
	fmt.Fprint(w, `starter starts and follows the mdlc pipelines (Temporal workflows over SageMaker).

Usage:
  starter <subcommand> [flags] [arguments]

Subcommands:
`)
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Examples:
  starter seed
  starter train --model churn --data-date 2019-10-01 --wait
  starter infer --model churn --data-date 2019-11-01 --threshold 0.8 --wait
  starter list --model churn
  starter models --model churn

Run `+"`starter <subcommand> --help`"+` for a subcommand's flags. Flags take their defaults from the environment
(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, MDLC_UI_ADDRESS, MDLC_TARGET, AWS_ENDPOINT_URL, AWS_REGION, MDLC_BUCKET).

Exit codes: 0 success, 1 error, 2 bad usage, 3 the workflow run failed or was canceled.
`)
}

// printCommandHelp prints a subcommand's help: synopsis, description, examples and flags with "--" names.
func printCommandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: starter %s %s\n\n%s\n", c.name, c.args, strings.TrimSpace(c.help))
	if len(c.examples) > 0 {
		fmt.Fprint(w, "\nExamples:\n")
		for _, ex := range c.examples {
			fmt.Fprintf(w, "  %s\n", ex)
		}
	}
	fmt.Fprint(w, "\nFlags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		if typ != "" {
			typ = " " + typ
		}
		dashes := "--"
		if len(f.Name) == 1 {
			dashes = "-"
		}
		fmt.Fprintf(w, "  %s%s%s\n        %s", dashes, f.Name, typ, usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			fmt.Fprintf(w, " (default %q)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}
