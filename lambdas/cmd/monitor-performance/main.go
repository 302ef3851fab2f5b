// Command monitor-performance is the monitor-performance Lambda function (provided.al2023, built as bootstrap by
// scripts/build-lambdas.sh): it computes the ROC AUC of batch-transform predictions against the holdout target.
package main

import (
	"github.com/mdlc/mdlc/lambdas/contract"
	"github.com/mdlc/mdlc/lambdas/internal/start"
)

func main() { start.Function(contract.MonitorPerformanceFunction) }
