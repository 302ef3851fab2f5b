package deploycheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/mdlc/mdlc/internal/stack"
)

const (
	stackScript       = "scripts/stack.sh"
	clusterDynConfig  = "deploy/temporal/dynamicconfig.yaml"
	dynamicConfigFlag = "--dynamic-config-value "
)

// TestDynamicConfigEverywhere: every Temporal server the project starts runs with stack.DevServerDynamicConfig
// — the dev server of scripts/stack.sh and the cluster's server (deploy/temporal/dynamicconfig.yaml, which the
// compose cluster profile mounts too). The compose dev server is checked with the compose invariants.
func TestDynamicConfigEverywhere(t *testing.T) {
	root := readSources(t).root
	script, err := os.ReadFile(filepath.Join(root, stackScript))
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := os.ReadFile(filepath.Join(root, clusterDynConfig))
	if err != nil {
		t.Fatal(err)
	}
	if p := dynamicConfigProblems(string(script), cluster); len(p) > 0 {
		t.Error(strings.Join(p, "\n"))
	}
}

// dynamicConfigProblems says where the stack script's dev server flags or the cluster's dynamic config file
// differ from stack.DevServerDynamicConfig.
func dynamicConfigProblems(script string, cluster []byte) []string {
	var file map[string][]struct {
		Value any `yaml:"value"`
	}
	if err := yaml.Unmarshal(cluster, &file); err != nil {
		return []string{fmt.Sprintf("%s: %v", clusterDynConfig, err)}
	}
	var problems []string
	for _, kv := range stack.DevServerDynamicConfig {
		key, value, _ := strings.Cut(kv, "=")
		if !strings.Contains(script, dynamicConfigFlag+kv) {
			problems = append(problems, fmt.Sprintf("%s: the dev server does not get %s%s", stackScript, dynamicConfigFlag, kv))
		}
		if v := file[key]; len(v) != 1 || fmt.Sprint(v[0].Value) != value {
			problems = append(problems, fmt.Sprintf("%s: %s is %v, want the single value %s", clusterDynConfig, key, v, value))
		}
	}
	return problems
}

// TestDynamicConfigProblemsCatchBreakage: a flag missing from the script, and a key missing from or set
// otherwise in the cluster's file, are each reported.
func TestDynamicConfigProblemsCatchBreakage(t *testing.T) {
	var script, cluster strings.Builder
	for _, kv := range stack.DevServerDynamicConfig {
		key, value, _ := strings.Cut(kv, "=")
		script.WriteString(dynamicConfigFlag + kv + " \\\n")
		fmt.Fprintf(&cluster, "%s:\n  - value: %s\n", key, value)
	}
	if p := dynamicConfigProblems(script.String(), []byte(cluster.String())); len(p) > 0 {
		t.Fatalf("the list itself has problems: %v", p)
	}
	key, value, _ := strings.Cut(stack.DevServerDynamicConfig[0], "=")
	for name, broken := range map[string][2]string{
		"flag missing": {"", cluster.String()},
		"key missing":  {script.String(), "other.key:\n  - value: true\n"},
		"other value":  {script.String(), strings.Replace(cluster.String(), "value: "+value, "value: not-"+value, 1)},
		"not YAML":     {script.String(), "{"},
		"two values":   {script.String(), cluster.String() + "  - value: " + value + "\n    constraints: {namespace: x}\n"},
	} {
		if p := dynamicConfigProblems(broken[0], []byte(broken[1])); len(p) == 0 {
			t.Errorf("%s (%s): no problem reported", name, key)
		}
	}
}
