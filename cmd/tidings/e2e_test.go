package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
)

// binary is the tidings command built once for the end-to-end tests, so
// they run the real program: its flags, signals, exit codes and stderr.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tidings-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "tidings")
	// Built as the Dockerfile and the Makefile build it (TestStaticBuild checks the result).
	build := exec.Command("go", "build", "-trimpath", "-ldflags", e2eLdflags, "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build tidings: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runTidings runs the binary to completion and returns its output and exit code.
func runTidings(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), "TIDINGS_CONFIG=")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("tidings %s: %v\n%s", strings.Join(args, " "), err, e.String())
	}
	return o.String(), e.String(), code
}

// daemon is a running `tidings serve`.
type daemon struct {
	cmd    *exec.Cmd
	base   string
	stderr *logBuffer
	done   chan error
}

// logBuffer is a daemon's stderr: exec copies into it from a goroutine of
// its own while the test reads it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startDaemon starts `tidings serve` with extra flags and waits until /readyz answers.
func startDaemon(t *testing.T, cfgPath, base string, flags ...string) *daemon {
	t.Helper()
	d := &daemon{base: base, stderr: &logBuffer{}, done: make(chan error, 1)}
	d.cmd = exec.Command(binary, append([]string{"serve", "--config", cfgPath, "--log-level", "debug"}, flags...)...)
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start serve: %v", err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.done:
			t.Fatalf("serve exited early: %v\n%s", err, d.stderr)
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("serve never became ready\n%s", d.stderr)
	return nil
}

// stop sends SIGTERM and requires a clean exit with status 0.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("serve did not exit cleanly on SIGTERM: %v\n%s", err, d.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not stop within 20s of SIGTERM\n%s", d.stderr)
	}
	if !strings.Contains(d.stderr.String(), "stopped") {
		t.Errorf("serve log lacks the final 'stopped' line:\n%s", d.stderr)
	}
}

// get fetches a URL with optional request headers.
func get(t *testing.T, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp, body
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// feedServer serves the demo's sample feeds over HTTP (with the standard
// file server's Last-Modified and 304s), plus a source that always fails
// and one that sends broken XML, to show a bad source never stops the others.
//
// With forget set, it ignores the client's validators and sends every feed
// in full, as a server without conditional GET support does.
func feedServer(t *testing.T, forget *atomic.Bool) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	files := http.StripPrefix("/feeds/", http.FileServer(http.Dir("../../examples/feeds")))
	mux.HandleFunc("/feeds/", func(w http.ResponseWriter, r *http.Request) {
		if forget.Load() {
			r.Header.Del("If-None-Match")
			r.Header.Del("If-Modified-Since")
		}
		files.ServeHTTP(w, r)
	})
	mux.HandleFunc("/fail.xml", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/broken.xml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		io.WriteString(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title><item><title>half`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// parseWithFeedparser parses a published feed with Debian's python3-feedparser,
// an independent implementation, and returns what it saw. It skips when
// feedparser is not installed, except in CI where .ci/run installs it.
func parseWithFeedparser(t *testing.T, body []byte) (bozo bool, bozoMsg string, titles, links []string) {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import feedparser").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-feedparser is missing in CI: %v", err)
		}
		t.Skip("python3-feedparser not installed (apt-get install python3-feedparser)")
	}
	script := `
import sys, json, feedparser
d = feedparser.parse(sys.stdin.buffer.read())
print(json.dumps({"bozo": bool(d.bozo), "msg": str(d.get("bozo_exception", "")),
  "titles": [e.get("title", "") for e in d.entries], "links": [e.get("link", "") for e in d.entries],
  "ids": [e.get("id", "") for e in d.entries]}))`
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("feedparser: %v", err)
	}
	var res struct {
		Bozo   bool     `json:"bozo"`
		Msg    string   `json:"msg"`
		Titles []string `json:"titles"`
		Links  []string `json:"links"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("feedparser output %q: %v", out, err)
	}
	return res.Bozo, res.Msg, res.Titles, res.Links
}

// writeConfig writes a config for the e2e tests that polls srv.
func writeConfig(t *testing.T, dir, listen, feedsURL string) string {
	t.Helper()
	cfg := fmt.Sprintf(`
storage:
  path: ./data/e2e.db
server:
  listen: %[1]s
  base_url: http://%[1]s
  watch_config: false
fetch:
  interval: 1h
  timeout: 5s
sources:
  - name: wsws
    url: %[2]s/feeds/wsws.xml
    tags: [world, americas]
  - name: wire
    url: %[2]s/feeds/wire.xml
    tags: [world, americas]
  - name: ledger
    url: %[2]s/feeds/ledger.xml
    tags: [americas]
  - name: orbit
    url: %[2]s/feeds/orbit.xml
    tags: [science]
  - name: kernel
    url: %[2]s/feeds/kernel.xml
    tags: [tech]
  - name: pitch
    url: %[2]s/feeds/pitch.json
    tags: [sports]
  - name: marquee
    url: %[2]s/feeds/marquee.xml
    tags: [culture]
  - name: down
    url: %[2]s/fail.xml
  - name: broken
    url: %[2]s/broken.xml
topics:
  - name: mexico
    title: Mexico and the Americas
    query: 'mexico OR sheinbaum OR usmca OR "latin america"'
  - name: sports
    query: 'football OR soccer OR tennis OR marathon OR "world cup"'
  - name: science-tech
    tags: [science, tech]
`, listen, feedsURL)
	path := filepath.Join(dir, "tidings.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestEndToEnd runs the real binary against local feed servers: fetch,
// serve, every topic in every format parsed back by two parsers,
// conditional requests, a clean SIGTERM, and a restart that lists nothing twice.
func TestEndToEnd(t *testing.T) {
	var forget atomic.Bool
	srv := feedServer(t, &forget)
	dir := t.TempDir()
	listen := freeAddr(t)
	base := "http://" + listen
	cfg := writeConfig(t, dir, listen, srv.URL)

	if out, errOut, code := runTidings(t, "check", "--config", cfg); code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code := runTidings(t, "fetch", "--config", cfg)
	if code != 0 {
		t.Fatalf("fetch: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"wsws", "down", "broken"} {
		if !strings.Contains(out, want) {
			t.Errorf("fetch output lacks a line for %s:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "500") {
		t.Errorf("fetch output does not report the failing source's HTTP 500:\n%s", out)
	}
	if _, _, code := runTidings(t, "fetch", "--config", cfg, "--strict"); code != 1 {
		t.Errorf("fetch --strict with failing sources: exit %d, want 1", code)
	}

	d := startDaemon(t, cfg, base)

	// A second process on the same store fails fast with a clear message.
	start := time.Now()
	_, errOut, code = runTidings(t, "fetch", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "in use by another process") {
		t.Errorf("fetch while serve runs: exit %d, stderr %q; want 1 and 'in use by another process'", code, errOut)
	}
	if el := time.Since(start); el > 15*time.Second {
		t.Errorf("second open took %s, want a few seconds", el)
	}

	resp, body := get(t, base+"/")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Mexico and the Americas") {
		t.Fatalf("GET /: %d\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), `rel="alternate"`) {
		t.Errorf("index page lacks <link rel=alternate> for feed autodiscovery")
	}

	firstIDs := map[string][]string{}
	for _, topic := range []string{"mexico", "sports", "science-tech", "all"} {
		for _, ext := range []string{"rss", "atom", "json"} {
			url := base + "/topics/" + topic + "." + ext
			resp, body := get(t, url)
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
			}
			wantType := map[string]string{"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}[ext]
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, wantType) || !strings.Contains(ct, "charset=utf-8") {
				t.Errorf("%s: Content-Type %q, want %s; charset=utf-8", url, ct, wantType)
			}
			feed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("gofeed cannot parse %s: %v\n%s", url, err, body)
			}
			if len(feed.Items) == 0 {
				t.Errorf("%s: no items", url)
			}
			ids := make([]string, 0, len(feed.Items))
			for _, it := range feed.Items {
				if it.GUID == "" || !strings.HasPrefix(it.Link, "http") {
					t.Errorf("%s: item %q has id %q and link %q; want both, link absolute", url, it.Title, it.GUID, it.Link)
				}
				ids = append(ids, it.GUID)
			}
			if slices.Sort(ids); len(slices.Compact(slices.Clone(ids))) != len(ids) {
				t.Errorf("%s: duplicate ids %v", url, ids)
			}
			firstIDs[url] = ids
			if ext != "json" {
				bozo, msg, titles, _ := parseWithFeedparser(t, body)
				if bozo {
					t.Errorf("feedparser finds %s malformed: %s", url, msg)
				}
				if len(titles) != len(feed.Items) {
					t.Errorf("%s: feedparser sees %d entries, gofeed %d", url, len(titles), len(feed.Items))
				}
			}

			// Conditional requests: both validators give 304.
			etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
			if etag == "" || lm == "" {
				t.Fatalf("%s: ETag %q, Last-Modified %q; want both", url, etag, lm)
			}
			if r, _ := get(t, url, "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
				t.Errorf("%s with If-None-Match: %d, want 304", url, r.StatusCode)
			}
			if r, _ := get(t, url, "If-Modified-Since", lm); r.StatusCode != http.StatusNotModified {
				t.Errorf("%s with If-Modified-Since: %d, want 304", url, r.StatusCode)
			}
			if r, _ := get(t, url, "If-None-Match", `"other"`); r.StatusCode != http.StatusOK {
				t.Errorf("%s with a stale ETag: %d, want 200", url, r.StatusCode)
			}
		}
	}

	// The Mexico topic holds the seed article, the USMCA story once, and nothing off-topic.
	_, body = get(t, base+"/topics/mexico.json")
	mexico := string(body)
	if !strings.Contains(mexico, "Washington escalates aggression against Mexico") {
		t.Errorf("mexico topic lacks the seed article")
	}
	if n := strings.Count(strings.ToLower(mexico), "usmca-review"); n != 1 {
		t.Errorf("the USMCA story appears under %d links in the mexico topic, want 1 (cross-source dedup)", n)
	}
	_, body = get(t, base+"/topics/sports.json")
	if strings.Contains(string(body), "Washington escalates aggression") {
		t.Errorf("sports topic holds the Mexico article")
	}

	for url, code := range map[string]int{
		base + "/topics/nope.rss":           404,
		base + "/topics/mexico.xml":         404,
		base + "/topics/mexico.rss?limit=0": 400,
		base + "/topics.opml":               200,
		base + "/healthz":                   200,
		base + "/readyz":                    200,
		base + "/metrics":                   200,
		base + "/sources":                   200,
	} {
		if r, _ := get(t, url); r.StatusCode != code {
			t.Errorf("GET %s: %d, want %d", url, r.StatusCode, code)
		}
	}
	_, metricsBody := get(t, base+"/metrics")
	for _, name := range []string{"tidings_feed_requests_total", "tidings_store_items"} {
		if !strings.Contains(string(metricsBody), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}

	// status asks the daemon while it holds the store.
	out, errOut, code = runTidings(t, "status", "--format", "json", "--config", cfg)
	if code != 0 || !strings.Contains(out, `"name": "wsws"`) || !strings.Contains(out, `"error_kind": "status"`) {
		t.Errorf("status while serving: exit %d, stderr %s\n%s", code, errOut, out)
	}

	// render asks the daemon while it holds the store.
	out, errOut, code = runTidings(t, "render", "mexico", "--format", "atom", "--config", cfg)
	if code != 0 || !strings.Contains(out, "<feed") {
		t.Errorf("render while serving: exit %d, stderr %s", code, errOut)
	}

	d.stop(t)

	// With the daemon gone, render opens the store itself.
	out, errOut, code = runTidings(t, "render", "--config", cfg, "mexico")
	if code != 0 || !strings.Contains(out, "<rss") {
		t.Errorf("render from the store: exit %d, stderr %s", code, errOut)
	}
	exportDir := filepath.Join(dir, "public")
	if _, errOut, code := runTidings(t, "export", "--out", exportDir, "--config", cfg); code != 0 {
		t.Errorf("export: exit %d: %s", code, errOut)
	}
	for _, f := range []string{"index.html", "topics.opml", "topics/mexico.rss", "topics/all.json"} {
		if _, err := os.Stat(filepath.Join(exportDir, f)); err != nil {
			t.Errorf("export did not write %s: %v", f, err)
		}
	}

	// Every feed fetched again in full, then a restart: nothing is listed twice.
	forget.Store(true)
	if out, errOut, code := runTidings(t, "fetch", "--config", cfg); code != 0 {
		t.Fatalf("fetch again: exit %d\n%s%s", code, out, errOut)
	} else if strings.Count(out, ": 0 new, 0 updated")+strings.Count(out, "not modified") != 7 {
		// Unchanged bodies are recognized by their hash and not parsed again.
		t.Errorf("fetching the same feeds again changed the store:\n%s", out)
	}
	d = startDaemon(t, cfg, base)
	for url, ids := range firstIDs {
		_, body := get(t, url)
		feed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("after restart, %s: %v", url, err)
		}
		var again []string
		for _, it := range feed.Items {
			again = append(again, it.GUID)
		}
		slices.Sort(again)
		if !slices.Equal(again, ids) {
			t.Errorf("after restart %s lists %v, before %v", url, again, ids)
		}
	}
	d.stop(t)
}

// TestCheckReportsFileAndLine checks that a broken config names file, line and key.
func TestCheckReportsFileAndLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	for cfg, want := range map[string]string{
		"fetch:\n  interval: 5 minutes\n":                                     path + ":2: fetch.interval: invalid duration",
		"sources: []\ntopics:\n  - name: x\n    query: 'mexico AND (trade'\n": path + ":4: topics[0].query: topic \"x\": query: unclosed \"(\" at column 12",
		"storage:\n  pathh: x\n":                                              path + ":2: storage.pathh: unknown key",
	} {
		os.WriteFile(path, []byte(cfg), 0o644)
		_, errOut, code := runTidings(t, "check", "--config", path)
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("check on\n%s: exit %d, stderr:\n%s\nwant exit 1 and %q", cfg, code, errOut, want)
		}
	}
}

// TestDemo runs the README's demo config as shipped (on a copy, so the
// checkout's data folder stays clean): every source ingests, and the Mexico
// topic holds the seed article and the USMCA story once, and nothing off-topic.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples")); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "data"))
	cfg := filepath.Join(dir, "demo.yaml")
	out, errOut, code := runTidings(t, "fetch", "--config", cfg, "--strict")
	if code != 0 {
		t.Fatalf("fetch on the demo: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runTidings(t, "render", "mexico", "--format", "json", "--config", cfg)
	if code != 0 {
		t.Fatalf("render mexico: exit %d\n%s", code, errOut)
	}
	var feed struct {
		Items []struct {
			Title string `json:"title"`
			URL   string `json:"url"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &feed); err != nil {
		t.Fatalf("render mexico --format json: %v\n%s", err, out)
	}
	var titles []string
	usmca := 0
	for _, it := range feed.Items {
		titles = append(titles, it.Title)
		if strings.Contains(it.URL, "usmca-review") {
			usmca++
		}
	}
	if !slices.Contains(titles, "Washington escalates aggression against Mexico in bid to impose rule over the Americas") {
		t.Errorf("the mexico topic lacks the seed article: %q", titles)
	}
	if usmca != 1 {
		t.Errorf("the USMCA story is listed %d times, want once: %q", usmca, titles)
	}
	for _, offTopic := range []string{"Football makes concussion substitutes permanent after two-year trial", "Jazz archive digitises 3,000 hours of radio sessions"} {
		if slices.Contains(titles, offTopic) {
			t.Errorf("the mexico topic holds %q", offTopic)
		}
	}
	out, _, _ = runTidings(t, "render", "sports", "--format", "json", "--config", cfg)
	if strings.Contains(out, "Washington escalates aggression") || !strings.Contains(out, "Football makes concussion substitutes") {
		t.Errorf("the sports topic is wrong:\n%s", out)
	}
}
