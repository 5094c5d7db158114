package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/storage"
)

// TestAgeTopicExpires: a topic with an age: query loses an item as it ages,
// although neither store nor config changes; a topic without one is cached
// until they do.
func TestAgeTopicExpires(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tidings.yaml")
	os.WriteFile(cfg, []byte(`
storage: {path: ./t.db}
server: {base_url: "http://127.0.0.1:1"}
sources:
  - {name: wire, url: "https://wire.example/feed", tags: [news]}
topics:
  - {name: fresh, query: "age:<1h tag:news"}
  - {name: steady, query: "mexico"}
`), 0o644)
	s, err := loadSetup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	published := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st, err := storage.Open(filepath.Join(dir, "t.db"), storage.Options{Now: func() time.Time { return published }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := st.SavePoll(ctx, "wire", []tidings.Item{{ID: "1", Title: "Mexico votes", Link: "https://wire.example/1", Published: published}}, tidings.SourceState{}); err != nil {
		t.Fatal(err)
	}
	clock := published.Add(30 * time.Minute)
	p := newPublisher(st, s, slog.New(slog.DiscardHandler))
	p.now = func() time.Time { return clock }
	holds := func(topic string) bool {
		t.Helper()
		r, err := p.topicFeed(ctx, topic, feeds.RSS, 0)
		if err != nil || r == nil {
			t.Fatalf("topicFeed(%s): %v", topic, err)
		}
		return strings.Contains(string(r.body), "Mexico votes")
	}
	index := func() string {
		r, err := p.index(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(r.body)
	}
	if !holds("fresh") || !holds("steady") {
		t.Fatal("at 30 minutes both topics should hold the item")
	}
	if !strings.Contains(index(), "Mexico votes") {
		t.Fatal("the index lacks the item")
	}
	steady, _ := p.topicFeed(ctx, "steady", feeds.RSS, 0)

	clock = published.Add(30*time.Minute + dynamicTTL/2)
	if !holds("fresh") {
		t.Error("within the cache lifetime the cached feed should be served")
	}
	clock = published.Add(2 * time.Hour)
	if holds("fresh") {
		t.Error("at 2 hours the age:<1h topic still holds the item: the cache did not expire")
	}
	if again, _ := p.topicFeed(ctx, "steady", feeds.RSS, 0); again != steady {
		t.Error("a topic without age: was rendered again although nothing changed")
	}
	_, fresh, _ := strings.Cut(index(), `id="topic-fresh"`)
	fresh, _, _ = strings.Cut(fresh, "</section>")
	if fresh == "" || strings.Contains(fresh, "Mexico votes") {
		t.Errorf("the index page still lists the aged item under the age:<1h topic:\n%s", fresh)
	}
}
