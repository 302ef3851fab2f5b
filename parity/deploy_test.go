package parity

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// fakeSFN is a recording Step Functions endpoint (JSON 1.0, as the real service) holding state machines by
// name; ListStateMachines pages by two to exercise pagination.
type fakeSFN struct {
	t        *testing.T
	mu       sync.Mutex
	machines map[string]fakeMachine
	names    []string
	calls    []string
	deny     string // an operation answered with AccessDeniedException
}

type fakeMachine struct{ arn, definition, role, typ string }

func newFakeSFN(t *testing.T, others ...string) *fakeSFN {
	f := &fakeSFN{t: t, machines: map[string]fakeMachine{}}
	for _, n := range others {
		f.put(n, fakeMachine{definition: "{}", role: "r", typ: "STANDARD"})
	}
	return f
}

func (f *fakeSFN) put(name string, m fakeMachine) string {
	if old, ok := f.machines[name]; ok {
		m.arn = old.arn
	} else {
		m.arn = "arn:aws:states:us-west-2:123456789012:stateMachine:" + name
		f.names = append(f.names, name)
	}
	f.machines[name] = m
	return m.arn
}

func (f *fakeSFN) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
	f.calls = append(f.calls, op)
	body, _ := io.ReadAll(r.Body)
	var in struct {
		Name, Definition, RoleArn, Type, StateMachineArn, NextToken string
		Tags                                                        []struct{ Key, Value string }
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
		f.t.Errorf("%s: content type %q", op, ct)
	}
	if err := json.Unmarshal(body, &in); err != nil {
		f.t.Errorf("%s: body %s: %v", op, body, err)
	}
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_ = json.NewEncoder(w).Encode(v)
	}
	if op == f.deny {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"AccessDeniedException","message":"not allowed"}`)
		return
	}
	switch op {
	case "ListStateMachines":
		start := 0
		fmt.Sscan(in.NextToken, &start)
		end := min(start+2, len(f.names))
		var items []map[string]any
		for _, n := range f.names[start:end] {
			items = append(items, map[string]any{"name": n, "stateMachineArn": f.machines[n].arn, "type": "STANDARD", "creationDate": 1.7e9})
		}
		out := map[string]any{"stateMachines": items}
		if end < len(f.names) {
			out["nextToken"] = fmt.Sprint(end)
		}
		reply(out)
	case "CreateStateMachine":
		if _, ok := f.machines[in.Name]; ok {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"StateMachineAlreadyExists","message":"exists"}`)
			return
		}
		if len(in.Tags) == 0 {
			f.t.Errorf("CreateStateMachine %s without tags", in.Name)
		}
		reply(map[string]any{"stateMachineArn": f.put(in.Name, fakeMachine{definition: in.Definition, role: in.RoleArn, typ: in.Type}), "creationDate": 1.7e9})
	case "UpdateStateMachine":
		for _, n := range f.names {
			if m := f.machines[n]; m.arn == in.StateMachineArn {
				m.definition, m.role = in.Definition, in.RoleArn
				f.machines[n] = m
				reply(map[string]any{"updateDate": 1.7e9})
				return
			}
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"StateMachineDoesNotExist","message":"no such state machine"}`)
	default:
		f.t.Errorf("unexpected operation %q", op)
		w.WriteHeader(http.StatusBadRequest)
	}
}

func sfnClient(url string) *sfn.Client {
	return sfn.New(sfn.Options{
		Region:       "us-west-2",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

const deployRole = "arn:aws:iam::123456789012:role/mdlc-states"

func TestDeployCreatesThenUpdates(t *testing.T) {
	fake := newFakeSFN(t, "other-1", "other-2", "other-3")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	client := sfnClient(srv.URL)
	ctx := context.Background()

	for round, wantCreated := range []bool{true, false} {
		fake.calls = nil
		cfg := goldenConfig()
		if round == 1 {
			cfg.Activities.DefaultThreshold = 0.7 // a changed setting reaches the deployed definition
		}
		got, err := Deploy(ctx, client, cfg, deployRole)
		if err != nil {
			t.Fatalf("deploy %d: %v", round+1, err)
		}
		if len(got) != 2 || got[0].Pipeline != TrainingPipeline || got[1].Pipeline != BatchInferencePipeline {
			t.Fatalf("deploy %d returned %+v", round+1, got)
		}
		for _, d := range got {
			if d.Created != wantCreated {
				t.Errorf("deploy %d: %s Created=%v, want %v", round+1, d.Name, d.Created, wantCreated)
			}
			m := fake.machines[d.Name]
			if m.arn != d.Arn || m.role != deployRole || m.typ != "STANDARD" {
				t.Errorf("deploy %d: %s stored as %+v", round+1, d.Name, m)
			}
			var want bytes.Buffer
			if err := Emit(&want, d.Pipeline, cfg); err != nil {
				t.Fatal(err)
			}
			if m.definition != want.String() {
				t.Errorf("deploy %d: %s definition differs from Emit's", round+1, d.Name)
			}
		}
		// Three other machines, then five: two pages, then three.
		wantCalls := "ListStateMachines ListStateMachines CreateStateMachine CreateStateMachine"
		if !wantCreated {
			wantCalls = "ListStateMachines ListStateMachines ListStateMachines UpdateStateMachine UpdateStateMachine"
		}
		if got := strings.Join(fake.calls, " "); got != wantCalls {
			t.Errorf("deploy %d calls: %s\nwant %s", round+1, got, wantCalls)
		}
	}
	if !strings.Contains(fake.machines[DefaultBatchInferenceStateMachine].definition, `"Result": 0.7`) {
		t.Error("the update did not carry the changed default threshold")
	}
	if len(fake.machines) != 5 {
		t.Errorf("%d state machines after two deploys, want 3 others + 2", len(fake.machines))
	}
}

func TestDeployErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		deny   string
		role   string
		region string
		want   string
	}{
		{"list denied", "ListStateMachines", deployRole, "us-west-2", "list state machines"},
		{"create denied", "CreateStateMachine", deployRole, "us-west-2", `create state machine "mdlc-training"`},
		{"bad role", "", "mdlc-states", "us-west-2", "not an IAM role ARN"},
		{"region of another client", "", deployRole, "eu-west-1", "set the region and account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeSFN(t)
			fake.deny = tc.deny
			srv := httptest.NewServer(fake)
			defer srv.Close()
			cfg := goldenConfig()
			cfg.Region = tc.region
			_, err := Deploy(context.Background(), sfnClient(srv.URL), cfg, tc.role)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v does not mention %q", err, tc.want)
			}
		})
	}
}

func TestIAMPolicy(t *testing.T) {
	for _, tc := range []struct {
		p    Pipeline
		want []string
	}{
		{TrainingPipeline, []string{"lambda:InvokeFunction", "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
			"sagemaker:AddTags", "events:PutTargets", "events:PutRule", "events:DescribeRule", "sagemaker:CreateModel",
			"sagemaker:CreateModelPackage", "sagemaker:CreateModelPackageGroup", "sagemaker:DescribeModelPackageGroup", "iam:PassRole",
			"function:initialize-training", "StepFunctionsGetEventsForSageMakerTrainingJobsRule", "sagemaker.amazonaws.com"}},
		{BatchInferencePipeline, []string{"lambda:InvokeFunction", "sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage",
			"sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob", "states:StartExecution",
			"states:DescribeExecution", "states:StopExecution", "stateMachine:mdlc-training", "execution:mdlc-training:*",
			"function:initialize-inference", "function:monitor-performance", "StepFunctionsGetEventsForStepFunctionsExecutionRule"}},
	} {
		t.Run(string(tc.p), func(t *testing.T) {
			doc, err := IAMPolicy(tc.p, goldenConfig())
			if err != nil {
				t.Fatal(err)
			}
			b, err := doc.JSON()
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !bytes.Contains(b, []byte(w)) {
					t.Errorf("policy lacks %q:\n%s", w, b)
				}
			}
			if bytes.Contains(b, []byte("arn:aws-cn")) {
				t.Error("policy names another partition")
			}
		})
	}
	cn := goldenConfig()
	cn.Region = "cn-north-1"
	doc, err := IAMPolicy(BatchInferencePipeline, cn)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := doc.JSON()
	if !bytes.Contains(b, []byte("arn:aws-cn:states:cn-north-1:123456789012:stateMachine:mdlc-training")) {
		t.Errorf("cn-north-1 policy does not use the aws-cn partition:\n%s", b)
	}
	if _, err := IAMPolicy("nightly", goldenConfig()); err == nil {
		t.Error("IAMPolicy accepted an unknown pipeline")
	}
}

// TestIAMPolicyFollowsTheTasks: the policy's statements are written by hand, to scope each action to its
// resources; IAMPolicy checks them against the actions the built states need (TaskActions), so that a state
// added, removed or changed without its permission fails here and in every emit.
func TestIAMPolicyFollowsTheTasks(t *testing.T) {
	for _, p := range []Pipeline{TrainingPipeline, BatchInferencePipeline, guardedPipeline} {
		cfg := goldenConfig()
		if p == guardedPipeline {
			p, cfg = BatchInferencePipeline, guardedConfig()
		}
		m, err := Build(p, cfg)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := IAMPolicy(p, cfg)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if err := checkPolicy(m, doc); err != nil {
			t.Fatalf("%s: %v", p, err)
		}

		// A new state whose API the policy does not allow.
		extra := *m
		extra.States = append(slices.Clone(m.States), NamedState{Name: "Delete Model", State: &Task{
			Resource: goldenConfig().WithDefaults().serviceARN("aws-sdk:sagemaker:deleteModel"), Parameters: json.RawMessage(`{"ModelName":"m"}`), End: true}})
		if err := checkPolicy(&extra, doc); err == nil || !strings.Contains(err.Error(), "a task needs sagemaker:DeleteModel") {
			t.Errorf("%s: a state calling DeleteModel: error %v, want one naming sagemaker:DeleteModel", p, err)
		}

		// A statement that allows more than the states need, or an action a state needs taken away.
		first := doc.Statement[0].Action[0]
		wider := *doc
		wider.Statement = slices.Clone(doc.Statement)
		wider.Statement[0].Action = append(slices.Clone(doc.Statement[0].Action[1:]), "sagemaker:DeleteModel")
		err = checkPolicy(m, &wider)
		for _, want := range []string{"a statement allows sagemaker:DeleteModel, which no task needs", "a task needs " + first} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: policy without %s and with DeleteModel: error %v, want %q", p, first, err, want)
			}
		}
	}
}
