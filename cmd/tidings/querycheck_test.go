package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckQueries: `tidings check` reports every bad query of the new
// syntax with the topic, the column and the config line, before any daemon starts.
func TestCheckQueries(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "topics.yaml")
	os.WriteFile(path, []byte(`sources:
  - {name: wsws, url: "https://www.wsws.org/en/rss.xml", tags: [americas]}
topics:
  - name: mexico
    query: 'mexico OR (sheinbaum))'
  - name: fresh
    query: 'age:<7y'
  - name: regex
    query: 'title:/(amlo/'
  - name: tagged
    query: 'tag:europe OR tag:americas'
  - name: fine
    query: 'tag:americas age:<7d published:2026-01..2026-03 /sheinbaum|amlo/'
`), 0o644)
	_, errOut, code := runTidings(t, "check", "--config", path)
	if code != 1 {
		t.Fatalf("check: exit %d, want 1\n%s", code, errOut)
	}
	for _, want := range []string{
		path + `:5: topics[0].query: topic "mexico": query: unexpected ")" at column 22`,
		path + `:7: topics[1].query: topic "fresh": query: age: wants a time span such as <7d, >12h or <=2w (units m, h, d, w) at column 5`,
		path + `:9: topics[2].query: topic "regex": query: bad regular expression: missing closing ) "(amlo" at column 7`,
		path + `:11: topics[3].query: feeds: unknown tag "europe" in the query of topic "tagged"`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("check output lacks\n%s\ngot\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "topics[4]") {
		t.Errorf("check rejects a valid query:\n%s", errOut)
	}
}
