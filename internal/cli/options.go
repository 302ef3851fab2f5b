package cli

import (
	"context"
	"flag"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"go.temporal.io/sdk/client"

	"github.com/mdlc/mdlc/internal/awsconf"
	"github.com/mdlc/mdlc/internal/localdefaults"
	"github.com/mdlc/mdlc/internal/temporalconn"
	"github.com/mdlc/mdlc/internal/webui"
	"github.com/mdlc/mdlc/workflows"
)

// Defaults of the shared flags (each can also come from the environment variable named in its help).
const (
	DefaultNamespace = "default"
	DefaultUIAddress = webui.DefaultAddress
)

// Output formats.
const (
	outputText = "text"
	outputJSON = "json"
)

// dialTimeout bounds connecting to Temporal: a CLI should say quickly that nothing answers.
const dialTimeout = 5 * time.Second

func envOr(e *env, name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

// outputFlag is --output: text for people, json for scripts.
type outputFlag struct{ format string }

func addOutputFlag(fs *flag.FlagSet) *outputFlag {
	o := &outputFlag{format: outputText}
	fs.StringVar(&o.format, "output", outputText, "output `FORMAT`: text or json (results on stdout, progress and diagnostics on stderr)")
	fs.StringVar(&o.format, "o", outputText, "shorthand for --output `FORMAT`")
	return o
}

func (o *outputFlag) validate() error {
	if o.format != outputText && o.format != outputJSON {
		return usagef("--output %q must be text or json", o.format)
	}
	return nil
}

func (o *outputFlag) json() bool { return o.format == outputJSON }

// live is where a followed run's live lines go: stdout, or stderr when stdout carries the JSON result.
func (o *outputFlag) live(e *env) io.Writer {
	if o.json() {
		return e.stderr
	}
	return e.stdout
}

// temporalFlags say which Temporal server and namespace to talk to and where its web UI is.
type temporalFlags struct {
	address, namespace, uiAddress string
}

func addTemporalFlags(fs *flag.FlagSet, e *env) *temporalFlags {
	t := &temporalFlags{}
	fs.StringVar(&t.address, "temporal-address", envOr(e, "TEMPORAL_ADDRESS", temporalconn.DefaultAddress), "Temporal frontend `HOST:PORT` [TEMPORAL_ADDRESS]")
	fs.StringVar(&t.address, "address", envOr(e, "TEMPORAL_ADDRESS", temporalconn.DefaultAddress), "alias of --temporal-address `HOST:PORT`, as in the Temporal CLI")
	fs.StringVar(&t.namespace, "namespace", envOr(e, "TEMPORAL_NAMESPACE", DefaultNamespace), "Temporal `NAMESPACE` [TEMPORAL_NAMESPACE]")
	fs.StringVar(&t.namespace, "n", envOr(e, "TEMPORAL_NAMESPACE", DefaultNamespace), "shorthand for --namespace `NAMESPACE`")
	fs.StringVar(&t.uiAddress, "ui-address", envOr(e, "MDLC_UI_ADDRESS", DefaultUIAddress), "base `URL` of the Temporal web UI, for links [MDLC_UI_ADDRESS]")
	return t
}

func (t *temporalFlags) validate() error {
	if strings.TrimSpace(t.address) == "" {
		return usagef("--temporal-address is empty: give host:port, e.g. %s", temporalconn.DefaultAddress)
	}
	if t.namespace == "" {
		return usagef("--namespace is empty: give a namespace, e.g. %s", DefaultNamespace)
	}
	if webui.CheckHTTPURL(t.uiAddress) != nil {
		return usagef("--ui-address %q must be an http(s) URL such as %s", t.uiAddress, DefaultUIAddress)
	}
	return nil
}

// dial connects to Temporal; the error says what to do when nothing answers.
func (t *temporalFlags) dial(ctx context.Context) (client.Client, error) {
	return temporalconn.Dial(ctx, temporalconn.Options{Address: t.address, Namespace: t.namespace, ConnectTimeout: dialTimeout})
}

// runURL is the web UI page of a run's history.
func (t *temporalFlags) runURL(workflowID, runID string) string {
	return webui.RunURL(t.uiAddress, t.namespace, workflowID, runID)
}

// awsFlags say which AWS (or localaws) to call.
type awsFlags struct {
	target, endpoint, region string
	getenv                   func(string) string
}

func addAWSFlags(fs *flag.FlagSet, e *env) *awsFlags {
	a := &awsFlags{getenv: e.getenv}
	fs.StringVar(&a.target, "target", envOr(e, "MDLC_TARGET", awsconf.TargetLocal), "local (localaws) or aws [MDLC_TARGET]")
	fs.StringVar(&a.endpoint, "endpoint-url", e.getenv("AWS_ENDPOINT_URL"), "endpoint of every AWS service; "+awsconf.DefaultLocalEndpoint+" for local [AWS_ENDPOINT_URL]")
	fs.StringVar(&a.region, "region", envOr(e, "AWS_REGION", e.getenv("AWS_DEFAULT_REGION")), "AWS region; "+localdefaults.Region+" for local [AWS_REGION]")
	return a
}

func (a *awsFlags) validate() error {
	if a.target != awsconf.TargetLocal && a.target != awsconf.TargetAWS {
		return usagef("--target %q must be local or aws", a.target)
	}
	if a.endpoint != "" {
		u, err := url.Parse(a.endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("--endpoint-url %q must be an http(s) URL such as %s", a.endpoint, awsconf.DefaultLocalEndpoint)
		}
	}
	return nil
}

// endpointName is what error messages call the endpoint.
func (a *awsFlags) endpointName() string {
	switch {
	case a.endpoint != "":
		return a.endpoint
	case a.target == awsconf.TargetLocal:
		return awsconf.DefaultLocalEndpoint
	default:
		return "AWS"
	}
}

func (a *awsFlags) load(ctx context.Context) (aws.Config, error) {
	return awsconf.Load(ctx, awsconf.Options{Target: a.target, Region: a.region, Endpoint: a.endpoint, Getenv: a.getenv})
}

// requestFlags are --model and --data-date.
type requestFlags struct{ model, dataDate string }

func addRequestFlags(fs *flag.FlagSet) *requestFlags {
	r := &requestFlags{}
	fs.StringVar(&r.model, "model", "", "model `NAME`: the pipeline, its jobs' name prefix and its model package group (required)")
	fs.StringVar(&r.dataDate, "data-date", "", "data date `YYYY-MM-DD`: the input-data/<date>/ folder in the bucket (required)")
	return r
}

func (r *requestFlags) require() error {
	var missing []string
	if r.model == "" {
		missing = append(missing, "--model")
	}
	if r.dataDate == "" {
		missing = append(missing, "--data-date")
	}
	if len(missing) > 0 {
		return usagef("%s required, e.g. --model churn --data-date 2019-10-01", strings.Join(missing, " and ")+map[bool]string{true: " is", false: " are"}[len(missing) == 1])
	}
	return nil
}

// logsFlags is --logs, which prints the run's SageMaker job logs inline while following it, with the AWS flags
// that say where they are read (CloudWatch Logs: localaws, or CloudWatch with --target aws).
type logsFlags struct {
	on bool
	af *awsFlags
}

func addLogsFlags(fs *flag.FlagSet, e *env) *logsFlags {
	l := &logsFlags{af: addAWSFlags(fs, e)}
	fs.BoolVar(&l.on, "logs", false, "while following the run, print its SageMaker jobs' log lines (CloudWatch Logs) as they are written")
	return l
}

// validate checks the AWS flags when --logs is given (they are not used otherwise).
func (l *logsFlags) validate() error {
	if !l.on {
		return nil
	}
	return l.af.validate()
}

// printer returns the printer of the job logs, writing to live, or nil without --logs.
func (l *logsFlags) printer(ctx context.Context, e *env, live io.Writer) (*logPrinter, error) {
	if l == nil || !l.on {
		return nil, nil
	}
	cfg, err := l.af.load(ctx)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return &logPrinter{e: e, out: live, inline: true, cw: cloudwatchlogs.NewFromConfig(cfg), tokens: map[string]string{}, endpoint: l.af.endpointName()}, nil
}

// temporalAction is the action of a command that talks to Temporal: it checks --output, the Temporal flags
// and then checks, in that order, connects, runs act with the client and closes the client.
func temporalAction(tf *temporalFlags, out *outputFlag, act func(ctx context.Context, e *env, c client.Client, args []string) error, checks ...func() error) action {
	return func(ctx context.Context, e *env, args []string) error {
		if err := validateAll(append([]func() error{out.validate, tf.validate}, checks...)...); err != nil {
			return err
		}
		c, err := tf.dial(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		return act(ctx, e, c, args)
	}
}

// awsAction is the action of a command that calls AWS (or localaws): it checks --output, the AWS flags and
// then checks, in that order, loads the SDK configuration and runs act with it.
func awsAction(af *awsFlags, out *outputFlag, act func(ctx context.Context, e *env, cfg aws.Config, args []string) error, checks ...func() error) action {
	return func(ctx context.Context, e *env, args []string) error {
		if err := validateAll(append([]func() error{out.validate, af.validate}, checks...)...); err != nil {
			return err
		}
		cfg, err := af.load(ctx)
		if err != nil {
			return usagef("%v", err)
		}
		return act(ctx, e, cfg, args)
	}
}

// validateAll returns the first error of the validators.
func validateAll(validators ...func() error) error {
	for _, v := range validators {
		if err := v(); err != nil {
			return err
		}
	}
	return nil
}

// validateModelName checks --model by the workflows' own rules for a model name.
func validateModelName(model string) error {
	if err := (workflows.TrainingInput{ModelName: model, DataDate: "2000-01-01"}).Validate(); err != nil {
		return usagef("--model: %v", err)
	}
	return nil
}
