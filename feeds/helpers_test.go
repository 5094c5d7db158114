package feeds

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidings/tidings"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// testSources is the configuration the fixtures in testdata/items.json come from.
var testSources = []tidings.Source{
	{Name: "wsws", URL: "https://www.wsws.org/en/rss.xml", Title: "World Socialist Web Site", Tags: []string{"world", "americas"}},
	{Name: "wire", URL: "https://wire.example.com/feed", Tags: []string{"world"}},
	{Name: "sport", URL: "https://sport.example.com/rss", Tags: []string{"sports"}},
	{Name: "podcast", URL: "file:///feeds/podcast.xml", Tags: []string{"audio"}},
}

// testMeta is the publishing context of the fixtures.
var testMeta = Meta{
	BaseURL: "http://localhost:8080/",
	SourceTitle: map[string]string{
		"wsws":    "World Socialist Web Site",
		"wire":    "Example Wire",
		"sport":   "Example Sports",
		"podcast": "The Example Podcast",
	},
	SourceLink: map[string]string{"wsws": "https://www.wsws.org/en", "wire": "https://wire.example.com/"},
	SourceFeed: map[string]string{
		"wsws":    "https://www.wsws.org/en/rss.xml",
		"wire":    "https://wire.example.com/feed",
		"podcast": "file:///feeds/podcast.xml", // never published
	},
	Generator: "Tidings 1.0.0",
}

// loadItems reads the fixture items: the seed article and copies of it,
// a hostile item, a sports item and a podcast episode.
func loadItems(tb testing.TB) []tidings.Item {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "items.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var items []tidings.Item
	if err := json.Unmarshal(b, &items); err != nil {
		tb.Fatalf("testdata/items.json: %v", err)
	}
	return items
}

// mustCompile compiles a topic against testSources.
func mustCompile(tb testing.TB, t tidings.Topic) *Topic {
	tb.Helper()
	ct, err := Compile(t, testSources)
	if err != nil {
		tb.Fatalf("Compile(%+v): %v", t, err)
	}
	return ct
}

// selectAll runs items through a Selector for topic t.
func selectAll(t *Topic, limit int, items []tidings.Item) []Entry {
	s := NewSelector(t, limit)
	for i := range items {
		s.Add(&items[i])
	}
	return s.Entries()
}

// mustRender renders and fails the test on error.
func mustRender(tb testing.TB, t *Topic, entries []Entry, f Format, m Meta) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, t, entries, f, m); err != nil {
		tb.Fatalf("Render(%s): %v", f, err)
	}
	return buf.Bytes()
}

// checkWellFormed fails unless b is well-formed XML.
func checkWellFormed(tb testing.TB, b []byte) {
	tb.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			tb.Fatalf("not well-formed XML: %v\n%s", err, b)
		}
	}
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test ./feeds/ -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the golden file (run go test ./feeds/ -update and review the diff):\n%s", path, got)
	}
}
