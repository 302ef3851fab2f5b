package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/awsconf"
	"github.com/mdlc/mdlc/internal/closewatch"
	"github.com/mdlc/mdlc/internal/localdefaults"
	"github.com/mdlc/mdlc/internal/pipelineflags"
	"github.com/mdlc/mdlc/internal/quote"
	"github.com/mdlc/mdlc/internal/temporalconn"
	"github.com/mdlc/mdlc/internal/webui"
	"github.com/mdlc/mdlc/workflows"
)

// config is everything the worker is told by flags and environment.
type config struct {
	temporalAddress, namespace, taskQueue string
	target, region, endpoint              string
	metricsAddr, logFormat, logLevel      string
	maxConcurrentActivities, pollers      int
	shutdownTimeout                       time.Duration
	// notifyWatchInterval is how often the worker looks for terminated and timed-out runs to notify of.
	notifyWatchInterval time.Duration
	pipeline            activities.Config
}

// parseConfig reads flags (args) over environment (getenv) over defaults and validates the result.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: worker [flags]\n\nRuns the mdlc Temporal worker: the Training and BatchInference workflows and their activities.\n"+
			"By default it calls localaws (%s) and the Temporal dev server (%s).\n\nFlags (each also read from the environment variable in brackets):\n",
			awsconf.DefaultLocalEndpoint, temporalconn.DefaultAddress)
		fs.PrintDefaults()
	}
	var pollInterval string
	pipeline := pipelineflags.Add(fs, getenv)
	fs.StringVar(&c.temporalAddress, "temporal-address", pipelineflags.Env(getenv, "TEMPORAL_ADDRESS", temporalconn.DefaultAddress), "Temporal frontend host:port [TEMPORAL_ADDRESS]")
	fs.StringVar(&c.namespace, "namespace", pipelineflags.Env(getenv, "TEMPORAL_NAMESPACE", "default"), "Temporal namespace [TEMPORAL_NAMESPACE]")
	fs.StringVar(&c.taskQueue, "task-queue", pipelineflags.Env(getenv, "MDLC_TASK_QUEUE", workflows.TaskQueue), "task queue [MDLC_TASK_QUEUE]")
	fs.StringVar(&c.target, "target", pipelineflags.Env(getenv, "MDLC_TARGET", awsconf.TargetLocal), "local (localaws) or aws [MDLC_TARGET]")
	fs.StringVar(&c.region, "region", pipelineflags.Env(getenv, "AWS_REGION", ""), "AWS region; "+localdefaults.Region+" for local [AWS_REGION]")
	fs.StringVar(&c.endpoint, "endpoint-url", pipelineflags.Env(getenv, "AWS_ENDPOINT_URL", ""), "endpoint of every AWS service; "+awsconf.DefaultLocalEndpoint+" for local [AWS_ENDPOINT_URL]")
	var pollJitter float64
	fs.StringVar(&pollInterval, "poll-interval", pipelineflags.Env(getenv, "MDLC_POLL_INTERVAL", ""), "how often to describe a running SageMaker job; 1s for local, 30s for aws [MDLC_POLL_INTERVAL]")
	fs.Float64Var(&pollJitter, "poll-jitter", 0.2, "fraction of the poll interval by which polls are spread")
	fs.IntVar(&c.maxConcurrentActivities, "max-concurrent-activities", pipelineflags.IntEnv(getenv, "MDLC_MAX_CONCURRENT_ACTIVITIES", 200), "activity tasks this worker runs at once: waiting on a SageMaker job or for an approval is one (the short Lambda and API steps are local activities, at most 1000 at once) [MDLC_MAX_CONCURRENT_ACTIVITIES]")
	fs.IntVar(&c.pollers, "pollers", pipelineflags.IntEnv(getenv, "MDLC_POLLERS", 8), "task pollers per kind (workflow, activity); more pick up tasks faster when many runs are open [MDLC_POLLERS]")
	fs.StringVar(&c.metricsAddr, "metrics-addr", pipelineflags.Env(getenv, "MDLC_METRICS_ADDR", "127.0.0.1:9464"), "address of the Prometheus /metrics endpoint (port 0: a free port, logged in the \"Worker started\" line); empty disables it [MDLC_METRICS_ADDR]")
	fs.StringVar(&c.logFormat, "log-format", pipelineflags.Env(getenv, "MDLC_LOG_FORMAT", "text"), "text or json [MDLC_LOG_FORMAT]")
	fs.StringVar(&c.logLevel, "log-level", pipelineflags.Env(getenv, "MDLC_LOG_LEVEL", "info"), "debug, info, warn or error [MDLC_LOG_LEVEL]")
	var notifyURL, uiAddress string
	fs.StringVar(&notifyURL, "notify-url", pipelineflags.Env(getenv, "MDLC_NOTIFY_URL", ""), "http(s) `URL` to POST a JSON notification to when a run ends (completed, failed, canceled); empty sends none [MDLC_NOTIFY_URL]")
	fs.StringVar(&uiAddress, "ui-address", pipelineflags.Env(getenv, "MDLC_UI_ADDRESS", webui.DefaultAddress), "base `URL` of the Temporal web UI, for the run links in notifications [MDLC_UI_ADDRESS]")
	fs.DurationVar(&c.notifyWatchInterval, "notify-watch-interval", closewatch.DefaultInterval, "with --notify-url: how often to look for runs terminated by a person or timed out, which cannot notify themselves")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long running activities get to finish on shutdown")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q: the worker takes only flags (see -help)", fs.Args())
	}

	p, err := pipeline.Config(c.target)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	p.PollJitter = pollJitter
	switch c.target {
	case awsconf.TargetLocal:
		p.PollInterval = time.Second
	case awsconf.TargetAWS:
		p.PollInterval = 30 * time.Second
	}
	if pollInterval != "" {
		if p.PollInterval, err = time.ParseDuration(pollInterval); err != nil {
			errs = append(errs, fmt.Errorf("--poll-interval %q is not a duration (e.g. 1s, 30s)", pollInterval))
		}
	}
	p.NotifyURL, p.UIAddress = notifyURL, uiAddress
	if notifyURL != "" {
		if err := webui.CheckHTTPURL(notifyURL); err != nil {
			errs = append(errs, fmt.Errorf("--notify-url %s is not an http(s) URL (%w): give one such as https://hooks.example.com/mdlc, or leave it empty to send no notifications", quote.Value(notifyURL), err))
		}
	}
	if err := webui.CheckHTTPURL(uiAddress); err != nil {
		errs = append(errs, fmt.Errorf("--ui-address %s is not an http(s) URL (%w): give the web UI's base URL, e.g. %s", quote.Value(uiAddress), err, webui.DefaultAddress))
	}
	if c.notifyWatchInterval < time.Second || c.notifyWatchInterval > time.Hour {
		errs = append(errs, fmt.Errorf("--notify-watch-interval %s must be between 1s and 1h", c.notifyWatchInterval))
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q must be text or json", c.logFormat))
	}
	if _, err := parseLevel(c.logLevel); err != nil {
		errs = append(errs, err)
	}
	if c.pollers < 1 || c.pollers > 100 {
		errs = append(errs, fmt.Errorf("--pollers %d must be between 1 and 100", c.pollers))
	}
	if c.maxConcurrentActivities < 1 {
		errs = append(errs, fmt.Errorf("--max-concurrent-activities %d must be at least 1", c.maxConcurrentActivities))
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	c.pipeline = p.WithDefaults()
	if err := c.pipeline.Validate(); err != nil {
		return c, err
	}
	return c, nil
}
