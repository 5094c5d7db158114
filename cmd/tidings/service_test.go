package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Tests of `tidings serve` as an operator runs it: reloads, shutdown,
// admin restriction and metrics. They reuse the binary, startDaemon and
// freeAddr of e2e_test.go.

// waitFor polls cond until it holds, failing the test after 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// feedHits serves the demo's sample feeds and counts the requests per
// file, so tests can see which sources the daemon polls.
type feedHits struct {
	mu     sync.Mutex
	hits   map[string]int
	agents map[string]string // the last User-Agent per file
}

func (h *feedHits) agent(name string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.agents[name]
}

func (h *feedHits) get(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[name]
}

// countingFeeds serves ../../examples/feeds under /feeds/, plus /slow/NAME
// and /hang/NAME: the first answers once release is closed, the second
// never (until the client gives up). arrived gets the name of every
// request to either.
func countingFeeds(t *testing.T, release <-chan struct{}, arrived chan<- string) (*httptest.Server, *feedHits) {
	t.Helper()
	h := &feedHits{hits: map[string]int{}, agents: map[string]string{}}
	files := http.StripPrefix("/feeds/", http.FileServer(http.Dir("../../examples/feeds")))
	stop := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/feeds/", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.hits[path.Base(r.URL.Path)]++
		h.agents[path.Base(r.URL.Path)] = r.UserAgent()
		h.mu.Unlock()
		files.ServeHTTP(w, r)
	})
	mux.HandleFunc("/slow/{name}", func(w http.ResponseWriter, r *http.Request) {
		if arrived != nil {
			arrived <- "slow/" + r.PathValue("name")
		}
		select {
		case <-release:
		case <-stop:
			return
		}
		http.ServeFile(w, r, filepath.Join("../../examples/feeds", r.PathValue("name")))
	})
	mux.HandleFunc("/hang/{name}", func(w http.ResponseWriter, r *http.Request) {
		if arrived != nil {
			arrived <- "hang/" + r.PathValue("name")
		}
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		close(stop)
		srv.Close()
	})
	return srv, h
}

// writeFileAtomic replaces a file in one step, as careful editors and
// config management do, so a watcher never sees it half-written.
func writeFileAtomic(t *testing.T, name, data string) {
	t.Helper()
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

// scrape reads /metrics with the Prometheus text parser.
func scrape(t *testing.T, url string, hdr ...string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, body := get(t, url, hdr...)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse %s: %v\n%s", url, err, body)
	}
	return fams
}

// metricValue is the value of the series of name whose labels include
// labels, and whether it exists. Counters, gauges and untyped series only.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// metricSum adds up every series of a counter or gauge family.
func metricSum(fams map[string]*dto.MetricFamily, name string) float64 {
	var sum float64
	for _, m := range fams[name].GetMetric() {
		sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return sum
}

// serviceConfig is a config for these tests: sources are names of files
// under srv's /feeds/ (or slow/NAME, hang/NAME), topics YAML as given.
func serviceConfig(listen, feedsURL, server string, sources []string, topics string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "storage:\n  path: ./data/service.db\nserver:\n  listen: %s\n%s", listen, server)
	b.WriteString("fetch:\n  interval: 1h\n  timeout: 30s\nsources:\n")
	for _, s := range sources {
		dir, file := "feeds", s
		if d, f, ok := strings.Cut(s, "/"); ok {
			dir, file = d, f
		}
		name := strings.TrimSuffix(strings.TrimSuffix(file, ".xml"), ".json")
		if dir != "feeds" {
			name = dir
		}
		fmt.Fprintf(&b, "  - name: %s\n    url: %s/%s/%s\n", name, feedsURL, dir, file)
	}
	b.WriteString(topics)
	return b.String()
}

// logLines parses a JSON log; every line must be a JSON object.
func logLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for l := range strings.Lines(log) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("log line is not JSON (--log-format json): %q: %v", l, err)
			continue
		}
		lines = append(lines, m)
	}
	return lines
}

// checkSourceNamed requires every log line about a source to name it in a
// "source" attribute: any line whose message speaks of a poll, source or
// feed, or that carries a feed URL of srv.
func checkSourceNamed(t *testing.T, lines []map[string]any, feedsURL string) {
	t.Helper()
	for _, l := range lines {
		msg, _ := l["msg"].(string)
		about := strings.Contains(msg, "poll") || strings.Contains(msg, "source") || strings.Contains(msg, "feed")
		for _, v := range l {
			if s, ok := v.(string); ok && strings.Contains(s, feedsURL) {
				about = true
			}
		}
		if _, list := l["sources"]; list {
			continue // a line about several sources lists them instead
		}
		if src, _ := l["source"].(string); about && src == "" {
			t.Errorf("log line about a source does not name it: %v", l)
		}
	}
}

// TestServeReload edits the config of a running daemon: a good change (by
// the file watcher) adds and removes sources and topics; a bad one (by
// SIGHUP) is refused as a whole, reported with file and line on /readyz,
// in the metrics and in the log, and the old config keeps serving; a moved
// listen address is refused; a fixed file clears the failure.
func TestServeReload(t *testing.T) {
	srv, hits := countingFeeds(t, nil, nil)
	dir := t.TempDir()
	listen := freeAddr(t)
	base := "http://" + listen
	cfgPath := filepath.Join(dir, "tidings.yaml")
	const server = "  watch_config: true\n"
	mexico := "topics:\n  - name: mexico\n    query: mexico\n"
	trade := "topics:\n  - name: trade\n    query: usmca\n"
	writeFileAtomic(t, cfgPath, serviceConfig(listen, srv.URL, server, []string{"wsws.xml", "wire.xml"}, mexico))

	d := startDaemon(t, cfgPath, base, "--log-format", "json")
	waitFor(t, "the first polls", func() bool {
		return metricSum(scrape(t, base+"/metrics"), "tidings_polls_total") >= 2
	})
	for url, code := range map[string]int{base + "/topics/mexico.rss": 200, base + "/topics/trade.rss": 404} {
		if r, _ := get(t, url); r.StatusCode != code {
			t.Fatalf("before reload, GET %s: %d, want %d", url, r.StatusCode, code)
		}
	}

	// A good edit, picked up by the watcher: ledger added, wire removed,
	// topic mexico replaced by trade, a new User-Agent.
	good := serviceConfig(listen, srv.URL, server, []string{"wsws.xml", "ledger.xml"}, trade)
	good = strings.Replace(good, "timeout: 30s\n", "timeout: 30s\n  user_agent: reloaded-agent/2.0\n", 1)
	writeFileAtomic(t, cfgPath, good)
	waitFor(t, "the reload to publish topic trade", func() bool {
		r, _ := get(t, base+"/topics/trade.json")
		return r.StatusCode == 200
	})
	if r, _ := get(t, base+"/topics/mexico.rss"); r.StatusCode != 404 {
		t.Errorf("a removed topic still answers %d", r.StatusCode)
	}
	waitFor(t, "the added source ledger to be polled", func() bool { return hits.get("ledger.xml") > 0 })
	if ua := hits.agent("ledger.xml"); ua != "reloaded-agent/2.0" {
		t.Errorf("after the reload a poll sent User-Agent %q, want the reloaded fetch.user_agent", ua)
	}
	waitFor(t, "topic trade to hold the USMCA story", func() bool {
		_, body := get(t, base+"/topics/trade.json")
		return strings.Contains(string(body), "usmca-review")
	})
	m := scrape(t, base+"/metrics")
	if v, _ := metricValue(m, "tidings_sources"); v != 2 {
		t.Errorf("tidings_sources = %v after the reload, want 2", v)
	}
	if _, ok := metricValue(m, "tidings_source_last_success_timestamp_seconds", "source", "wire"); ok {
		t.Errorf("the removed source wire still has a last-success series")
	}
	_, body := get(t, base+"/sources")
	var sources []struct {
		Name       string `json:"name"`
		Configured bool   `json:"configured"`
	}
	if err := json.Unmarshal(body, &sources); err != nil {
		t.Fatalf("/sources: %v\n%s", err, body)
	}
	for _, s := range sources {
		if want := s.Name != "wire"; s.Configured != want {
			t.Errorf("/sources: %s configured = %v, want %v", s.Name, s.Configured, want)
		}
	}

	// A bad edit, by SIGHUP: refused whole, the old config serves on.
	bad := serviceConfig(listen, srv.URL, server, []string{"wsws.xml"}, "") + "topics:\n  - name: broken\n    query: 'usmca AND ('\n"
	bad = strings.Replace(bad, "interval: 1h", "interval: 5 minutes", 1)
	writeFileAtomic(t, cfgPath, bad)
	d.cmd.Process.Signal(syscall.SIGHUP)
	var ready string
	waitFor(t, "/readyz to report the failed reload", func() bool {
		r, body := get(t, base+"/readyz")
		ready = string(body)
		return r.StatusCode == 200 && strings.Contains(ready, "reload failed")
	})
	for _, want := range []string{cfgPath + ":7: fetch.interval: invalid duration"} {
		if !strings.Contains(ready, want) {
			t.Errorf("/readyz after a bad reload: %q lacks %q", ready, want)
		}
	}
	m = scrape(t, base+"/metrics")
	if v, ok := metricValue(m, "tidings_config_last_reload_successful"); !ok || v != 0 {
		t.Errorf("tidings_config_last_reload_successful = %v (present %v), want 0", v, ok)
	}
	if v, _ := metricValue(m, "tidings_config_reloads_total", "result", "error"); v < 1 {
		t.Errorf(`tidings_config_reloads_total{result="error"} = %v, want >= 1`, v)
	}
	if r, _ := get(t, base+"/topics/trade.rss"); r.StatusCode != 200 {
		t.Errorf("after a bad reload the old topic answers %d, want 200", r.StatusCode)
	}
	if r, _ := get(t, base+"/topics/broken.rss"); r.StatusCode != 404 {
		t.Errorf("after a bad reload a topic of the bad file answers %d, want 404", r.StatusCode)
	}

	// Moving the listen address needs a restart.
	writeFileAtomic(t, cfgPath, serviceConfig(freeAddr(t), srv.URL, server, []string{"wsws.xml", "ledger.xml"}, trade))
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "/readyz to report the refused listen change", func() bool {
		_, body := get(t, base+"/readyz")
		return strings.Contains(string(body), "server.listen changed")
	})

	// Fixed: the failure clears.
	writeFileAtomic(t, cfgPath, good)
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "/readyz to be plain ready again", func() bool {
		_, body := get(t, base+"/readyz")
		return string(body) == "ready\n"
	})
	m = scrape(t, base+"/metrics")
	if v, _ := metricValue(m, "tidings_config_last_reload_successful"); v != 1 {
		t.Errorf("tidings_config_last_reload_successful = %v after a good reload, want 1", v)
	}
	if v, _ := metricValue(m, "tidings_config_reloads_total", "result", "ok"); v < 2 {
		t.Errorf(`tidings_config_reloads_total{result="ok"} = %v, want >= 2`, v)
	}
	d.stop(t)

	lines := logLines(t, d.stderr.String())
	checkSourceNamed(t, lines, srv.URL)
	want := map[string]bool{
		"source added; polling starts/ledger":   false,
		"source removed; polling stopped/wire":  false,
		"config reloaded/config file changed":   false,
		"config reload failed/SIGHUP":           false,
		"config reloaded/SIGHUP":                false,
		"poll/ledger":                           false,
		"config reload failed/fetch.interval":   false,
		"config reload failed/server.listen ch": false,
	}
	for _, l := range lines {
		msg, _ := l["msg"].(string)
		for k := range want {
			m, detail, _ := strings.Cut(k, "/")
			if strings.HasPrefix(msg, m) && (l["source"] == detail || l["trigger"] == detail || strings.Contains(fmt.Sprint(l["err"]), detail)) {
				want[k] = true
			}
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("the log lacks %q:\n%s", k, d.stderr)
		}
	}
}

// TestServeShutdown sends SIGTERM while a poll is in flight: within the
// grace period the poll finishes and is stored; past it the poll is
// cancelled. Either way the daemon exits 0 and the store opens again at once.
func TestServeShutdown(t *testing.T) {
	tests := map[string]struct {
		source  string // feed path on the test server
		grace   string
		release bool   // let the slow feed answer once HTTP has stopped
		again   bool   // send a second SIGTERM once HTTP has stopped
		log     string // a line the log must have
		stored  bool   // whether the feed's items are in the store afterwards
	}{
		"poll in flight finishes": {
			source: "slow/wsws.xml", grace: "30s", release: true,
			log: `msg="waiting for polls in flight" sources=[slow]`, stored: true,
		},
		"a second SIGTERM cancels at once": {
			source: "hang/wsws.xml", grace: "5m", again: true,
			log: `msg="second stop signal; cancelling what is still running"`,
		},
		"poll past the grace period is cancelled": {
			source: "hang/wsws.xml", grace: "1s",
			log: `msg="grace period over; cancelling polls in flight (their results are not stored)" sources=[hang]`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			release := make(chan struct{})
			arrived := make(chan string, 10)
			srv, _ := countingFeeds(t, release, arrived)
			dir := t.TempDir()
			listen := freeAddr(t)
			base := "http://" + listen
			cfgPath := filepath.Join(dir, "tidings.yaml")
			writeFileAtomic(t, cfgPath, serviceConfig(listen, srv.URL, "  watch_config: false\n", []string{tc.source}, ""))
			d := startDaemon(t, cfgPath, base, "--grace", tc.grace)
			select {
			case <-arrived:
			case <-time.After(20 * time.Second):
				t.Fatalf("the daemon never polled %s\n%s", tc.source, d.stderr)
			}
			if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if tc.release || tc.again {
				// HTTP stops before the wait for polls: once the port refuses
				// connections, the poll under way is all that is left.
				waitFor(t, "the HTTP server to stop", func() bool {
					resp, err := http.Get(base + "/healthz")
					if err == nil {
						resp.Body.Close()
					}
					return err != nil
				})
			}
			if tc.release {
				close(release)
			}
			if tc.again {
				d.cmd.Process.Signal(syscall.SIGTERM)
			}
			// Not d.stop: it would send the second SIGTERM that cuts the grace period short.
			select {
			case err := <-d.done:
				if err != nil {
					t.Fatalf("serve did not exit cleanly: %v\n%s", err, d.stderr)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("serve did not stop within 20s of SIGTERM\n%s", d.stderr)
			}
			if !strings.Contains(d.stderr.String(), "msg=stopped") {
				t.Errorf("the log lacks the final 'stopped' line:\n%s", d.stderr)
			}
			if !strings.Contains(d.stderr.String(), tc.log) {
				t.Errorf("the log lacks %q:\n%s", tc.log, d.stderr)
			}
			// The store was closed: another process opens it at once.
			out, errOut, code := runTidings(t, "render", "all", "--format", "json", "--config", cfgPath)
			if code != 0 {
				t.Fatalf("render after the stop: exit %d: %s", code, errOut)
			}
			if got := strings.Contains(out, "Washington escalates aggression against Mexico"); got != tc.stored {
				t.Errorf("after the stop the store holds the polled item: %v, want %v\n%s\nlog:\n%s", got, tc.stored, out, d.stderr)
			}
		})
	}
}

// TestAdminRestriction checks who may see /metrics and /sources: anyone by
// default, bearer-token holders with server.admin_token, and only clients
// of server.admin_listen when that is set. Topic feeds stay public.
func TestAdminRestriction(t *testing.T) {
	srv, _ := countingFeeds(t, nil, nil)
	const token = "s3cret-token"
	type probe struct {
		public bool   // on the public listener, else on admin_listen
		path   string // request path
		auth   string // Authorization header
		code   int    // want
	}
	public := func(path, auth string, code int) probe { return probe{true, path, auth, code} }
	admin := func(path, auth string, code int) probe { return probe{false, path, auth, code} }
	tests := map[string]struct {
		server string // YAML under server:, ADMIN for the admin address
		probes []probe
	}{
		"open by default": {
			probes: []probe{
				public("/metrics", "", 200), public("/sources", "", 200), public("/topics/all.rss", "", 200),
			},
		},
		"admin_token": {
			server: "  admin_token: " + token + "\n",
			probes: []probe{
				public("/metrics", "", 401), public("/sources", "", 401),
				public("/metrics", "Bearer wrong", 401), public("/metrics", token, 401),
				public("/metrics", "Bearer "+token, 200), public("/sources", "Bearer "+token, 200),
				public("/metrics", "bearer "+token, 200),
				public("/", "", 200), public("/topics/all.rss", "", 200), public("/topics/all.json", "", 200),
				public("/topics.opml", "", 200), public("/healthz", "", 200), public("/readyz", "", 200),
			},
		},
		"admin_listen": {
			server: "  admin_listen: ADMIN\n",
			probes: []probe{
				public("/metrics", "", 404), public("/sources", "", 404),
				public("/topics/all.atom", "", 200), public("/", "", 200), public("/healthz", "", 200),
				admin("/metrics", "", 200), admin("/sources", "", 200), admin("/healthz", "", 200), admin("/readyz", "", 200),
			},
		},
		"admin_listen and admin_token": {
			server: "  admin_listen: ADMIN\n  admin_token: " + token + "\n",
			probes: []probe{
				public("/metrics", "Bearer "+token, 404), public("/topics/all.rss", "", 200),
				admin("/metrics", "", 401), admin("/metrics", "Bearer "+token, 200), admin("/sources", "Bearer "+token, 200),
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			listen, adminAddr := freeAddr(t), freeAddr(t)
			base := "http://" + listen
			cfgPath := filepath.Join(dir, "tidings.yaml")
			server := strings.ReplaceAll("  watch_config: false\n"+tc.server, "ADMIN", adminAddr)
			writeFileAtomic(t, cfgPath, serviceConfig(listen, srv.URL, server, []string{"wsws.xml"}, ""))
			d := startDaemon(t, cfgPath, base)
			for _, p := range tc.probes {
				url := "http://" + adminAddr + p.path
				if p.public {
					url = base + p.path
				}
				var hdr []string
				if p.auth != "" {
					hdr = []string{"Authorization", p.auth}
				}
				resp, body := get(t, url, hdr...)
				if resp.StatusCode != p.code {
					t.Errorf("GET %s with Authorization %q: %d, want %d\n%s", url, p.auth, resp.StatusCode, p.code, body)
				}
				if resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("GET %s: 401 without WWW-Authenticate", url)
				}
			}
			// The container health check still works.
			if out, errOut, code := runTidings(t, "health", "--config", cfgPath); code != 0 {
				t.Errorf("tidings health: exit %d\n%s%s", code, out, errOut)
			}
			d.stop(t)
		})
	}
}

// TestMetricsNames scrapes a daemon that has polled and served feeds, and
// checks every series operators alert on by name, type and labels.
func TestMetricsNames(t *testing.T) {
	srv, _ := countingFeeds(t, nil, nil)
	dir := t.TempDir()
	listen := freeAddr(t)
	base := "http://" + listen
	cfgPath := filepath.Join(dir, "tidings.yaml")
	writeFileAtomic(t, cfgPath, serviceConfig(listen, srv.URL, "  watch_config: false\n",
		[]string{"wsws.xml", "wire.xml", "ledger.xml", "hang/none.xml"}, ""))
	d := startDaemon(t, cfgPath, base, "--grace", "0s")
	waitFor(t, "three polls", func() bool {
		return metricSum(scrape(t, base+"/metrics"), "tidings_polls_total") >= 3
	})
	// The fourth source's server never answers: its poll stays under way
	// (until fetch.timeout), and nothing waits for a worker.
	waitFor(t, "the hanging poll in flight", func() bool {
		v, _ := metricValue(scrape(t, base+"/metrics"), "tidings_polls_in_flight")
		return v == 1
	})
	resp, _ := get(t, base+"/topics/all.rss")
	get(t, base+"/topics/all.rss", "If-None-Match", resp.Header.Get("ETag"))
	get(t, base+"/")

	m := scrape(t, base+"/metrics")
	for name, want := range map[string]struct {
		typ    dto.MetricType
		labels string // label names of the first series, comma-separated
	}{
		"tidings_polls_total":                                  {dto.MetricType_COUNTER, "outcome"},
		"tidings_poll_duration_seconds":                        {dto.MetricType_HISTOGRAM, ""},
		"tidings_fetched_bytes_total":                          {dto.MetricType_COUNTER, ""},
		"tidings_items_total":                                  {dto.MetricType_COUNTER, "result"},
		"tidings_source_last_success_timestamp_seconds":        {dto.MetricType_GAUGE, "source"},
		"tidings_sources":                                      {dto.MetricType_GAUGE, ""},
		"tidings_store_items":                                  {dto.MetricType_GAUGE, ""},
		"tidings_store_size_bytes":                             {dto.MetricType_GAUGE, ""},
		"tidings_feed_requests_total":                          {dto.MetricType_COUNTER, "code,kind,topic"},
		"tidings_config_last_reload_successful":                {dto.MetricType_GAUGE, ""},
		"tidings_polls_due":                                    {dto.MetricType_GAUGE, ""},
		"tidings_polls_in_flight":                              {dto.MetricType_GAUGE, ""},
		"tidings_config_last_reload_success_timestamp_seconds": {dto.MetricType_GAUGE, ""},
		"go_goroutines":                                        {dto.MetricType_GAUGE, ""},
		"process_resident_memory_bytes":                        {dto.MetricType_GAUGE, ""},
	} {
		f, ok := m[name]
		if !ok {
			t.Errorf("/metrics lacks %s", name)
			continue
		}
		if f.GetType() != want.typ {
			t.Errorf("%s is a %v, want %v", name, f.GetType(), want.typ)
		}
		var labels []string
		for _, lp := range f.GetMetric()[0].GetLabel() {
			labels = append(labels, lp.GetName())
		}
		if got := strings.Join(labels, ","); got != want.labels {
			t.Errorf("%s has labels %q, want %q", name, got, want.labels)
		}
	}
	for _, c := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"tidings_polls_total", []string{"outcome", "ok"}, 3},
		{"tidings_items_total", []string{"result", "new"}, 15},
		{"tidings_items_total", []string{"result", "updated"}, 0},
		{"tidings_items_total", []string{"result", "duplicate"}, 0},
		{"tidings_fetched_bytes_total", nil, 20000},
		{"tidings_source_last_success_timestamp_seconds", []string{"source", "wsws"}, float64(time.Now().Add(-time.Hour).Unix())},
		{"tidings_sources", nil, 4},
		{"tidings_store_items", nil, 15},
		{"tidings_store_size_bytes", nil, 4096},
		{"tidings_feed_requests_total", []string{"kind", "rss", "topic", "all", "code", "200"}, 1},
		{"tidings_feed_requests_total", []string{"kind", "rss", "topic", "all", "code", "304"}, 1},
		{"tidings_feed_requests_total", []string{"kind", "index", "code", "200"}, 1},
		{"tidings_config_last_reload_successful", nil, 1},
		{"tidings_polls_in_flight", nil, 1},
	} {
		v, ok := metricValue(m, c.name, c.labels...)
		if !ok || v < c.min {
			t.Errorf("%s%v = %v (present %v), want >= %v", c.name, c.labels, v, ok, c.min)
		}
	}
	if v, ok := metricValue(m, "tidings_polls_due"); !ok || v != 0 {
		t.Errorf("tidings_polls_due = %v (present %v), want 0: four sources, workers to spare", v, ok)
	}
	if _, ok := metricValue(m, "tidings_source_last_success_timestamp_seconds", "source", "hang"); ok {
		t.Errorf("a source that never succeeded has a last-success time")
	}
	if n := m["tidings_poll_duration_seconds"].GetMetric()[0].GetHistogram().GetSampleCount(); n < 3 {
		t.Errorf("tidings_poll_duration_seconds counts %d polls, want >= 3", n)
	}
	d.stop(t)
}
