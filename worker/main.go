// Command worker runs the mdlc Temporal worker: the Training and BatchInference workflows and the activities
// that call SageMaker and the pipelines' Lambda functions, against localaws (default) or AWS.
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
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/awsconf"
	"github.com/mdlc/mdlc/internal/temporalconn"
	"github.com/mdlc/mdlc/workflows"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	level, _ := parseLevel(cfg.logLevel)
	var handler slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	if cfg.logFormat == "json" {
		handler = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	}
	logger := slog.New(handler)

	metrics, metricsAddr, stopMetrics, err := serveMetrics(cfg.metricsAddr, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()

	awsCfg, err := awsconf.Load(ctx, awsconf.Options{Target: cfg.target, Region: cfg.region, Endpoint: cfg.endpoint, Getenv: getenv})
	if err != nil {
		return err
	}
	c, err := temporalconn.Dial(ctx, temporalconn.Options{
		Address: cfg.temporalAddress, Namespace: cfg.namespace, Logger: logger, MetricsHandler: metrics,
	})
	if err != nil {
		return err
	}
	defer c.Close()

	cfg.pipeline.SearchAttributes = searchAttributesRegistered(ctx, c, cfg.namespace, logger)
	acts, err := activities.New(sagemaker.NewFromConfig(awsCfg), lambda.NewFromConfig(awsCfg), cfg.pipeline)
	if err != nil {
		return err
	}

	w := worker.New(c, cfg.taskQueue, workerOptions(cfg))
	register(w, acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on task queue %q: %w", cfg.taskQueue, err)
	}
	endpoint := cfg.endpoint
	if endpoint == "" && awsCfg.BaseEndpoint != nil {
		endpoint = *awsCfg.BaseEndpoint
	}
	logger.Info("Worker started", "TaskQueue", cfg.taskQueue, "Temporal", cfg.temporalAddress, "Namespace", cfg.namespace,
		"Target", cfg.target, "Endpoint", endpoint, "Region", awsCfg.Region, "Bucket", cfg.pipeline.Bucket,
		"PollInterval", cfg.pipeline.PollInterval, "Threshold", cfg.pipeline.DefaultThreshold, "Metrics", metricsAddr,
		"Notify", cfg.pipeline.RedactedNotifyURL(), "UI", cfg.pipeline.UIAddress)
	fmt.Fprintf(stdout, "worker polling task queue %q on %s\n", cfg.taskQueue, cfg.temporalAddress)
	<-ctx.Done()
	logger.Info("Shutting down; running jobs keep running and are attached to again by the next worker")
	w.Stop()
	return nil
}

// register registers the workflows under their documented names and the activities.
func register(w worker.Registry, acts *activities.Activities) {
	w.RegisterWorkflowWithOptions(workflows.Training, workflow.RegisterOptions{Name: workflows.TrainingWorkflow})
	w.RegisterWorkflowWithOptions(workflows.BatchInference, workflow.RegisterOptions{Name: workflows.BatchInferenceWorkflow})
	w.RegisterActivityWithOptions(acts, activity.RegisterOptions{})
}

// searchAttributesRegistered names the workflows' search attributes (workflows.SearchAttributes) that the
// namespace has with the right type: runs set only those, since upserting an attribute the namespace lacks
// would fail every workflow task of the run. It is checked once, at start; a worker started before the
// attributes were registered leaves runs without them, and warns for each one missing.
func searchAttributesRegistered(ctx context.Context, c client.Client, namespace string, logger *slog.Logger) []string {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		logger.Warn("Cannot list the namespace's search attributes; runs will set none of them",
			"Namespace", namespace, "Error", err)
		return nil
	}
	var names []string
	for _, attr := range workflows.SearchAttributes() {
		if t := resp.GetCustomAttributes()[attr.Name]; t != attr.IndexedType() {
			logger.Warn("Search attribute not registered with its type; runs will not set it",
				"Namespace", namespace, "SearchAttribute", attr.Name, "Type", attr.Type, "Registered", t.String(),
				"Fix", "temporal operator search-attribute create --name "+attr.Name+" --type "+attr.Type)
			continue
		}
		names = append(names, attr.Name)
	}
	return names
}

// serveMetrics exposes the Temporal SDK's metrics for Prometheus on addr ("" disables them) and returns the
// address it listens on: with port 0 the system picks a free port, which the "Worker started" line reports
// (the local stack starts workers that way, so that no other process can take the port first).
func serveMetrics(addr string, logger *slog.Logger) (client.MetricsHandler, string, func(), error) {
	if addr == "" {
		return nil, "", func() {}, nil
	}
	registry := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry))
	if err != nil {
		return nil, "", nil, fmt.Errorf("create metrics exporter: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	handler := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:   provider.Meter("temporal-sdk-go"),
		OnError: func(err error) { logger.Warn("Metric not recorded", "Error", err) },
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", nil, fmt.Errorf("listen for metrics on %s: %w (set --metrics-addr to another address, or empty to disable)", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("Metrics server stopped", "Error", err)
		}
	}()
	return handler, ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = provider.Shutdown(ctx)
	}, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("--log-level %q must be debug, info, warn or error", s)
	}
	return l, nil
}

// workerOptions are the SDK worker's options for cfg. The heartbeat throttle is capped at the activities'
// heartbeat interval: by default the SDK sends a heartbeat at most every 80 % of the heartbeat timeout
// (16 of 20 s), which leaves a long-running job's activity 4 s of slack before the server times it out on a
// busy machine or network; capped, a heartbeat reaches the server every interval (5 s), as the activities
// intend.
func workerOptions(cfg config) worker.Options {
	return worker.Options{
		MaxConcurrentActivityExecutionSize: cfg.maxConcurrentActivities,
		MaxConcurrentWorkflowTaskPollers:   cfg.pollers,
		MaxConcurrentActivityTaskPollers:   cfg.pollers,
		WorkerStopTimeout:                  cfg.shutdownTimeout,
		MaxHeartbeatThrottleInterval:       cfg.pipeline.HeartbeatInterval,
		DefaultHeartbeatThrottleInterval:   cfg.pipeline.HeartbeatInterval,
	}
}
