package deploycheck

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mdlc/mdlc/internal/awsconf"
	"github.com/mdlc/mdlc/internal/cli"
	"github.com/mdlc/mdlc/internal/stack"
	"github.com/mdlc/mdlc/internal/temporalconn"
	"github.com/mdlc/mdlc/workflows"
)

// composeFile is the part of the Compose specification docker-compose.yml uses. Fields with a short and a long
// syntax are kept as decoded YAML (any) and read by the methods below.
type composeFile struct {
	Version  *string                   `yaml:"version"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string              `yaml:"image"`
	Build       *composeBuild       `yaml:"build"`
	Command     any                 `yaml:"command"`
	Environment any                 `yaml:"environment"`
	Ports       []any               `yaml:"ports"`
	Volumes     []any               `yaml:"volumes"`
	DependsOn   any                 `yaml:"depends_on"`
	Healthcheck *composeHealthcheck `yaml:"healthcheck"`
	Profiles    []string            `yaml:"profiles"`
	Restart     string              `yaml:"restart"`
}

// oneShot says whether a service is a job that runs to its end (restarted only on failure), as the cluster
// profile's schema and namespace jobs: one waits for it to complete, not to be healthy.
func (s composeService) oneShot() bool { return s.Restart == "on-failure" || s.Restart == "no" }

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
	Target     string `yaml:"target"`
}

type composeHealthcheck struct {
	Test    any  `yaml:"test"`
	Disable bool `yaml:"disable"`
}

func parseCompose(b []byte) (composeFile, error) {
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		return c, err
	}
	if len(c.Services) == 0 {
		return c, errors.New("no services")
	}
	return c, nil
}

// published is one published port: host address and port, container port.
type published struct{ hostIP, hostPort, containerPort string }

// shortPort reads "[HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTOCOL]" and "CONTAINER_PORT".
var shortPort = regexp.MustCompile(`^(?:(?:(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:]+\]):)?(\d+):)?(\d+)(?:/(?:tcp|udp))?$`)

func (s composeService) ports() ([]published, error) {
	var out []published
	for _, p := range s.Ports {
		switch p := p.(type) {
		case string:
			m := shortPort.FindStringSubmatch(p)
			if m == nil {
				return nil, errors.New("port " + p + ": want HOST_IP:HOST_PORT:CONTAINER_PORT")
			}
			out = append(out, published{m[1], m[2], m[3]})
		case map[string]any:
			out = append(out, published{str(p["host_ip"]), str(p["published"]), str(p["target"])})
		default:
			return nil, errors.New("port " + str(p) + ": want a string or a mapping")
		}
	}
	return out, nil
}

// command returns the service's command as argv.
func (s composeService) command() []string {
	switch c := s.Command.(type) {
	case string:
		return strings.Fields(c)
	case []any:
		var out []string
		for _, a := range c {
			out = append(out, str(a))
		}
		return out
	}
	return nil
}

// env returns the service's environment, from either syntax.
func (s composeService) env() map[string]string {
	out := map[string]string{}
	switch e := s.Environment.(type) {
	case map[string]any:
		for k, v := range e {
			out[k] = str(v)
		}
	case []any:
		for _, kv := range e {
			k, v, _ := strings.Cut(str(kv), "=")
			out[k] = v
		}
	}
	return out
}

// dependsOn returns each dependency's condition ("" for the short syntax).
func (s composeService) dependsOn() map[string]string {
	out := map[string]string{}
	switch d := s.DependsOn.(type) {
	case []any:
		for _, name := range d {
			out[str(name)] = ""
		}
	case map[string]any:
		for name, v := range d {
			cond := ""
			if m, ok := v.(map[string]any); ok {
				cond = str(m["condition"])
			}
			out[name] = cond
		}
	}
	return out
}

// mounts returns the service's volume mounts, source → container path ("" is an anonymous volume).
func (s composeService) mounts() map[string]string {
	out := map[string]string{}
	for _, v := range s.Volumes {
		switch v := v.(type) {
		case string:
			if src, dst, ok := strings.Cut(v, ":"); ok {
				dst, _, _ = strings.Cut(dst, ":")
				out[src] = dst
			} else {
				out[""] = v
			}
		case map[string]any:
			out[str(v["source"])] = str(v["target"])
		}
	}
	return out
}

// flag returns the last value of --name in the service's command, in either --name=value or --name value form.
func (s composeService) flag(name string) string {
	vs := s.flags(name)
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// flags returns every value of --name in the service's command.
func (s composeService) flags(name string) []string {
	argv := s.command()
	var out []string
	for i, a := range argv {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			out = append(out, v)
		} else if a == name && i+1 < len(argv) {
			out = append(out, argv[i+1])
		}
	}
	return out
}

func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		b, _ := yaml.Marshal(v)
		return strings.TrimSpace(string(b))
	}
}

// hasHealthcheck says whether a service has a health check, its own or its Dockerfile target's.
func hasHealthcheck(s composeService, d *dockerfile) bool {
	if s.Healthcheck != nil {
		test := str(s.Healthcheck.Test)
		return !s.Healthcheck.Disable && test != "" && !strings.Contains(test, "NONE")
	}
	if s.Build != nil {
		if st := d.stage(s.Build.Target); st != nil {
			_, ok := st.last("HEALTHCHECK")
			return ok
		}
	}
	return false
}

// onNamedVolume says whether path lies in a directory where the service mounts a declared named volume.
func onNamedVolume(c composeFile, s composeService, path string) bool {
	if path == "" {
		return false
	}
	for src, dst := range s.mounts() {
		if _, ok := c.Volumes[src]; ok && (path == dst || strings.HasPrefix(path, strings.TrimSuffix(dst, "/")+"/")) {
			return true
		}
	}
	return false
}

// role finds the one service that plays a role, e.g. the one built from target worker.
func role(c composeFile, ps *problems, what string, is func(composeService) bool) (string, composeService, bool) {
	var found []string
	for name, s := range c.Services {
		if is(s) {
			found = append(found, name)
		}
	}
	if len(found) != 1 {
		ps.add("want exactly one service that is %s, found %v", what, found)
		return "", composeService{}, false
	}
	return found[0], c.Services[found[0]], true
}

// builtFrom matches the service started by default (no profile) that is built from a Dockerfile target.
func builtFrom(target string) func(composeService) bool {
	return func(s composeService) bool { return s.Build != nil && s.Build.Target == target && len(s.Profiles) == 0 }
}

// checkCompose returns the invariants docker-compose.yml breaks.
func checkCompose(src sources, c composeFile, d *dockerfile) problems {
	var ps problems
	if c.Version != nil {
		ps.add("version: %q: the Compose specification has no version key (Compose warns that it is obsolete)", *c.Version)
	}
	for name, s := range c.Services {
		ports, err := s.ports()
		if err != nil {
			ps.add("service %s: %v", name, err)
		}
		for _, p := range ports {
			if p.hostIP != "127.0.0.1" {
				ps.add("service %s publishes container port %s on host address %q: localaws and the dev server have no authentication; publish on 127.0.0.1 only",
					name, p.containerPort, p.hostIP)
			}
		}

		switch {
		case s.Image == "" && s.Build != nil:
			ps.add("service %s is built but has no image: Compose would tag it latest; set image: <name>:<tag>", name)
		case s.Image == "":
			ps.add("service %s has neither image nor build", name)
		default:
			if why := pinned(s.Image); why != "" {
				ps.add("service %s: image %s %s", name, s.Image, why)
			}
		}

		if s.Build != nil {
			if s.Build.Context != "." || (s.Build.Dockerfile != "" && s.Build.Dockerfile != "Dockerfile") {
				ps.add("service %s: build context %q, dockerfile %q: want the repository's Dockerfile, context .", name, s.Build.Context, s.Build.Dockerfile)
			}
			if s.Build.Target == "" {
				ps.add("service %s: build without target: it would get the Dockerfile's last stage", name)
			} else if d.stage(s.Build.Target) == nil {
				ps.add("service %s: build target %q is not a stage of the Dockerfile", name, s.Build.Target)
			}
		}

		for dep, cond := range s.dependsOn() {
			ds, ok := c.Services[dep]
			if !ok {
				ps.add("service %s depends on %s, which does not exist", name, dep)
				continue
			}
			if ds.oneShot() {
				if cond != "service_completed_successfully" {
					ps.add("service %s depends on the one-shot job %s with condition %q: want service_completed_successfully", name, dep, cond)
				}
				continue
			}
			if cond != "service_healthy" {
				ps.add("service %s depends on %s with condition %q: want service_healthy (started is not ready)", name, dep, cond)
			}
			if !hasHealthcheck(ds, d) {
				ps.add("service %s waits for %s to be healthy, but %s has no health check", name, dep, dep)
			}
		}

		for vol := range s.mounts() {
			switch {
			case vol == "":
				ps.add("service %s mounts an anonymous volume: name it and declare it", name)
			case strings.HasPrefix(vol, "/") || strings.HasPrefix(vol, ".") || strings.HasPrefix(vol, "~") || strings.HasPrefix(vol, "$"):
				// a bind mount
			default:
				if _, ok := c.Volumes[vol]; !ok {
					ps.add("service %s mounts volume %s, which is not declared under the top-level volumes", name, vol)
				}
			}
		}
	}

	// The rest ties the services to each other and to the binaries' defaults, finding them by role.
	temporalName, temporal, ok1 := role(c, &ps, "running server start-dev", func(s composeService) bool {
		return slices.Contains(s.command(), "start-dev")
	})
	localawsName, localaws, ok2 := role(c, &ps, "built from target localaws", builtFrom("localaws"))
	workerName, worker, ok3 := role(c, &ps, "built from target worker", builtFrom("worker"))
	if !ok1 || !ok2 || !ok3 {
		return ps
	}
	temporalPort := cmp(temporal.flag("--port"), "7233")
	uiPort := cmp(temporal.flag("--ui-port"), "8233")
	localawsHost, localawsPort, err := net.SplitHostPort(localaws.flag("--addr"))
	if err != nil {
		ps.add("service %s: --addr %q: %v", localawsName, localaws.flag("--addr"), err)
	}

	// The dev server.
	if ip := temporal.flag("--ip"); ip != "0.0.0.0" {
		ps.add("service %s: --ip %q: want 0.0.0.0, or neither the other containers nor the published ports reach it", temporalName, ip)
	}
	if db := temporal.flag("--db-filename"); !onNamedVolume(c, temporal, db) {
		ps.add("service %s: --db-filename %q is not on a named volume: the histories would go with the container", temporalName, db)
	}
	for _, attr := range workflows.SearchAttributes() {
		if want := attr.Name + "=" + attr.Type; !slices.Contains(temporal.flags("--search-attribute"), want) {
			ps.add("service %s does not register the search attribute %s the workflows set: want --search-attribute %s", temporalName, attr.Name, want)
		}
	}
	for _, v := range stack.DevServerDynamicConfig {
		if !slices.Contains(temporal.flags("--dynamic-config-value"), v) {
			ps.add("service %s does not run with the dynamic config the local stack's dev server has: want --dynamic-config-value=%s", temporalName, v)
		}
	}
	if v, err := makefileVar(src.root, "TEMPORAL_CLI_VERSION"); err != nil {
		ps.add("%v", err)
	} else if want := "temporalio/temporal:" + strings.TrimPrefix(v, "v"); temporal.Image != want && !strings.HasPrefix(temporal.Image, want+"@") {
		ps.add("service %s: image %s: want %s, the Temporal CLI version the Makefile pins for the tests", temporalName, temporal.Image, want)
	}

	// localaws.
	if !slices.Contains(localaws.command(), "--allow-remote") {
		ps.add("service %s: without --allow-remote localaws refuses a non-loopback address", localawsName)
	}
	if localawsHost != "0.0.0.0" {
		ps.add("service %s: --addr host %q: want 0.0.0.0, so that the worker container and the published port reach it", localawsName, localawsHost)
	}
	if dir := localaws.flag("--data-dir"); !onNamedVolume(c, localaws, dir) {
		ps.add("service %s: --data-dir %q is not on a named volume", localawsName, dir)
	}
	// localaws answers only Hosts that are loopback, its listen address or given with --allow-host (against
	// DNS rebinding): every service that calls it by its service name needs that name admitted. Health
	// checks run inside the container, on loopback.
	admitted := append(localaws.flags("--allow-host"), strings.Split(localaws.env()["LOCALAWS_ALLOW_HOSTS"], ",")...)
	for i, h := range admitted {
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		admitted[i] = strings.ToLower(strings.TrimSpace(h))
	}
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		raw := c.Services[name].env()["AWS_ENDPOINT_URL"]
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() != localawsName {
			continue // another endpoint; the worker's is checked below
		}
		if !slices.Contains(admitted, localawsName) {
			ps.add("service %s calls localaws as %s, but service %s does not admit that Host: add --allow-host=%s to its command",
				name, u.Host, localawsName, localawsName)
		}
	}
	if hc := localaws.Healthcheck; hc != nil {
		for _, arg := range strings.Fields(strings.NewReplacer("[", " ", "]", " ", ",", " ", `"`, " ").Replace(str(hc.Test))) {
			if u, err := url.Parse(arg); err == nil && u.Scheme == "http" {
				if ip := net.ParseIP(u.Hostname()); (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" && !slices.Contains(admitted, u.Hostname()) {
					ps.add("service %s: health check %s names Host %s, which localaws refuses", localawsName, arg, u.Host)
				}
			}
		}
	}

	// The host's starter and AWS CLI reach the stack at the binaries' defaults.
	endpoint, _ := url.Parse(awsconf.DefaultLocalEndpoint)
	ui, _ := url.Parse(cli.DefaultUIAddress)
	for _, want := range []struct {
		what, hostAddr, service string
		s                       composeService
		containerPort           string
	}{
		{"the Temporal frontend (the starter's TEMPORAL_ADDRESS default)", temporalconn.DefaultAddress, temporalName, temporal, temporalPort},
		{"the Temporal web UI (the starter's MDLC_UI_ADDRESS default)", ui.Host, temporalName, temporal, uiPort},
		{"localaws (the AWS_ENDPOINT_URL default)", endpoint.Host, localawsName, localaws, localawsPort},
	} {
		host, port, err := net.SplitHostPort(want.hostAddr)
		if err != nil {
			ps.add("%s %q: %v", want.what, want.hostAddr, err)
			continue
		}
		ports, _ := want.s.ports()
		if !slices.Contains(ports, published{host, port, want.containerPort}) {
			ps.add("%s: the host's default is %s, so service %s must publish %s:%s:%s", want.what, want.hostAddr, want.service, host, port, want.containerPort)
		}
	}

	// The worker calls the other two by their service names.
	env, deps := worker.env(), worker.dependsOn()
	// reaches checks that the variable's value, whose host:port is addr, names service:port.
	reaches := func(variable, addr, service, port string) {
		host, p, err := net.SplitHostPort(addr)
		switch {
		case err != nil:
			ps.add("service %s: %s=%q: %v", workerName, variable, env[variable], err)
		case host != service || p != port:
			ps.add("service %s: %s=%q: want %s:%s, that service on the compose network", workerName, variable, env[variable], service, port)
		}
		if _, ok := deps[service]; !ok {
			ps.add("service %s calls %s but does not depend on it", workerName, service)
		}
	}
	reaches("TEMPORAL_ADDRESS", env["TEMPORAL_ADDRESS"], temporalName, temporalPort)
	if u, err := url.Parse(env["AWS_ENDPOINT_URL"]); err != nil || u.Scheme != "http" {
		ps.add("service %s: AWS_ENDPOINT_URL=%q: want http://%s:%s", workerName, env["AWS_ENDPOINT_URL"], localawsName, localawsPort)
	} else {
		reaches("AWS_ENDPOINT_URL", u.Host, localawsName, localawsPort)
	}
	if target := env["MDLC_TARGET"]; target != "" && target != awsconf.TargetLocal {
		ps.add("service %s: MDLC_TARGET=%q: the compose stack is the local one (docs/docker.md says how to target AWS)", workerName, target)
	}
	// The worker's default metrics address is the container's loopback, which no published port reaches.
	if host, port, err := net.SplitHostPort(env["MDLC_METRICS_ADDR"]); err != nil || host != "0.0.0.0" {
		ps.add("service %s: MDLC_METRICS_ADDR=%q: want 0.0.0.0:<port>", workerName, env["MDLC_METRICS_ADDR"])
	} else {
		ports, _ := worker.ports()
		for _, p := range ports {
			if p.containerPort != port {
				ps.add("service %s publishes container port %s, but its metrics listen on %s", workerName, p.containerPort, port)
			}
		}
	}
	return ps
}

func cmp(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// composeCommand returns how to run Compose: Debian's docker-compose, or the docker compose plugin.
func composeCommand() ([]string, error) {
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}, nil
	}
	if p, err := exec.LookPath("docker"); err == nil {
		if exec.Command(p, "compose", "version").Run() == nil {
			return []string{p, "compose"}, nil
		}
	}
	return nil, errors.New("docker-compose is not installed (nor the docker compose plugin): run `make deps`, " +
		"which installs Debian's docker-compose package, or install Docker Compose")
}

// TestComposeConfig validates docker-compose.yml with Compose itself: schema, interpolation, references.
func TestComposeConfig(t *testing.T) {
	src := readSources(t)
	argv, err := composeCommand()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// --profile tools, cluster: the services behind a profile are validated too.
	args := append(argv[1:], "--project-directory", src.root, "-f", filepath.Join(src.root, "docker-compose.yml"),
		"--profile", "tools", "--profile", "cluster", "config", "-q")
	cmd := exec.CommandContext(ctx, argv[0], args...)
	cmd.Dir = src.root
	// The file alone is validated: the caller's COMPOSE_* settings (extra files, profiles) must not change it.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "COMPOSE_") })
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out.String())
	}
}

func TestCompose(t *testing.T) {
	src := readSources(t)
	d, err := parseDockerfile(src.dockerfile)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	c, err := parseCompose(src.compose)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	report(t, "docker-compose.yml", checkCompose(src, c, d))
}
