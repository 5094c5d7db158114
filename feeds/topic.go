package feeds

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/query"
)

// Limits on the number of entries in a published feed (DESIGN §1).
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Errors returned by Compile for topics that name what the configuration lacks.
var (
	ErrNoName        = errors.New("feeds: topic has no name")
	ErrUnknownSource = errors.New("feeds: unknown source")
	ErrUnknownTag    = errors.New("feeds: unknown tag")
)

// Topic is a compiled topic: its definition (with Title and Limit defaulted)
// plus the parsed query and the set of sources it may draw from.
type Topic struct {
	tidings.Topic

	q *query.Query
	// allowed is nil when the topic names neither sources nor tags: then
	// every source qualifies, including ones the configuration no longer
	// lists but whose items are still stored.
	allowed map[string]bool
	// rank is each configured source's position, the tie-break of DESIGN §4.
	rank map[string]int
	// names is the allowed sources in configuration order (nil for all).
	names []string
}

// Compile checks and compiles a topic. sources is the configured source
// list in configuration order: it maps the topic's tags to sources and
// orders sources for the tie-break of DESIGN §4.
//
// Title defaults to Name; Limit defaults to DefaultLimit and is capped at
// MaxLimit. A query syntax error is wrapped (errors.As finds the
// *query.SyntaxError) in a message such as
// `topic "mexico": query: unexpected ")" at column 17`. Naming a source
// that is not configured, or a tag that no source carries, wraps
// ErrUnknownSource or ErrUnknownTag.
func Compile(t tidings.Topic, sources []tidings.Source) (*Topic, error) {
	if t.Name == "" {
		return nil, ErrNoName
	}
	tagsOf := make(map[string][]string, len(sources))
	for _, s := range sources {
		if _, dup := tagsOf[s.Name]; !dup {
			tagsOf[s.Name] = slices.Clone(s.Tags)
		}
	}
	q, err := query.Parse(t.Query, query.WithTags(func(source string) []string { return tagsOf[source] }))
	if err != nil {
		return nil, fmt.Errorf("topic %q: %w", t.Name, err)
	}
	for _, tag := range q.Tags() {
		if !knownTag(sources, tag) {
			return nil, fmt.Errorf("%w %q in the query of topic %q", ErrUnknownTag, tag, t.Name)
		}
	}
	if t.Title == "" {
		t.Title = t.Name
	}
	if t.Limit <= 0 {
		t.Limit = DefaultLimit
	}
	t.Limit = min(t.Limit, MaxLimit)
	// Copy the slices so that later edits to the caller's config value
	// cannot change a compiled topic that is being served.
	t.Tags = slices.Clone(t.Tags)
	t.Sources = slices.Clone(t.Sources)

	ct := &Topic{Topic: t, q: q, rank: make(map[string]int, len(sources))}
	for i, s := range sources {
		if _, dup := ct.rank[s.Name]; !dup {
			ct.rank[s.Name] = i
		}
	}
	if len(t.Sources) == 0 && len(t.Tags) == 0 {
		return ct, nil
	}

	ct.allowed = make(map[string]bool)
	for _, name := range t.Sources {
		if _, ok := ct.rank[name]; !ok {
			return nil, fmt.Errorf("%w %q in topic %q", ErrUnknownSource, name, t.Name)
		}
		ct.allowed[name] = true
	}
	for _, tag := range t.Tags {
		found := false
		for _, s := range sources {
			if slices.Contains(s.Tags, tag) {
				ct.allowed[s.Name] = true
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("%w %q in topic %q", ErrUnknownTag, tag, t.Name)
		}
	}
	for _, s := range sources {
		if ct.allowed[s.Name] && !slices.Contains(ct.names, s.Name) {
			ct.names = append(ct.names, s.Name)
		}
	}
	return ct, nil
}

// Match reports whether an item belongs to the topic: its source is allowed
// and the query matches it, with age: terms counted from time.Now().
func (t *Topic) Match(it *tidings.Item) bool {
	return t.MatchAt(it, time.Now())
}

// MatchAt is Match with age: terms counted from now.
func (t *Topic) MatchAt(it *tidings.Item, now time.Time) bool {
	if t.allowed != nil && !t.allowed[it.Source] {
		return false
	}
	return t.q.MatchAt(it, now)
}

// Explain says which terms of the topic's query matched where, for an item
// the topic holds at now; nil for one it does not hold, or when the topic
// has no query.
func (t *Topic) Explain(it *tidings.Item, now time.Time) []query.Hit {
	if t.allowed != nil && !t.allowed[it.Source] {
		return nil
	}
	return t.q.Explain(it, now)
}

// Dynamic reports whether the topic's items change with the time alone
// (its query has an age: term), so that a rendered copy must expire.
func (t *Topic) Dynamic() bool { return t.q.Dynamic() }

// NormalizedQuery returns the topic's query in normalized form (see
// query.Query.String).
func (t *Topic) NormalizedQuery() string { return t.q.String() }

// knownTag reports whether a source carries tag, compared as queries
// compare words (any case).
func knownTag(sources []tidings.Source, tag string) bool {
	for _, s := range sources {
		for _, st := range s.Tags {
			if strings.Join(query.Words(st), " ") == tag {
				return true
			}
		}
	}
	return false
}

// AllowedSources returns the names of the sources the topic draws from, in
// configuration order, or nil when it draws from every source. A store can
// use it to read only those sources.
func (t *Topic) AllowedSources() []string { return slices.Clone(t.names) }

// sourceRank orders sources as the configuration does; sources it no longer
// lists come after all configured ones.
func (t *Topic) sourceRank(name string) int {
	if r, ok := t.rank[name]; ok {
		return r
	}
	return len(t.rank)
}
