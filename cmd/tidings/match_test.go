package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// demoCopy copies the shipped demo to a temporary folder, listening on
// listen with the given admin token, fetches it, and returns the config path.
func demoCopy(t *testing.T, listen, token string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples")); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "data"))
	cfg := filepath.Join(dir, "demo.yaml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(
		"listen: 127.0.0.1:8080", "listen: "+listen+"\n  admin_token: "+token,
		"base_url: http://localhost:8080", "base_url: http://"+listen,
		"watch_config: true", "watch_config: false",
	).Replace(string(data))
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := runTidings(t, "fetch", "--config", cfg, "--strict"); code != 0 {
		t.Fatalf("fetch on the demo: exit %d\n%s%s", code, out, errOut)
	}
	return cfg
}

// TestMatch runs `tidings match` on the demo with and without the daemon
// (both must print the same), and checks the admin endpoint and the preview page.
func TestMatch(t *testing.T) {
	listen := freeAddr(t)
	base := "http://" + listen
	const token = "s3cret"
	cfg := demoCopy(t, listen, token)

	offline, errOut, code := runTidings(t, "match", "mexico", "--config", cfg)
	if code != 0 {
		t.Fatalf("match mexico: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{
		`topic mexico: mexico OR sheinbaum OR usmca OR "latin america"`,
		"7 of 40 stored items match (6 stories)\n",
		"    https://example-wire.org/2026/03/12/usmca-review\n    not in the feed: it lists wire's copy of this story\n",
		"Washington escalates aggression against Mexico in bid to impose rule over the Americas",
		"title     washington escalates aggression against [mexico] in bid to impose rule over …",
		"content   … washington is ramping up aggression against [mexico] this is reflected along three axes …",
		"usmca   title     us mexico report progress in [usmca] review talks",
	} {
		if !strings.Contains(offline, want) {
			t.Errorf("match mexico lacks %q:\n%s", want, offline)
		}
	}
	if strings.Contains(offline, "Football makes concussion substitutes") {
		t.Errorf("match mexico lists a sports story:\n%s", offline)
	}

	// A query not in the config yet, within the topic's sources.
	out, errOut, code := runTidings(t, "match", "trade", "--query", "title:/tariff|freight/", "--limit", "1", "--config", cfg)
	if code != 0 || !strings.Contains(out, "sources: wsws, wire, ledger") || !strings.Contains(out, "2 of 40 stored items match (2 stories); the newest 1:") ||
		!strings.Contains(out, "title:/tariff|freight/  title") {
		t.Errorf("match trade --query: exit %d\n%s%s", code, out, errOut)
	}

	// A bad query: exit 2, the column, a caret under it.
	_, errOut, code = runTidings(t, "match", "--query", "mexico AND (trade))", "--config", cfg)
	if code != 2 || !strings.Contains(errOut, `query: unexpected ")" at column 19`) || !strings.Contains(errOut, "\n                    ^\n") {
		t.Errorf("bad --query: exit %d, stderr:\n%s", code, errOut)
	}
	if _, errOut, code := runTidings(t, "match", "nope", "--config", cfg); code != 1 || !strings.Contains(errOut, `no such topic "nope"`) {
		t.Errorf("unknown topic: exit %d, stderr %s", code, errOut)
	}
	if _, _, code := runTidings(t, "match", "--config", cfg); code != 2 {
		t.Errorf("match without TOPIC or --query: exit %d, want 2", code)
	}

	d := startDaemon(t, cfg, base)
	online, errOut, code := runTidings(t, "match", "mexico", "--config", cfg)
	if code != 0 {
		t.Fatalf("match while the daemon runs: exit %d\n%s", code, errOut)
	}
	if online != offline {
		t.Errorf("match through the daemon differs from match on the store:\n%s\n---\n%s", online, offline)
	}

	// The admin endpoint needs the token.
	if r, _ := get(t, base+"/admin/match?topic=mexico"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /admin/match without the token: %d, want 401", r.StatusCode)
	}
	auth := []string{"Authorization", "Bearer " + token}
	r, body := get(t, base+"/admin/match?query=sheinbaum&limit=1", auth...)
	var rep matchReport
	if r.StatusCode != 200 || json.Unmarshal(body, &rep) != nil || rep.Matched < 1 || len(rep.Items) != 1 || len(rep.Items[0].Hits) == 0 {
		t.Errorf("GET /admin/match?query=sheinbaum: %d\n%s", r.StatusCode, body)
	}
	// A topic with a query of its own replaced keeps its limit and says what the feed lists.
	r, body = get(t, base+"/admin/match?topic=culture&query=-zzz", auth...)
	rep = matchReport{}
	if json.Unmarshal(body, &rep) != nil || rep.Limit != 20 || len(rep.Items) == 0 || !rep.Items[0].InFeed {
		t.Errorf("GET /admin/match?topic=culture: %d\n%s", r.StatusCode, body)
	}
	r, body = get(t, base+"/admin/match?query=%22latin", auth...)
	if r.StatusCode != 400 || !strings.Contains(string(body), `"column": 1`) {
		t.Errorf("GET /admin/match with a bad query: %d %s; want 400 with the column", r.StatusCode, body)
	}

	// The preview page.
	if r, _ := get(t, base+"/topics/mexico/preview"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("preview without the token: %d, want 401", r.StatusCode)
	}
	r, body = get(t, base+"/topics/mexico/preview", auth...)
	page := string(body)
	if r.StatusCode != 200 || !strings.Contains(page, "<mark>mexico</mark>") || !strings.Contains(page, `name="query" value="mexico OR sheinbaum OR usmca OR &#34;latin america&#34;"`) ||
		!strings.Contains(page, "<strong>7</strong> of 40 stored items match (6 stories)") {
		t.Errorf("GET /topics/mexico/preview: %d\n%s", r.StatusCode, page)
	}
	r, body = get(t, base+"/topics/mexico/preview?query=mexico+(trade", auth...)
	if r.StatusCode != 400 || !strings.Contains(string(body), `unclosed &#34;(&#34; at column 8`) {
		t.Errorf("preview with a bad query: %d\n%s", r.StatusCode, body)
	}
	if r, _ := get(t, base+"/topics/nope/preview", auth...); r.StatusCode != 404 {
		t.Errorf("preview of an unknown topic: %d, want 404", r.StatusCode)
	}
	d.stop(t)
}
