// Command feedserver serves N generated RSS feeds on 127.0.0.1 for
// bench/poll/run.sh: every feed has an ETag and answers a matching
// If-None-Match with 304, and GET /bump?pct=10 changes that share of the
// feeds (one new item each), so a poll cycle sees 10% changed, 90% 304.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type server struct {
	gen   []atomic.Int64
	items int
	round atomic.Int64

	requests, notModified atomic.Int64
	mu                    sync.Mutex
	first, last           time.Time
}

func (s *server) count() {
	now := time.Now()
	s.requests.Add(1)
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = now
	}
	s.last = now
	s.mu.Unlock()
}

func (s *server) feed(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(strings.TrimSuffix(r.PathValue("file"), ".xml"))
	if err != nil || i < 0 || i >= len(s.gen) {
		http.NotFound(w, r)
		return
	}
	s.count()
	g := s.gen[i].Load()
	etag := fmt.Sprintf(`"%d-%d"`, i, g)
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		s.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Bench feed %d</title><link>https://example.org/%d/</link>`, i, i)
	for k := g + int64(s.items) - 1; k >= g; k-- {
		fmt.Fprintf(&b, `<item><title>Feed %d story %d about trade and tariffs</title><link>https://example.org/%d/%d</link><guid>f%d-%d</guid>`+
			`<description>Story %d of feed %d: a paragraph of text long enough to look like a real summary of a news article.</description></item>`,
			i, k, i, k, i, k, k, i)
	}
	b.WriteString(`</channel></rss>`)
	w.Write([]byte(b.String()))
}

// bump changes pct% of the feeds, a different share each round.
func (s *server) bump(w http.ResponseWriter, r *http.Request) {
	pct, err := strconv.Atoi(r.URL.Query().Get("pct"))
	if err != nil || pct <= 0 || pct > 100 {
		http.Error(w, "pct must be 1..100", http.StatusBadRequest)
		return
	}
	every := 100 / pct
	round := int(s.round.Add(1))
	n := 0
	for i := range s.gen {
		if i%every == round%every {
			s.gen[i].Add(1)
			n++
		}
	}
	fmt.Fprintf(w, "%d\n", n)
}

func (s *server) stats(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	out := map[string]any{
		"requests": s.requests.Load(), "not_modified": s.notModified.Load(),
		"first": s.first, "last": s.last, "span_s": s.last.Sub(s.first).Seconds(),
	}
	if r.URL.Query().Has("reset") {
		s.requests.Store(0)
		s.notModified.Store(0)
		s.first, s.last = time.Time{}, time.Time{}
	}
	s.mu.Unlock()
	json.NewEncoder(w).Encode(out)
}

func main() {
	n := flag.Int("n", 5000, "number of feeds")
	items := flag.Int("items", 20, "items per feed")
	portFile := flag.String("portfile", "", "write the listening port here")
	flag.Parse()
	s := &server{gen: make([]atomic.Int64, *n), items: *items}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /f/{file}", s.feed)
	mux.HandleFunc("GET /bump", s.bump)
	mux.HandleFunc("GET /stats", s.stats)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if *portFile != "" {
		if err := os.WriteFile(*portFile, []byte(strconv.Itoa(port)), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	log.Fatal(http.Serve(ln, mux))
}
