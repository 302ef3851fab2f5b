// Command initialize-inference is the initialize-inference Lambda function (provided.al2023, built as bootstrap by
// scripts/build-lambdas.sh): it validates an inference request, checks its data and names the batch-transform job.
package main

import (
	"github.com/mdlc/mdlc/lambdas/contract"
	"github.com/mdlc/mdlc/lambdas/internal/start"
)

func main() { start.Function(contract.InitializeInferenceFunction) }
