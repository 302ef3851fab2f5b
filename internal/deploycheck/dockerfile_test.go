package deploycheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"maps"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// targets are the Dockerfile stages that ship a binary of the same name.
var targets = []string{"localaws", "worker", "starter"}

// servingTargets are the targets whose binary serves HTTP, so that they carry a HEALTHCHECK.
var servingTargets = []string{"localaws", "worker"}

// instruction is one Dockerfile instruction, continuation lines joined and comments removed.
type instruction struct {
	line int    // first line, 1-based
	cmd  string // upper case: FROM, RUN, COPY, ...
	args string // the rest, unexpanded
}

// stage is one FROM and the instructions under it.
type stage struct {
	name, image, platform string
	line                  int
	body                  []instruction
}

// dockerfile is a parsed Dockerfile: the ARGs declared before the first FROM (with their defaults) and the
// stages in order.
type dockerfile struct {
	globalArgs map[string]string
	stages     []*stage
}

// parseDockerfile reads the subset of the Dockerfile syntax the repository uses: comments, line
// continuations, global ARGs with defaults and FROM [--platform=...] image [AS name].
func parseDockerfile(b []byte) (*dockerfile, error) {
	var (
		insts   []instruction
		pending strings.Builder
		start   int
	)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue // comments (and parser directives) may also sit between continuation lines
		}
		if pending.Len() == 0 {
			start = n
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending.WriteString(cont + " ")
			continue
		}
		pending.WriteString(line)
		cmd, args, _ := strings.Cut(pending.String(), " ")
		insts = append(insts, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
		pending.Reset()
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if pending.Len() > 0 {
		return nil, fmt.Errorf("line %d: the continuation never ends", start)
	}

	d := &dockerfile{globalArgs: map[string]string{}}
	for _, in := range insts {
		switch {
		case in.cmd == "FROM":
			fields := strings.Fields(in.args)
			s := &stage{line: in.line}
			for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
				if p, ok := strings.CutPrefix(fields[0], "--platform="); ok {
					s.platform = p
				}
				fields = fields[1:]
			}
			switch {
			case len(fields) == 1:
			case len(fields) == 3 && strings.EqualFold(fields[1], "AS"):
				s.name = fields[2]
			default:
				return nil, fmt.Errorf("line %d: cannot read FROM %s", in.line, in.args)
			}
			s.image = fields[0]
			d.stages = append(d.stages, s)
		case len(d.stages) == 0 && in.cmd == "ARG":
			for _, a := range strings.Fields(in.args) {
				k, v, _ := strings.Cut(a, "=")
				d.globalArgs[k] = strings.Trim(v, `"`)
			}
		case len(d.stages) == 0:
			return nil, fmt.Errorf("line %d: %s before the first FROM (only ARG may come first)", in.line, in.cmd)
		default:
			s := d.stages[len(d.stages)-1]
			s.body = append(s.body, in)
		}
	}
	if len(d.stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return d, nil
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// expand substitutes $NAME and ${NAME} from vars; it reports the names that have no value.
func expand(s string, vars map[string]string) (string, []string) {
	var missing []string
	out := varRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		name := m[1] + m[2]
		if v, ok := vars[name]; ok && v != "" {
			return v
		}
		missing = append(missing, name)
		return ref
	})
	return out, missing
}

func (d *dockerfile) stage(name string) *stage {
	for _, s := range d.stages {
		if s.name == name {
			return s
		}
	}
	return nil
}

// args returns the ARGs a stage declares with defaults, over the global ones.
func (s *stage) args(global map[string]string) map[string]string {
	vars := map[string]string{}
	for k, v := range global {
		vars[k] = v
	}
	for _, in := range s.find("ARG") {
		for _, a := range strings.Fields(in.args) {
			if k, v, ok := strings.Cut(a, "="); ok {
				vars[k] = strings.Trim(v, `"`)
			}
		}
	}
	return vars
}

// find returns the stage's instructions of one kind.
func (s *stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// last returns the stage's last instruction of one kind, the one that takes effect.
func (s *stage) last(cmd string) (instruction, bool) {
	found := s.find(cmd)
	if len(found) == 0 {
		return instruction{}, false
	}
	return found[len(found)-1], true
}

// copyFrom is one COPY [--from=<stage>] src... dest.
type copyFrom struct {
	from string
	srcs []string
	dest string
}

func (s *stage) copies() []copyFrom {
	var out []copyFrom
	for _, in := range s.find("COPY") {
		fields := strings.Fields(in.args)
		var c copyFrom
		for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
			if f, ok := strings.CutPrefix(fields[0], "--from="); ok {
				c.from = f
			}
			fields = fields[1:]
		}
		if len(fields) >= 2 {
			c.srcs, c.dest = fields[:len(fields)-1], fields[len(fields)-1]
		}
		out = append(out, c)
	}
	return out
}

// installed returns where the stage installs each binary it copies from the build stage.
func (s *stage) installed() map[string]string {
	out := map[string]string{}
	for _, c := range s.copies() {
		if c.from != "build" {
			continue
		}
		for _, src := range c.srcs {
			name := path.Base(src)
			if strings.HasSuffix(c.dest, "/") || len(c.srcs) > 1 {
				out[name] = path.Join(c.dest, name)
			} else {
				out[name] = c.dest
			}
		}
	}
	return out
}

// exposed returns the ports the stage EXPOSEs.
func (s *stage) exposed() []string {
	var out []string
	for _, e := range s.find("EXPOSE") {
		for _, p := range strings.Fields(e.args) {
			out = append(out, strings.TrimSuffix(p, "/tcp"))
		}
	}
	return out
}

// execForm decodes a JSON-array (exec form) command such as ["/usr/local/bin/worker"].
func execForm(s string) ([]string, error) {
	var argv []string
	if err := json.Unmarshal([]byte(s), &argv); err != nil || len(argv) == 0 {
		return nil, fmt.Errorf("%s: want the exec form, a JSON array (the distroless images have no shell)", s)
	}
	return argv, nil
}

// pinned says why image is not pinned to a version, or "".
func pinned(image string) string {
	if strings.Contains(image, "@sha256:") {
		return ""
	}
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	switch {
	case !ok || tag == "":
		return "has no tag (Docker would use latest)"
	case tag == "latest":
		return "uses the latest tag"
	}
	return ""
}

// builtBinaries returns what the build stage's `go build -o <dir>/ pkg...` commands produce: the path of each
// binary by name, and the package it is built from.
func builtBinaries(build *stage, ps *problems) (paths, pkgs map[string]string) {
	paths, pkgs = map[string]string{}, map[string]string{}
	cgoOff := false
	for _, in := range build.find("ENV") {
		if slices.Contains(strings.Fields(in.args), "CGO_ENABLED=0") {
			cgoOff = true
		}
	}
	for _, in := range build.find("RUN") {
		_, cmd, ok := strings.Cut(in.args, "go build ")
		if !ok {
			continue
		}
		fields := strings.Fields(cmd)
		if !slices.Contains(fields, "-trimpath") {
			ps.add("line %d: go build without -trimpath", in.line)
		}
		if !cgoOff && !strings.Contains(in.args, "CGO_ENABLED=0") {
			ps.add("line %d: go build with cgo on: set CGO_ENABLED=0 so that the binaries are static", in.line)
		}
		out := ""
		for i, f := range fields {
			if f == "-o" && i+1 < len(fields) {
				out = fields[i+1]
			}
		}
		if !strings.HasSuffix(out, "/") {
			ps.add("line %d: go build -o %q: want a directory (ending in /) that receives one binary per package", in.line, out)
			continue
		}
		for _, f := range fields {
			if strings.HasPrefix(f, "./") {
				name := path.Base(f)
				paths[name], pkgs[name] = out+name, f
			}
		}
	}
	if len(paths) == 0 {
		ps.add("stage %s builds nothing: want RUN go build -o /out/ ./pkg...", build.name)
	}
	return paths, pkgs
}

// isMainPackage says whether dir holds a package main.
func isMainPackage(dir string) (bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return false, err
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly)
		if err != nil {
			return false, err
		}
		if af.Name.Name == "main" {
			return true, nil
		}
	}
	return false, nil
}

// checkDockerfile returns the invariants the Dockerfile breaks.
func checkDockerfile(src sources, d *dockerfile) problems {
	var ps problems

	// Every FROM is an earlier stage or an image pinned by tag (or digest).
	stages := map[string]bool{}
	for _, s := range d.stages {
		image, missing := expand(s.image, d.globalArgs)
		switch {
		case len(missing) > 0:
			ps.add("line %d: FROM %s: %v have no default (declare ARG NAME=default before the first FROM)", s.line, s.image, missing)
		case stages[image]:
		default:
			if why := pinned(image); why != "" {
				ps.add("line %d: FROM %s %s: pin a version tag, or a digest", s.line, image, why)
			}
		}
		if s.name != "" {
			stages[s.name] = true
		}
	}

	build := d.stage("build")
	if build == nil {
		ps.add("no stage named build")
		return ps
	}

	// The Go image is the version go.mod asks for, and cross-compiles for multi-platform builds.
	if want, err := goVersion(src.root); err != nil {
		ps.add("%v", err)
	} else {
		image, _ := expand(build.image, d.globalArgs)
		repo, tag, _ := strings.Cut(image, ":")
		if path.Base(repo) != "golang" || !strings.HasPrefix(tag, want+"-") && tag != want {
			ps.add("build stage FROM %s: want golang:%s[-variant], the version go.mod asks for", image, want)
		}
	}
	if !strings.Contains(build.platform, "BUILDPLATFORM") {
		ps.add("build stage: want FROM --platform=$BUILDPLATFORM, so that multi-platform builds cross-compile instead of emulating")
	}

	// Modules are downloaded in a layer of their own, before the source is copied.
	step := 0 // 0: want COPY go.mod go.sum, 1: want RUN go mod download, 2: want COPY . .
	for _, in := range build.body {
		sourceCopy := in.cmd == "COPY" && strings.HasPrefix(in.args, ". ")
		switch {
		case step == 0 && in.cmd == "COPY" && strings.Contains(in.args, "go.mod") && strings.Contains(in.args, "go.sum") && !sourceCopy:
			step = 1
		case step == 1 && in.cmd == "RUN" && strings.Contains(in.args, "go mod download"):
			step = 2
		case step == 2 && sourceCopy:
			step = 3
		case sourceCopy:
			ps.add("line %d: the source is copied before go.mod and go.sum are, and before go mod download runs: every source change would download the modules again", in.line)
		}
	}
	if step < 3 {
		ps.add("build stage: want COPY go.mod go.sum ./, RUN go mod download, COPY . . in that order")
	}

	// The binaries built are main packages of this module, and they are the ones the targets copy and run.
	built, pkgs := builtBinaries(build, &ps)
	for _, pkg := range pkgs {
		if ok, err := isMainPackage(filepath.Join(src.root, filepath.FromSlash(pkg))); err != nil {
			ps.add("the build stage builds %s: %v", pkg, err)
		} else if !ok {
			ps.add("the build stage builds %s, which is not a main package of this module: docker build would fail", pkg)
		}
	}
	copied := map[string]bool{}
	for _, s := range d.stages {
		for _, c := range s.copies() {
			if c.from != "build" {
				continue
			}
			for _, src := range c.srcs {
				name := path.Base(src)
				if built[name] != src {
					ps.add("stage %s copies %s from the build stage, which builds no such binary (it builds %v)", s.name, src, built)
				}
				copied[name] = true
			}
		}
	}
	for name := range built {
		if !copied[name] {
			ps.add("the build stage builds %s but no target copies it", name)
		}
	}
	for _, target := range targets {
		s := d.stage(target)
		if s == nil {
			ps.add("no target %s", target)
			continue
		}
		installed := s.installed()
		if _, ok := installed[target]; !ok {
			ps.add("target %s does not copy /out/%s from the build stage", target, target)
		}
		if ep, ok := s.last("ENTRYPOINT"); !ok {
			ps.add("target %s has no ENTRYPOINT", target)
		} else if argv, err := execForm(ep.args); err != nil {
			ps.add("line %d: ENTRYPOINT %v", ep.line, err)
		} else if argv[0] != installed[target] {
			ps.add("target %s: ENTRYPOINT runs %s, want the binary it installs, %s", target, argv[0], installed[target])
		}
		if u, ok := s.last("USER"); !ok {
			ps.add("target %s has no USER: it would run as whatever user its base image sets", target)
		} else if user, _, _ := strings.Cut(u.args, ":"); user == "root" || user == "0" {
			ps.add("target %s runs as root", target)
		}
	}

	// Targets that serve HTTP probe themselves with a binary they install, on a port they expose.
	for _, target := range servingTargets {
		s := d.stage(target)
		if s == nil {
			continue
		}
		hc, ok := s.last("HEALTHCHECK")
		if !ok {
			ps.add("target %s serves HTTP but has no HEALTHCHECK", target)
			continue
		}
		_, cmd, ok := strings.Cut(hc.args, "CMD ")
		if !ok {
			ps.add("line %d: HEALTHCHECK %s: want CMD [...]", hc.line, hc.args)
			continue
		}
		argv, err := execForm(strings.TrimSpace(cmd))
		if err != nil {
			ps.add("line %d: HEALTHCHECK %v", hc.line, err)
			continue
		}
		installed := s.installed()
		if !slices.Contains(slices.Collect(maps.Values(installed)), argv[0]) {
			ps.add("target %s: HEALTHCHECK runs %s, which the target does not install", target, argv[0])
		}
		if port := urlPort(argv[len(argv)-1]); port == "" || !slices.Contains(s.exposed(), port) {
			ps.add("target %s: HEALTHCHECK probes %s, not one of the EXPOSEd ports %v", target, argv[len(argv)-1], s.exposed())
		}
	}

	// localaws runs the xgboost command-line program, which XGBoost removed in 3.2.
	if s := d.stage("localaws"); s != nil {
		vars := s.args(d.globalArgs)
		found := false
		for _, in := range s.find("RUN") {
			if !strings.Contains(in.args, "apt-get install") {
				continue
			}
			run, missing := expand(in.args, vars)
			if len(missing) > 0 {
				ps.add("line %d: %v have no default", in.line, missing)
			}
			if !strings.Contains(run, "ca-certificates") {
				ps.add("line %d: apt-get install without ca-certificates", in.line)
			}
			m := regexp.MustCompile(`xgboost=(\d+)\.(\d+)\.\d+\S*?["']?(\s|$)`).FindStringSubmatch(run)
			if m == nil {
				continue
			}
			found = true
			major, _ := strconv.Atoi(m[1])
			minor, _ := strconv.Atoi(m[2])
			if major > 3 || major == 3 && minor >= 2 {
				ps.add("line %d: xgboost %s.%s: XGBoost removed its command-line program, which localaws runs, in 3.2", in.line, m[1], m[2])
			}
		}
		if !found {
			ps.add("the localaws target does not apt-get install a pinned xgboost=<version>")
		}
	}
	return ps
}

// urlPort returns the port of an http://host:port/... URL, or "".
func urlPort(u string) string {
	rest, ok := strings.CutPrefix(u, "http://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(host, ":"); i >= 0 {
		return host[i+1:]
	}
	return ""
}

func TestDockerfile(t *testing.T) {
	src := readSources(t)
	d, err := parseDockerfile(src.dockerfile)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	report(t, "Dockerfile", checkDockerfile(src, d))
}
