// Command initialize-training is the initialize-training Lambda function (provided.al2023, built as bootstrap by
// scripts/build-lambdas.sh): it validates a training request, checks its data and names the training job.
package main

import (
	"github.com/mdlc/mdlc/lambdas/contract"
	"github.com/mdlc/mdlc/lambdas/internal/start"
)

func main() { start.Function(contract.InitializeTrainingFunction) }
