package main

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/storage"
)

// TestStoreFull runs the daemon with a file size limit (ulimit -f), so
// that the store cannot grow: a disk that fills up. Polling must pause with
// a clear error in the log and in /readyz, feeds keep being served, and the
// store holds whole polls only.
func TestStoreFull(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh for ulimit")
	}
	dir := t.TempDir()
	listen := freeAddr(t)
	cfgPath := writeIngestConfig(t, dir, listen, ingestServer(t).URL)
	base := "http://" + listen
	d := &daemon{base: base, stderr: &logBuffer{}, done: make(chan error, 1)}
	// 2048 blocks of 512 bytes: 1 MB, a few polls' worth.
	d.cmd = exec.Command("sh", "-c", `ulimit -f 2048 && exec "$0" serve --config "$1"`, binary, cfgPath)
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.done
		}
	})
	var body string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.done:
			t.Fatalf("serve exited: %v\n%s", err, d.stderr)
		default:
		}
		if resp, err := http.Get(base + "/readyz"); err == nil {
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				body = b.String()
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(body, "cannot be written") || !strings.Contains(body, "polling is paused") {
		t.Fatalf("/readyz never reported the full store; last body %q\n%s", body, d.stderr)
	}
	if resp, _ := get(t, base+"/topics/council.rss"); resp.StatusCode != http.StatusOK {
		t.Errorf("topic feed while the store is full: %s", resp.Status)
	}
	if log := d.stderr.String(); !strings.Contains(log, "polling pauses") {
		t.Errorf("log lacks the store error:\n%s", log)
	}
	d.stop(t)

	s, err := loadSetup(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.Open(s.cfg.Storage.Path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Verify(context.Background()); err != nil {
		t.Error(err)
	}
	st.Close()
	checkCrashStore(t, s, 0)
}
