// run.js executes an emitted state machine with aws-local-stepfunctions (an independent ASL engine), its Task
// states bound to a localaws endpoint the way Step Functions' service integrations call AWS:
//
//   arn:<p>:states:::lambda:invoke                      Lambda Invoke; a function error fails the task with
//                                                       its errorType (Lambda.Unknown when it has none)
//   arn:<p>:states:::sagemaker:create<Kind>Job.sync      Create<Kind>Job, then Describe<Kind>Job until the job
//                                                       ends; Failed or Stopped fails with States.TaskFailed
//   arn:<p>:states:::sagemaker:createModel               CreateModel
//   arn:<p>:states:::aws-sdk:sagemaker:<operation>       that SageMaker operation
//   arn:<p>:states:::states:startExecution.sync:2        a nested execution of a definition given in the
//                                                       request, awaited; its output parsed (":2")
//   arn:<p>:states:::aws-sdk:s3:putObject.waitForTaskToken
//                                                       PutObject, then a wait for a callback that never comes:
//                                                       aws-local-stepfunctions has no task tokens and no
//                                                       SendTaskSuccess/SendTaskFailure, so only the state's
//                                                       TimeoutSeconds ends it (States.Timeout). $$.Task.Token
//                                                       is a fixed value per execution, given through the
//                                                       engine's context mock.
//
// SageMaker errors are named "SageMaker.<AWS error code>". The Go tests in parity/ drive it:
//
//   node run.js < request.json > result.json
//
// request: {endpoint, region, definitions: {<state machine ARN>: <definition>}, stateMachineArn,
//           executionName, input, pollMillis}
// result:  {executions: [{stateMachineArn, executionArn, status, output, error, cause, states: [...]}, ...]}
//          the requested execution first, then the nested ones in the order they started.
'use strict';

// aws-local-stepfunctions 3.0.0 calls Promise.withResolvers (Node 22); this is its definition for Node 20.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

const { StateMachine } = require('aws-local-stepfunctions');

/** TaskError is how a handler fails a Task: name is the ASL error name matched by Retry and Catch. */
class TaskError extends Error {
  constructor(name, cause) {
    super(typeof cause === 'string' ? cause : JSON.stringify(cause));
    this.name = name;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function authorization(req, service) {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  return `AWS4-HMAC-SHA256 Credential=test/${day}/${req.region}/${service}/aws4_request, SignedHeaders=host, Signature=0`;
}

async function sagemaker(req, operation, body) {
  const res = await fetch(req.endpoint + '/', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': 'SageMaker.' + operation,
      Authorization: authorization(req, 'sagemaker'),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json = {};
  try { json = text ? JSON.parse(text) : {}; } catch { json = { message: text }; }
  if (!res.ok) {
    const code = String(json.__type || res.headers.get('x-amzn-errortype') || 'UnknownError').split('#').pop().split(':')[0];
    throw new TaskError('SageMaker.' + code, json.message || json.Message || text);
  }
  return json;
}

async function putObject(req, params) {
  const url = `${req.endpoint}/${params.Bucket}/${params.Key.split('/').map(encodeURIComponent).join('/')}`;
  const res = await fetch(url, {
    method: 'PUT',
    headers: { 'Content-Type': params.ContentType || 'application/octet-stream', Authorization: authorization(req, 's3') },
    body: typeof params.Body === 'string' ? params.Body : JSON.stringify(params.Body),
  });
  if (!res.ok) throw new TaskError('S3.' + res.status, await res.text());
  return {};
}

async function invokeLambda(req, params) {
  const url = `${req.endpoint}/2015-03-31/functions/${encodeURIComponent(params.FunctionName)}/invocations`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: authorization(req, 'lambda') },
    body: JSON.stringify(params.Payload === undefined ? {} : params.Payload),
  });
  const text = await res.text();
  let payload = null;
  try { payload = text ? JSON.parse(text) : null; } catch { payload = text; }
  if (!res.ok) {
    const code = String(res.headers.get('x-amzn-errortype') || (payload && payload.Type) || 'ServiceException').split(':')[0];
    throw new TaskError('Lambda.' + code, (payload && (payload.message || payload.Message)) || text);
  }
  if (res.headers.get('x-amz-function-error')) {
    const type = (payload && payload.errorType) || 'Lambda.Unknown';
    throw new TaskError(type, (payload && payload.errorMessage) || text);
  }
  return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: res.status };
}

async function runJob(req, kind, params) {
  await sagemaker(req, `Create${kind}Job`, params);
  const name = params[`${kind}JobName`];
  for (;;) {
    const job = await sagemaker(req, `Describe${kind}Job`, { [`${kind}JobName`]: name });
    const status = job[`${kind}JobStatus`];
    if (status === 'Completed') return job;
    if (status === 'Failed' || status === 'Stopped') throw new TaskError('States.TaskFailed', job);
    await sleep(req.pollMillis || 200);
  }
}

/** handlerFor returns the local handler that does what Step Functions does for resource. */
function handlerFor(req, resource, nested) {
  const integration = resource.replace(/^arn:[^:]+:states:::/, '');
  let m;
  if (integration === 'lambda:invoke') return (input) => invokeLambda(req, input);
  if ((m = /^sagemaker:create(Training|Transform)Job\.sync$/.exec(integration))) return (input) => runJob(req, m[1], input);
  if (integration === 'sagemaker:createModel') return (input) => sagemaker(req, 'CreateModel', input);
  if ((m = /^aws-sdk:sagemaker:([a-zA-Z]+)$/.exec(integration))) {
    const op = m[1][0].toUpperCase() + m[1].slice(1);
    return (input) => sagemaker(req, op, input);
  }
  if (integration === 'states:startExecution.sync:2') return (input) => nested(input);
  if (integration === 'aws-sdk:s3:putObject.waitForTaskToken') {
    return async (input) => {
      await putObject(req, input);
      return new Promise(() => {}); // no SendTaskSuccess/SendTaskFailure can reach this engine
    };
  }
  throw new Error(`run.js: no local binding for resource ${resource}`);
}

async function execute(req, arn, name, input, executions) {
  const definition = req.definitions[arn];
  if (!definition) throw new TaskError('StepFunctions.StateMachineDoesNotExistException', `no state machine ${arn}`);
  const smName = arn.split(':').pop();
  const executionArn = arn.replace(':stateMachine:', ':execution:') + ':' + name;
  const record = { stateMachineArn: arn, executionArn, status: 'RUNNING', states: [], retries: 0 };
  executions.push(record);

  const nested = async (params) => {
    const childInput = typeof params.Input === 'string' ? JSON.parse(params.Input) : (params.Input || {});
    const child = await execute(req, params.StateMachineArn, params.Name || `${name}-child`, childInput, executions);
    if (child.status !== 'SUCCEEDED') {
      throw new TaskError('States.TaskFailed', { ExecutionArn: child.executionArn, Status: 'FAILED', Error: child.error, Cause: child.cause });
    }
    return { ExecutionArn: child.executionArn, Output: child.output, Status: 'SUCCEEDED' };
  };
  const handlers = {};
  const retryIntervals = {};
  for (const [stateName, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Task') continue;
    handlers[stateName] = handlerFor(req, state.Resource, nested);
    retryIntervals[stateName] = 10; // milliseconds: tests need not wait out real backoff
  }
  const machine = new StateMachine(definition);
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: retryIntervals },
    context: {
      Execution: { Id: executionArn, Name: name, Input: input, StartTime: new Date().toISOString(), RoleArn: 'arn:aws:iam::000000000000:role/mdlc-states' },
      StateMachine: { Id: arn, Name: smName },
      Task: { Token: `${executionArn}/task-token` },
    },
  });
  const logs = (async () => {
    for await (const ev of execution.eventLogs) {
      if (ev.type === 'StateEntered') record.states.push(ev.state.name);
      if (ev.type === 'StateRetried') record.retries++;
      if (ev.type === 'ExecutionFailed') { record.error = ev.Error; record.cause = ev.Cause; }
    }
  })();
  try {
    record.output = await execution.result;
    record.status = 'SUCCEEDED';
  } catch (err) {
    record.status = 'FAILED';
    if (record.error === undefined) { record.error = err.name; record.cause = err.message; }
  }
  await logs;
  return record;
}

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const executions = [];
  await execute(req, req.stateMachineArn, req.executionName, req.input, executions);
  process.stdout.write(JSON.stringify({ executions }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`run.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
