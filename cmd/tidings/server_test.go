package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestServeDocument serves a small document (written from memory) and a
// large one (sent from its memfd on Linux) over real connections, reused
// between requests, and checks bytes, lengths and revalidation.
func TestServeDocument(t *testing.T) {
	large := make([]byte, 3*sendfileMin+17)
	for i := range large {
		large[i] = byte('a' + i%26 + i/997%3)
	}
	docs := map[string]*rendered{
		"/small": newRendered([]byte("<rss>small</rss>"), "application/rss+xml", time.Time{}),
		"/large": newRendered(large, "application/rss+xml", time.Time{}),
	}
	log := slog.New(slog.DiscardHandler)
	srv := &server{log: log, metrics: newMetrics(nil)}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.serve(w, r, docs[r.URL.Path], nil, "rss", "t")
	}))
	defer ts.Close()

	cases := map[string]struct {
		method, inm string
		code        int
		body        bool
	}{
		"get":         {http.MethodGet, "", http.StatusOK, true},
		"head":        {http.MethodHead, "", http.StatusOK, false},
		"revalidated": {http.MethodGet, "match", http.StatusNotModified, false},
		"other etag":  {http.MethodGet, `"other"`, http.StatusOK, true},
		"get again":   {http.MethodGet, "", http.StatusOK, true},
	}
	for path, doc := range docs {
		for name, c := range cases {
			t.Run(path[1:]+"/"+name, func(t *testing.T) {
				req, _ := http.NewRequest(c.method, ts.URL+path, nil)
				switch c.inm {
				case "match":
					req.Header.Set("If-None-Match", doc.etag)
				case "":
				default:
					req.Header.Set("If-None-Match", c.inm)
				}
				resp, err := ts.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != c.code || resp.Header.Get("ETag") != doc.etag {
					t.Errorf("status %d, ETag %s; want %d, %s", resp.StatusCode, resp.Header.Get("ETag"), c.code, doc.etag)
				}
				want := []byte{}
				if c.body {
					want = doc.body
				}
				if !bytes.Equal(b, want) {
					t.Errorf("body of %d bytes, want %d", len(b), len(want))
				}
				if c.code == http.StatusOK && resp.Header.Get("Content-Length") != strconv.Itoa(len(doc.body)) {
					t.Errorf("Content-Length %q, want %d", resp.Header.Get("Content-Length"), len(doc.body))
				}
			})
		}
	}

	// Requests in flight at once each read the file from its start.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			resp, err := ts.Client().Get(ts.URL + "/large")
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			if b, err := io.ReadAll(resp.Body); err != nil || !bytes.Equal(b, large) {
				errs <- fmt.Errorf("concurrent GET: %d bytes, %v", len(b), err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if runtime.GOOS == "linux" && docs["/large"].file == nil {
		t.Error("the large document was not given a memfd to send from")
	}
	if docs["/small"].file != nil {
		t.Error("the small document was given a memfd")
	}
}
