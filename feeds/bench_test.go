package feeds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/tidings/tidings"
)

// benchEntries returns n entries shaped like the seed article, each with
// full content, as a busy topic feed holds them.
func benchEntries(tb testing.TB, n int) []Entry {
	items := loadItems(tb)
	entries := make([]Entry, n)
	for i := range entries {
		it := items[i%len(items)]
		it.ID = fmt.Sprintf("%s-%d", it.ID, i)
		it.Published = it.Published.Add(-time.Duration(i) * time.Hour)
		entries[i] = Entry{Item: it}
		if i%5 == 0 {
			entries[i].AlsoIn = []string{"wire"}
		}
	}
	return entries
}

// benchmarkRender renders 50 items as a re-render does after a poll: the
// items were sanitized before (cold: never, as on the first render).
func benchmarkRender(b *testing.B, f Format, cold bool) {
	ct := allTopic(b)
	entries := benchEntries(b, 50)
	var buf bytes.Buffer
	for b.Loop() {
		if cold {
			forgetSanitized()
		}
		buf.Reset()
		if err := Render(&buf, ct, entries, f, testMeta); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

func BenchmarkRenderRSS50(b *testing.B)     { benchmarkRender(b, RSS, false) }
func BenchmarkRenderAtom50(b *testing.B)    { benchmarkRender(b, Atom, false) }
func BenchmarkRenderJSON50(b *testing.B)    { benchmarkRender(b, JSON, false) }
func BenchmarkRenderRSS50Cold(b *testing.B) { benchmarkRender(b, RSS, true) }

func forgetSanitized() {
	for _, m := range []*memo[string]{sanitized, stripped, summarized} {
		m.mu.Lock()
		clear(m.m)
		m.mu.Unlock()
	}
	linked.mu.Lock()
	clear(linked.m)
	linked.mu.Unlock()
}

func BenchmarkWriteIndex(b *testing.B) {
	ts := testSummaries(b)
	for b.Loop() {
		if err := WriteIndex(io.Discard, ts, testMeta); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzRender feeds arbitrary text into every field a publisher controls: the
// output must stay well-formed XML and valid JSON, parse back with the same
// number of items, and never carry a script.
func FuzzRender(f *testing.F) {
	for _, it := range loadItems(f) {
		f.Add(it.Title, it.Summary, it.Content, it.Link, "cat")
	}
	f.Add("\x00\x01\ufffe", "]]><script>x</script>", "<![CDATA[", "http://a/\x7f", "\xff")
	ct := allTopic(f)
	f.Fuzz(func(t *testing.T, title, summary, content, link, category string) {
		it := tidings.Item{Source: "wire", ID: title, Title: title, Summary: summary, Content: content, Link: link,
			Categories: []string{category}, Authors: []tidings.Person{{Name: category}},
			Published: time.Date(2026, 2, 3, 12, 0, 0, 0, time.UTC)}
		entries := []Entry{{Item: it, AlsoIn: []string{category}}}
		for _, format := range Formats {
			b := mustRender(t, ct, entries, format, testMeta)
			if format == JSON {
				if !json.Valid(b) {
					t.Fatalf("invalid JSON:\n%s", b)
				}
			} else {
				checkWellFormed(t, b)
			}
			feed, err := gofeed.NewParser().Parse(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s does not parse: %v\n%s", format, err, b)
			}
			if len(feed.Items) != 1 {
				t.Fatalf("%s: %d items", format, len(feed.Items))
			}
			if bytes.Contains(bytes.ToLower([]byte(feed.Items[0].Content+feed.Items[0].Description)), []byte("<script")) {
				t.Fatalf("%s keeps a script: %q", format, feed.Items[0].Content)
			}
		}
	})
}
