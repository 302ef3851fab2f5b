// Package parity emits the mdlc pipelines as Amazon States Language for AWS Step Functions — the training and
// batch-inference state machines the Temporal workflows replace — from the same configuration the worker uses,
// and deploys them. Its tests run both engines over the same scenarios against localaws and show that they
// take the same decisions and send SageMaker the same requests.
//
// The state machines are typed Go values (StateMachine, Task, Choice, Pass, Fail, Succeed), built by pure
// functions of Config (Training, BatchInference) and checked by StateMachine.Validate. Task parameters are
// rendered from the worker's own request builders (activities.TrainingJobRequest, ModelRequest,
// TransformJobRequest), so a change to a request reaches both engines. The Lambda tasks pass and select the
// fields of the functions' contract (package lambdas/contract). Timeouts and retries are computed from the
// workflows' step timings (workflows.LambdaTiming, APITiming, JobTiming), and IAMPolicy is checked
// against the actions the Task states need (TaskActions).
//
// Error names. Function errors keep the functions' errorType (InvalidInput, DataNotFound, ...), as both the
// Lambda integration and the activities report them. SageMaker errors are named "SageMaker.<AWS error
// code>" (SageMaker.ValidationException, SageMaker.ThrottlingException). A SageMaker job that ends Failed or
// Stopped fails its .sync task with States.TaskFailed and the job's description as the cause, where the
// activities report JobFailed or JobStopped. No Approved model fails with ModelNotFound in both engines.
package parity
