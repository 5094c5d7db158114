package feeds

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/dedupe"
)

// flip returns fp with n of its bits flipped, spread over all five bands
// so that no band keeps the pair within nearIndex's 2-bit probes for free.
func flip(fp uint64, n int) uint64 {
	for i := range n {
		fp ^= 1 << ((i * 13) % 64) // 0, 13, 26, 39, 52, 1, 14, …: bands in turn
	}
	return fp
}

// TestNearIndex: the candidate search finds exactly the earlier entries
// within dedupe.StrictDistance and the horizon, at the edges of both.
func TestNearIndex(t *testing.T) {
	if dedupe.StrictDistance >= 3*nearBands {
		t.Fatalf("StrictDistance %d needs probes of more than 2 bits in %d bands", dedupe.StrictDistance, nearBands)
	}
	const base uint64 = 0x9e3779b97f4a7c15
	t0 := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
	type entry struct {
		fp   uint64
		hour int
	}
	tests := map[string]struct {
		entries []entry // oldest first; the last is the one asked about
		want    []int   // entries the last is near, ascending
	}{
		"distance 13":                {[]entry{{base, 0}, {flip(base, 13), 1}}, []int{0}},
		"distance 14":                {[]entry{{base, 0}, {flip(base, 14), 1}}, []int{0}},
		"distance 15":                {[]entry{{base, 0}, {flip(base, 15), 1}}, nil},
		"distance 14 in one band":    {[]entry{{base, 0}, {base ^ 0x3fff, 1}}, []int{0}},
		"distance 14, 3 bits a band": {[]entry{{base, 0}, {base ^ 0x7<<0 ^ 0x7<<13 ^ 0x7<<26 ^ 0x7<<39 ^ 0x3<<52, 1}}, []int{0}},
		"equal":                      {[]entry{{base, 0}, {base, 0}}, []int{0}},
		"at the horizon":             {[]entry{{base, 0}, {base, 24}}, []int{0}},
		"past the horizon":           {[]entry{{base, 0}, {base, 25}}, nil},
		"several, some far":          {[]entry{{base, 0}, {^uint64(base), 1}, {flip(base, 5), 2}, {base ^ 0xffffffff00000000, 3}, {flip(base, 9), 4}}, []int{0, 2}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var x nearIndex
			x.reset(len(tc.entries))
			var got []int
			for i, e := range tc.entries {
				last := i == len(tc.entries)-1
				x.add(e.fp, t0.Add(time.Duration(e.hour)*time.Hour), NearHorizon, func(j int) {
					if last {
						got = append(got, j)
					}
				})
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("near %v, want %v", got, tc.want)
			}
		})
	}
}

// TestNearIndexExact: on random fingerprints with planted near copies, the
// index finds exactly the pairs that comparing all pairs finds.
func TestNearIndexExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
	var fps []uint64
	var times []time.Time
	for i := range 3000 {
		fp := rng.Uint64()
		if i > 0 && rng.IntN(4) == 0 { // a copy of an earlier one, 0–20 bits off
			fp = fps[rng.IntN(i)]
			for range rng.IntN(21) {
				fp ^= 1 << rng.IntN(64)
			}
		}
		fps = append(fps, fp)
		times = append(times, t0.Add(time.Duration(i)*time.Minute))
	}
	var x nearIndex
	x.reset(len(fps))
	got, want := map[[2]int]bool{}, map[[2]int]bool{}
	for i := range fps {
		x.add(fps[i], times[i], NearHorizon, func(j int) { got[[2]int{j, i}] = true })
		for j := range i {
			if times[i].Sub(times[j]) <= NearHorizon && dedupe.Near(fps[i], fps[j], dedupe.StrictDistance) {
				want[[2]int{j, i}] = true
			}
		}
	}
	if len(want) < 100 {
		t.Fatalf("only %d near pairs planted", len(want))
	}
	for p := range want {
		if !got[p] {
			t.Errorf("pair %v at distance %d not found", p, dedupe.Distance(fps[p[0]], fps[p[1]]))
		}
	}
	for p := range got {
		if !want[p] {
			t.Errorf("pair %v at distance %d found", p, dedupe.Distance(fps[p[0]], fps[p[1]]))
		}
	}
}

// TestNearIndexCrowd: many equal fingerprints cost each new one at most
// nearBucketCap comparisons, not one per earlier copy.
func TestNearIndexCrowd(t *testing.T) {
	t0 := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
	const n = 5000
	var x nearIndex
	x.reset(n)
	for i := range n {
		found := 0
		x.add(0xdeadbeefcafe, t0.Add(time.Duration(i)*time.Second), NearHorizon, func(int) { found++ })
		if want := min(i, nearBucketCap); found != want {
			t.Fatalf("entry %d: %d near, want %d", i, found, want)
		}
	}
}

// crowdItems returns n items from n sources, one every step, whose
// fingerprints are all within a few bits of each other: one story carried
// everywhere, the worst case for grouping by fingerprint.
func crowdItems(n int, step time.Duration) ([]tidings.Item, []tidings.Source) {
	rng := rand.New(rand.NewPCG(5, 6))
	t0 := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
	var items []tidings.Item
	var sources []tidings.Source
	for i := range n {
		src := fmt.Sprintf("s%05d", i)
		sources = append(sources, tidings.Source{Name: src})
		fp := uint64(0x0123456789abcdef)
		for range rng.IntN(4) {
			fp ^= 1 << rng.IntN(64)
		}
		items = append(items, tidings.Item{Source: src, ID: "1", Title: "Wire story", Link: "https://" + src + ".example/1",
			CanonicalLink: "https://" + src + ".example/1", Fingerprint: fp, Published: t0.Add(-time.Duration(i) * step)})
	}
	return items, sources
}

// TestSelectorCrowd: when every item is a copy of one story, a page stops
// after keepPerEntry items per entry instead of reading the whole stream,
// and passing over items by their hints changes nothing.
func TestSelectorCrowd(t *testing.T) {
	items, sources := crowdItems(10000, time.Minute)
	topic, err := Compile(tidings.Topic{Name: "t"}, sources)
	if err != nil {
		t.Fatal(err)
	}
	full := NewSelector(topic, 0)
	for i := range items {
		full.Add(&items[i])
	}
	if n := len(full.Entries()); n != 1 {
		t.Fatalf("the full selection has %d entries, want 1", n)
	}
	for _, hints := range []bool{false, true} {
		sel := NewSelector(topic, 5)
		sel.StopEarly()
		read := 0
		for i := range items {
			it := &items[i]
			if hints && sel.Skips(Hint{Published: it.Published, Fingerprint: it.Fingerprint, LinkHash: dedupe.LinkHash(dedupe.StoryLink(it))}) {
				continue
			}
			read++
			if !sel.Add(it) {
				break
			}
		}
		if max := keepPerEntry*5 + 1; read > max {
			t.Errorf("hints %v: read %d items, want at most %d", hints, read, max)
		}
		e := sel.Entries()
		if len(e) != 1 || len(e[0].AlsoIn) != keepPerEntry*5-1 {
			t.Errorf("hints %v: %d entries, first also in %d sources; want 1 in %d", hints, len(e), len(e[0].AlsoIn), keepPerEntry*5-1)
		}
	}
}

// TestSelectorCopiesPastCut: a page whose stories have thousands of copies
// older than its cut keeps copiesPastCut of each, with or without hints.
func TestSelectorCopiesPastCut(t *testing.T) {
	t0 := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
	var sources []tidings.Source
	for i := range 1000 {
		sources = append(sources, tidings.Source{Name: fmt.Sprintf("s%04d", i)})
	}
	// 20 own stories in the newest minutes, then 1000 copies of story 0
	// (by link) and of story 1 (by fingerprint), a minute apart, mixed
	// with other stories.
	rng := rand.New(rand.NewPCG(9, 10))
	var items []tidings.Item
	for i := range 20 {
		link := fmt.Sprint("https://s0000.example/", i)
		items = append(items, tidings.Item{Source: "s0000", ID: fmt.Sprint(i), Link: link, CanonicalLink: link,
			Fingerprint: uint64(i+1) * 0x9e3779b97f4a7c15, Published: t0.Add(-time.Duration(i) * time.Second)})
	}
	for i := range 3000 {
		src := sources[1+i%999].Name
		it := tidings.Item{Source: src, ID: fmt.Sprint(i), Published: t0.Add(-time.Duration(i+1) * time.Minute)}
		switch i % 3 {
		case 0:
			it.Link = items[0].Link
		case 1:
			it.Link, it.Fingerprint = fmt.Sprint("https://", src, ".example/", i), items[1].Fingerprint
		default:
			it.Link, it.Fingerprint = fmt.Sprint("https://", src, ".example/", i), rng.Uint64()
		}
		it.CanonicalLink = it.Link
		items = append(items, it)
	}
	topic, err := Compile(tidings.Topic{Name: "t"}, sources)
	if err != nil {
		t.Fatal(err)
	}
	var entries, stories [2][]Entry
	for k, hints := range []bool{false, true} {
		sel := NewSelector(topic, 10)
		sel.StopEarly()
		for i := range items {
			it := &items[i]
			if hints && sel.Skips(Hint{Published: it.Published, Fingerprint: it.Fingerprint, LinkHash: dedupe.LinkHash(dedupe.StoryLink(it))}) {
				continue
			}
			if !sel.Add(it) {
				break
			}
		}
		entries[k], stories[k] = sel.Entries(), sel.stories()
		if sel.Matched() > 20+2*copiesPastCut+10 {
			t.Errorf("hints %v: kept %d items", hints, sel.Matched())
		}
	}
	if !slices.EqualFunc(entries[0], entries[1], func(x, y Entry) bool {
		return x.Item.Source == y.Item.Source && x.Item.ID == y.Item.ID && slices.Equal(x.AlsoIn, y.AlsoIn)
	}) {
		t.Errorf("entries with hints differ:\n%v\n%v", entries[1], entries[0])
	}
	// Their standing copies are then hours old: below the page, not gone.
	crowded := 0
	for _, e := range stories[0] {
		if len(e.AlsoIn) == copiesPastCut {
			crowded++
		}
	}
	if crowded != 2 {
		t.Errorf("%d stories also in %d sources, want 2", crowded, copiesPastCut)
	}
}

// BenchmarkGroupCrowd groups n items published within NearHorizon of each
// other: near copies of one story from n sources, and n unrelated stories,
// comparing all pairs in the window (the figure before nearIndex) and with
// nearIndex. compares/op counts fingerprints looked at, which the machine's
// load does not change: all pairs grow with n², the index with n for the
// crowd (nearBucketCap) and with n² at a twentieth of the slope for
// unrelated stories (the 6% of candidates).
func BenchmarkGroupCrowd(b *testing.B) {
	for _, n := range []int{5000, 10000, 20000} {
		step := NearHorizon / time.Duration(n)
		crowd, sources := crowdItems(n, step)
		unrelated := slices.Clone(crowd)
		rng := rand.New(rand.NewPCG(7, 8))
		for i := range unrelated {
			unrelated[i].Fingerprint = rng.Uint64()
		}
		topic, err := Compile(tidings.Topic{Name: "t"}, sources)
		if err != nil {
			b.Fatal(err)
		}
		for _, items := range []struct {
			name  string
			items []tidings.Item
		}{{"near-identical", crowd}, {"unrelated", unrelated}} {
			for _, m := range []struct {
				name string
				max  int
			}{{"all-pairs", n}, {"index", 256}} {
				b.Run(fmt.Sprintf("%s/%d/%s", items.name, n, m.name), func(b *testing.B) {
					defer func(v int) { nearAllPairsMax = v }(nearAllPairsMax)
					nearAllPairsMax = m.max
					sel := NewSelector(topic, 0)
					for i := range items.items {
						sel.Add(&items.items[i])
					}
					sel.near.scanned = 0
					for b.Loop() {
						sel.groups()
					}
					b.ReportMetric(float64(sel.near.scanned)/float64(b.N), "compares/op")
				})
			}
		}
	}
}

// TestSelectorPastBudget: in a topic so busy that a day past the page holds
// tens of thousands of items, a page reads pastPerEntry per entry past its
// cut, with or without hints, and lists the same entries either way.
func TestSelectorPastBudget(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	t0 := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
	sources := []tidings.Source{{Name: "a"}, {Name: "b"}}
	var items []tidings.Item
	for i := range 50000 { // one a second: all within a day
		link := fmt.Sprint("https://a.example/", i)
		items = append(items, tidings.Item{Source: sources[i%2].Name, ID: fmt.Sprint(i), Link: link, CanonicalLink: link,
			Fingerprint: rng.Uint64(), Published: t0.Add(-time.Duration(i) * time.Second)})
	}
	topic, err := Compile(tidings.Topic{Name: "t"}, sources)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 10
	var entries [2][]Entry
	for k, hints := range []bool{false, true} {
		sel := NewSelector(topic, limit)
		sel.StopEarly()
		offered := 0
		for i := range items {
			it := &items[i]
			offered++
			if hints && sel.Skips(Hint{Published: it.Published, Fingerprint: it.Fingerprint, LinkHash: dedupe.LinkHash(dedupe.StoryLink(it))}) {
				continue
			}
			if !sel.Add(it) {
				break
			}
		}
		if max := 2*limit + pastPerEntry*limit + 1; offered > max {
			t.Errorf("hints %v: offered %d items, want at most %d", hints, offered, max)
		}
		entries[k] = sel.Entries()
	}
	if len(entries[0]) != limit || !slices.EqualFunc(entries[0], entries[1], func(x, y Entry) bool { return x.Item.ID == y.Item.ID }) {
		t.Errorf("entries differ or fall short:\n%v\n%v", entries[0], entries[1])
	}
}

// stories is Entries without the limit.
func (s *Selector) stories() []Entry {
	order, alsoIn := s.storyOrder(s.groups())
	out := make([]Entry, len(order))
	for n, i := range order {
		out[n] = Entry{Item: s.items[i], AlsoIn: alsoIn[i]}
	}
	return out
}
