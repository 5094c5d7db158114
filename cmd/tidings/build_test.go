package main

import (
	"debug/elf"
	"os"
	"strings"
	"testing"
)

// e2eLdflags are the link flags TestMain builds the test binary with: the
// ones the Dockerfile and the Makefile pass, with known values.
const e2eLdflags = "-s -w -X main.version=v9.8.7-test -X main.commit=abc1234 -X main.date=2026-01-02T03:04:05Z"

// TestStaticBuild checks the binary built as the Dockerfile builds it
// (CGO_ENABLED=0, -trimpath, -ldflags -X): `version` prints what the flags
// set, and the file is a static executable that runs on distroless/static,
// with no dynamic loader and no shared libraries.
func TestStaticBuild(t *testing.T) {
	out, errOut, code := runTidings(t, "version")
	if want := "tidings v9.8.7-test (commit abc1234, built 2026-01-02T03:04:05Z)\n"; code != 0 || out != want {
		t.Errorf("tidings version: exit %d, %q (stderr %q); want %q", code, out, errOut, want)
	}
	f, err := elf.Open(binary)
	if err != nil {
		t.Skipf("not an ELF binary on this platform: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary asks for a dynamic loader (PT_INTERP): it would not run on distroless/static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links shared libraries %v", libs)
	}
	if strings.Contains(errOut, "panic") {
		t.Errorf("version: %s", errOut)
	}
}

// TestMakefileBuild checks that `make build` builds as the Dockerfile and
// TestMain do: static, -trimpath, and the three -X version variables.
func TestMakefileBuild(t *testing.T) {
	data, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	mk := string(data)
	for _, want := range []string{
		"CGO_ENABLED=0 $(GO) build -trimpath -ldflags \"$(LDFLAGS)\" -o tidings ./cmd/tidings",
		"-X main.version=$(VERSION)", "-X main.commit=$(COMMIT)", "-X main.date=$(DATE)",
	} {
		if !strings.Contains(mk, want) {
			t.Errorf("the Makefile lacks %q", want)
		}
	}
	for _, name := range []string{"main.version", "main.commit", "main.date"} {
		if !strings.Contains(e2eLdflags, "-X "+name+"=") {
			t.Errorf("e2eLdflags does not set %s", name)
		}
	}
}
