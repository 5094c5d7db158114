package feeds

import (
	"cmp"
	"slices"
	"time"

	"github.com/tidings/tidings"
)

// Entry is one story of a topic feed: the copy that stands for it and the
// other sources that carried it too.
type Entry struct {
	Item   tidings.Item
	AlsoIn []string // names of other sources that carried the story, in configuration order
}

// Selector collects a topic's items from a newest-first stream (the store's
// newest-first walk) and lists each story once (DESIGN §4–5.2).
//
// Copies from different sources with equal canonical links are one story:
// the matching copy with the earliest published time stands for it (ties:
// source order in the configuration), its own link is published, and the
// other copies' sources are credited in Entry.AlsoIn. Within one source items
// are never merged, since identity is per source (§5.1): if the standing
// copy's source has several items with that canonical link, all are listed.
//
// A Selector is not safe for concurrent use.
type Selector struct {
	t     *Topic
	limit int
	now   time.Time
	items []tidings.Item
	// The grouping of items into stories, kept until the next Add: order
	// lists the standing copies newest first, alsoIn credits the others.
	order  []int
	alsoIn map[int][]string
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
// Add returns false once no further item can change the result. This version
// always returns true and keeps every matching item until the stream ends:
// an older copy of a story already collected becomes its standing copy and
// moves it down the list, so no point in the stream is provably final without
// a bound on how far apart copies are published. The cost is memory and time
// linear in the topic's matching items; callers cache the rendered bytes. A
// dedup horizon that allows an early stop is a later optimization.
func (s *Selector) Add(it *tidings.Item) bool {
	if !s.t.MatchAt(it, s.now) {
		return true
	}
	c := *it
	c.Authors = slices.Clone(it.Authors)
	c.Categories = slices.Clone(it.Categories)
	c.Enclosures = slices.Clone(it.Enclosures)
	s.items = append(s.items, c)
	s.order, s.alsoIn = nil, nil
	return true
}

// Matched returns how many offered items the topic matched so far, copies
// of one story from several sources counted each.
func (s *Selector) Matched() int { return len(s.items) }

// Entries returns the topic feed's entries: one per story, newest first by
// published time, at most the limit. The order of items offered to Add does
// not change the result.
func (s *Selector) Entries() []Entry {
	order := s.stories()
	out := make([]Entry, min(len(order), s.limit))
	for k := range out {
		i := order[k]
		out[k] = Entry{Item: s.items[i], AlsoIn: s.alsoIn[i]}
	}
	return out
}

// Count returns how many stories the topic holds in all, each counted once
// however many sources carried it: the length Entries would have without a limit.
func (s *Selector) Count() int { return len(s.stories()) }

// stories groups the collected items into stories and returns the
// positions of their standing copies, newest first, unlimited. The grouping
// is kept until the next Add: a topic page asks for both Count and Entries,
// and grouping a big topic is most of what rendering it costs.
func (s *Selector) stories() []int {
	if s.order == nil {
		s.order, s.alsoIn = s.group()
	}
	return s.order
}

func (s *Selector) group() ([]int, map[int][]string) {
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

	groups := make(map[string][]int) // canonical link → indexes into s.items
	for i := range s.items {
		if key := storyKey(&s.items[i]); key != "" {
			groups[key] = append(groups[key], i)
		}
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
				if !slices.Contains(others, src) {
					others = append(others, src)
				}
			}
		}
		if len(others) > 0 {
			slices.SortFunc(others, func(a, b string) int {
				return cmp.Or(cmp.Compare(s.t.sourceRank(a), s.t.sourceRank(b)), cmp.Compare(a, b))
			})
			alsoIn[stand] = others
		}
	}

	// Sort positions, not entries: an Entry is a whole item, and moving
	// them is most of a sort's time on a big topic.
	order := make([]int, 0, len(s.items))
	for i := range s.items {
		if !hidden[i] {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(i, j int) int {
		a, b := &s.items[i], &s.items[j]
		return cmp.Or(
			published(b).Compare(published(a)), // newest first
			cmp.Compare(s.t.sourceRank(a.Source), s.t.sourceRank(b.Source)),
			cmp.Compare(a.Source, b.Source),
			cmp.Compare(a.ID, b.ID),
		)
	})
	return order, alsoIn
}

// storyKey is the canonical link under which copies of a story meet; an item
// without any link is a story of its own.
func storyKey(it *tidings.Item) string {
	if it.CanonicalLink != "" {
		return it.CanonicalLink
	}
	if it.Link != "" {
		return tidings.CanonicalURL(it.Link)
	}
	return ""
}

// published is the item's publication time; the fetcher always sets it, but
// an item stored without one sorts by when it was first seen.
func published(it *tidings.Item) time.Time {
	if it.Published.IsZero() {
		return it.FirstSeen
	}
	return it.Published
}
