package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/config"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/storage"
)

// setup is a loaded config with its topics compiled: what a reload swaps in
// as a whole, or not at all.
type setup struct {
	cfg     *config.Config
	topics  []*feeds.Topic // config order
	byName  map[string]*feeds.Topic
	sources map[string]tidings.Source
	// defs are the topics as the store indexes them (topicDefs), and
	// indexVersion each one's Version, for walks that must read the index
	// of this setup's definitions only.
	defs         []storage.TopicDef
	indexVersion map[string]string
}

// loadSetup reads, validates and compiles a config. Query errors are
// reported like every other config error, with file, line and key.
func loadSetup(path string) (*setup, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	s := &setup{
		cfg:     cfg,
		byName:  make(map[string]*feeds.Topic, len(cfg.Topics)),
		sources: make(map[string]tidings.Source, len(cfg.Sources)),
	}
	for _, src := range cfg.Sources {
		s.sources[src.Name] = src
	}
	var errs config.Errors
	for i, t := range cfg.Topics {
		ct, err := feeds.Compile(t, cfg.Sources)
		if err != nil {
			// The message names the topic and the column:
			// topics[0].query: topic "mexico": query: unexpected ")" at column 17.
			errs = append(errs, cfg.QueryError(i, err))
			continue
		}
		s.topics = append(s.topics, ct)
		s.byName[t.Name] = ct
	}
	if len(errs) > 0 {
		return nil, errs
	}
	s.defs = topicDefs(s)
	s.indexVersion = make(map[string]string, len(s.defs))
	for _, d := range s.defs {
		s.indexVersion[d.Name] = d.Version
	}
	return s, nil
}

// openStore opens the configured store with the config's pruning rules.
func openStore(cfg *config.Config, readOnly bool) (*storage.Store, error) {
	st, err := storage.Open(cfg.Storage.Path, storage.Options{
		LockTimeout:       2 * time.Second,
		Retention:         cfg.Storage.Retention,
		MaxItemsPerSource: cfg.Storage.MaxItemsPerSource,
		ReadOnly:          readOnly,
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return st, nil
}

// publisher renders topic feeds from the store and caches the bytes until
// the store or the config changes, so repeated requests cost a map lookup.
type publisher struct {
	store *storage.Store
	log   *slog.Logger
	now   func() time.Time // the clock of age: queries
	hub   string           // the WebSub hub feeds advertise, if any; set before serving

	mu     sync.Mutex // guards everything below; held while rendering, so one render per miss
	setup  *setup
	setGen uint64 // bumped on every config swap
	cache  map[cacheKey]*rendered
	gen    [2]uint64 // store generation and setGen the cache was built for
	// selected keeps each topic's selection for as long as cache: the three
	// formats and the index page of one topic share one walk of the store.
	selected map[selectKey]selection

	// meta is shared by every document of one generation: it reads every
	// source's state (a JSON decode each, milliseconds for a thousand
	// sources), so the index and each topic and format should not each
	// pay for it.
	metaVal *feeds.Meta
	metaFor [2]uint64 // the gen metaVal was built for

	// sizes is each document's length when last rendered, kept across
	// generations: the next render's buffer starts that large instead of
	// doubling its way there, copying a feed's 140 KB twice over.
	sizes map[cacheKey]int

	// hot lists the cached documents by the request path that names them,
	// for the fast path (fastpath.go), which reads it without p.mu: that
	// lock is held through renders. nil until the first document is
	// cached after a config swap.
	hot atomic.Pointer[hotView]
}

// route is where a document is served and how the request metric names
// it; a document cached under a zero route (a ?limit= variant) is not
// answered by the fast path.
type route struct {
	path        string
	kind, topic string
}

// hotDoc is a cached document with its route.
type hotDoc struct {
	doc *rendered
	route
}

// hotView indexes the documents cached for one store generation by
// request path. A config swap drops it; a store write makes it stale,
// which lookups see by its generation.
type hotView struct {
	storeGen uint64
	mu       sync.RWMutex
	docs     map[string]hotDoc
}

// hotDoc returns the cached document at a request path if it is current:
// rendered for the store as it is and the running config, not expired.
// It never renders (renderAt does).
func (p *publisher) hotDoc(path []byte) (hotDoc, bool) {
	hv := p.hot.Load()
	if hv == nil || hv.storeGen != p.store.Generation() {
		return hotDoc{}, false
	}
	hv.mu.RLock()
	d, ok := hv.docs[string(path)]
	hv.mu.RUnlock()
	if !ok || !d.doc.fresh(p.now()) {
		return hotDoc{}, false
	}
	return d, true
}

type selectKey struct {
	topic string
	limit int
	page  bool
}

type selection struct {
	entries []feeds.Entry
	count   int
}

type cacheKey struct {
	page   string // topic name, or "/" and "opml" for the pages
	format feeds.Format
	limit  int
}

// rendered is one published document with its validators.
type rendered struct {
	body         []byte
	etag         string // strong, quoted
	lastModified time.Time
	contentType  string
	// expires is when a document of a topic with an age: query must be
	// rendered again although neither store nor config changed; zero
	// for documents that depend on those alone.
	expires time.Time
	// header holds the response headers, built once per render so that
	// serving a cached document formats and allocates nothing for them.
	header http.Header
	length []string // Content-Length of a 200, formatted once

	// file is the body in a memfd for sendfile, made on the first 200 of
	// a large document (see bodyFile); nil if it could not be made.
	fileOnce sync.Once
	file     *bodyFile

	// gz is the document gzipped, made on the first request that accepts
	// it (see gzipped); nil when that does not pay.
	gzOnce sync.Once
	gz     *rendered

	// wireVal is the header the fast path writes, made on its first
	// response (see wire).
	wireOnce sync.Once
	wireVal  *wireHeader
}

// gzipMin is the smallest body served gzipped: below it the saving is a
// packet at most.
const gzipMin = 1 << 10

// gzipped returns the document compressed with gzip, as a representation
// of its own (RFC 9110 §8.8.3: its strong ETag differs, marked -gzip),
// made once per render so that requests cost no compression. It returns
// nil for small bodies, or when gzip would not make one smaller.
func (r *rendered) gzipped() *rendered {
	if len(r.body) < gzipMin {
		return nil
	}
	r.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return
		}
		zw.Write(r.body) // a bytes.Buffer does not fail
		if zw.Close() != nil || buf.Len() >= len(r.body) {
			return
		}
		g := &rendered{
			body:         buf.Bytes(),
			etag:         strings.TrimSuffix(r.etag, `"`) + `-gzip"`,
			lastModified: r.lastModified,
			contentType:  r.contentType,
			expires:      r.expires,
			header:       maps.Clone(r.header),
		}
		g.header["Etag"] = []string{g.etag}
		g.header["Content-Encoding"] = []string{"gzip"}
		g.length = []string{strconv.Itoa(len(g.body))}
		r.gz = g
	})
	return r.gz
}

// dynamicTTL is how long a document listing an age: topic is served from
// the cache: age: counts in minutes at the finest, and a re-render that
// changes nothing keeps the ETag, so readers see no difference.
const dynamicTTL = time.Minute

func newPublisher(st *storage.Store, s *setup, log *slog.Logger) *publisher {
	return &publisher{store: st, setup: s, log: log, now: time.Now, cache: map[cacheKey]*rendered{}}
}

// swap installs a new setup; cached documents are dropped.
func (p *publisher) swap(s *setup) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setup = s
	p.setGen++
	p.cache = map[cacheKey]*rendered{}
	p.selected = nil
	p.hot.Store(nil)
}

func (p *publisher) current() *setup {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.setup
}

// renderAt renders the document at a request path the fast path parsed,
// as its handler would (the same calls, so the same cache), when the hot
// view lacks it. It reports false when there is no such document or the
// render failed (the handler will then answer, and log, for itself).
func (p *publisher) renderAt(ctx context.Context, path []byte) (hotDoc, bool) {
	var doc *rendered
	var rt route
	var err error
	switch file, topic := bytes.CutPrefix(path, []byte("/topics/")); {
	case string(path) == indexRoute.path:
		rt = indexRoute
		doc, err = p.index(ctx)
	case string(path) == opmlRoute.path:
		rt = opmlRoute
		doc, err = p.opml(ctx)
	case topic:
		name, f, ok := topicFile(string(file))
		if rt = topicRoute(name, f); !ok || rt.path != string(path) {
			return hotDoc{}, false // another spelling of a route: the handler's
		}
		doc, err = p.topicFeed(ctx, name, f, 0)
	}
	if err != nil || doc == nil { // nil: no such topic, or not a route
		return hotDoc{}, false
	}
	return hotDoc{doc, rt}, true
}

// The routes of the pages.
var (
	indexRoute = route{path: "/", kind: "index"}
	opmlRoute  = route{path: "/topics.opml", kind: "opml"}
)

// cached returns the document for key, building it with build on a miss;
// a document built is listed in the hot view at rt unless rt is zero.
func (p *publisher) cached(ctx context.Context, key cacheKey, rt route, build func(ctx context.Context, s *setup) (*rendered, error)) (*rendered, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	hv := p.hot.Load()
	if g := [2]uint64{p.store.Generation(), p.setGen}; g != p.gen || hv == nil {
		if g != p.gen {
			p.cache = map[cacheKey]*rendered{}
			p.selected = nil
			p.gen = g
		}
		// The cache is empty here: a swap or a new generation emptied it.
		hv = &hotView{storeGen: g[0], docs: map[string]hotDoc{}}
		p.hot.Store(hv)
	}
	if r, ok := p.cache[key]; ok && r.fresh(p.now()) {
		return r, nil
	}
	r, err := build(ctx, p.setup)
	if err != nil || r == nil { // nil: no such page, nothing to cache
		return r, err
	}
	p.cache[key] = r
	if rt.path != "" {
		hv.mu.Lock()
		hv.docs[rt.path] = hotDoc{r, rt}
		hv.mu.Unlock()
	}
	return r, nil
}

// fresh reports whether a cached document may still be served at now.
func (r *rendered) fresh(now time.Time) bool {
	return r.expires.IsZero() || now.Before(r.expires)
}

// topicRoute is the route of a topic's feed in format f, or the zero route
// when its name would not come back from the request path as this topic
// (see topicFile) or is not plain enough for the fast path to match.
func topicRoute(name string, f feeds.Format) route {
	file := name + "." + f.Ext()
	if n, ff, ok := topicFile(file); !ok || n != name || ff != f || !plainSegment(name) {
		return route{}
	}
	return route{path: "/topics/" + file, kind: f.Ext(), topic: name}
}

// topicFeed returns the rendered feed of a topic, or nil if no such topic.
func (p *publisher) topicFeed(ctx context.Context, name string, f feeds.Format, limit int) (*rendered, error) {
	key := cacheKey{page: name, format: f, limit: limit}
	var rt route
	if limit == 0 {
		rt = topicRoute(name, f)
	}
	var missing bool
	r, err := p.cached(ctx, key, rt, func(ctx context.Context, s *setup) (*rendered, error) {
		t, ok := s.byName[name]
		if !ok {
			missing = true
			return nil, nil
		}
		if limit <= 0 || limit > 500 {
			limit = t.Limit
		}
		entries, _, err := p.selectEntries(ctx, s, t, limit, true)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if n := p.sizes[key]; n > 0 {
			buf.Grow(n + n/16) // room for the page to grow a little
		}
		if err := feeds.Render(&buf, t, entries, f, p.meta(ctx, s, entries)); err != nil {
			return nil, fmt.Errorf("render topic %q: %w", name, err)
		}
		if p.sizes == nil || len(p.sizes) >= maxSizes {
			p.sizes = make(map[cacheKey]int)
		}
		p.sizes[key] = buf.Len()
		r := newRendered(buf.Bytes(), f.ContentType(), entriesModified(entries))
		if p.hub != "" {
			// WebSub discovery (§4): the hub and the canonical topic URL,
			// made once here rather than on every request.
			r.header["Link"] = hubLinks(p.hub, feeds.FeedURL(s.cfg.Server.BaseURL, name, f))
		}
		if t.Dynamic() {
			r.expires = p.now().Add(dynamicTTL)
		}
		return r, nil
	})
	if missing {
		return nil, nil
	}
	return r, err
}

// index returns the HTML page that lists the topics.
func (p *publisher) index(ctx context.Context) (*rendered, error) {
	return p.cached(ctx, cacheKey{page: "/"}, indexRoute, func(ctx context.Context, s *setup) (*rendered, error) {
		sums := make([]feeds.TopicSummary, 0, len(s.topics))
		var newest time.Time
		for _, t := range s.topics {
			// The page's own selection: the count shown is the entries of
			// the topic's feed (feeds.TopicSummary), which one walk that
			// stops early gives, and the feed requests share it. Counting
			// every story of a topic reads and keeps every item it holds:
			// seconds and gigabytes with a million items.
			entries, count, err := p.selectEntries(ctx, s, t, t.Limit, true)
			if err != nil {
				return nil, err
			}
			sum := feeds.TopicSummary{Topic: t, Count: count, Updated: entriesModified(entries)}
			sum.Headlines = entries[:min(5, len(entries))]
			if sum.Updated.After(newest) {
				newest = sum.Updated
			}
			sums = append(sums, sum)
		}
		var shown []feeds.Entry
		for _, sum := range sums {
			shown = append(shown, sum.Headlines...)
		}
		var buf bytes.Buffer
		if err := feeds.WriteIndex(&buf, sums, p.meta(ctx, s, shown)); err != nil {
			return nil, fmt.Errorf("render index page: %w", err)
		}
		r := newRendered(buf.Bytes(), "text/html; charset=utf-8", newest)
		for _, t := range s.topics {
			if t.Dynamic() {
				r.expires = p.now().Add(dynamicTTL)
			}
		}
		return r, nil
	})
}

// opml returns the OPML list of every topic feed.
func (p *publisher) opml(ctx context.Context) (*rendered, error) {
	return p.cached(ctx, cacheKey{page: "opml"}, opmlRoute, func(ctx context.Context, s *setup) (*rendered, error) {
		var buf bytes.Buffer
		if err := feeds.WriteOPML(&buf, s.topics, p.meta(ctx, s, nil)); err != nil {
			return nil, fmt.Errorf("render OPML: %w", err)
		}
		return newRendered(buf.Bytes(), "text/x-opml; charset=utf-8", time.Time{}), nil
	})
}

// selectEntries lists a topic's stories, each once, newest first; count is
// how many stories the topic holds in all (a lower bound with page, which
// stops reading a horizon past the page's last story, see
// feeds.Selector.StopEarly). It is called with p.mu held, from a build of
// cached, and remembers its result until the cache is dropped, so the three
// formats of a topic share one read of the store.
func (p *publisher) selectEntries(ctx context.Context, s *setup, t *feeds.Topic, limit int, page bool) ([]feeds.Entry, int, error) {
	key := selectKey{t.Name, limit, page}
	if t.Dynamic() {
		// age: topics change with the clock; their documents expire on their own.
		return p.walkEntries(ctx, s, t, limit, page)
	}
	if sel, ok := p.selected[key]; ok {
		return sel.entries, sel.count, nil
	}
	entries, count, err := p.walkEntries(ctx, s, t, limit, page)
	if err != nil {
		return nil, 0, err
	}
	if p.selected == nil {
		p.selected = map[selectKey]selection{}
	}
	p.selected[key] = selection{entries, count}
	return entries, count, nil
}

// topicHints lets a feed page pass over topic index entries by their hints
// (feeds.Selector.Skips); benchmarks turn it off for the figure before.
var topicHints = true

// walkEntries reads the topic's items newest first and selects its stories.
// It reads the store's topic index, or the whole store newest first when the
// topic has no up-to-date index (and always for age: topics, whose matches
// change with the clock). Items of sources no longer configured are not
// published.
func (p *publisher) walkEntries(ctx context.Context, s *setup, t *feeds.Topic, limit int, page bool) ([]feeds.Entry, int, error) {
	var sel *feeds.Selector
	add := func(it *tidings.Item) bool {
		if _, ok := s.sources[it.Source]; !ok {
			return true
		}
		return sel.Add(it)
	}
	start := func() {
		sel = feeds.NewSelector(t, limit).At(p.now())
		if page {
			sel.StopEarly()
		}
	}
	start()
	var skip func(storage.TopicHint) bool
	if page && topicHints {
		// Past the page's cut most items cannot join a story collected:
		// pass over them by what the index holds, without reading them.
		skip = func(h storage.TopicHint) bool {
			return sel.Skips(feeds.Hint{Published: h.Published, FirstSeen: h.FirstSeen, Fingerprint: h.Fingerprint, LinkHash: h.LinkHash})
		}
	}
	err := storage.ErrTopicNotIndexed
	if v := s.indexVersion[t.Name]; v != "" {
		// The index of this very definition holds only items it matches.
		sel.Indexed()
		err = p.store.TopicNewestSkip(ctx, t.Name, v, skip, add)
	}
	if errors.Is(err, storage.ErrTopicNotIndexed) {
		start()
		err = p.store.Newest(ctx, add)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read items for topic %q: %w", t.Name, err)
	}
	entries := sel.Entries()
	if page {
		return entries, len(entries), nil // the caller wants no count: spare a grouping pass
	}
	return entries, sel.Count(), nil
}

// meta returns the feed metadata (buildMeta) with the sources of entries,
// and those they are also in, named; p.mu must be held. It is built once
// per generation and grows as renders need sources: reading every source's
// state is a JSON decode each, tens of milliseconds for 10,000 sources on
// every store change, while a render names a few dozen.
func (p *publisher) meta(ctx context.Context, s *setup, entries []feeds.Entry) feeds.Meta {
	if p.metaVal == nil || p.metaFor != p.gen {
		m := p.buildMeta(s)
		p.metaVal, p.metaFor = &m, p.gen
	}
	m := p.metaVal
	for _, e := range entries {
		p.nameSource(ctx, s, m, e.Item.Source)
		for _, name := range e.AlsoIn {
			p.nameSource(ctx, s, m, name)
		}
	}
	return *m
}

// buildMeta describes the published feeds: absolute base URL and the
// maps that nameSource fills.
func (p *publisher) buildMeta(s *setup) feeds.Meta {
	return feeds.Meta{
		BaseURL:     s.cfg.Server.BaseURL,
		SourceTitle: make(map[string]string),
		SourceLink:  make(map[string]string),
		SourceFeed:  make(map[string]string),
		Generator:   "Tidings " + version,
		Hub:         p.hub,
	}
}

// nameSource adds how a source is named to m, once: from the config first
// and the feed's own title second.
func (p *publisher) nameSource(ctx context.Context, s *setup, m *feeds.Meta, name string) {
	if _, ok := m.SourceTitle[name]; ok {
		return
	}
	src := s.sources[name]
	st, _, err := p.store.SourceState(ctx, name)
	if err != nil {
		p.log.Warn("read source state", "source", name, "err", err)
	}
	m.SourceTitle[name] = firstNonEmpty(src.Title, st.Title, name)
	m.SourceFeed[name] = firstNonEmpty(st.URL, src.URL)
	if st.SiteLink != "" {
		m.SourceLink[name] = st.SiteLink
	}
}

// maxSizes bounds publisher.sizes: every topic in every format, and
// some ?limit= variants.
const maxSizes = 4096

// newRendered makes a document of body, which it owns from then on: it
// is kept as it is unless its spare capacity would waste more than an
// eighth of it.
func newRendered(body []byte, contentType string, modified time.Time) *rendered {
	sum := sha256.Sum256(body)
	if cap(body)-len(body) > len(body)/8 {
		body = bytes.Clone(body)
	}
	r := &rendered{
		body:         body,
		etag:         `"` + hex.EncodeToString(sum[:16]) + `"`,
		lastModified: modified.UTC().Truncate(time.Second),
		contentType:  contentType,
	}
	r.header = http.Header{
		"Content-Type":  {r.contentType},
		"Etag":          {r.etag},
		"Cache-Control": {"public, max-age=60"},
		// Either representation, gzip or not, by the request's Accept-Encoding.
		"Vary": {"Accept-Encoding"},
	}
	r.length = []string{strconv.Itoa(len(r.body))}
	if !r.lastModified.IsZero() && r.lastModified.Unix() > 0 {
		r.header["Last-Modified"] = []string{r.lastModified.Format(http.TimeFormat)}
	}
	return r
}

// entriesModified is the newest time anything in the list changed: new
// items (first seen), edits (updated) and publication. It depends on the
// content alone, so a poll that changes nothing keeps Last-Modified.
func entriesModified(entries []feeds.Entry) time.Time {
	var t time.Time
	for _, e := range entries {
		for _, c := range []time.Time{e.Item.Published, e.Item.Updated, e.Item.FirstSeen} {
			if c.After(t) {
				t = c
			}
		}
	}
	return t
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
