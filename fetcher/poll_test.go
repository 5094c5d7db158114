package fetcher

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

const testInterval = 10 * time.Minute

// rssFeed returns an RSS 2.0 feed with n items.
func rssFeed(n int) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>` +
		`<title>Test feed</title><link>https://example.org/</link>`)
	for i := range n {
		fmt.Fprintf(&b, `<item><title>Item %d</title><link>https://example.org/%d</link><guid>id-%d</guid></item>`, i, i, i)
	}
	b.WriteString(`</channel></rss>`)
	return []byte(b.String())
}

func gzipped(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func source(url string) tidings.Source {
	return tidings.Source{Name: "test", URL: url, Interval: testInterval}
}

// checkNextPoll fails unless st.NextPoll is d after testNow, give or take
// the 10% jitter.
func checkNextPoll(t *testing.T, st tidings.SourceState, d time.Duration) {
	t.Helper()
	lo, hi := testNow.Add(d-d/10), testNow.Add(d+d/10)
	if st.NextPoll.Before(lo) || st.NextPoll.After(hi) {
		t.Errorf("NextPoll %v, want within [%v, %v]", st.NextPoll, lo, hi)
	}
}

func TestPollConditionalGet(t *testing.T) {
	const etag, lastMod = `"v1"`, "Sat, 31 May 2025 10:00:00 GMT"
	var mu sync.Mutex
	var seen []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		if r.Header.Get("If-None-Match") == etag && r.Header.Get("If-Modified-Since") == lastMod {
			w.WriteHeader(http.StatusNotModified) // no ETag: the old one must be kept
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lastMod)
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(rssFeed(2))
	}))
	defer srv.Close()

	f := newTestFetcher(t, Options{UserAgent: "TidingsTest/1"})
	src := source(srv.URL + "/feed")
	src.Headers = map[string]string{"Authorization": "Bearer secret"}
	first, err := f.Poll(context.Background(), src, tidings.SourceState{})
	if err != nil {
		t.Fatal(err)
	}
	st := first.State
	if len(first.Items) != 2 || first.NotModified || first.Bytes != int64(len(rssFeed(2))) {
		t.Errorf("first poll: %d items, NotModified %v, %d bytes", len(first.Items), first.NotModified, first.Bytes)
	}
	if st.Name != "test" || st.URL != src.URL || st.ETag != etag || st.LastModified != lastMod ||
		st.Title != "Test feed" || st.SiteLink != "https://example.org/" ||
		!st.LastPoll.Equal(testNow) || !st.LastSuccess.Equal(testNow) || st.Failures != 0 || st.LastError != "" {
		t.Errorf("state after first poll: %+v", st)
	}
	checkNextPoll(t, st, testInterval)

	second, err := f.Poll(context.Background(), src, st)
	if err != nil {
		t.Fatal(err)
	}
	if !second.NotModified || second.Items != nil || second.Bytes != 0 {
		t.Errorf("second poll: NotModified %v, items %v, %d bytes", second.NotModified, second.Items, second.Bytes)
	}
	if second.State.ETag != etag || second.State.LastModified != lastMod || second.State.Title != "Test feed" {
		t.Errorf("a 304 lost state: %+v", second.State)
	}

	if len(seen) != 2 {
		t.Fatalf("server saw %d requests", len(seen))
	}
	for i, h := range seen {
		if h.Get("User-Agent") != "TidingsTest/1" || h.Get("Accept-Encoding") != "gzip" ||
			!strings.HasPrefix(h.Get("Accept"), "application/rss+xml") || h.Get("Authorization") != "Bearer secret" {
			t.Errorf("request %d headers: %v", i, h)
		}
	}
	if seen[0].Get("If-None-Match") != "" || seen[0].Get("If-Modified-Since") != "" {
		t.Errorf("first request was conditional: %v", seen[0])
	}
	if seen[1].Get("If-None-Match") != etag || seen[1].Get("If-Modified-Since") != lastMod {
		t.Errorf("second request not conditional: %v", seen[1])
	}
}

func TestPollBodies(t *testing.T) {
	const limit = 64 << 10
	feed := rssFeed(3)
	padded := append(bytes.Repeat([]byte(" "), 1<<20), feed...) // 1 MiB of whitespace, tiny gzipped
	tests := map[string]struct {
		handler func(w http.ResponseWriter, r *http.Request)
		items   int
		tooBig  bool
	}{
		"gzip is decoded": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(gzipped(t, feed))
			},
			items: 3,
		},
		"gzip without Content-Encoding is decoded": {
			handler: func(w http.ResponseWriter, r *http.Request) { w.Write(gzipped(t, feed)) },
			items:   3,
		},
		"gzip larger than MaxBody once decompressed": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(gzipped(t, padded))
			},
			tooBig: true,
		},
		"sniffed gzip larger than MaxBody": {
			handler: func(w http.ResponseWriter, r *http.Request) { w.Write(gzipped(t, padded)) },
			tooBig:  true,
		},
		"plain body with a large Content-Length": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(padded)))
				w.Write(padded)
			},
			tooBig: true,
		},
		"plain chunked body": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				for i := 0; i < len(padded); i += 8 << 10 {
					w.Write(padded[i:min(i+8<<10, len(padded))])
					w.(http.Flusher).Flush() // no Content-Length
				}
			},
			tooBig: true,
		},
		"feed served as text/html": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.Write(feed)
			},
			items: 3,
		},
		"exactly MaxBody": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write(append(bytes.Repeat([]byte(" "), limit-len(feed)), feed...))
			},
			items: 3,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(tc.handler))
			defer srv.Close()
			f := newTestFetcher(t, Options{MaxBody: limit})
			res, err := f.Poll(context.Background(), source(srv.URL), tidings.SourceState{})
			if tc.tooBig {
				if !errors.Is(err, ErrTooLarge) || err.Error() != "response larger than 64 KiB limit" {
					t.Fatalf("err = %v, want ErrTooLarge", err)
				}
				if res.State.LastError != err.Error() || res.State.Failures != 1 {
					t.Errorf("state %+v", res.State)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Items) != tc.items {
				t.Errorf("got %d items, want %d", len(res.Items), tc.items)
			}
		})
	}
}

func TestPollFailures(t *testing.T) {
	page := readFixture(t, "page.html")
	broken := readFixture(t, "broken.xml")
	tests := map[string]struct {
		handler func(w http.ResponseWriter, r *http.Request)
		kind    error
		message string // prefix
	}{
		"server error": {
			handler: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) },
			kind:    ErrStatus, message: "HTTP 500 Internal Server Error",
		},
		"not found": {
			handler: http.NotFound,
			kind:    ErrStatus, message: "HTTP 404 Not Found: check the feed URL",
		},
		"broken XML": {
			handler: func(w http.ResponseWriter, r *http.Request) { w.Write(broken) },
			kind:    ErrParse, message: "parse feed: XML syntax error on line 8: unexpected EOF",
		},
		"HTML page": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Write(page)
			},
			kind:    ErrNotAFeed,
			message: "not a feed: got an HTML page (text/html); it links to these feeds: https://example.org/site/feed.xml",
		},
		"empty body": {
			handler: func(w http.ResponseWriter, r *http.Request) {},
			kind:    ErrNotAFeed, message: "not a feed: the response is empty",
		},
		"redirect without Location": {
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusFound) },
			kind:    ErrRedirect, message: "HTTP 302 redirect without a Location header",
		},
		"unknown Content-Encoding": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "br")
				w.Write([]byte("x"))
			},
			kind: ErrRequest, message: `read response: unsupported Content-Encoding "br"`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(tc.handler))
			defer srv.Close()
			prev := tidings.SourceState{
				Name: "test", SourceURL: srv.URL, ETag: `"old"`, Title: "Old title", Failures: 2,
				LastSuccess: testNow.Add(-time.Hour), NextPoll: testNow,
			}
			f := newTestFetcher(t, Options{})
			res, err := f.Poll(context.Background(), source(srv.URL), prev)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			if !strings.HasPrefix(err.Error(), tc.message) {
				t.Errorf("message %q, want it to start with %q", err.Error(), tc.message)
			}
			st := res.State
			if res.Items != nil || st.LastError != err.Error() || !st.LastErrorAt.Equal(testNow) || st.Failures != 3 ||
				!st.LastPoll.Equal(testNow) || !st.LastSuccess.Equal(prev.LastSuccess) || st.ETag != prev.ETag || st.Title != prev.Title {
				t.Errorf("state after failure: %+v", st)
			}
			checkNextPoll(t, st, 4*testInterval) // third failure: interval·2²
		})
	}
}

func TestPollStatusError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	f := newTestFetcher(t, Options{})
	_, err := f.Poll(context.Background(), source(srv.URL), tidings.SourceState{})
	se, ok := errors.AsType[*StatusError](err)
	if !ok || se.Code != http.StatusBadGateway {
		t.Fatalf("err = %#v, want a *StatusError with code 502", err)
	}
}

func TestPollRetryAfter(t *testing.T) {
	tests := map[string]struct {
		code       int
		value      string
		retryAfter time.Time // zero: none
		nextPoll   time.Duration
	}{
		"429 in seconds":           {http.StatusTooManyRequests, "7200", testNow.Add(2 * time.Hour), 2 * time.Hour},
		"503 as a date":            {http.StatusServiceUnavailable, testNow.Add(3 * time.Hour).Format(http.TimeFormat), testNow.Add(3 * time.Hour), 3 * time.Hour},
		"shorter than the backoff": {http.StatusTooManyRequests, "1", testNow.Add(time.Second), testInterval},
		"bogus value":              {http.StatusTooManyRequests, "soon", time.Time{}, testInterval},
		"absurdly long":            {http.StatusTooManyRequests, "99999999999", testNow.Add(maxRetryAfter), maxRetryAfter},
		"ignored on a 500":         {http.StatusInternalServerError, "7200", time.Time{}, testInterval},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", tc.value)
				w.WriteHeader(tc.code)
			}))
			defer srv.Close()
			f := newTestFetcher(t, Options{})
			res, err := f.Poll(context.Background(), source(srv.URL), tidings.SourceState{})
			if !errors.Is(err, ErrStatus) {
				t.Fatalf("err = %v", err)
			}
			st := res.State
			if !st.RetryAfter.Equal(tc.retryAfter) {
				t.Errorf("RetryAfter %v, want %v", st.RetryAfter, tc.retryAfter)
			}
			if tc.retryAfter.After(testNow.Add(tc.nextPoll / 2)) {
				if !st.NextPoll.Equal(tc.retryAfter) {
					t.Errorf("NextPoll %v, want the Retry-After time %v", st.NextPoll, tc.retryAfter)
				}
				return
			}
			checkNextPoll(t, st, tc.nextPoll)
		})
	}
}

func TestPollTimeout(t *testing.T) {
	tests := map[string]func(w http.ResponseWriter, r *http.Request){
		"body dripped": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>slow</title>`))
			w.(http.Flusher).Flush()
			for range 250 { // at most 5s, should the client not hang up
				select {
				case <-r.Context().Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
				w.Write([]byte(" "))
				w.(http.Flusher).Flush()
			}
		},
		"no headers": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		},
	}
	for name, handler := range tests {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(handler))
			defer srv.Close()
			f := newTestFetcher(t, Options{Timeout: 200 * time.Millisecond})
			res, err := f.Poll(context.Background(), source(srv.URL), tidings.SourceState{})
			if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want ErrTimeout", err)
			}
			if !strings.HasPrefix(err.Error(), "timed out after 200ms") || res.State.Failures != 1 {
				t.Errorf("err %q, state %+v", err, res.State)
			}
		})
	}
}

func TestPollRedirects(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	mux := http.NewServeMux()
	redirect := func(from, to string, code int) {
		mux.HandleFunc(from, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", to)
			w.WriteHeader(code)
		})
	}
	redirect("/moved", "/feed", http.StatusMovedPermanently)
	redirect("/moved308", "/feed", http.StatusPermanentRedirect)
	redirect("/temp", "/feed", http.StatusFound)
	redirect("/perm-then-temp", "/temp", http.StatusMovedPermanently)
	redirect("/temp-then-perm", "/moved", http.StatusTemporaryRedirect)
	redirect("/loop1", "/loop2", http.StatusFound)
	redirect("/loop2", "/loop1", http.StatusFound)
	redirect("/self", "/self#x", http.StatusMovedPermanently)
	redirect("/to-file", "file:///etc/passwd", http.StatusFound)
	for i := range 6 { // /chain/0 → … → /chain/6 → /feed: seven redirects
		redirect(fmt.Sprintf("/chain/%d", i), fmt.Sprintf("/chain/%d", i+1), http.StatusFound)
	}
	redirect("/chain/6", "/feed", http.StatusFound)
	mux.HandleFunc("/feed", func(w http.ResponseWriter, r *http.Request) { w.Write(rssFeed(1)) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	defer srv.Close()

	tests := map[string]struct {
		path    string
		url     string // want State.URL (path)
		errKind error
		message string
	}{
		"301 moves the feed":         {path: "/moved", url: "/feed"},
		"308 moves the feed":         {path: "/moved308", url: "/feed"},
		"302 does not":               {path: "/temp", url: "/temp"},
		"301 then 302 moves to 302":  {path: "/perm-then-temp", url: "/temp"},
		"307 then 301 does not move": {path: "/temp-then-perm", url: "/temp-then-perm"},
		"five hops are followed":     {path: "/chain/2", url: "/chain/2"},
		"six are too many":           {path: "/chain/1", errKind: ErrRedirect, message: "too many redirects (more than 5)"},
		"loop":                       {path: "/loop1", errKind: ErrRedirect, message: "redirect loop: " + srv.URL + "/loop1 was visited before"},
		"loop to itself":             {path: "/self", errKind: ErrRedirect, message: "redirect loop"},
		"to a file":                  {path: "/to-file", errKind: ErrRedirect, message: "redirect to file:///etc/passwd: only http and https"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newTestFetcher(t, Options{})
			res, err := f.Poll(context.Background(), source(srv.URL+tc.path), tidings.SourceState{})
			if tc.errKind != nil {
				if !errors.Is(err, tc.errKind) || !strings.HasPrefix(err.Error(), tc.message) {
					t.Fatalf("err = %v, want %v starting %q", err, tc.errKind, tc.message)
				}
				if res.State.URL != srv.URL+tc.path {
					t.Errorf("State.URL %q after a failed redirect", res.State.URL)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.State.URL != srv.URL+tc.url || len(res.Items) != 1 {
				t.Errorf("State.URL %q, want %q; %d items", res.State.URL, srv.URL+tc.url, len(res.Items))
			}
			if moved := tc.url != tc.path; moved != (res.MovedTo == res.State.URL) || moved != (res.MovedTo != "") {
				t.Errorf("MovedTo %q with State.URL %q", res.MovedTo, res.State.URL)
			}
		})
	}

	t.Run("next poll starts at the new URL", func(t *testing.T) {
		f := newTestFetcher(t, Options{})
		src := source(srv.URL + "/moved")
		first, err := f.Poll(context.Background(), src, tidings.SourceState{})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		before := hits["/moved"]
		mu.Unlock()
		second, err := f.Poll(context.Background(), src, first.State)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		after := hits["/moved"]
		mu.Unlock()
		if after != before || second.State.URL != srv.URL+"/feed" || second.MovedTo != "" {
			t.Errorf("the old URL was requested again (%d → %d hits); State.URL %q", before, after, second.State.URL)
		}
	})
}

func TestPollRedirectKeepsHeadersOnHost(t *testing.T) {
	var otherAuth, originAuth atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherAuth.Store(r.Header.Get("Authorization"))
		w.Write(rssFeed(1))
	}))
	defer other.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originAuth.Store(r.Header.Get("Authorization"))
		http.Redirect(w, r, other.URL+"/feed", http.StatusMovedPermanently)
	}))
	defer origin.Close()

	f := newTestFetcher(t, Options{})
	src := source(origin.URL)
	src.Headers = map[string]string{"Authorization": "Bearer secret"}
	first, err := f.Poll(context.Background(), src, tidings.SourceState{})
	if err != nil {
		t.Fatal(err)
	}
	if originAuth.Load() != "Bearer secret" || otherAuth.Load() != "" {
		t.Errorf("Authorization: origin got %q, the other host got %q (must be empty)", originAuth.Load(), otherAuth.Load())
	}
	// The next poll goes straight to the new host: still no token there.
	otherAuth.Store("unset")
	if _, err := f.Poll(context.Background(), src, first.State); err != nil {
		t.Fatal(err)
	}
	if otherAuth.Load() != "" {
		t.Errorf("Authorization sent to the host the feed moved to: %q", otherAuth.Load())
	}
}

// TestPollLimits runs many polls at once against servers that count the
// requests they serve at the same time.
func TestPollLimits(t *testing.T) {
	tests := map[string]struct {
		servers, polls       int
		concurrency, perHost int
		want                 int // most requests in flight: at one host, or over all hosts
		overAll              bool
	}{
		"per host":      {servers: 1, polls: 8, concurrency: 16, perHost: 2, want: 2},
		"per host of 1": {servers: 2, polls: 8, concurrency: 16, perHost: 1, want: 1},
		"global":        {servers: 4, polls: 12, concurrency: 3, perHost: 2, want: 3, overAll: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var all, allMax atomic.Int64
			var urls []string
			perServerMax := make([]*atomic.Int64, tc.servers)
			for i := range tc.servers {
				var cur atomic.Int64
				peak := new(atomic.Int64)
				perServerMax[i] = peak
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					raise(peak, cur.Add(1))
					raise(&allMax, all.Add(1))
					time.Sleep(30 * time.Millisecond)
					cur.Add(-1)
					all.Add(-1)
					w.Write(rssFeed(1))
				}))
				defer srv.Close()
				urls = append(urls, srv.URL)
			}
			f := newTestFetcher(t, Options{Concurrency: tc.concurrency, PerHost: tc.perHost})
			var wg sync.WaitGroup
			for i := range tc.polls {
				wg.Go(func() {
					src := source(urls[i%len(urls)] + "/feed" + strconv.Itoa(i))
					if _, err := f.Poll(context.Background(), src, tidings.SourceState{}); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if tc.overAll {
				if got := allMax.Load(); got != int64(tc.want) {
					t.Errorf("at most %d requests at once over all hosts, want %d", got, tc.want)
				}
				return
			}
			for i, peak := range perServerMax {
				if got := peak.Load(); got != int64(tc.want) {
					t.Errorf("server %d saw at most %d requests at once, want %d", i, got, tc.want)
				}
			}
		})
	}
}

// TestPollRedirectAcrossHostsUnderLimits makes polls of one host redirect
// to another whose own polls wait for slots: a poll must never hold one
// slot while it waits for another, or they would wait on each other until
// the timeout.
func TestPollRedirectAcrossHostsUnderLimits(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		w.Write(rssFeed(1))
	}))
	defer target.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusFound)
	}))
	defer origin.Close()

	f := newTestFetcher(t, Options{Concurrency: 1, PerHost: 1, Timeout: 5 * time.Second})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			base := origin.URL
			if i%2 == 1 {
				base = target.URL
			}
			if _, err := f.Poll(context.Background(), source(base+"/feed"+strconv.Itoa(i)), tidings.SourceState{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// raise sets peak to v if v is larger.
func raise(peak *atomic.Int64, v int64) {
	for {
		old := peak.Load()
		if v <= old || peak.CompareAndSwap(old, v) {
			return
		}
	}
}

func TestPollCanceled(t *testing.T) {
	release := make(chan struct{})
	hogging := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hog" {
			hogging <- struct{}{}
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.Write(rssFeed(1))
	}))
	defer srv.Close()
	defer close(release)

	f := newTestFetcher(t, Options{Concurrency: 1})
	prev := tidings.SourceState{Name: "test", Failures: 1, LastError: "old error"}

	t.Run("waiting for a slot", func(t *testing.T) {
		busy := make(chan struct{})
		go func() {
			defer close(busy)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			f.Poll(ctx, source(srv.URL+"/hog"), tidings.SourceState{}) // holds the only slot
		}()
		<-hogging // the only slot is taken
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		res, err := f.Poll(ctx, source(srv.URL), prev)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want the context's error", err)
		}
		if res.State != prev {
			t.Errorf("state changed by a poll that did not happen: %+v", res.State)
		}
		release <- struct{}{}
		<-busy
	})

	t.Run("during the request", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		res, err := f.Poll(ctx, source(srv.URL), prev)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if res.State != prev {
			t.Errorf("state changed by a canceled poll: %+v", res.State)
		}
	})
}

func TestPollRequestErrors(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := map[string]struct {
		url     string
		kind    error
		message string
	}{
		"connection refused": {closed.URL, ErrRequest, "request failed: "},
		"unsupported scheme": {"ftp://example.org/feed", ErrURL, `invalid feed URL "ftp://example.org/feed": use http://, https:// or file://`},
		"no host":            {"http:///feed", ErrURL, `invalid feed URL "http:///feed": no host`},
		"relative file":      {"file://./feeds/x.xml", ErrURL, "invalid feed URL"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newTestFetcher(t, Options{})
			res, err := f.Poll(context.Background(), source(tc.url), tidings.SourceState{})
			if !errors.Is(err, tc.kind) || !strings.HasPrefix(err.Error(), tc.message) {
				t.Fatalf("err = %v, want %v starting %q", err, tc.kind, tc.message)
			}
			if res.State.Failures != 1 || res.State.LastError != err.Error() || res.State.URL != tc.url {
				t.Errorf("state %+v", res.State)
			}
		})
	}
}

func TestPollFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "feed.xml")
	if err := os.WriteFile(path, rssFeed(2), 0o644); err != nil {
		t.Fatal(err)
	}
	src := source("file://" + filepath.ToSlash(path))
	f := newTestFetcher(t, Options{})

	first, err := f.Poll(context.Background(), src, tidings.SourceState{})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Items) != 2 || first.State.ETag == "" || first.State.LastModified == "" {
		t.Fatalf("first poll: %d items, state %+v", len(first.Items), first.State)
	}

	second, err := f.Poll(context.Background(), src, first.State)
	if err != nil || !second.NotModified || second.Items != nil {
		t.Fatalf("unchanged file: NotModified %v, items %v, err %v", second.NotModified, second.Items, err)
	}

	if err := os.WriteFile(path, rssFeed(3), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	third, err := f.Poll(context.Background(), src, second.State)
	if err != nil || third.NotModified || len(third.Items) != 3 {
		t.Fatalf("changed file: NotModified %v, %d items, err %v", third.NotModified, len(third.Items), err)
	}

	small := newTestFetcher(t, Options{MaxBody: 100})
	if _, err := small.Poll(context.Background(), src, tidings.SourceState{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("file over MaxBody: err = %v, want ErrTooLarge", err)
	}
	res, err := f.Poll(context.Background(), source("file://"+filepath.ToSlash(filepath.Join(dir, "missing.xml"))), tidings.SourceState{})
	if !errors.Is(err, ErrRequest) || !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "open feed file: ") {
		t.Errorf("missing file: err = %v", err)
	}
	if res.State.Failures != 1 {
		t.Errorf("missing file: state %+v", res.State)
	}
}

func TestBackoff(t *testing.T) {
	tests := map[string]struct {
		interval time.Duration
		failures int
		want     time.Duration
	}{
		"first failure":          {15 * time.Minute, 1, 15 * time.Minute},
		"second failure":         {15 * time.Minute, 2, 30 * time.Minute},
		"fifth failure":          {15 * time.Minute, 5, 4 * time.Hour},
		"capped at a day":        {15 * time.Minute, 10, 24 * time.Hour},
		"no overflow":            {15 * time.Minute, 1000, 24 * time.Hour},
		"long interval kept":     {48 * time.Hour, 3, 48 * time.Hour},
		"zero failures is plain": {time.Hour, 0, time.Hour},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := backoff(tc.interval, tc.failures); got != tc.want {
				t.Errorf("backoff(%v, %d) = %v, want %v", tc.interval, tc.failures, got, tc.want)
			}
		})
	}
}

func TestJitter(t *testing.T) {
	tests := map[string]struct {
		d      time.Duration
		lo, hi time.Duration
	}{
		"ten percent": {time.Hour, 54 * time.Minute, 66 * time.Minute},
		"at least 1s": {10 * time.Millisecond, time.Second, time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 1000 {
				got := jitter(tc.d)
				if got < tc.lo || got > tc.hi {
					t.Fatalf("jitter(%v) = %v, want within [%v, %v]", tc.d, got, tc.lo, tc.hi)
				}
				seen[got] = true
			}
			if tc.lo != tc.hi && len(seen) < 100 {
				t.Errorf("jitter(%v) took only %d values in 1000 draws", tc.d, len(seen))
			}
		})
	}
}

func TestRetryAfterParse(t *testing.T) {
	tests := map[string]struct {
		value string
		want  time.Time
	}{
		"empty":        {"", time.Time{}},
		"seconds":      {"120", testNow.Add(2 * time.Minute)},
		"zero":         {"0", time.Time{}},
		"negative":     {"-5", time.Time{}},
		"date":         {"Sun, 01 Jun 2025 13:00:00 GMT", testNow.Add(time.Hour)},
		"past date":    {"Sun, 01 Jun 2025 11:00:00 GMT", time.Time{}},
		"garbage":      {"later", time.Time{}},
		"capped":       {"31536000", testNow.Add(maxRetryAfter)},
		"capped date":  {"Mon, 01 Jun 2026 12:00:00 GMT", testNow.Add(maxRetryAfter)},
		"with spacing": {" 60 ", testNow.Add(time.Minute)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := retryAfter(tc.value, testNow); !got.Equal(tc.want) {
				t.Errorf("retryAfter(%q) = %v, want %v", tc.value, got, tc.want)
			}
		})
	}
}

// TestPollConfigURLChange checks that when the user edits a source's URL,
// what was learnt about the old one (its redirect target and validators)
// is dropped: the new URL is fetched, unconditionally.
func TestPollConfigURLChange(t *testing.T) {
	var got []*http.Request
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Clone(context.Background()))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(rssFeed(1))
	}))
	defer srv.Close()
	f := newTestFetcher(t, Options{})
	prev := tidings.SourceState{
		Name: "test", SourceURL: srv.URL + "/old", URL: srv.URL + "/moved", ETag: `"old"`,
		LastModified: "Sat, 31 May 2025 10:00:00 GMT", LastUnconditional: testNow,
	}
	res, err := f.Poll(context.Background(), source(srv.URL+"/new"), prev)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].URL.Path != "/new" || got[0].Header.Get("If-None-Match") != "" || got[0].Header.Get("If-Modified-Since") != "" {
		t.Fatalf("requests after a URL change: %v", got)
	}
	if res.State.SourceURL != srv.URL+"/new" || res.State.URL != srv.URL+"/new" {
		t.Errorf("state after a URL change: SourceURL %q, URL %q", res.State.SourceURL, res.State.URL)
	}

	// Unchanged config: the recorded redirect target is used.
	got = nil
	prev.SourceURL = srv.URL + "/new"
	if _, err := f.Poll(context.Background(), source(srv.URL+"/new"), prev); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].URL.Path != "/moved" || got[0].Header.Get("If-None-Match") != `"old"` {
		t.Errorf("with an unchanged config the poll went to %v", got)
	}
}
