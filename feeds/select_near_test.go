package feeds

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/dedupe"
)

const wireText = `Mexico and Canada agreed on Tuesday to lower tariffs on steel and aluminium, ending months of negotiations that had strained relations within the USMCA trade bloc. The deal removes a 25 percent levy imposed last spring and sets up a joint monitoring committee to track import surges.`

const otherText = `A magnitude 6.4 earthquake struck off the coast of Oaxaca early on Sunday, shaking buildings in Mexico City more than 400 kilometres away, the national seismological service said. There were no immediate reports of deaths.`

// nearItem is an item with a fingerprint, as the store gives it.
func nearItem(source, id, title, text string, published time.Time) tidings.Item {
	it := tidings.Item{Source: source, ID: id, Title: title, Summary: text,
		Link: "https://" + source + ".example/" + id, Published: published}
	it.CanonicalLink = tidings.CanonicalURL(it.Link)
	it.Fingerprint = dedupe.Fingerprint(&it)
	return it
}

func TestSelectorNearDuplicates(t *testing.T) {
	at := func(hour int) time.Time {
		return time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC).Add(time.Duration(hour) * time.Hour)
	}
	sources := []tidings.Source{{Name: "ap"}, {Name: "daily"}, {Name: "herald"}}
	wire := func(source string, hour int) tidings.Item {
		return nearItem(source, "w", "Steel deal: "+source+" version", wireText, at(hour))
	}
	quake := nearItem("daily", "q", "Quake shakes Oaxaca", otherText, at(5))
	tests := map[string]struct {
		dedupe string
		items  []tidings.Item // newest first
		want   []string
	}{
		"strict (default): reposted wire story listed once, credited": {
			items: []tidings.Item{wire("herald", 6), quake, wire("daily", 3), wire("ap", 1)},
			want:  []string{"daily/q", "ap/w +daily,herald"},
		},
		"strict: copies more than the horizon apart stay apart": {
			dedupe: tidings.DedupeStrict,
			items:  []tidings.Item{wire("daily", 100), wire("ap", 1)},
			want:   []string{"daily/w", "ap/w"},
		},
		"strict: same source near-duplicates are not merged": {
			items: []tidings.Item{nearItem("ap", "w2", "Steel deal, update", wireText, at(2)), wire("ap", 1)},
			want:  []string{"ap/w2", "ap/w"},
		},
		"links: only equal canonical links merge": {
			dedupe: tidings.DedupeLinks,
			items:  []tidings.Item{wire("herald", 6), wire("ap", 1)},
			want:   []string{"herald/w", "ap/w"},
		},
		"off: even equal links are listed each": {
			dedupe: tidings.DedupeOff,
			items: func() []tidings.Item {
				a, b := wire("herald", 6), wire("ap", 1)
				b.Link, b.CanonicalLink = a.Link, a.CanonicalLink
				return []tidings.Item{a, b}
			}(),
			want: []string{"herald/w", "ap/w"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			topic, err := Compile(tidings.Topic{Name: "t", Dedupe: tc.dedupe}, sources)
			if err != nil {
				t.Fatal(err)
			}
			sel := NewSelector(topic, 50)
			for i := range tc.items {
				sel.Add(&tc.items[i])
			}
			var got []string
			for _, e := range sel.Entries() {
				s := e.Item.Source + "/" + e.Item.ID
				if len(e.AlsoIn) > 0 {
					s += " +" + strings.Join(e.AlsoIn, ",")
				}
				got = append(got, s)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("entries = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSelectorStopEarly: a page of a long newest-first stream stops after
// reading a horizon past its last story, with the same entries as reading
// everything, also when copies come hours after their originals.
func TestSelectorStopEarly(t *testing.T) {
	topic, err := Compile(tidings.Topic{Name: "t"}, []tidings.Source{{Name: "a"}, {Name: "b"}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		limit int
		lag   time.Duration // how long after a's original b reposts it
	}{
		"page of 20, copies an hour late":  {20, time.Hour},
		"page of 3, copies 12 hours late":  {3, 12 * time.Hour},
		"page of 5, copies 20 hours late":  {5, 20 * time.Hour},
		"page of 50, copies 23 hours late": {50, 23 * time.Hour},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var items []tidings.Item
			for i := range 2000 { // one an hour; b reposts every 7th of a's
				it := tidings.Item{Source: "a", ID: fmt.Sprint(i), Title: fmt.Sprint("story ", i),
					Link: fmt.Sprint("https://a.example/", i), Published: start.Add(-time.Duration(i) * time.Hour)}
				it.CanonicalLink = it.Link
				items = append(items, it)
				if i%7 == 0 {
					c := it
					c.Source, c.Published = "b", c.Published.Add(tc.lag)
					items = append(items, c)
				}
			}
			slices.SortStableFunc(items, func(x, y tidings.Item) int { return y.Published.Compare(x.Published) })
			full, early := NewSelector(topic, tc.limit), NewSelector(topic, tc.limit)
			early.StopEarly()
			read := 0
			for i := range items {
				full.Add(&items[i])
			}
			for i := range items {
				read++
				if !early.Add(&items[i]) {
					break
				}
			}
			if read > 4*tc.limit+100 {
				t.Errorf("StopEarly read %d of %d items for a page of %d", read, len(items), tc.limit)
			}
			f, e := full.Entries(), early.Entries()
			if !slices.EqualFunc(f, e, func(x, y Entry) bool {
				return x.Item.Source == y.Item.Source && x.Item.ID == y.Item.ID && slices.Equal(x.AlsoIn, y.AlsoIn)
			}) {
				t.Errorf("early entries differ from full ones:\n%v\n%v", e, f)
			}
		})
	}
}

// TestSelectorSkips: a page that passes over the items Skips names, by their
// hints alone, has the same entries as one that reads them all, in every
// dedupe mode, with copies by link and by fingerprint up to 30 hours late.
func TestSelectorSkips(t *testing.T) {
	sources := []tidings.Source{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	words := strings.Fields(`strike union workers wages talks court ruling judge appeal police report
minister government election party campaign market shares bank rates inflation prices trade port storm`)
	start := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 4))
	var items []tidings.Item
	for i := range 3000 { // one every 10 minutes
		var text strings.Builder
		for range 30 {
			text.WriteString(words[rng.IntN(len(words))] + " ")
		}
		src := sources[rng.IntN(len(sources))].Name
		it := nearItem(src, fmt.Sprint(i), fmt.Sprint("story ", i), text.String(), start.Add(-time.Duration(i)*10*time.Minute))
		if i%5 == 0 {
			it.Link, it.CanonicalLink = "", "" // stories of their own but for fingerprints
		}
		items = append(items, it)
		switch rng.IntN(6) {
		case 0: // a repost under another link
			c := nearItem(sources[rng.IntN(len(sources))].Name, fmt.Sprint(i, "r"), "Repost", text.String(),
				it.Published.Add(time.Duration(rng.IntN(30*60))*time.Minute))
			items = append(items, c)
		case 1: // the same link elsewhere, other text
			c := nearItem(sources[rng.IntN(len(sources))].Name, fmt.Sprint(i, "l"), "Link", "short",
				it.Published.Add(time.Duration(rng.IntN(30*60))*time.Minute))
			c.Link, c.CanonicalLink = it.Link, it.CanonicalLink
			items = append(items, c)
		}
	}
	slices.SortStableFunc(items, func(x, y tidings.Item) int { return y.Published.Compare(x.Published) })
	for _, mode := range []string{"", tidings.DedupeLinks, tidings.DedupeOff} {
		for _, limit := range []int{1, 5, 50, 200} {
			topic, err := Compile(tidings.Topic{Name: "t", Dedupe: mode}, sources)
			if err != nil {
				t.Fatal(err)
			}
			all, hinted := NewSelector(topic, limit), NewSelector(topic, limit)
			all.StopEarly()
			hinted.StopEarly()
			for i := range items {
				if !all.Add(&items[i]) {
					break
				}
			}
			skipped := 0
			for i := range items {
				it := &items[i]
				h := Hint{Published: it.Published, FirstSeen: it.FirstSeen, Fingerprint: it.Fingerprint,
					LinkHash: dedupe.LinkHash(dedupe.StoryLink(it))}
				if hinted.Skips(h) {
					skipped++
					continue
				}
				if !hinted.Add(it) {
					break
				}
			}
			if skipped == 0 && limit <= 50 { // a page of 200 fills its reserve only past the horizon
				t.Errorf("dedupe %q, limit %d: nothing skipped", mode, limit)
			}
			a, h := all.Entries(), hinted.Entries()
			if !slices.EqualFunc(a, h, func(x, y Entry) bool {
				return x.Item.Source == y.Item.Source && x.Item.ID == y.Item.ID && slices.Equal(x.AlsoIn, y.AlsoIn)
			}) || all.Matched()-hinted.Matched() != 0 {
				t.Errorf("dedupe %q, limit %d: entries with skips differ:\n%v\n%v", mode, limit, h, a)
			}
		}
	}
}
