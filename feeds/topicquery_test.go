package feeds

import (
	"errors"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

// TestCompileQueryTags: tag: in a query uses the configured sources' tags,
// and a tag no source carries is an error, as in the topic's own tags.
func TestCompileQueryTags(t *testing.T) {
	sources := []tidings.Source{
		{Name: "wsws", Tags: []string{"world", "Americas"}},
		{Name: "pitch", Tags: []string{"sports"}},
	}
	ct, err := Compile(tidings.Topic{Name: "x", Query: "tag:americas OR (tag:sports final)"}, sources)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for it, want := range map[*tidings.Item]bool{
		{Source: "wsws", Title: "anything"}:   true,
		{Source: "pitch", Title: "The final"}: true,
		{Source: "pitch", Title: "A match"}:   false,
		{Source: "other", Title: "final"}:     false,
	} {
		if got := ct.MatchAt(it, now); got != want {
			t.Errorf("MatchAt(%s %q) = %v, want %v", it.Source, it.Title, got, want)
		}
	}
	_, err = Compile(tidings.Topic{Name: "x", Query: "tag:nowhere"}, sources)
	if !errors.Is(err, ErrUnknownTag) {
		t.Errorf("unknown tag in a query: %v, want ErrUnknownTag", err)
	}
	if _, err := Compile(tidings.Topic{Name: "x", Query: "tag:no*"}, sources); err != nil {
		t.Errorf("a tag prefix need not name a tag: %v", err)
	}
}

// TestSelectorAt: a Selector counts age: from the time it is given.
func TestSelectorAt(t *testing.T) {
	ct := mustCompile(t, tidings.Topic{Name: "fresh", Query: "age:<2d"})
	now := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	items := []tidings.Item{
		{Source: "wsws", ID: "new", Link: "https://x.example/new", Published: now.Add(-24 * time.Hour)},
		{Source: "wsws", ID: "old", Link: "https://x.example/old", Published: now.Add(-72 * time.Hour)},
	}
	sel := NewSelector(ct, 10).At(now)
	for i := range items {
		sel.Add(&items[i])
	}
	if e := sel.Entries(); len(e) != 1 || e[0].Item.ID != "new" {
		t.Errorf("entries %v, want only the new item", describe(e))
	}
}
