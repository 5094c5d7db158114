package feeds

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

func TestSelector(t *testing.T) {
	// at returns a time on 3 Feb 2026 at the given hour.
	at := func(hour int) time.Time { return time.Date(2026, 2, 3, hour, 0, 0, 0, time.UTC) }
	// it builds an item; link "" means none.
	it := func(source, id, link string, hour int) tidings.Item {
		return tidings.Item{Source: source, ID: id, Title: source + "/" + id, Link: link, CanonicalLink: tidings.CanonicalURL(link), Published: at(hour)}
	}
	const story = "https://news.example.com/story"
	sources := func(names ...string) []tidings.Source {
		var ss []tidings.Source
		for _, n := range names {
			ss = append(ss, tidings.Source{Name: n})
		}
		return ss
	}

	tests := map[string]struct {
		sources []tidings.Source
		topic   tidings.Topic
		limit   int
		items   []tidings.Item // in the order offered
		want    []string       // "source/id" newest first, with "+also" credits
	}{
		"cross-source copy listed once, earliest stands": {
			sources: sources("a", "b"),
			items:   []tidings.Item{it("a", "1", story, 10), it("b", "1", story+"?utm_source=x#top", 9)},
			want:    []string{"b/1 +a"},
		},
		"tie broken by config order, not by name": {
			sources: sources("zeta", "alpha"),
			items:   []tidings.Item{it("alpha", "1", story, 9), it("zeta", "1", story, 9)},
			want:    []string{"zeta/1 +alpha"},
		},
		"tie broken by config order, reversed": {
			sources: sources("alpha", "zeta"),
			items:   []tidings.Item{it("zeta", "1", story, 9), it("alpha", "1", story, 9)},
			want:    []string{"alpha/1 +zeta"},
		},
		"three sources credited in config order": {
			sources: sources("a", "b", "c"),
			items:   []tidings.Item{it("c", "1", story, 12), it("a", "1", story, 11), it("b", "1", story, 8)},
			want:    []string{"b/1 +a,c"},
		},
		"same source, same link: distinct items kept": {
			sources: sources("a"),
			items:   []tidings.Item{it("a", "2", story+"#update-2", 11), it("a", "1", story+"#update-1", 10)},
			want:    []string{"a/2", "a/1"},
		},
		"same-source updates stay beside a folded copy": {
			sources: sources("a", "b"),
			items:   []tidings.Item{it("a", "2", story+"#u2", 11), it("b", "1", story, 10), it("a", "1", story, 9)},
			want:    []string{"a/2", "a/1 +b"},
		},
		"items without links never merge": {
			sources: sources("a", "b"),
			items:   []tidings.Item{it("a", "1", "", 10), it("b", "1", "", 10)},
			want:    []string{"a/1", "b/1"},
		},
		"only a matching copy stands": {
			sources: sources("a", "b"),
			topic:   tidings.Topic{Sources: []string{"a"}},
			items:   []tidings.Item{it("a", "1", story, 10), it("b", "1", story, 9)},
			want:    []string{"a/1"},
		},
		"limit keeps the newest": {
			sources: sources("a"),
			limit:   2,
			items:   []tidings.Item{it("a", "4", "", 4), it("a", "3", "", 3), it("a", "2", "", 2), it("a", "1", "", 1)},
			want:    []string{"a/4", "a/3"},
		},
		"limit counts stories, not copies": {
			sources: sources("a", "b"),
			limit:   2,
			items:   []tidings.Item{it("a", "3", story, 5), it("b", "3", story, 4), it("a", "2", "", 3), it("a", "1", "", 2)},
			want:    []string{"b/3 +a", "a/2"},
		},
		"a folded story moves down to its earliest copy": {
			sources: sources("a", "b"),
			items:   []tidings.Item{it("a", "1", story, 12), it("a", "2", "", 11), it("b", "1", story, 10)},
			want:    []string{"a/2", "b/1 +a"},
		},
		"offered out of order, listed newest first": {
			sources: sources("a", "b"),
			items:   []tidings.Item{it("a", "1", "", 1), it("b", "3", "", 3), it("a", "2", "", 2)},
			want:    []string{"b/3", "a/2", "a/1"},
		},
		"equal times ordered by config order": {
			sources: sources("b", "a"),
			items:   []tidings.Item{it("a", "1", "", 1), it("b", "1", "", 1)},
			want:    []string{"b/1", "a/1"},
		},
		"empty stream": {
			sources: sources("a"),
			want:    nil,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			topic := tc.topic
			topic.Name = "test"
			ct, err := Compile(topic, tc.sources)
			if err != nil {
				t.Fatal(err)
			}
			s := NewSelector(ct, tc.limit)
			for i := range tc.items {
				if !s.Add(&tc.items[i]) {
					t.Fatalf("Add stopped the stream at item %d", i)
				}
			}
			if got := describe(s.Entries()); !slices.Equal(got, tc.want) {
				t.Errorf("Entries() = %q\nwant        %q", got, tc.want)
			}
		})
	}
}

// describe renders entries as "source/id +also,also".
func describe(entries []Entry) []string {
	var out []string
	for _, e := range entries {
		s := e.Item.Source + "/" + e.Item.ID
		if len(e.AlsoIn) > 0 {
			s += " +" + strings.Join(e.AlsoIn, ",")
		}
		out = append(out, s)
	}
	return out
}

func TestSelectorCopiesItems(t *testing.T) {
	ct := mustCompile(t, tidings.Topic{Name: "all"})
	s := NewSelector(ct, 0)
	it := tidings.Item{Source: "wsws", ID: "1", Title: "first", Categories: []string{"a"}, Published: time.Unix(100, 0)}
	s.Add(&it)
	// A store walk may decode every item into the same variable.
	it.ID, it.Title, it.Categories[0] = "2", "second", "changed"
	s.Add(&it)
	got := s.Entries()
	if len(got) != 2 || got[0].Item.Title != "first" && got[1].Item.Title != "first" {
		t.Fatalf("entries = %+v", got)
	}
	for _, e := range got {
		if e.Item.ID == "1" && e.Item.Categories[0] != "a" {
			t.Errorf("the kept item shares its categories with the caller: %q", e.Item.Categories)
		}
	}
}

func TestSelectorFixtures(t *testing.T) {
	items := loadItems(t)
	ct := mustCompile(t, tidings.Topic{Name: "americas", Tags: []string{"americas", "audio"}, Sources: []string{"wire"}})
	s := NewSelector(ct, 0)
	for i := range items {
		s.Add(&items[i])
	}
	if s.Matched() != 5 {
		t.Errorf("Matched() = %d, want 5 (all but the sports item)", s.Matched())
	}
	got := describe(s.Entries())
	want := []string{"wire/wire-4712", "wsws/live-2", "wsws/https://www.wsws.org/en/articles/2026/02/03/mexico-a03.html +wire", "podcast/episode-42"}
	if !slices.Equal(got, want) {
		t.Errorf("entries = %q\nwant %q", got, want)
	}
	// The selection does not depend on the order of the stream.
	slices.Reverse(items)
	if again := describe(selectAll(ct, 0, items)); !slices.Equal(again, want) {
		t.Errorf("reversed stream gives %q", again)
	}
}

func BenchmarkSelector1000(b *testing.B) {
	ct := mustCompile(b, tidings.Topic{Name: "all"})
	items := make([]tidings.Item, 1000)
	for i := range items {
		link := fmt.Sprintf("https://news.example.com/%d", i/3) // every story in three sources
		items[i] = tidings.Item{Source: testSources[i%3].Name, ID: fmt.Sprint(i), Link: link, CanonicalLink: link,
			Published: time.Unix(int64(1e9-i), 0)}
	}
	for b.Loop() {
		selectAll(ct, 50, items)
	}
}

// TestSelectorIndexed: a stream of only matching items (what a topic index
// yields) gives the same entries whether Add matches them again or not;
// a topic with an age: term keeps matching, since its index cannot exist.
func TestSelectorIndexed(t *testing.T) {
	items := loadItems(t)
	for _, tc := range []struct {
		topic   tidings.Topic
		dynamic bool
	}{
		{topic: tidings.Topic{Name: "trade", Query: "trade OR tariff OR mexico"}},
		{topic: tidings.Topic{Name: "other", Query: "penalties OR episode"}},
		{topic: tidings.Topic{Name: "recent", Query: "age:<7d"}, dynamic: true},
	} {
		ct := mustCompile(t, tc.topic)
		now := time.Date(2026, 2, 9, 0, 0, 0, 0, time.UTC)
		var matching []tidings.Item
		for _, it := range items {
			if ct.MatchAt(&it, now) {
				matching = append(matching, it)
			}
		}
		if len(matching) == 0 || len(matching) == len(items) {
			t.Fatalf("%s matches %d of %d fixture items: no test", tc.topic.Name, len(matching), len(items))
		}
		plain, indexed := NewSelector(ct, 20).At(now), NewSelector(ct, 20).At(now).Indexed()
		for i := range matching {
			plain.Add(&matching[i])
			indexed.Add(&matching[i])
		}
		if got, want := entryIDs(indexed.Entries()), entryIDs(plain.Entries()); !slices.Equal(got, want) {
			t.Errorf("%s: indexed entries = %q, want %q", tc.topic.Name, got, want)
		}
		// Offered an item the topic does not match, only a dynamic topic's
		// Indexed Selector still looks.
		var other tidings.Item
		for _, it := range items {
			if !ct.MatchAt(&it, now) {
				other = it
				break
			}
		}
		s := NewSelector(ct, 20).At(now).Indexed()
		s.Add(&other)
		if kept := s.Matched() == 1; kept == tc.dynamic {
			t.Errorf("%s: Indexed Selector kept an unmatched item: %v, want %v", tc.topic.Name, kept, !tc.dynamic)
		}
	}
}

func entryIDs(es []Entry) []string {
	var ids []string
	for _, e := range es {
		ids = append(ids, e.Item.Source+"/"+e.Item.ID)
	}
	return ids
}

// BenchmarkJoinsTop is the look Skips takes at each item past a page's
// cut: 150 prints collected before it, random fingerprints offered (a
// handful of the 1.5 million pairs fall within the distance by chance).
func BenchmarkJoinsTop(b *testing.B) {
	s := NewSelector(mustCompile(b, tidings.Topic{Name: "all"}), 50)
	s.copies = map[int]int{}
	x := uint64(0x9e3779b97f4a7c15)
	next := func() uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
	for i := range 150 {
		fp := next()
		s.topPrints = append(s.topPrints, topPrint{fp: fp, story: i})
		s.topFPs = append(s.topFPs, fp)
	}
	offered := make([]uint64, 10_000)
	for i := range offered {
		offered[i] = next()
	}
	for _, bc := range []struct {
		name string
		look func(fp uint64) int
	}{
		{"joinsTop", func(fp uint64) int { return s.joinsTop(0, fp, "") }},
		{"one-by-one", func(fp uint64) int { return s.joinsPrint(0, len(s.topFPs), fp, "") }}, // the loop before
	} {
		b.Run(bc.name, func(b *testing.B) {
			joined := 0
			for b.Loop() {
				joined = 0
				for _, fp := range offered {
					if bc.look(fp) >= 0 {
						joined++
					}
				}
			}
			b.ReportMetric(float64(joined), "joined")
		})
	}
}
