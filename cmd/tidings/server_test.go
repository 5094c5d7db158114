package main

import (
	"bytes"
	"cmp"
	"compress/gzip"
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
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.serve(w, r, docs[r.URL.Path], nil, "rss", "t")
	}))
	ts.Config.ConnContext = withConn // as serve does: large bodies go corked
	ts.Start()
	defer ts.Close()

	cases := map[string]struct {
		method, inm, ae string
		code            int
		body, gzipped   bool
	}{
		"get":              {http.MethodGet, "", "", http.StatusOK, true, false},
		"head":             {http.MethodHead, "", "", http.StatusOK, false, false},
		"revalidated":      {http.MethodGet, "match", "", http.StatusNotModified, false, false},
		"other etag":       {http.MethodGet, `"other"`, "", http.StatusOK, true, false},
		"get again":        {http.MethodGet, "", "", http.StatusOK, true, false},
		"gzip":             {http.MethodGet, "", "br, gzip;q=0.8", http.StatusOK, true, true},
		"gzip again":       {http.MethodGet, "", "x-gzip", http.StatusOK, true, true},
		"gzip head":        {http.MethodHead, "", "gzip", http.StatusOK, false, true},
		"gzip revalidated": {http.MethodGet, "match", "gzip", http.StatusNotModified, false, true},
		"gzip refused":     {http.MethodGet, "", "gzip;q=0, deflate", http.StatusOK, true, false},
	}
	for path, doc := range docs {
		for name, c := range cases {
			t.Run(path[1:]+"/"+name, func(t *testing.T) {
				want := doc // the representation served
				if c.gzipped && doc.gzipped() != nil {
					want = doc.gzipped()
				}
				req, _ := http.NewRequest(c.method, ts.URL+path, nil)
				// Set, so that the client does not ask for gzip and undo it itself.
				req.Header.Set("Accept-Encoding", cmp.Or(c.ae, "identity"))
				switch c.inm {
				case "match":
					req.Header.Set("If-None-Match", want.etag)
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
				if resp.StatusCode != c.code || resp.Header.Get("ETag") != want.etag {
					t.Errorf("status %d, ETag %s; want %d, %s", resp.StatusCode, resp.Header.Get("ETag"), c.code, want.etag)
				}
				if gz := resp.Header.Get("Content-Encoding") == "gzip"; gz != (want != doc) {
					t.Errorf("Content-Encoding %q, gzipped representation: %v", resp.Header.Get("Content-Encoding"), want != doc)
				} else if gz && len(b) > 0 {
					zr, err := gzip.NewReader(bytes.NewReader(b))
					if err != nil {
						t.Fatal(err)
					}
					if b, err = io.ReadAll(zr); err != nil {
						t.Fatal(err)
					}
				}
				if resp.Header.Get("Vary") != "Accept-Encoding" {
					t.Errorf("Vary %q", resp.Header.Get("Vary"))
				}
				wantBody := []byte{}
				if c.body {
					wantBody = doc.body
				}
				if !bytes.Equal(b, wantBody) {
					t.Errorf("body of %d bytes, want %d", len(b), len(wantBody))
				}
				if c.code == http.StatusOK && resp.Header.Get("Content-Length") != strconv.Itoa(len(want.body)) {
					t.Errorf("Content-Length %q, want %d", resp.Header.Get("Content-Length"), len(want.body))
				}
			})
		}
	}

	// Requests in flight at once each read the file from its start.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, ts.URL+"/large", nil)
			req.Header.Set("Accept-Encoding", "identity")
			resp, err := ts.Client().Do(req)
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
