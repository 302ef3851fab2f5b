package deploycheck

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mdlc/mdlc/workflows"
)

// clusterProfile is the docker-compose.yml profile that runs Temporal's own server on PostgreSQL.
const clusterProfile = "cluster"

// checkCluster returns the invariants the cluster profile of docker-compose.yml breaks: its images at the
// versions the Makefile pins for the local cluster (and the shard count of deploy/temporal's config, which can
// never change), every service behind the profile, health checks where something waits, the schema before the
// server, the namespace and search attributes before the worker, and the worker on the cluster's server.
func checkCluster(src sources, c composeFile, d *dockerfile) problems {
	var ps problems
	byImage := func(repo string) func(composeService) bool {
		return func(s composeService) bool {
			return strings.HasPrefix(s.Image, repo+":") && slices.Contains(s.Profiles, clusterProfile)
		}
	}
	pgName, _, ok1 := role(c, &ps, "PostgreSQL (image postgres) in profile cluster", byImage("postgres"))
	serverName, server, ok2 := role(c, &ps, "the Temporal server (image temporalio/server) in profile cluster", byImage("temporalio/server"))
	uiName, ui, ok3 := role(c, &ps, "the Temporal web UI (image temporalio/ui) in profile cluster", byImage("temporalio/ui"))
	workerName, worker, ok4 := role(c, &ps, "the worker built from target worker in profile cluster", func(s composeService) bool {
		return s.Build != nil && s.Build.Target == "worker" && slices.Contains(s.Profiles, clusterProfile)
	})
	var jobs []string
	for name, s := range c.Services {
		if strings.HasPrefix(s.Image, "temporalio/admin-tools:") && slices.Contains(s.Profiles, clusterProfile) {
			jobs = append(jobs, name)
		}
	}
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return ps
	}

	// Pinned to the Makefile's versions.
	serverVersion, err := makefileVar(src.root, "TEMPORAL_SERVER_VERSION")
	if err != nil {
		ps.add("%v", err)
	}
	uiVersion, err := makefileVar(src.root, "TEMPORAL_UI_VERSION")
	if err != nil {
		ps.add("%v", err)
	}
	if want := "temporalio/server:" + strings.TrimPrefix(serverVersion, "v"); server.Image != want {
		ps.add("service %s: image %s: want %s, the server version the Makefile pins for MDLC_TEMPORAL=cluster", serverName, server.Image, want)
	}
	if want := "temporalio/ui:" + strings.TrimPrefix(uiVersion, "v"); ui.Image != want {
		ps.add("service %s: image %s: want %s, the UI version the Makefile pins", uiName, ui.Image, want)
	}
	for _, name := range jobs {
		if want := "temporalio/admin-tools:" + strings.TrimPrefix(serverVersion, "v"); c.Services[name].Image != want {
			ps.add("service %s: image %s: want %s, the tools of the server version", name, c.Services[name].Image, want)
		}
	}

	// The shard count is the repository config's: it can never change once a server has started on a database.
	cfg, err := os.ReadFile(filepath.Join(src.root, "deploy", "temporal", "server", "mdlc.yaml"))
	if err != nil {
		ps.add("%v", err)
	} else if m := regexp.MustCompile(`(?m)^\s*numHistoryShards:\s*(\d+)\s*$`).FindSubmatch(cfg); m == nil {
		ps.add("deploy/temporal/server/mdlc.yaml sets no numHistoryShards")
	} else if got := server.env()["NUM_HISTORY_SHARDS"]; got != string(m[1]) {
		ps.add("service %s: NUM_HISTORY_SHARDS=%q: want %s, as deploy/temporal/server/mdlc.yaml", serverName, got, m[1])
	}

	// The server waits for its schema, the worker for the namespace; every one of them waits for what it uses.
	schemaFirst, namespaced := false, false
	for dep, cond := range server.dependsOn() {
		if slices.Contains(jobs, dep) && cond == "service_completed_successfully" && slices.Contains(c.Services[dep].command(), "schema") {
			schemaFirst = true
		}
	}
	if !schemaFirst {
		ps.add("service %s does not wait for a schema job (admin-tools, command schema) to complete", serverName)
	}
	for dep := range worker.dependsOn() {
		if s, ok := c.Services[dep]; ok && slices.Contains(jobs, dep) && slices.Contains(s.command(), "namespace") {
			namespaced = true
			for _, attr := range workflows.SearchAttributes() {
				if want := attr.Name + "=" + attr.Type; !slices.Contains(s.flags("--search-attribute"), want) {
					ps.add("service %s does not create the search attribute %s the workflows set: want --search-attribute=%s", dep, attr.Name, want)
				}
			}
			if env := s.env()["TEMPORAL_ADDRESS"]; !strings.HasPrefix(env, serverName+":") {
				ps.add("service %s: TEMPORAL_ADDRESS=%q: want %s:7233", dep, env, serverName)
			}
		}
	}
	if !namespaced {
		ps.add("service %s does not wait for the namespace job (admin-tools, command namespace)", workerName)
	}
	for _, name := range []string{pgName, serverName, uiName} {
		if !hasHealthcheck(c.Services[name], d) {
			ps.add("service %s has no health check", name)
		}
	}
	if host, port, err := net.SplitHostPort(worker.env()["TEMPORAL_ADDRESS"]); err != nil || host != serverName || port != "7233" {
		ps.add("service %s: TEMPORAL_ADDRESS=%q: want %s:7233, the cluster's server", workerName, worker.env()["TEMPORAL_ADDRESS"], serverName)
	}
	if env := ui.env()["TEMPORAL_ADDRESS"]; env != serverName+":7233" {
		ps.add("service %s: TEMPORAL_ADDRESS=%q: want %s:7233", uiName, env, serverName)
	}
	// Replicas of the worker must not fight over one host port.
	if len(worker.Ports) > 0 {
		ps.add("service %s publishes ports: scaled to several replicas they would clash", workerName)
	}
	return ps
}

func TestComposeClusterProfile(t *testing.T) {
	src := readSources(t)
	d, err := parseDockerfile(src.dockerfile)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	c, err := parseCompose(src.compose)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	report(t, "docker-compose.yml", checkCluster(src, c, d))
}

// TestClusterChecksCatchBreakage breaks the cluster profile one way at a time and expects a check to say so.
func TestClusterChecksCatchBreakage(t *testing.T) {
	orig := readSources(t)
	d, err := parseDockerfile(orig.dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"server image unpinned", "temporalio/server:1.29.1", "temporalio/server:latest", "uses the latest tag"},
		{"server other than the Makefile's", "temporalio/server:1.29.1", "temporalio/server:1.28.0", "the server version the Makefile pins"},
		{"admin tools of another version", "image: temporalio/admin-tools:1.29.1\n    profiles: [\"cluster\"]\n    entrypoint: [\"/bin/sh\", \"/mdlc/compose-setup.sh\"]\n    command: [\"schema\"]",
			"image: temporalio/admin-tools:1.30.0\n    profiles: [\"cluster\"]\n    entrypoint: [\"/bin/sh\", \"/mdlc/compose-setup.sh\"]\n    command: [\"schema\"]", "the tools of the server version"},
		{"UI other than the Makefile's", "temporalio/ui:2.42.1", "temporalio/ui:2.40.0", "the UI version the Makefile pins"},
		{"PostgreSQL on every interface", `"127.0.0.1:5433:5432"`, `"5433:5432"`, `on host address ""`},
		{"UI on every interface", `"127.0.0.1:8234:8080"`, `"0.0.0.0:8234:8080"`, `on host address "0.0.0.0"`},
		{"shard count differs", "NUM_HISTORY_SHARDS: 4", "NUM_HISTORY_SHARDS: 8", "NUM_HISTORY_SHARDS"},
		{"PostgreSQL without health check", `test: ["CMD", "pg_isready", "-U", "temporal", "-h", "127.0.0.1"]`, "disable: true", "postgresql"},
		{"server before its schema", "condition: service_completed_successfully\n    ports:\n      - \"127.0.0.1:7234:7233\"", "condition: service_started\n    ports:\n      - \"127.0.0.1:7234:7233\"", "one-shot job"},
		{"search attribute missing", `, "--search-attribute=DataDate=Keyword"`, "", "search attribute DataDate"},
		{"worker on the dev server", "TEMPORAL_ADDRESS: temporal-cluster:7233\n      MDLC_TARGET: local\n      AWS_ENDPOINT_URL: http://localaws:4570\n    depends_on:\n      temporal-cluster-namespace",
			"TEMPORAL_ADDRESS: temporal:7233\n      MDLC_TARGET: local\n      AWS_ENDPOINT_URL: http://localaws:4570\n    depends_on:\n      temporal-cluster-namespace", "the cluster's server"},
		{"server outside the profile", "image: temporalio/server:1.29.1\n    profiles: [\"cluster\"]\n", "image: temporalio/server:1.29.1\n", "in profile cluster"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(orig.compose, []byte(tc.old)) {
				t.Fatalf("docker-compose.yml no longer contains %q: update this case", tc.old)
			}
			src := orig
			src.compose = bytes.Replace(orig.compose, []byte(tc.old), []byte(tc.new), 1)
			c, err := parseCompose(src.compose)
			if err != nil {
				t.Fatal(err)
			}
			ps := append(checkCompose(src, c, d), checkCluster(src, c, d)...)
			if !slices.ContainsFunc(ps, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("no problem mentions %q; got %q", tc.want, ps)
			}
		})
	}
}
