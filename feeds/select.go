package feeds

import (
	"cmp"
	"math/bits"
	"slices"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/dedupe"
)

// NearHorizon is how far apart in published time two near-duplicate copies
// (by fingerprint) may be and still be merged: wire copies of one story
// appear within hours of each other, while the same text a week later is
// usually a recurring notice worth listing again. It also bounds how far
// past a feed page's last story Selector.StopEarly reads.
const NearHorizon = 24 * time.Hour

// Entry is one story of a topic feed: the copy that stands for it and the
// other sources that carried it too.
type Entry struct {
	Item   tidings.Item
	AlsoIn []string // names of other sources that carried the story, in configuration order
}

// Selector collects a topic's items from a newest-first stream (the store's
// newest-first walk) and lists each story once (DESIGN §4–5.2).
//
// Copies from different sources with equal canonical links are one story,
// and so (with the topic's Dedupe strict, the default) are copies whose
// fingerprints are near (dedupe.StrictDistance) and published within
// NearHorizon of each other: a wire story reposted under other links. The
// matching copy with the earliest published time stands for it (ties:
// source order in the configuration), its own link is published, and the
// other copies' sources are credited in Entry.AlsoIn. Dedupe links merges
// by canonical link only, Dedupe off not at all. Within one source items
// are never merged, since identity is per source (§5.1): if the standing
// copy's source has several items with that canonical link, all are listed.
//
// A Selector is not safe for concurrent use.
type Selector struct {
	t     *Topic
	limit int
	now   time.Time
	items []tidings.Item

	stopEarly bool
	indexed   bool      // the stream holds only items the topic matches
	nextCheck int       // len(items) at which to look for the cut again
	cut       time.Time // published time of the limit-th story, once known
	horizon   time.Time // cut - NearHorizon: where the stream may stop
	// Once the cut is known, an older item is kept only if it may join a
	// story collected so far (topHashes, topPrints) that has fewer than
	// copiesPastCut copies past the cut, or as one of at most limit
	// reserves that fill the page should older copies move stories below
	// the cut. The rest cannot change the page.
	topHashes map[uint64]int // dedupe.LinkHash of a story link → story
	topPrints []topPrint
	topFPs    []uint64    // topPrints[i].fp: a dense slice for the loop Skips runs on every item
	copies    map[int]int // story → copies kept past the cut
	reserve   int
	past      int // items older than the cut offered (to Skips or Add)

	near nearIndex // kept for the next grouping
}

// topPrint is a fingerprint of a story collected before the cut.
type topPrint struct {
	fp     uint64
	story  int
	source string // of the items with fp; "" when several sources have it
}

// copiesPastCut is how many copies of one story a Selector with StopEarly
// keeps past the page's cut. A wire story carried by thousands of sources
// would otherwise have every copy within NearHorizon read and kept, though
// all they change is the end of a long "also in" list and which copy
// stands for the story.
const copiesPastCut = 50

// pastPerEntry bounds how far past the page's cut a Selector with
// StopEarly reads: pastPerEntry items per entry of the page at most, or
// NearHorizon, whichever ends first. The horizon alone is a day of the
// topic's items; with 10,000 sources that can be 200,000 index entries, and
// even passed over by their hints (about 100 ns each) they take tens of
// milliseconds. Copies of one story mostly come within hours, and a page
// of 50 reads 10,000 older items: hours of even a busy topic.
const pastPerEntry = 200

// keepPerEntry bounds what a Selector with StopEarly keeps: keepPerEntry
// items per entry of the page at most, whatever the stream holds. Without a
// bound, a topic whose items are mostly copies of a few stories (or one
// source's templated notices, near each other and chained into one story)
// would be read to its end for want of a page's worth of stories.
const keepPerEntry = 100

// Hint is what a stream may know of an item before reading it in full:
// its times, Fingerprint, and the dedupe.LinkHash of its dedupe.StoryLink.
type Hint struct {
	Published, FirstSeen time.Time
	Fingerprint          uint64
	LinkHash             uint64
}

// Skips reports whether the item that h describes, offered next, would
// change nothing: Add would neither keep it nor stop. The stream may then
// pass over it without reading it; Skips counts it as read. Skips is false
// until StopEarly has found the page's cut and filled the reserve; from
// then on it is true for items older than the cut that cannot join a story
// collected before the cut, until pastPerEntry×limit such items were offered.
func (s *Selector) Skips(h Hint) bool {
	if !s.stopEarly || s.cut.IsZero() || s.reserve < s.limit || s.full() {
		return false
	}
	p := h.Published
	if p.IsZero() {
		p = h.FirstSeen
	}
	if !p.Before(s.cut) || p.Before(s.horizon) || s.past >= pastPerEntry*s.limit {
		return false // kept, or the stop: let Add see it
	}
	if s.joinsTop(h.LinkHash, h.Fingerprint, "") >= 0 {
		return false
	}
	s.past++ // as Add would have counted it
	return true
}

// full reports whether a Selector with StopEarly has kept all it may.
func (s *Selector) full() bool { return len(s.items) >= keepPerEntry*s.limit }

// StopEarly lets Add return false once the stream (which must come newest
// first by published time) is more than NearHorizon older than the page's
// last story, so that a feed page reads a few hundred items rather than the
// whole topic; past the page's last story it keeps only items that may be
// copies of the stories collected (copiesPastCut of each at most), plus a
// reserve of limit others. Add also returns false once keepPerEntry×limit
// items are kept, or pastPerEntry×limit items older than the cut were
// offered. The price: a copy published more than NearHorizon before the
// others (or more than pastPerEntry×limit items past the cut) is not merged
// with them, chains of copies through an unkept
// item are not followed, a story with more than copiesPastCut copies past
// the cut credits only the newest of them (and the oldest of those stands
// for it), a page whose stream holds fewer than limit stories in its
// newest keepPerEntry×limit matching items lists only those, and Count and
// Matched are only lower bounds.
func (s *Selector) StopEarly() {
	s.stopEarly = true
	s.nextCheck = s.limit
}

// Indexed tells s that the stream holds only items the topic matches (a
// topic index kept with Topic.Match), so that Add need not match each one
// again: a query's match builds the item's words, a third of a feed page's
// render when it is taken from an index. Not for Dynamic topics, whose
// matches change with the clock.
func (s *Selector) Indexed() *Selector {
	s.indexed = !s.t.Dynamic()
	return s
}

// NewSelector returns a Selector for topic t that keeps at most limit
// entries; limit <= 0 means the topic's own limit, and it is capped at
// MaxLimit.
func NewSelector(t *Topic, limit int) *Selector {
	if limit <= 0 {
		limit = t.Limit
	}
	return &Selector{t: t, limit: min(limit, MaxLimit)}
}

// At sets the time that age: terms count from and returns s. Without it a
// Selector counts from the zero time, which only matters to topics whose
// query has an age: term (Topic.Dynamic): the package never reads the clock.
func (s *Selector) At(now time.Time) *Selector {
	s.now = now
	return s
}

// Add offers the next item of the stream; items the topic does not match are
// ignored. Add keeps its own copy, so the caller may reuse *it.
//
// Add returns false once no further item can change the result. Without
// StopEarly it always returns true and keeps every matching item until the
// stream ends: an older copy of a story already collected becomes its
// standing copy and moves it down the list, so no point in the stream is
// final without a bound on how far apart copies are published.
func (s *Selector) Add(it *tidings.Item) bool {
	if s.stopEarly && (s.full() || !s.cut.IsZero() && published(it).Before(s.horizon)) {
		return false
	}
	if s.stopEarly && !s.cut.IsZero() && published(it).Before(s.cut) {
		if s.past >= pastPerEntry*s.limit {
			return false
		}
		s.past++
	}
	if !s.indexed && !s.t.MatchAt(it, s.now) {
		return true
	}
	if s.stopEarly && s.cut.IsZero() && len(s.items)+1 >= s.nextCheck {
		// Checked at limit, 2×limit, 4×limit… matching items, so the
		// grouping costs amortized linear time.
		s.nextCheck *= 2
		root := s.groups()
		if order, _ := s.storyOrder(root); len(order) >= s.limit {
			s.markTop(published(&s.items[order[s.limit-1]]), root)
		}
	}
	if !s.cut.IsZero() && published(it).Before(s.cut) {
		if story := s.joinsTop(dedupe.LinkHash(storyKey(it)), it.Fingerprint, it.Source); story >= 0 {
			s.copies[story]++
		} else if s.reserve < s.limit {
			s.reserve++
		} else {
			return true
		}
	}
	c := *it
	if c.CanonicalLink == "" {
		// Stories meet by it, looked at on every grouping: once per item.
		c.CanonicalLink = storyKey(it)
	}
	c.Authors = slices.Clone(it.Authors)
	c.Categories = slices.Clone(it.Categories)
	c.Enclosures = slices.Clone(it.Enclosures)
	s.items = append(s.items, c)
	return true
}

// markTop records the cut and the stories collected before it was known
// (root as groups returns it), so that older items are kept only if they
// may join one of them.
func (s *Selector) markTop(cut time.Time, root []int) {
	s.cut, s.horizon = cut, cut.Add(-NearHorizon)
	s.topHashes = make(map[uint64]int, len(s.items))
	s.copies = make(map[int]int)
	seen := make(map[uint64]int) // fingerprint → index in topPrints
	for i := range s.items {
		it := &s.items[i]
		if h := dedupe.LinkHash(storyKey(it)); h != 0 {
			s.topHashes[h] = root[i]
		}
		// Equal fingerprints (a wire story's copies) need one entry.
		if fp := it.Fingerprint; fp != 0 {
			if j, ok := seen[fp]; !ok {
				seen[fp] = len(s.topPrints)
				s.topPrints = append(s.topPrints, topPrint{fp, root[i], it.Source})
				s.topFPs = append(s.topFPs, fp)
			} else if s.topPrints[j].source != it.Source {
				s.topPrints[j].source = ""
			}
		}
	}
}

// joinsTop returns the story collected before the cut that an item with
// the story link hash linkHash and the fingerprint fp, of source (""
// when not known), may be a copy of, if that story has fewer than
// copiesPastCut copies past the cut, or -1. It decides by hashes, so that
// Skips, which has no more, never passes over an item Add would keep; the
// source, which Add has, spares keeping a source's own near-duplicates,
// which are never merged.
func (s *Selector) joinsTop(linkHash, fp uint64, source string) int {
	if linkHash != 0 && s.t.Dedupe != tidings.DedupeOff {
		if story, ok := s.topHashes[linkHash]; ok && s.copies[story] < copiesPastCut {
			return story
		}
	}
	if fp != 0 && (s.t.Dedupe == "" || s.t.Dedupe == tidings.DedupeStrict) {
		// Nearly every item past the cut is near none of the prints: four
		// at a time, the popcounts overlap, and one branch rules all four
		// out (a third of the time of the loop one by one).
		fps, i := s.topFPs, 0
		for ; i+4 <= len(fps); i += 4 {
			if min(bits.OnesCount64(fps[i]^fp), bits.OnesCount64(fps[i+1]^fp),
				bits.OnesCount64(fps[i+2]^fp), bits.OnesCount64(fps[i+3]^fp)) > dedupe.StrictDistance {
				continue
			}
			if story := s.joinsPrint(i, i+4, fp, source); story >= 0 {
				return story
			}
		}
		return s.joinsPrint(i, len(fps), fp, source)
	}
	return -1
}

// joinsPrint is joinsTop's look at topPrints[from:to].
func (s *Selector) joinsPrint(from, to int, fp uint64, source string) int {
	for i := from; i < to; i++ {
		if bits.OnesCount64(s.topFPs[i]^fp) > dedupe.StrictDistance {
			continue
		}
		if p := &s.topPrints[i]; s.copies[p.story] < copiesPastCut && (source == "" || p.source == "" || p.source != source) {
			return p.story
		}
	}
	return -1
}

// Matched returns how many offered items the topic matched so far, copies
// of one story from several sources counted each.
func (s *Selector) Matched() int { return len(s.items) }

// Entries returns the topic feed's entries: one per story, newest first by
// published time, at most the limit. The order of items offered to Add does
// not change the result.
func (s *Selector) Entries() []Entry {
	order, alsoIn := s.storyOrder(s.groups())
	if len(order) > s.limit {
		order = order[:s.limit]
	}
	out := make([]Entry, len(order))
	for n, i := range order {
		out[n] = Entry{Item: s.items[i], AlsoIn: alsoIn[i]}
	}
	return out
}

// Count returns how many stories the topic holds in all, each counted once
// however many sources carried it: the length Entries would have without a limit.
func (s *Selector) Count() int {
	order, _ := s.storyOrder(s.groups())
	return len(order)
}

// storyOrder returns the stories of root (as groups returns it): the
// index into s.items of each story's standing copy, newest first,
// unlimited, and the sources each standing copy is also in. Indexes, not
// entries: a page's check for its cut sorts hundreds of stories and reads
// one.
func (s *Selector) storyOrder(root []int) ([]int, map[int][]string) {
	// less orders copies of one story: earliest published first, then
	// configured source order, then the rest only for determinism.
	less := func(a, b *tidings.Item) int {
		return cmp.Or(
			published(a).Compare(published(b)),
			cmp.Compare(s.t.sourceRank(a.Source), s.t.sourceRank(b.Source)),
			cmp.Compare(a.Source, b.Source),
			cmp.Compare(a.ID, b.ID),
		)
	}
	groups := make(map[int][]int) // root → indexes into s.items
	for i, r := range root {
		groups[r] = append(groups[r], i)
	}
	hidden := make([]bool, len(s.items))
	alsoIn := make(map[int][]string) // standing copy → other sources
	for _, idx := range groups {
		if len(idx) < 2 {
			continue
		}
		stand := slices.MinFunc(idx, func(a, b int) int { return less(&s.items[a], &s.items[b]) })
		standSource := s.items[stand].Source
		var others []string
		for _, i := range idx {
			if src := s.items[i].Source; src != standSource {
				hidden[i] = true
				others = append(others, src)
			}
		}
		if len(others) > 0 {
			// Sorted, then compacted: a story carried by thousands
			// of sources must not cost the square of that.
			slices.SortFunc(others, func(a, b string) int {
				return cmp.Or(cmp.Compare(s.t.sourceRank(a), s.t.sourceRank(b)), cmp.Compare(a, b))
			})
			alsoIn[stand] = slices.Compact(others)
		}
	}

	order := make([]int, 0, len(s.items))
	for i := range s.items {
		if !hidden[i] {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(x, y int) int {
		a, b := &s.items[x], &s.items[y]
		return cmp.Or(
			published(b).Compare(published(a)), // newest first
			cmp.Compare(s.t.sourceRank(a.Source), s.t.sourceRank(b.Source)),
			cmp.Compare(a.Source, b.Source),
			cmp.Compare(a.ID, b.ID),
		)
	})
	return order, alsoIn
}

// unionNear joins items of different sources whose fingerprints are near
// and whose published times are within NearHorizon. Up to
// nearAllPairsMax items it compares every pair inside a sliding window over
// the items in time order; above, a nearIndex finds the candidates, since
// the pairs inside a window grow with the square of the items in it.
func (s *Selector) unionNear(union func(a, b int)) {
	var order []int
	for i := range s.items {
		if s.items[i].Fingerprint != 0 {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int { return published(&s.items[a]).Compare(published(&s.items[b])) })
	if len(order) > nearAllPairsMax {
		s.near.reset(len(order))
		for _, i := range order {
			a := &s.items[i]
			s.near.add(a.Fingerprint, published(a), NearHorizon, func(y int) {
				if j := order[y]; s.items[j].Source != a.Source {
					union(i, j)
				}
			})
		}
		return
	}
	for x, i := range order {
		a := &s.items[i]
		end := published(a).Add(NearHorizon)
		for _, j := range order[x+1:] {
			b := &s.items[j]
			if published(b).After(end) {
				break
			}
			s.near.scanned++
			if a.Source != b.Source && dedupe.Near(a.Fingerprint, b.Fingerprint, dedupe.StrictDistance) {
				union(i, j)
			}
		}
	}
}

// nearAllPairsMax is the most items unionNear compares pair by pair: below
// a few hundred, the 460 probes per item of a nearIndex cost more than
// comparing with every item in the window.
var nearAllPairsMax = 256 // a variable so that benchmarks can measure all pairs

// storyKey is the canonical link under which copies of a story meet; an item
// without any link is a story of its own.
func storyKey(it *tidings.Item) string { return dedupe.StoryLink(it) }

// published is the item's publication time; the fetcher always sets it, but
// an item stored without one sorts by when it was first seen.
func published(it *tidings.Item) time.Time {
	if it.Published.IsZero() {
		return it.FirstSeen
	}
	return it.Published
}

// groups unions the collected items into stories, by canonical link and
// then by fingerprint, and returns for each item the index of one item of
// its story (the same for all).
func (s *Selector) groups() []int {
	parent := make([]int, len(s.items))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int) { parent[find(a)] = find(b) }
	mode := s.t.Dedupe
	if mode != tidings.DedupeOff {
		byLink := make(map[string]int) // canonical link → first index
		for i := range s.items {
			if key := storyKey(&s.items[i]); key != "" {
				if j, ok := byLink[key]; ok {
					union(i, j)
				} else {
					byLink[key] = i
				}
			}
		}
	}
	if mode == "" || mode == tidings.DedupeStrict {
		s.unionNear(union)
	}
	for i := range parent {
		parent[i] = find(i)
	}
	return parent
}
