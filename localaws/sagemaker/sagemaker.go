// Package sagemaker serves the SageMaker API (JSON 1.1, X-Amz-Target "SageMaker.<Operation>") for localaws:
// training jobs, models, batch-transform jobs and the model registry, with state kept on disk.
package sagemaker

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/johannesboyne/gofakes3"

	"github.com/mdlc/mdlc/localaws/algorithm"
)

// Options configure a Service.
type Options struct {
	// Dir holds the service's state; it survives restarts.
	Dir string
	// Objects is the S3 storage jobs read their input from and write their output to.
	Objects gofakes3.Backend
	// Algorithms maps training images to local algorithms.
	Algorithms algorithm.Resolver
	// Region and AccountID appear in ARNs.
	Region, AccountID string
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
	// Logger receives the service's logs; slog.Default() when nil.
	Logger *slog.Logger
}

// Service is the local SageMaker.
type Service struct{}

// New loads the state under opts.Dir (jobs that were running when the previous process stopped end Failed).
func New(ctx context.Context, opts Options) (*Service, error) { return &Service{}, nil }

// ServeHTTP answers one SageMaker API request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not implemented", http.StatusNotImplemented)
}

// Reset stops every running job and forgets all state.
func (s *Service) Reset(ctx context.Context) error { return nil }

// Close stops running jobs (they end Failed, as on an instance failure) and waits for them to end.
func (s *Service) Close() error { return nil }
