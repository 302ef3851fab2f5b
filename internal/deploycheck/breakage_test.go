package deploycheck

import (
	"bytes"
	"strings"
	"testing"
)

// TestChecksCatchBreakage breaks the real files one way at a time and expects the checks to say so: a check
// that passes the real files but would pass a broken one too is no check.
func TestChecksCatchBreakage(t *testing.T) {
	orig := readSources(t)
	const (
		dockerfile   = "Dockerfile"
		compose      = "docker-compose.yml"
		dockerignore = ".dockerignore"
	)
	tests := []struct {
		name, file, old, new, want string
	}{
		{"Go image older than go.mod", dockerfile, "golang:1.26.8-bookworm", "golang:1.25.0-bookworm", "the version go.mod asks for"},
		{"latest base image", dockerfile, "ARG DEBIAN_IMAGE=debian:bookworm-slim", "ARG DEBIAN_IMAGE=debian:latest", "uses the latest tag"},
		{"untagged base image", dockerfile, "static-debian12:nonroot", "static-debian12", "has no tag"},
		{"FROM without a default", dockerfile, "ARG STATIC_IMAGE=gcr.io/distroless/static-debian12:nonroot", "ARG STATIC_IMAGE", "have no default"},
		{"no -trimpath", dockerfile, "go build -trimpath", "go build", "without -trimpath"},
		{"cgo on", dockerfile, "ENV CGO_ENABLED=0 ", "ENV ", "cgo on"},
		{"no module layer", dockerfile, "COPY go.mod go.sum ./", "COPY . .", "the source is copied before"},
		{"no cross-compilation", dockerfile, "FROM --platform=$BUILDPLATFORM ", "FROM ", "BUILDPLATFORM"},
		{"binary not built", dockerfile, " ./starter ", " ", "builds no such binary"},
		{"binary not a main package", dockerfile, "./internal/deploycheck/httpprobe", "./internal/deploycheck", "not a main package"},
		{"binary built but not copied", dockerfile, "COPY --from=build /out/starter /usr/local/bin/", "", "no target copies it"},
		{"entrypoint elsewhere", dockerfile, `ENTRYPOINT ["/usr/local/bin/worker"]`, `ENTRYPOINT ["/worker"]`, "ENTRYPOINT runs /worker"},
		{"shell-form entrypoint", dockerfile, `ENTRYPOINT ["/usr/local/bin/worker"]`, `ENTRYPOINT /usr/local/bin/worker`, "exec form"},
		{"root user", dockerfile, "USER nonroot:nonroot", "USER root", "runs as root"},
		{"no health check", dockerfile, "HEALTHCHECK --interval=10s --timeout=3s --start-period=15s", "#", "has no HEALTHCHECK"},
		{"health check on a closed port", dockerfile, "http://127.0.0.1:9464/metrics", "http://127.0.0.1:9999/metrics", "not one of the EXPOSEd ports"},
		{"xgboost without its CLI", dockerfile, "ARG XGBOOST_VERSION=1.7.4-1", "ARG XGBOOST_VERSION=3.2.0-1", "removed its command-line program"},
		{"xgboost unpinned", dockerfile, `"xgboost=${XGBOOST_VERSION}"`, "xgboost", "pinned xgboost"},

		{"version key", compose, "services:\n", "version: '3.9'\nservices:\n", "no version key"},
		{"port on every interface", compose, `"127.0.0.1:4570:4570"`, `"4570:4570"`, `on host address ""`},
		{"port on the wrong host port", compose, `"127.0.0.1:7233:7233"`, `"127.0.0.1:17233:7233"`, "TEMPORAL_ADDRESS default"},
		{"UI not published", compose, `      - "127.0.0.1:8233:8233" # web UI: http://127.0.0.1:8233` + "\n", "", "MDLC_UI_ADDRESS default"},
		{"latest image", compose, "temporalio/temporal:1.5.1", "temporalio/temporal:latest", "uses the latest tag"},
		{"Temporal CLI other than the Makefile's", compose, "temporalio/temporal:1.5.1", "temporalio/temporal:1.4.0", "the Makefile pins"},
		{"built image without a name", compose, "    image: mdlc-worker:local\n", "", "Compose would tag it latest"},
		{"unknown target", compose, "target: starter", "target: cli", `build target "cli" is not a stage`},
		{"started is not healthy", compose, "condition: service_healthy", "condition: service_started", "want service_healthy"},
		{"dependency without health check", compose, `      test: ["CMD", "temporal", "operator", "cluster", "health", "--address", "127.0.0.1:7233"]`, `      disable: true`, "temporal has no health check"},
		{"undeclared volume", compose, "\n  localaws-data:\n", "\n", "not declared"},
		{"database off the volume", compose, "--db-filename=/home/temporal/temporal.db", "--db-filename=/tmp/temporal.db", "not on a named volume"},
		{"dev server on loopback", compose, "--ip=0.0.0.0", "--ip=127.0.0.1", "want 0.0.0.0"},
		{"search attribute missing", compose, "      - --search-attribute=DataDate=Keyword\n", "", "search attribute DataDate"},
		{"dev server without eager activities", compose, "      - --dynamic-config-value=system.enableActivityEagerExecution=true\n", "", "--dynamic-config-value=system.enableActivityEagerExecution=true"},
		{"localaws refuses its service name", compose, `, "--allow-host=localaws"]`, `]`, "does not admit that Host"},
		{"localaws health check under another name", compose, `"http://127.0.0.1:4570/_localaws/health"`, `"http://localaws.internal:4570/_localaws/health"`, "which localaws refuses"},
		{"localaws without --allow-remote", compose, `"--allow-remote", `, "", "without --allow-remote"},
		{"worker on the host's loopback", compose, "TEMPORAL_ADDRESS: temporal:7233\n      MDLC_TARGET", "TEMPORAL_ADDRESS: 127.0.0.1:7233\n      MDLC_TARGET", "TEMPORAL_ADDRESS=\"127.0.0.1:7233\""},
		{"worker on a wrong localaws port", compose, "AWS_ENDPOINT_URL: http://localaws:4570\n      MDLC_METRICS_ADDR", "AWS_ENDPOINT_URL: http://localaws:4566\n      MDLC_METRICS_ADDR", "want localaws:4570"},
		{"metrics on the container's loopback", compose, "MDLC_METRICS_ADDR: 0.0.0.0:9464", "MDLC_METRICS_ADDR: 127.0.0.1:9464", "MDLC_METRICS_ADDR"},

		{".git sent", dockerignore, "\n.git\n", "\n", ".git/HEAD is sent"},
		{"node_modules sent", dockerignore, "**/node_modules", "", "node_modules"},
		{"sources excluded", dockerignore, "\ndist\n", "\ndist\n*.go\n**/*.go\n", "compiles it"},
		{"go.sum excluded", dockerignore, "\ndist\n", "\ndist\ngo.*\n", "go.sum is excluded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := orig
			file := map[string]*[]byte{dockerfile: &src.dockerfile, compose: &src.compose, dockerignore: &src.dockerignore}[tt.file]
			if !bytes.Contains(*file, []byte(tt.old)) {
				t.Fatalf("%s no longer contains %q: update this case to break the file another way", tt.file, tt.old)
			}
			*file = bytes.ReplaceAll(*file, []byte(tt.old), []byte(tt.new))

			var got problems
			d, err := parseDockerfile(src.dockerfile)
			if err != nil {
				got.add("Dockerfile: %v", err)
			} else {
				got = append(got, checkDockerfile(src, d)...)
				if c, err := parseCompose(src.compose); err != nil {
					got.add("docker-compose.yml: %v", err)
				} else {
					got = append(got, checkCompose(src, c, d)...)
				}
			}
			got = append(got, checkDockerignore(src)...)
			for _, p := range got {
				if strings.Contains(p, tt.want) {
					t.Logf("caught: %s", p)
					return
				}
			}
			t.Errorf("no problem mentions %q; got %d:\n  %s", tt.want, len(got), strings.Join(got, "\n  "))
		})
	}
}
