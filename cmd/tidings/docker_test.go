package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// There is no Docker engine in CI, so these tests check the Dockerfile,
// .dockerignore and the systemd unit as text, against what the binary
// needs; TestStaticBuild builds the binary with the Dockerfile's flags.

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line  int
	cmd   string   // upper case: FROM, RUN, COPY, ...
	flags []string // leading --flags
	args  string   // the rest, as written
	exec  []string // the JSON (exec) form of args, if it is one
}

// parseDockerfile reads the instructions of a Dockerfile with the default
// escape character: comments dropped (also between continuation lines),
// lines ending in a backslash joined. Heredocs are not supported, and not used.
func parseDockerfile(t *testing.T, name string) [][]instruction {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages [][]instruction
	var cur strings.Builder
	start, n := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || line == "" && cur.Len() == 0 {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if body, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		text := cur.String()
		cur.Reset()
		cmd, rest, _ := strings.Cut(text, " ")
		in := instruction{line: start, cmd: strings.ToUpper(cmd)}
		rest = strings.TrimSpace(rest)
		for strings.HasPrefix(rest, "--") {
			flag, after, _ := strings.Cut(rest, " ")
			in.flags = append(in.flags, flag)
			rest = strings.TrimSpace(after)
		}
		if in.cmd == "HEALTHCHECK" {
			// HEALTHCHECK [options] CMD command
			_, rest, _ = strings.Cut(rest, "CMD ")
		}
		in.args = rest
		if strings.HasPrefix(rest, "[") {
			if err := json.Unmarshal([]byte(rest), &in.exec); err != nil {
				t.Errorf("%s:%d: %s: invalid JSON form: %v", name, start, in.cmd, err)
			}
		}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

func find(stage []instruction, cmd string) []instruction {
	var out []instruction
	for _, in := range stage {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// TestDockerfile checks the image the Dockerfile describes: multi-stage,
// a static binary built with version flags, non-root, the store on the
// /data volume, the config at /etc/tidings/tidings.yaml, and a health
// check that runs the binary itself.
func TestDockerfile(t *testing.T) {
	const bin = "/usr/local/bin/tidings"
	const cfg = "/etc/tidings/tidings.yaml"
	stages := parseDockerfile(t, "../../Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("the Dockerfile has %d stages, want a build stage and a runtime stage", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if from := build[0].args; !strings.HasPrefix(from, "golang:") || !strings.HasSuffix(from, " AS build") {
		t.Errorf("first stage FROM %q, want golang:… AS build", from)
	}

	var goBuild string
	for _, in := range find(build, "RUN") {
		if strings.Contains(in.args, "go build") {
			goBuild = in.args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "-X main.date=${DATE}", "./cmd/tidings"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("the go build step %q lacks %q", goBuild, want)
		}
	}

	has := func(cmd, args string) bool {
		return slices.ContainsFunc(final, func(in instruction) bool { return in.cmd == cmd && in.args == args })
	}
	if !has("COPY", "/out/tidings "+bin) {
		t.Errorf("the runtime stage does not copy the binary to %s", bin)
	}
	if !has("COPY", "deploy/docker/tidings.yaml "+cfg) {
		t.Errorf("the runtime stage does not install deploy/docker/tidings.yaml as %s", cfg)
	}
	if !has("VOLUME", "/data") {
		t.Errorf("the runtime stage has no VOLUME /data")
	}
	users := find(final, "USER")
	if len(users) == 0 {
		t.Errorf("the runtime stage has no USER: it would run as root")
	} else if u, _, _ := strings.Cut(users[len(users)-1].args, ":"); u == "root" || u == "0" {
		t.Errorf("the runtime stage runs as %q", u)
	}
	hc := find(final, "HEALTHCHECK")
	if len(hc) != 1 || len(hc[0].exec) < 2 || hc[0].exec[0] != bin || hc[0].exec[1] != "health" || !slices.Contains(hc[0].exec, cfg) {
		t.Errorf("HEALTHCHECK %+v, want CMD [%q, \"health\", … %q]", hc, bin, cfg)
	}
	ep, cmd := find(final, "ENTRYPOINT"), find(final, "CMD")
	if len(ep) != 1 || !slices.Equal(ep[0].exec, []string{bin}) {
		t.Errorf("ENTRYPOINT %+v, want [%q]", ep, bin)
	}
	if len(cmd) != 1 || len(cmd[0].exec) == 0 || cmd[0].exec[0] != "serve" || !slices.Contains(cmd[0].exec, cfg) {
		t.Errorf("CMD %+v, want [\"serve\", \"--config\", %q]", cmd, cfg)
	}

	// The baked-in config is valid and fits the container: the store on the
	// volume, listening beyond the container's loopback.
	out, errOut, code := runTidings(t, "check", "--config", "../../deploy/docker/tidings.yaml")
	if code != 0 {
		t.Errorf("tidings check on deploy/docker/tidings.yaml: exit %d\n%s%s", code, out, errOut)
	}
	data, err := os.ReadFile("../../deploy/docker/tidings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\n  path: /data/tidings.db\n", "\n  listen: 0.0.0.0:8080\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("deploy/docker/tidings.yaml lacks %q", strings.TrimSpace(want))
		}
	}
}

// TestDockerignore checks, with Docker's own matcher, that the build
// context keeps what the build needs and leaves out stores, VCS data and
// build output.
func TestDockerignore(t *testing.T) {
	f, err := os.Open("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]bool{ // path in the context → excluded
		"go.mod": false, "go.sum": false, "cmd/tidings/main.go": false, "storage/store.go": false,
		"deploy/docker/tidings.yaml": false, "tidings.go": false, "examples/demo.yaml": false,
		".git/HEAD": true, "data/tidings.db": true, "examples/data/demo.db": true, "x/y/z.db": true,
		"tidings": true, "bench/out.txt": true, "cmd/tidings/tidings.test": true,
	}
	for path, want := range tests {
		got, err := pm.MatchesOrParentMatches(filepath.FromSlash(path))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf(".dockerignore excludes %s: %v, want %v", path, got, want)
		}
	}
}
