package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/workflows"
)

func run(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = Run(ctx, args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestUsageErrors: every mistake in the command line is one sentence, exit code 2, before any connection.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no subcommand", nil, nil, "no subcommand: run `starter help`"},
		{"unknown subcommand", []string{"frobnicate"}, nil, `unknown subcommand "frobnicate"`},
		{"help of unknown subcommand", []string{"help", "frobnicate"}, nil, `unknown subcommand "frobnicate"`},
		{"flag before subcommand", []string{"--model", "churn", "train"}, nil, "flags go after it"},
		{"unknown flag", []string{"train", "--bogus"}, nil, "train: flag provided but not defined: -bogus; run `starter train --help`"},
		{"flag without value", []string{"status", "x", "--run-id"}, nil, "flag needs an argument: -run-id"},
		{"train without request", []string{"train"}, nil, "--model and --data-date are required"},
		{"train without date", []string{"train", "--model", "churn"}, nil, "--data-date is required"},
		{"invalid model", []string{"train", "--model", "-bad_name", "--data-date", "2019-10-01"}, nil, `invalid request: model name "-bad_name" must be 1-63 letters`},
		{"unreal date", []string{"train", "--model", "churn", "--data-date", "2019-02-30"}, nil, `data date "2019-02-30" must be a real date written YYYY-MM-DD`},
		{"two errors in one sentence", []string{"train", "--model", "a_b", "--data-date", "1/2/2019"}, nil, `must be 1-63 letters, digits and hyphens, starting and ending with a letter or digit; data date`},
		{"bad approval status", []string{"train", "--model", "churn", "--data-date", "2019-10-01", "--approval-status", "Maybe"}, nil, `approval status "Maybe" must be Approved or PendingManualApproval`},
		{"threshold not a number", []string{"infer", "--model", "churn", "--data-date", "2019-11-01", "--threshold", "high"}, nil, `--threshold "high" must be a number in [0, 1]`},
		{"threshold above one", []string{"infer", "--model", "churn", "--data-date", "2019-11-01", "--threshold", "1.5"}, nil, `threshold 1.5 must be a number in [0, 1]`},
		{"threshold NaN", []string{"infer", "--model", "churn", "--data-date", "2019-11-01", "--threshold", "NaN"}, nil, `threshold NaN must be a number in [0, 1]`},
		{"margin not a number", []string{"infer", "--model", "churn", "--data-date", "2019-11-01", "--promotion-margin", "a bit"}, nil, `--promotion-margin "a bit" must be a number in [0, 1]`},
		{"margin negative", []string{"infer", "--model", "churn", "--data-date", "2019-11-01", "--promotion-margin", "-0.1"}, nil, `promotion margin -0.1 must be a number in [0, 1]`},
		{"bad output", []string{"train", "--model", "churn", "--data-date", "2019-10-01", "-o", "yaml"}, nil, `--output "yaml" must be text or json`},
		{"bad ui address from env", []string{"train", "--model", "churn", "--data-date", "2019-10-01"}, map[string]string{"MDLC_UI_ADDRESS": "localhost:8233"}, `--ui-address "localhost:8233" must be an http(s) URL`},
		{"watch without ID", []string{"watch"}, nil, "watch needs a WORKFLOW_ID argument, e.g. `starter watch training-churn-2019-10-01`"},
		{"watch two IDs", []string{"watch", "a", "b"}, nil, `watch takes one WORKFLOW_ID, got ["a" "b"]`},
		{"retry without ID", []string{"retry"}, nil, "retry needs a WORKFLOW_ID argument, e.g. `starter retry batch-inference-churn-2019-11-01`"},
		{"retry bad output", []string{"retry", "x", "-o", "yaml"}, nil, `--output "yaml" must be text or json`},
		{"list with arguments", []string{"list", "churn"}, nil, `list takes no arguments, got ["churn"]`},
		{"list limit", []string{"list", "--limit", "0"}, nil, "--limit 0 must be between 1 and 1000"},
		{"list decision", []string{"list", "--decision", "retrain"}, nil, `--decision "retrain" must be Keep, Retrain or RetrainSuppressed`},
		{"list bad model", []string{"list", "--model", "a b"}, nil, `--model: model name "a b"`},
		{"models without model", []string{"models"}, nil, "--model is required"},
		{"models bad target", []string{"models", "--model", "churn", "--target", "gcp"}, nil, `--target "gcp" must be local or aws`},
		{"models bad endpoint", []string{"models", "--model", "churn", "--endpoint-url", "127.0.0.1:4570"}, nil, `--endpoint-url "127.0.0.1:4570" must be an http(s) URL`},
		{"seed bad date", []string{"seed", "--dates", "2019-10-01,2019-13-01"}, nil, `date "2019-13-01": not a date of the form YYYY-MM-DD`},
		{"seed no rows", []string{"seed", "--train-rows", "0"}, nil, "train rows 0: must be between 1 and"},
		{"seed aws without bucket", []string{"seed", "--target", "aws"}, nil, "--bucket (MDLC_BUCKET) is required with --target aws"},
		{"seed bad bucket", []string{"seed", "--bucket", "Not_A_Bucket"}, nil, `bucket "Not_A_Bucket": not a valid S3 bucket name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, _, err := run(t, tc.env, tc.args...)
			if err == nil {
				t.Fatalf("no error; stdout:\n%s", stdout)
			}
			if got := ExitCode(err); got != ExitUsage {
				t.Errorf("exit code %d, want %d (%v)", got, ExitUsage, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// TestHelp: --help and `help` print the usage to stdout and succeed.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"help"}, []string{"Subcommands:", "  train ", "  infer ", "  watch ", "  seed ", "Exit codes: 0 success, 1 error, 2 bad usage, 3"}},
		{[]string{"--help"}, []string{"Subcommands:"}},
		{[]string{"train", "--help"}, []string{"Usage: starter train --model NAME", "Examples:\n  starter train --model churn --data-date 2019-10-01\n", "  --model NAME\n", "  --temporal-address HOST:PORT\n        Temporal frontend HOST:PORT [TEMPORAL_ADDRESS] (default \"127.0.0.1:7233\")", "  -o FORMAT\n", "  --wait\n"}},
		{[]string{"help", "infer"}, []string{"Usage: starter infer", "--threshold string\n", "Re-train Model"}},
		{[]string{"watch", "-h"}, []string{"Usage: starter watch WORKFLOW_ID"}},
		{[]string{"seed", "--help"}, []string{"--dates string", `(default "2019-10-01,2019-11-01")`, "[MDLC_BUCKET]"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, err := run(t, nil, tc.args...)
			if err != nil {
				t.Fatalf("error %v; stderr %s", err, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("help does not contain %q:\n%s", w, stdout)
				}
			}
		})
	}
}

// TestUnreachable: a server that does not answer gets a sentence naming it and what to do, exit code 1.
func TestUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"temporal", []string{"train", "--model", "churn", "--data-date", "2019-10-01"}, map[string]string{"TEMPORAL_ADDRESS": "127.0.0.1:1"},
			"cannot reach Temporal at 127.0.0.1:1"},
		{"temporal on status", []string{"status", "x", "--temporal-address", "127.0.0.1:1"}, nil, "start it (make up, or temporal server start-dev) or set --temporal-address"},
		{"localaws on models", []string{"models", "--model", "churn", "--endpoint-url", "http://127.0.0.1:1"}, nil,
			"cannot reach localaws at http://127.0.0.1:1 to describe model package group \"churn\": start it (make up) or set --endpoint-url / AWS_ENDPOINT_URL"},
		{"localaws on seed", []string{"seed"}, map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, "cannot reach localaws at http://127.0.0.1:1 to upload the demo dataset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, tc.env, tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			if got := ExitCode(err); got != ExitError {
				t.Errorf("exit code %d, want %d (%v)", got, ExitError, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		positional []string
		output     string
	}{
		{[]string{"id"}, []string{"id"}, "text"},
		{[]string{"id", "--output", "json"}, []string{"id"}, "json"},
		{[]string{"-o", "json", "id"}, []string{"id"}, "json"},
		{[]string{"a", "-o", "json", "b"}, []string{"a", "b"}, "json"},
		{[]string{"--", "-id-with-dash"}, []string{"-id-with-dash"}, "text"},
		{nil, nil, "text"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			out := fs.String("o", "text", "")
			fs.StringVar(out, "output", "text", "")
			got, err := parseInterspersed(fs, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "|") != strings.Join(tc.positional, "|") || *out != tc.output {
				t.Errorf("got %q, output %q; want %q, %q", got, *out, tc.positional, tc.output)
			}
		})
	}
}

func TestFormatEvent(t *testing.T) {
	for _, tc := range []struct {
		ev   event
		want string
	}{
		{event{At: 200 * time.Millisecond, HasAt: true, Kind: eventStarted, Step: "Initialize"}, "   +0.2s  Initialize                                 started"},
		{event{At: 1300 * time.Millisecond, HasAt: true, Kind: eventStarted, Step: "Train Model", JobName: "churn-1"}, "   +1.3s  Train Model                                started    churn-1"},
		{event{At: 2 * time.Second, HasAt: true, Kind: eventJob, Step: "Train Model", JobName: "churn-1", Detail: "InProgress (Training)"}, "   +2.0s  Train Model                                job        churn-1 InProgress (Training)"},
		{event{At: 95 * time.Second, HasAt: true, Kind: workflows.StepCompleted, Step: "Train Model", Detail: "artifacts s3://b/k", Took: 93500 * time.Millisecond}, "  +1m35s  Train Model                                completed  1m34s  artifacts s3://b/k"},
		{event{At: time.Second, HasAt: true, Kind: workflows.StepFailed, Step: "Re-train Model > Train Model", Detail: "boom", Took: time.Second}, "   +1.0s  Re-train Model > Train Model               failed     1.0s  boom"},
		{event{Kind: eventSkipped, Step: "Re-train Model", Detail: "not needed"}, "       -  Re-train Model                             skipped    not needed"},
	} {
		if got := formatEvent(tc.ev); got != tc.want {
			t.Errorf("formatEvent(%+v)\n got %q\nwant %q", tc.ev, got, tc.want)
		}
	}
}

func TestJobStatus(t *testing.T) {
	for _, tc := range []struct {
		jp   activities.JobProgress
		want string
	}{
		{activities.JobProgress{JobName: "j"}, ""},
		{activities.JobProgress{Status: "InProgress"}, "InProgress"},
		{activities.JobProgress{Status: "InProgress", SecondaryStatus: "Training"}, "InProgress (Training)"},
		{activities.JobProgress{Status: "Stopped", SecondaryStatus: "Stopped"}, "Stopped"},
	} {
		if got := jobStatus(tc.jp); got != tc.want {
			t.Errorf("jobStatus(%+v) = %q, want %q", tc.jp, got, tc.want)
		}
	}
}

func TestSummaryAndOutcome(t *testing.T) {
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	end := start.Add(3 * time.Second)
	for _, tc := range []struct {
		name     string
		s        Summary
		want     []string
		wantErr  string
		wantCode int
	}{
		{
			name: "keep",
			s: Summary{Workflow: "BatchInference", WorkflowID: "bi", RunID: "r", Status: "Completed", StartTime: start, CloseTime: &end,
				Inference: &workflows.BatchInferenceResult{AUC: 0.93141, Threshold: 0.8, ThresholdSource: "default", Decision: workflows.DecisionKeep}},
			want: []string{"BatchInference Completed in 3.0s\n", "  AUC              0.9314\n", "  threshold        0.8 (default)\n", "  decision         Keep (AUC 0.9314 >= threshold)\n"},
		},
		{
			name: "retrain suppressed",
			s: Summary{Workflow: "BatchInference", WorkflowID: "bi", RunID: "r", Status: "Completed", StartTime: start, CloseTime: &end,
				Inference: &workflows.BatchInferenceResult{AUC: 0.71, Threshold: 0.8, ThresholdSource: "default", Decision: workflows.DecisionRetrainSuppressed,
					RetrainGuard: workflows.GuardCooldown, RetrainSuppressed: workflows.SuppressedPrefix + "a version of churn was registered 5m0s ago"}},
			want: []string{"  decision         RetrainSuppressed (AUC 0.7100 < threshold)\n", "  suppressed       a version of churn was registered 5m0s ago\n"},
		},
		{
			name: "failed",
			s: Summary{Workflow: "Training", WorkflowID: "t", Status: "Failed", StartTime: start, CloseTime: &end,
				Error: &RunError{Step: "Train Model", Type: activities.ErrJobFailed, Message: "Train Model: training job \"x\" failed: bad data"}},
			want:     []string{"Training Failed after 3.0s\n", "  failed step      Train Model\n", "  error            JobFailed: Train Model: training job \"x\" failed: bad data\n"},
			wantErr:  `Training run t failed at step "Train Model": JobFailed: Train Model: training job "x" failed: bad data`,
			wantCode: ExitRunFailed,
		},
		{
			name: "canceled",
			s: Summary{Workflow: "Training", WorkflowID: "t", Status: "Canceled", StartTime: start, CloseTime: &end,
				Error: &RunError{Step: "Train Model", Type: "Canceled", Message: "the run was canceled"}},
			want:     []string{"Training Canceled after 3.0s\n"},
			wantErr:  `Training run t canceled at step "Train Model": Canceled`,
			wantCode: ExitRunFailed,
		},
		{
			name: "running with a job",
			s: Summary{Workflow: "Training", WorkflowID: "t", Status: "Running", StartTime: start,
				Steps: []workflows.Step{{Name: "Initialize", State: "completed", Started: start, Ended: start.Add(time.Second), Detail: "ok"}, {Name: "Train Model", State: "running", JobName: "j"}},
				Jobs:  []activities.JobProgress{{JobName: "j", Status: "InProgress", SecondaryStatus: "Training"}}},
			want: []string{"Training Running\n", "    Initialize                 completed   1.0s  ok\n", "    Train Model                running           j InProgress (Training)\n"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := formatSummary(&tc.s, true)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("summary does not contain %q:\n%s", w, got)
				}
			}
			err := runOutcome(&tc.s)
			if ExitCode(err) != tc.wantCode || (tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr)) {
				t.Errorf("outcome %v (exit %d), want %q (exit %d)", err, ExitCode(err), tc.wantErr, tc.wantCode)
			}
		})
	}
}

func TestRunError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want RunError
	}{
		{temporal.NewNonRetryableApplicationError("Find Model: unable to find model", activities.ErrModelNotFound, nil),
			RunError{Type: activities.ErrModelNotFound, Message: "Find Model: unable to find model"}},
		{temporal.NewCanceledError(), RunError{Type: "Canceled", Message: "the run was canceled"}},
		{errors.New("other"), RunError{Message: "other"}},
	} {
		if got := runError(tc.err); *got != tc.want {
			t.Errorf("runError(%v) = %+v, want %+v", tc.err, *got, tc.want)
		}
	}
}

func TestExplainTemporal(t *testing.T) {
	tf := &temporalFlags{address: "127.0.0.1:7233", namespace: "default"}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{serviceerror.NewNotFound("workflow not found"), `no workflow run "w" in namespace "default": check the ID with ` + "`starter list`"},
		{serviceerror.NewInvalidArgument("Namespace default has no mapping defined for search attribute ModelName"), "temporal operator search-attribute create --name ModelName --type Keyword"},
		{serviceerror.NewInvalidArgument("invalid query: unable to convert filter expression: unable to convert left side of \"ModelName = 'x'\": invalid search attribute: ModelName"), "has no ModelName/DataDate search attribute"},
		{serviceerror.NewInvalidArgument("something else"), "something else"},
		{serviceerror.NewUnavailable("connection refused"), "did not answer"},
		{serviceerror.NewNamespaceNotFound("nope"), `namespace "default" does not exist`},
	} {
		if got := explainTemporal(tc.err, tf, "w").Error(); !strings.Contains(got, tc.want) {
			t.Errorf("explainTemporal(%v) = %q, want it to contain %q", tc.err, got, tc.want)
		}
	}
}

func TestListQuery(t *testing.T) {
	for _, tc := range []struct{ model, decision, want string }{
		{"", "", `WorkflowType IN ("Training", "BatchInference")`},
		{"churn", "", `ModelName = "churn" AND WorkflowType IN ("Training", "BatchInference")`},
		{"", "RetrainSuppressed", `Decision = "RetrainSuppressed" AND WorkflowType IN ("Training", "BatchInference")`},
		{"churn", "Keep", `ModelName = "churn" AND Decision = "Keep" AND WorkflowType IN ("Training", "BatchInference")`},
	} {
		if got := listQuery(tc.model, tc.decision); got != tc.want {
			t.Errorf("listQuery(%q, %q) = %q, want %q", tc.model, tc.decision, got, tc.want)
		}
	}
}

func TestRunURL(t *testing.T) {
	tf := &temporalFlags{uiAddress: "http://127.0.0.1:8233/", namespace: "default"}
	want := "http://127.0.0.1:8233/namespaces/default/workflows/training-churn-2019-10-01/r-1/history"
	if got := tf.runURL("training-churn-2019-10-01", "r-1"); got != want {
		t.Errorf("runURL = %q, want %q", got, want)
	}
}

// TestEveryCommandIsListedAndRuns holds the one command table to its two readers: each subcommand has a
// unique name, the command list shows it with its summary in table order, and dispatch reaches its help.
func TestEveryCommandIsListedAndRuns(t *testing.T) {
	cmds := commands()
	help, _, err := run(t, nil, "help")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	last := -1
	for _, c := range cmds {
		if seen[c.name] {
			t.Errorf("subcommand %q is in the table twice", c.name)
		}
		seen[c.name] = true
		line := fmt.Sprintf("  %-8s %s\n", c.name, c.summary)
		i := strings.Index(help, line)
		if i < 0 {
			t.Errorf("help does not list %q as %q:\n%s", c.name, line, help)
			continue
		}
		if i < last {
			t.Errorf("help lists %q out of the table's order", c.name)
		}
		last = i
		out, _, err := run(t, nil, c.name, "--help")
		if err != nil || !strings.HasPrefix(out, "Usage: starter "+c.name+" ") {
			t.Errorf("starter %s --help: error %v, output %q", c.name, err, out)
		}
		// Every example is a valid command line: it gets past parsing and validation (no usage error) and
		// stops at the first connection, which a canceled context refuses at once.
		if len(c.examples) == 0 {
			t.Errorf("subcommand %q has no example", c.name)
		}
		for _, ex := range c.examples {
			args := exampleArgs(ex)
			if len(args) < 2 || args[0] != "starter" || args[1] != c.name {
				t.Errorf("example %q of %s does not start with `starter %s`", ex, c.name, c.name)
				continue
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := Run(ctx, args[1:], func(string) string { return "" }, io.Discard, io.Discard)
			if ExitCode(err) == ExitUsage {
				t.Errorf("example %q is not a valid command line: %v", ex, err)
			}
		}
	}
}

// exampleArgs splits an example command line as a shell would for the examples' simple quoting ('...'),
// dropping an output redirection.
func exampleArgs(line string) []string {
	var args []string
	var cur strings.Builder
	inQuote, inArg := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			inQuote, inArg = !inQuote, true
		case r == ' ' && !inQuote:
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	if i := slices.Index(args, ">"); i >= 0 {
		args = args[:i]
	}
	return args
}

// TestStepColumnFitsEveryStep: every step a live line can name, a retrain child's included, fits the step
// field, so that what follows it starts in the same column on every line.
func TestStepColumnFitsEveryStep(t *testing.T) {
	steps := []string{workflows.StepInitialize, workflows.StepTrainModel, workflows.StepCreateModel, workflows.StepEvaluate,
		workflows.StepPromote, workflows.StepRegister, workflows.StepWaitApproval, workflows.StepFindModel, workflows.StepInference,
		workflows.StepMonitor, workflows.StepDecide, workflows.StepRetrain}
	want := -1
	for _, s := range steps {
		for _, label := range []string{s, workflows.StepRetrain + childStepSeparator + s} {
			line := formatEvent(event{At: time.Second, HasAt: true, Kind: workflows.StepCompleted, Step: label, Detail: "d"})
			col := strings.Index(line, " "+workflows.StepCompleted+" ") + 1
			if want < 0 {
				want = col
			}
			if col != want {
				t.Errorf("%q: the state starts in column %d, want %d:\n%s", label, col, want, line)
			}
		}
	}
}
