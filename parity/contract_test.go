package parity

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/mdlc/mdlc/lambdas/contract"
	"github.com/mdlc/mdlc/workflows"
)

// functionTypes are the contract's event and output types of each function, keyed by its default name (the
// name goldenConfig's function ARNs end in).
var functionTypes = map[string]struct{ event, output reflect.Type }{
	contract.InitializeTrainingFunction:  {reflect.TypeFor[contract.InitializeEvent](), reflect.TypeFor[contract.InitializeTrainingOutput]()},
	contract.InitializeInferenceFunction: {reflect.TypeFor[contract.InitializeEvent](), reflect.TypeFor[contract.InitializeInferenceOutput]()},
	contract.MonitorPerformanceFunction:  {reflect.TypeFor[contract.MonitorEvent](), reflect.TypeFor[contract.MonitorOutput]()},
}

// TestLambdaTasksFollowTheContract: the state machines write the functions' events and read their outputs
// by field name, in JSON, where the compiler cannot see them. Every field a Lambda task passes must be a
// field of the contract's event (and every top-level event field must be passed); every path its
// ResultSelector takes from the Payload, and every path a later state reads from the selected result, must
// name a field of the contract's output. Renaming a field of the contract (or a path here) on one side only
// fails this test.
func TestLambdaTasksFollowTheContract(t *testing.T) {
	for _, p := range []Pipeline{TrainingPipeline, BatchInferencePipeline, guardedPipeline} {
		cfg := goldenConfig()
		if p == guardedPipeline {
			p, cfg = BatchInferencePipeline, guardedConfig()
		}
		m, err := Build(p, cfg)
		if err != nil {
			t.Fatal(err)
		}
		def, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		tasks := 0
		for _, s := range m.States {
			task, ok := s.State.(*Task)
			if !ok || !strings.HasSuffix(task.Resource, ":lambda:invoke") {
				continue
			}
			tasks++
			var params struct {
				FunctionName string
				Payload      map[string]any
			}
			if err := json.Unmarshal(task.Parameters, &params); err != nil {
				t.Fatalf("%s %q: parameters %s: %v", p, s.Name, task.Parameters, err)
			}
			name := params.FunctionName[strings.LastIndex(params.FunctionName, ":")+1:]
			types, ok := functionTypes[name]
			if !ok {
				t.Fatalf("%s %q invokes %s, which is not a function of the contract", p, s.Name, params.FunctionName)
			}
			checkPayload(t, fmt.Sprintf("%s %q payload", p, s.Name), params.Payload, types.event)
			for _, f := range jsonFields(types.event) {
				if f == "Evaluation" && s.Name == workflows.StepMonitor {
					continue // batch inference measures its model; the evaluation is the training run's (Evaluate Re-trained Model: Monitor)
				}
				if !hasKey(params.Payload, f) {
					t.Errorf("%s %q does not pass the event field %s", p, s.Name, f)
				}
			}

			var selector map[string]string
			if err := json.Unmarshal(task.ResultSelector, &selector); err != nil {
				t.Fatalf("%s %q: result selector %s: %v", p, s.Name, task.ResultSelector, err)
			}
			selected := map[string]reflect.Type{}
			for key, path := range selector {
				field, ok := strings.CutPrefix(path, "$.Payload.")
				if !ok {
					t.Errorf("%s %q selects %s from outside the Payload", p, s.Name, path)
					continue
				}
				typ, err := fieldAt(types.output, strings.Split(field, "."))
				if err != nil {
					t.Errorf("%s %q selects %s: %v", p, s.Name, path, err)
					continue
				}
				selected[strings.TrimSuffix(key, ".$")] = typ
			}
			// Every later read of the result: "$.Plan.TrainingConfig.TrainingJobName" and the like.
			reads := regexp.MustCompile(regexp.QuoteMeta(string(task.ResultPath))+`((?:\.[A-Za-z0-9_]+)+)`).FindAllStringSubmatch(string(def), -1)
			if len(reads) == 0 {
				t.Errorf("%s %q: no state reads its result at %s", p, s.Name, task.ResultPath)
			}
			for _, r := range reads {
				segs := strings.Split(strings.TrimPrefix(r[1], "."), ".")
				typ, ok := selected[segs[0]]
				if !ok {
					t.Errorf("%s: %s reads %s, which %q does not select", p, r[0], segs[0], s.Name)
					continue
				}
				if _, err := fieldAt(typ, segs[1:]); err != nil {
					t.Errorf("%s: %s: %v", p, r[0], err)
				}
			}
		}
		if tasks == 0 {
			t.Errorf("%s: no Lambda tasks", p)
		}
	}
}

// checkPayload reports every key of payload (a Parameters object, keys of paths ending in ".$") that is not
// a field of t.
func checkPayload(t *testing.T, where string, payload map[string]any, typ reflect.Type) {
	t.Helper()
	for k, v := range payload {
		field := strings.TrimSuffix(k, ".$")
		ft, err := fieldAt(typ, []string{field})
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			checkPayload(t, where+"."+field, sub, ft)
		}
	}
}

func hasKey(m map[string]any, field string) bool {
	_, plain := m[field]
	_, path := m[field+".$"]
	return plain || path
}

// jsonFields returns the JSON names of struct type t's fields.
func jsonFields(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		names = append(names, jsonName(t.Field(i)))
	}
	return names
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// fieldAt returns the type of the field at path (JSON names) in t.
func fieldAt(t reflect.Type, path []string) (reflect.Type, error) {
	for i, seg := range path {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil, fmt.Errorf("%s has no field %s (it is a %s)", strings.Join(path[:i], "."), seg, t.Kind())
		}
		found := false
		for j := range t.NumField() {
			if f := t.Field(j); jsonName(f) == seg {
				t, found = f.Type, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("the contract's %s has no field %s (fields: %v)", t.Name(), seg, jsonFields(t))
		}
	}
	return t, nil
}
