package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSystemdUnit checks deploy/systemd/tidings.service: the hardening the
// README promises, a reload that sends SIGHUP, a stop timeout longer than
// serve's grace period, and, where systemd-analyze is installed, that
// systemd itself accepts every line (it only warns on bad values, so any
// output fails the test).
func TestSystemdUnit(t *testing.T) {
	const unitPath = "../../deploy/systemd/tidings.service"
	f, err := os.Open(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{} // Section.Key → values in order
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, _ := strings.Cut(line, "=")
			keys[section+"."+k] = append(keys[section+"."+k], v)
		}
	}
	for key, want := range map[string]string{
		"Service.ExecStart":        "/usr/local/bin/tidings serve --config /etc/tidings/tidings.yaml",
		"Service.ExecReload":       "/bin/kill -HUP $MAINPID",
		"Service.DynamicUser":      "yes",
		"Service.StateDirectory":   "tidings",
		"Service.ProtectSystem":    "strict",
		"Service.NoNewPrivileges":  "yes",
		"Service.WorkingDirectory": "/var/lib/tidings",
		"Install.WantedBy":         "multi-user.target",
	} {
		if got := keys[key]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if v := keys["Service.TimeoutStopSec"]; len(v) != 1 {
		t.Errorf("TimeoutStopSec = %q, want one value", v)
	} else if d, err := time.ParseDuration(v[0]); err != nil || d < defaultGrace+10*time.Second {
		t.Errorf("TimeoutStopSec = %s: want a Go-style duration at least --grace (%s) + 10s, so systemd does not kill a clean stop", v[0], defaultGrace)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed; the unit was checked as text only")
	}
	// verify checks that ExecStart exists: point it at the test binary.
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "tidings.service")
	if err := os.WriteFile(copyPath, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/tidings", binary)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", copyPath).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
