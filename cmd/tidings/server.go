package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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
	mux.Handle("GET /metrics", s.admin(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})))
	mux.Handle("GET /sources", s.admin(http.HandlerFunc(s.handleSources)))
	mux.Handle("GET /admin/backup", s.admin(http.HandlerFunc(s.handleBackup)))
	return mux
}

// admin guards internals with the configured bearer token, when one is set.
func (s *server) admin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := s.adminToken(); tok != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(tok)) != 1 {
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
	s.serve(w, r, doc, err, "index")
}

func (s *server) handleOPML(w http.ResponseWriter, r *http.Request) {
	doc, err := s.pub.opml(r.Context())
	s.serve(w, r, doc, err, "opml")
}

func (s *server) handleTopic(w http.ResponseWriter, r *http.Request) {
	name, ext, ok := strings.Cut(r.PathValue("file"), ".")
	f, known := feeds.ParseFormat(ext)
	if !ok || !known {
		http.NotFound(w, r)
		return
	}
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			http.Error(w, "limit must be a number from 1 to 500", http.StatusBadRequest)
			return
		}
		limit = n
	}
	doc, err := s.pub.topicFeed(r.Context(), name, f, limit)
	if err == nil && doc == nil {
		http.Error(w, "no topic named "+strconv.Quote(name), http.StatusNotFound)
		return
	}
	s.serve(w, r, doc, err, f.Ext())
}

// serve writes a rendered document with its validators, or 304 when the
// client's copy is current.
func (s *server) serve(w http.ResponseWriter, r *http.Request, doc *rendered, err error, kind string) {
	if err != nil {
		s.log.Error("render", "page", r.URL.Path, "err", err)
		http.Error(w, "500 internal error: could not render this page; the log says why", http.StatusInternalServerError)
		s.metrics.requests.WithLabelValues(kind, "500").Inc()
		return
	}
	h := w.Header()
	h.Set("Content-Type", doc.contentType)
	h.Set("ETag", doc.etag)
	h.Set("Cache-Control", "public, max-age=60")
	if !doc.lastModified.IsZero() && doc.lastModified.Unix() > 0 {
		h.Set("Last-Modified", doc.lastModified.Format(http.TimeFormat))
	}
	if notModified(r, doc) {
		w.WriteHeader(http.StatusNotModified)
		s.metrics.requests.WithLabelValues(kind, "304").Inc()
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(doc.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(doc.body)
	}
	s.metrics.requests.WithLabelValues(kind, "200").Inc()
}

// notModified applies RFC 9110 §13.2.2: If-None-Match wins over
// If-Modified-Since when both are sent.
func notModified(r *http.Request, doc *rendered) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for tag := range strings.SplitSeq(inm, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == doc.etag {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && !doc.lastModified.IsZero() {
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

// handleSources lists every configured source with its polling state.
func (s *server) handleSources(w http.ResponseWriter, r *http.Request) {
	states, err := s.store.SourceStates(r.Context())
	if err != nil {
		s.log.Error("read source states", "err", err)
		http.Error(w, "500 internal error: could not read source states", http.StatusInternalServerError)
		return
	}
	stats, err := s.store.Stats(r.Context())
	if err != nil {
		s.log.Error("read store stats", "err", err)
	}
	type row struct {
		Name   string `json:"name"`
		URL    string `json:"url"`
		Items  int    `json:"items"`
		Active bool   `json:"configured"`
		State  any    `json:"state"`
	}
	cur := s.pub.current()
	out := []row{}
	seen := map[string]bool{}
	for _, st := range states {
		src, ok := cur.sources[st.Name]
		seen[st.Name] = true
		out = append(out, row{Name: st.Name, URL: firstNonEmpty(st.URL, src.URL), Items: stats.PerSource[st.Name], Active: ok, State: st})
	}
	for _, src := range cur.cfg.Sources {
		if !seen[src.Name] {
			out = append(out, row{Name: src.Name, URL: src.URL, Active: true, State: nil})
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

// metrics are the Prometheus series the daemon exports.
type metrics struct {
	reg      *prometheus.Registry
	polls    *prometheus.CounterVec
	latency  prometheus.Histogram
	bytes    prometheus.Counter
	items    *prometheus.CounterVec
	requests *prometheus.CounterVec
	success  *prometheus.GaugeVec
	reloads  *prometheus.CounterVec
	reloadOK prometheus.Gauge
}

func newMetrics(st *storage.Store) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
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
			Name: "tidings_items_total", Help: "Items seen in polls by what the store did (new, updated, unchanged).",
		}, []string{"result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_feed_requests_total", Help: "Published documents served by kind and status code.",
		}, []string{"kind", "code"}),
		success: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tidings_source_last_success_timestamp_seconds", Help: "Unix time of each source's last successful poll.",
		}, []string{"source"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_config_reloads_total", Help: "Config reloads by result (ok, error).",
		}, []string{"result"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tidings_config_last_reload_successful", Help: "1 if the last config reload succeeded (or none was tried), else 0.",
		}),
	}
	m.reloadOK.Set(1)
	storeItems := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tidings_store_items", Help: "Items in the store.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stats, err := st.Stats(ctx)
		if err != nil {
			return -1
		}
		return float64(stats.Items)
	})
	storeSize := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tidings_store_size_bytes", Help: "Size of the store file.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stats, err := st.Stats(ctx)
		if err != nil {
			return -1
		}
		return float64(stats.SizeBytes)
	})
	m.reg.MustRegister(m.polls, m.latency, m.bytes, m.items, m.requests, m.success, m.reloads, m.reloadOK,
		storeItems, storeSize, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
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
	m.items.WithLabelValues("unchanged").Add(float64(r.saved.Unchanged))
}
