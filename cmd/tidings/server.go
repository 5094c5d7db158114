package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/storage"
)

// server is the HTTP surface of DESIGN §3.
type server struct {
	pub     *publisher
	store   *storage.Store
	log     *slog.Logger
	metrics *metrics

	ready      atomic.Bool
	reloadErr  atomic.Pointer[string] // the last reload's error, nil if it succeeded
	storeErr   func() *string         // the store's last write error while polling is paused, else nil
	adminToken func() string
	push       *push // WebSub; nil in tests that do without
	// adminOnly is set when server.admin_listen is: admin endpoints then
	// answer only requests that came in on that listener (see onAdminListener).
	adminOnly bool
}

// adminListenerKey marks, in a request's context, a connection accepted
// on server.admin_listen; set by that http.Server's BaseContext.
type adminListenerKey struct{}

// onAdminListener is the BaseContext of the admin listener's http.Server.
func onAdminListener(net.Listener) context.Context {
	return context.WithValue(context.Background(), adminListenerKey{}, true)
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleIndex)
	mux.HandleFunc("GET /topics/{file}", s.handleTopic)
	mux.HandleFunc("GET /topics.opml", s.handleOPML)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.Handle("GET /metrics", s.admin(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{
		// A store that cannot be read must not hide the other series.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	})))
	mux.Handle("GET /sources", s.admin(http.HandlerFunc(s.handleSources)))
	mux.Handle("GET /admin/match", s.admin(http.HandlerFunc(s.handleMatch)))
	mux.Handle("GET /topics/{name}/preview", s.admin(http.HandlerFunc(s.handlePreview)))
	if s.push != nil {
		s.push.routes(mux)
	}
	mux.Handle("GET /admin/backup", s.admin(http.HandlerFunc(s.handleBackup)))
	return mux
}

// admin guards internals: with server.admin_listen set they exist only on
// that listener (404 on the public one, as if absent), and with
// server.admin_token set they require it as a bearer token. Every route
// wrapped here is restricted both ways; topic feeds are not wrapped.
// The one mux serves both listeners, so the admin one serves the public
// pages too.
func (s *server) admin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.adminOnly && r.Context().Value(adminListenerKey{}) == nil {
			http.NotFound(w, r)
			return
		}
		if tok := s.adminToken(); tok != "" {
			// The scheme is case-insensitive (RFC 9110 §11.1), the token is not.
			scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(got), []byte(tok)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="tidings"`)
				http.Error(w, "401 unauthorized: send Authorization: Bearer <server.admin_token>", http.StatusUnauthorized)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func (s *server) handleIndex(w http.ResponseWriter, r *http.Request) {
	doc, err := s.pub.index(r.Context())
	s.serve(w, r, doc, err, "index", "")
}

func (s *server) handleOPML(w http.ResponseWriter, r *http.Request) {
	doc, err := s.pub.opml(r.Context())
	s.serve(w, r, doc, err, "opml", "")
}

func (s *server) handleTopic(w http.ResponseWriter, r *http.Request) {
	name, f, ok := topicFile(r.PathValue("file"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	limit := 0
	if r.URL.RawQuery != "" { // most requests carry none: skip parsing it
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 500 {
				http.Error(w, "limit must be a number from 1 to 500", http.StatusBadRequest)
				return
			}
			limit = n
		}
	}
	doc, err := s.pub.topicFeed(r.Context(), name, f, limit)
	if err == nil && doc == nil {
		http.Error(w, "no topic named "+strconv.Quote(name), http.StatusNotFound)
		return
	}
	s.serve(w, r, doc, err, f.Ext(), name)
}

// topicFile splits the last segment of a topic feed's path, NAME.EXT,
// at its first dot. The fast path's routes (topicRoute) are the files
// this gives back unchanged.
func topicFile(file string) (name string, f feeds.Format, ok bool) {
	name, ext, ok := strings.Cut(file, ".")
	f, known := feeds.ParseFormat(ext)
	return name, f, ok && known
}

// serve writes a rendered document with its validators, or 304 when the
// client's copy is current.
// kind is the document's format (rss, atom, json, index, opml) and topic
// its topic ("" for the pages), for the request metric.
func (s *server) serve(w http.ResponseWriter, r *http.Request, doc *rendered, err error, kind, topic string) {
	if err != nil {
		s.log.Error("render", "page", r.URL.Path, "err", err)
		http.Error(w, "500 internal error: could not render this page; the log says why", http.StatusInternalServerError)
		s.metrics.served(kind, topic, http.StatusInternalServerError).Inc()
		return
	}
	doc, code := choose(doc, requestConditions(r))
	h := w.Header()
	// The values are shared by every response of this document: net/http
	// only reads them, and their capacity is their length, so an append
	// elsewhere copies instead of writing into them.
	maps.Copy(h, doc.header)
	if code == http.StatusNotModified {
		w.WriteHeader(http.StatusNotModified)
		s.metrics.served(kind, topic, http.StatusNotModified).Inc()
		return
	}
	h["Content-Length"] = doc.length
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead && !s.sendFile(w, r, doc) {
		w.Write(doc.body)
	}
	s.metrics.served(kind, topic, http.StatusOK).Inc()
}

// sendfileMin is the smallest body sent with sendfile: below it the system
// calls it adds (the header written on its own, a seek) cost about what
// the copy it saves does.
const sendfileMin = 32 << 10

// sendfileHead is how much of a body sendFile writes from memory, with
// the header; see there.
const sendfileHead = 3 << 10

// sendfileIdle is how many open descriptions of one document's memfd are
// kept for the next requests; more are opened when more requests are in
// flight, and closed after them.
const sendfileIdle = 64

// connKey holds, in a request's context, its connection (see withConn).
type connKey struct{}

// withConn is the ConnContext of the daemon's http.Servers: it keeps the
// connection where sendFile can set socket options on it.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// noBodyFile is set once making a bodyFile has failed and that was logged.
var noBodyFile atomic.Bool

// sendFile writes the body of a 200 with sendfile(2) from the document's
// memfd, after the header. It returns false, having written nothing, when
// the body is small or the file cannot be had; the caller then writes it.
func (s *server) sendFile(w http.ResponseWriter, r *http.Request, doc *rendered) bool {
	if _, ok := w.(io.ReaderFrom); !ok || s.bodyFile(doc) == nil {
		return false
	}
	f, err := doc.file.get()
	if err != nil {
		return false
	}
	defer doc.file.put(f)
	// The head of the body goes from memory with the header, in one
	// segment: more than net/http's 2 KB response buffer, so it passes
	// straight to the connection's 4 KB buffer behind the header (and
	// ReadFrom need not read 512 bytes of the file for content sniffing);
	// ReadFrom flushes both, then the kernel sends the rest. A header on
	// its own would cost a system call and wake the client once more.
	//
	// The socket is corked meanwhile (TCP_CORK, as nginx's tcp_nopush), so
	// that the kernel sends full segments and the client wakes up for them,
	// not for each piece; uncorking sends the last one. Measured beside the
	// same build without it: 25-30% more requests/s for a 140 KB feed.
	c, _ := r.Context().Value(connKey{}).(net.Conn)
	writeCorked(w, c, nil, doc, f) // an error: the client has gone
	return true
}

// writeCorked writes header (nil when the writer has its own) and doc's
// body to w: the body's first sendfileHead bytes from memory with the
// header, the rest from f, its memfd (with sendfile when w reads from
// files, as a TCP connection and net/http's response do). The connection
// c, if not nil, is corked meanwhile; see server.sendFile.
func writeCorked(w io.Writer, c net.Conn, header []byte, doc *rendered, f *os.File) error {
	if c != nil && cork(c, true) {
		defer cork(c, false)
	}
	bufs := net.Buffers{header, doc.body[:sendfileHead]}
	if _, err := bufs.WriteTo(w); err != nil {
		return err
	}
	_, err := io.Copy(w, &io.LimitedReader{R: f, N: doc.file.size - sendfileHead})
	return err
}

// bodyFile returns the document's memfd for sendfile, made on first use,
// or nil when the body is small or the file cannot be had.
func (s *server) bodyFile(doc *rendered) *bodyFile {
	if len(doc.body) < sendfileMin {
		return nil
	}
	doc.fileOnce.Do(func() {
		f, err := newBodyFile(doc.body, sendfileHead, sendfileIdle)
		if err != nil {
			if !noBodyFile.Swap(true) {
				s.log.Info("serving feeds from memory, without sendfile", "err", err)
			}
			return
		}
		doc.file = f
	})
	return doc.file
}

// conditions are the request headers that choose what a document's
// response is: its representation and whether it is a 304. net/http's
// handler and the fast path each fill them from their own parse of the
// request, and choose decides for both.
type conditions struct {
	ifNoneMatch     string   // the first If-None-Match field
	ifModifiedSince string   // the first If-Modified-Since field
	acceptEncoding  []string // every Accept-Encoding field
}

// requestConditions reads the conditions of a request net/http parsed.
func requestConditions(r *http.Request) conditions {
	return conditions{
		ifNoneMatch:     r.Header.Get("If-None-Match"),
		ifModifiedSince: r.Header.Get("If-Modified-Since"),
		acceptEncoding:  r.Header.Values("Accept-Encoding"),
	}
}

// choose returns the representation of doc to serve (gzipped when the
// client takes gzip and there is one) and the status: 304 when the
// client's copy of that representation is current, else 200.
func choose(doc *rendered, c conditions) (*rendered, int) {
	if acceptsGzip(c.acceptEncoding) {
		if gz := doc.gzipped(); gz != nil {
			doc = gz
		}
	}
	if notModified(c, doc) {
		return doc, http.StatusNotModified
	}
	return doc, http.StatusOK
}

// acceptsGzip reports whether the request's Accept-Encoding takes gzip
// (RFC 9110 §12.5.3): named, as gzip or x-gzip, with a weight above 0.
// Only "*" is not taken for gzip: identity is always acceptable then too.
func acceptsGzip(acceptEncoding []string) bool {
	for _, v := range acceptEncoding {
		for el := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(el, ";")
			name = strings.TrimSpace(name)
			if !strings.EqualFold(name, "gzip") && !strings.EqualFold(name, "x-gzip") {
				continue
			}
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil {
						f = 0
					}
					q = f
				}
			}
			return q > 0
		}
	}
	return false
}

// notModified applies RFC 9110 §13.2.2: If-None-Match wins over
// If-Modified-Since when both are sent.
func notModified(c conditions, doc *rendered) bool {
	if inm := c.ifNoneMatch; inm != "" {
		for tag := range strings.SplitSeq(inm, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == doc.etag {
				return true
			}
		}
		return false
	}
	if ims := c.ifModifiedSince; ims != "" && !doc.lastModified.IsZero() {
		t, err := http.ParseTime(ims)
		return err == nil && !doc.lastModified.After(t)
	}
	return false
}

func (s *server) handleReady(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !s.ready.Load() {
		http.Error(w, "not ready: the store is not open yet", http.StatusServiceUnavailable)
		return
	}
	if s.storeErr != nil {
		if e := s.storeErr(); e != nil {
			http.Error(w, "not ready: the store cannot be written (disk full or read-only?), polling is paused and retried every minute; feeds are still served: "+*e, http.StatusServiceUnavailable)
			return
		}
	}
	if e := s.reloadErr.Load(); e != nil {
		w.Write([]byte("ready; the last config reload failed, the previous config still serves: " + *e + "\n"))
		return
	}
	w.Write([]byte("ready\n"))
}

// handleSources lists every source with its polling state (see
// sourceStatus), in config order, then the removed ones still stored.
func (s *server) handleSources(w http.ResponseWriter, r *http.Request) {
	rows, err := sourceStatuses(r.Context(), s.store, s.pub.current().cfg)
	if err != nil {
		s.log.Error("list sources", "sources", len(s.pub.current().cfg.Sources), "err", err)
		http.Error(w, "500 internal error: could not read source states", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(rows)
}

// metrics are the Prometheus series the daemon exports, in a registry of
// its own (no global state). Label values are bounded by the config:
// sources and topics that exist, formats, status codes.
type metrics struct {
	reg        *prometheus.Registry
	polls      *prometheus.CounterVec
	latency    prometheus.Histogram
	bytes      prometheus.Counter
	items      *prometheus.CounterVec
	requests   *prometheus.CounterVec
	success    *prometheus.GaugeVec
	sources    prometheus.Gauge
	reloads    *prometheus.CounterVec
	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge

	// served caches the request counters by kind and status, so that a
	// request costs an atomic add, not a label lookup under a lock.
	servedMu sync.RWMutex
	servedBy map[servedKey]prometheus.Counter
}

type servedKey struct {
	kind, topic string
	code        int
}

// served returns the counter of requests of a kind (and topic) answered with code.
func (m *metrics) served(kind, topic string, code int) prometheus.Counter {
	k := servedKey{kind, topic, code}
	m.servedMu.RLock()
	c, ok := m.servedBy[k]
	m.servedMu.RUnlock()
	if ok {
		return c
	}
	c = m.requests.WithLabelValues(kind, topic, strconv.Itoa(code))
	m.servedMu.Lock()
	m.servedBy[k] = c
	m.servedMu.Unlock()
	return c
}

func newMetrics(st *storage.Store) *metrics {
	m := &metrics{
		reg:      prometheus.NewRegistry(),
		servedBy: map[servedKey]prometheus.Counter{},
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_polls_total", Help: "Polls of sources by outcome (ok, not_modified, error).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tidings_poll_duration_seconds", Help: "Time to fetch, parse and store one poll.",
			Buckets: prometheus.ExponentialBuckets(0.005, 3, 10),
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tidings_fetched_bytes_total", Help: "Feed bytes read, after decompression.",
		}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_items_total", Help: "Items seen in polls by what the store did: new, updated (edited in place), duplicate (already stored unchanged, or pruned and remembered).",
		}, []string{"result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_feed_requests_total", Help: "Published documents served by kind (rss, atom, json, index, opml), topic and status code; code 304 over all gives the share of conditional hits.",
		}, []string{"kind", "topic", "code"}),
		success: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tidings_source_last_success_timestamp_seconds", Help: "Unix time of each configured source's last successful poll (absent until one succeeds).",
		}, []string{"source"}),
		sources: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tidings_sources", Help: "Sources in the running config.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_config_reloads_total", Help: "Config reloads by result (ok, error).",
		}, []string{"result"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tidings_config_last_reload_successful", Help: "1 if the last config reload succeeded (or none was tried), else 0.",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tidings_config_last_reload_success_timestamp_seconds", Help: "Unix time the running config was loaded (start or last successful reload).",
		}),
	}
	m.reloadOK.Set(1)
	m.reloadTime.SetToCurrentTime()
	m.reg.MustRegister(m.polls, m.latency, m.bytes, m.items, m.requests, m.success, m.sources,
		m.reloads, m.reloadOK, m.reloadTime, &storeCollector{st: st},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// configured records the running config's sources: the last success of
// each comes from its stored state (so a restart does not reset it), and
// sources no longer configured lose their series.
func (m *metrics) configured(ctx context.Context, st *storage.Store, sources []tidings.Source) error {
	m.sources.Set(float64(len(sources)))
	states, err := st.SourceStates(ctx)
	if err != nil {
		return err
	}
	last := make(map[string]time.Time, len(states))
	for _, s := range states {
		last[s.Name] = s.LastSuccess
	}
	m.success.Reset()
	for _, src := range sources {
		if t := last[src.Name]; !t.IsZero() {
			m.success.WithLabelValues(src.Name).Set(float64(t.UnixNano()) / 1e9)
		}
	}
	return nil
}

// watchPolls adds the poller's queue to the metrics: load is poller.load.
func (m *metrics) watchPolls(load func(now time.Time) (due, inFlight int)) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tidings_polls_due", Help: "Sources whose poll is due but not started: waiting for one of fetch.concurrency workers, or for a slot at their host (fetch.per_host). Staying above 0 means polls fall behind their schedule.",
		}, func() float64 { due, _ := load(time.Now()); return float64(due) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tidings_polls_in_flight", Help: "Polls being fetched, parsed or stored now (at most fetch.concurrency).",
		}, func() float64 { _, n := load(time.Now()); return float64(n) }),
	)
}

// observe records one finished poll.
func (m *metrics) observe(r pollResult) {
	switch {
	case r.err != nil:
		m.polls.WithLabelValues("error").Inc()
	case r.notModified:
		m.polls.WithLabelValues("not_modified").Inc()
	default:
		m.polls.WithLabelValues("ok").Inc()
	}
	if r.err == nil {
		m.success.WithLabelValues(r.source).SetToCurrentTime()
	}
	m.latency.Observe(r.duration.Seconds())
	m.bytes.Add(float64(r.bytes))
	m.items.WithLabelValues("new").Add(float64(r.saved.New))
	m.items.WithLabelValues("updated").Add(float64(r.saved.Updated))
	m.items.WithLabelValues("duplicate").Add(float64(r.saved.Unchanged + r.saved.Tombstoned))
}

// storeCollector reads the store's size and item count once per scrape.
type storeCollector struct{ st *storage.Store }

var (
	storeItemsDesc = prometheus.NewDesc("tidings_store_items", "Items in the store.", nil, nil)
	storeSizeDesc  = prometheus.NewDesc("tidings_store_size_bytes", "Size of the data in the store file.", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- storeItemsDesc
	ch <- storeSizeDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stats, err := c.st.Stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(storeItemsDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(storeItemsDesc, prometheus.GaugeValue, float64(stats.Items))
	ch <- prometheus.MustNewConstMetric(storeSizeDesc, prometheus.GaugeValue, float64(stats.SizeBytes))
}
