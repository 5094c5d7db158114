package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmcdole/gofeed"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/config"
	"github.com/tidings/tidings/dedupe"
)

// TestGenerate writes a small workload and reads it back as Tidings would:
// the config loads, and every feed parses with the items asked for, in its
// format, with the seed article's text.
func TestGenerate(t *testing.T) {
	o := options{sources: 10, items: 60, size: 800, concurrency: 4, out: t.TempDir(), url: "file://./feeds/", listen: "127.0.0.1:8090"}
	g := newGenerator()
	if len(g.sentences) < 50 || g.title == "" {
		t.Fatalf("seed gave %d sentences and title %q", len(g.sentences), g.title)
	}
	types := map[string]int{}
	whole := 0
	for i := range o.sources {
		name, body, err := g.feed(i, o)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(o.out, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
		feed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		types[feed.FeedType]++
		if len(feed.Items) != o.items {
			t.Errorf("%s: %d items, want %d", name, len(feed.Items), o.items)
		}
		for _, it := range feed.Items {
			if it.Title == g.title {
				whole++
			}
			if !strings.Contains(it.Content, "<p>") {
				t.Errorf("%s: item %q has no HTML paragraphs", name, it.Title)
			}
		}
	}
	if types["rss"] != 8 || types["atom"] != 1 || types["json"] != 1 {
		t.Errorf("feed types %v, want 8 rss, 1 atom, 1 json", types)
	}
	if want := o.sources * o.items / 50; whole < want-o.sources || whole > want+o.sources {
		t.Errorf("%d items carry the whole article, want about %d", whole, want)
	}
	cfgPath := filepath.Join(o.out, "tidings.yaml")
	if err := os.WriteFile(cfgPath, []byte(configYAML(o)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatalf("generated config: %v", err)
	}
	if len(cfg.Sources) != o.sources || len(cfg.Topics) != 6 {
		t.Errorf("config has %d sources and %d topics, want %d and 6", len(cfg.Sources), len(cfg.Topics), o.sources)
	}
}

// TestFingerprintsDiffer checks that generated items differ as different
// stories do: pairs of items that are not both the whole article are
// within dedupe.StrictDistance about as rarely as unrelated texts (the
// seed's vocabulary makes them a little nearer), while copies of the whole
// article are equal.
func TestFingerprintsDiffer(t *testing.T) {
	o := options{sources: 40, items: 50, size: 700}
	g := newGenerator()
	var fps []uint64
	var whole []bool
	for s := range o.sources {
		for _, p := range g.posts(s, o) {
			fps = append(fps, dedupe.Fingerprint(&tidings.Item{Title: p.title, Content: p.content}))
			whole = append(whole, p.title == g.title)
		}
	}
	pairs, near, copies := 0, 0, 0
	for i := range fps {
		for j := i + 1; j < len(fps); j++ {
			switch {
			case whole[i] && whole[j]:
				copies++
				if fps[i] != fps[j] {
					t.Fatalf("copies of the whole article have fingerprints %x and %x", fps[i], fps[j])
				}
			case whole[i] || whole[j]:
			default:
				pairs++
				if dedupe.Near(fps[i], fps[j], dedupe.StrictDistance) {
					near++
				}
			}
		}
	}
	if copies == 0 {
		t.Fatal("no two items carry the whole article")
	}
	if near*10_000 > pairs {
		t.Errorf("%d of %d pairs of generated items are within distance %d, want under 1 in 10,000", near, pairs, dedupe.StrictDistance)
	}
}
