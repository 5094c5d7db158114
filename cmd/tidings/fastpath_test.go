package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"golang.org/x/net/http/httpguts"

	"github.com/tidings/tidings"
)

// fastFixture is a daemon's public listener with the fast path, over a
// real store, beside a plain http.Server on the same server (ref) whose
// answers the fast path's must equal.
type fastFixture struct {
	srv      *server
	fs       *fastServer
	addr     string // the fast path's listener
	ref      string // the plain net/http listener
	etag     string // of /topics/all.rss
	gzipETag string
	lastMod  string
	body     []byte // of /topics/all.rss
}

// newFastFixture serves a store of 40 items of about 1.5 KB, so that
// /topics/all.rss is large enough for sendfile, with the given timeouts
// (the daemon's when zero).
func newFastFixture(t testing.TB, readHeader, idle time.Duration) *fastFixture {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tidings.yaml")
	os.WriteFile(cfg, []byte(`
storage: {path: ./t.db, retention: 0, max_items_per_source: 0}
server: {base_url: "http://127.0.0.1:1", watch_config: false}
sources:
  - {name: wire, url: "https://wire.example/feed", tags: [news]}
topics:
  - {name: all}
  - {name: small, query: "tennis"}
`), 0o644)
	s, err := loadSetup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(s.cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if err := indexTopics(ctx, st, s); err != nil {
		t.Fatal(err)
	}
	items := benchPosts("wire", 0, 40)
	items[0].Title = "Tennis final"
	if _, err := st.SavePoll(ctx, "wire", items, tidings.SourceState{Name: "wire"}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	srv := &server{pub: newPublisher(st, s, log), store: st, log: log, metrics: newMetrics(st), adminToken: func() string { return "" }}
	srv.ready.Store(true)

	hs := &http.Server{
		Handler: srv.routes(), ConnContext: withConn,
		ReadHeaderTimeout: cmp.Or(readHeader, 10*time.Second),
		IdleTimeout:       cmp.Or(idle, 120*time.Second),
		WriteTimeout:      60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fs := newFastServer(srv, hs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go fs.Serve(ln)
	t.Cleanup(func() { fs.Close() })
	ref := &http.Server{Handler: srv.routes(), ConnContext: withConn, ErrorLog: hs.ErrorLog}
	rln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ref.Serve(rln)
	t.Cleanup(func() { ref.Close() })

	f := &fastFixture{srv: srv, fs: fs, addr: ln.Addr().String(), ref: rln.Addr().String()}
	doc, err := srv.pub.topicFeed(ctx, "all", 0, 0) // rendered, as a first request would
	if err != nil || doc == nil {
		t.Fatal(err)
	}
	if len(doc.body) < sendfileMin || doc.gzipped() == nil {
		t.Fatalf("the feed has %d bytes: too few for sendfile or gzip", len(doc.body))
	}
	f.etag, f.gzipETag, f.body = doc.etag, doc.gzipped().etag, doc.body
	f.lastMod = doc.header.Get("Last-Modified")
	for _, warm := range []func(context.Context) (*rendered, error){srv.pub.index, srv.pub.opml,
		func(ctx context.Context) (*rendered, error) { return srv.pub.topicFeed(ctx, "small", 0, 0) }} {
		if _, err := warm(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// exchange writes raw to a new connection to addr and reads the responses
// to methods, in order; the connection is returned open.
func exchange(t testing.TB, addr, raw string, methods ...string) (net.Conn, *bufio.Reader, []*http.Response, [][]byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second)) // a hang fails the test, not the run
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resps, bodies := readResponses(t, br, methods...)
	return c, br, resps, bodies
}

func readResponses(t testing.TB, br *bufio.Reader, methods ...string) ([]*http.Response, [][]byte) {
	t.Helper()
	var resps []*http.Response
	var bodies [][]byte
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("read the response to %s #%d: %v", m, len(resps)+1, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("read the body of response #%d: %v", len(resps)+1, err)
		}
		resps = append(resps, resp)
		bodies = append(bodies, b)
	}
	return resps, bodies
}

// closedByServer reports whether the server closed c: a read gets EOF
// (or a reset) rather than data or the client's own deadline.
func closedByServer(c net.Conn, br *bufio.Reader) bool {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := br.ReadByte()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// TestFastPathAnswersAsNetHTTP sends each request on its own connection to
// the fast path and to plain net/http serving the same documents: status,
// protocol, header (but Date) and body must be the same, and each request
// must take the path the case says.
func TestFastPathAnswersAsNetHTTP(t *testing.T) {
	f := newFastFixture(t, 0, 0)
	get := func(path string, hdr ...string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: example.org\r\nUser-Agent: test\r\n" + strings.Join(hdr, "") + "\r\n"
	}
	const feed = "/topics/all.rss"
	cases := []struct {
		name, raw string
		fast      bool // answered by the fast path, else handed over
		code      int
		open      bool // the connection stays open after the response
	}{
		{"200", get(feed), true, 200, true},
		{"200 small", get("/topics/small.rss"), true, 200, true},
		{"index", get("/"), true, 200, true},
		{"opml", get("/topics.opml"), true, 200, true},
		{"head", "HEAD " + feed + " HTTP/1.1\r\nHost: x\r\n\r\n", true, 200, true},
		{"if-none-match", get(feed, "If-None-Match: "+f.etag+"\r\n"), true, 304, true},
		{"if-none-match list", get(feed, `If-None-Match: "x", `+f.etag+" , \"y\"\r\n"), true, 304, true},
		{"if-none-match weak", get(feed, "If-None-Match: W/"+f.etag+"\r\n"), true, 304, true},
		{"if-none-match star", get(feed, "If-None-Match: *\r\n"), true, 304, true},
		{"if-none-match other", get(feed, "If-None-Match: \"other\"\r\n"), true, 200, true},
		{"if-none-match wins", get(feed, "If-None-Match: \"other\"\r\nIf-Modified-Since: "+f.lastMod+"\r\n"), true, 200, true},
		{"if-modified-since", get(feed, "If-Modified-Since: "+f.lastMod+"\r\n"), true, 304, true},
		{"if-modified-since earlier", get(feed, "If-Modified-Since: Mon, 02 Jan 2006 15:04:05 GMT\r\n"), true, 200, true},
		{"if-modified-since garbage", get(feed, "If-Modified-Since: yesterday\r\n"), true, 200, true},
		{"gzip", get(feed, "Accept-Encoding: gzip, br\r\n"), true, 200, true},
		{"gzip 304", get(feed, "Accept-Encoding: gzip\r\nIf-None-Match: "+f.gzipETag+"\r\n"), true, 304, true},
		{"gzip etag without gzip", get(feed, "If-None-Match: "+f.gzipETag+"\r\n"), true, 200, true},
		{"gzip refused", get(feed, "Accept-Encoding: gzip;q=0\r\n"), true, 200, true},
		{"connection close", get(feed, "Connection: close\r\n"), true, 200, false},
		{"connection close 304", get(feed, "connection: Close\r\nIf-None-Match: "+f.etag+"\r\n"), true, 304, false},
		{"content-length 0", get(feed, "Content-Length: 0\r\n"), true, 200, true},
		{"http/1.0", "GET " + feed + " HTTP/1.0\r\n\r\n", true, 200, false},
		{"http/1.0 keep-alive", "GET " + feed + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, 200, true},
		{"http/1.0 keep-alive 304", "GET " + feed + " HTTP/1.0\r\nConnection: Keep-Alive\r\nIf-None-Match: " + f.etag + "\r\n\r\n", true, 304, true},

		{"limit", get(feed + "?limit=3"), false, 200, true},
		{"bad limit", get(feed + "?limit=0"), false, 400, true},
		{"post websub", "POST /websub HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\na=b", false, 404, true},
		{"metrics", get("/metrics"), false, 200, true},
		{"unknown path", get("/nope"), false, 404, true},
		{"unknown topic", get("/topics/nope.rss"), false, 404, true},
		{"not rendered yet", get("/topics/small.json"), true, 200, true},
		{"upper-case extension", get("/topics/all.RSS"), false, 200, true},
		{"escaped path", get("/topics/%61ll.rss"), false, 200, true},
		{"dot segment", get("/topics/../topics/all.rss"), false, 307, true},
		{"absolute form", "GET http://x" + feed + " HTTP/1.1\r\nHost: x\r\n\r\n", false, 200, true},
		{"oversized header", get(feed, "X-Pad: "+strings.Repeat("p", 5000)+"\r\n"), false, 200, true},
		{"bare LF", "GET " + feed + " HTTP/1.1\nHost: x\n\n", false, 200, true},
		{"obs-fold", get(feed, "X-A: a\r\n b\r\n"), false, 200, true},
		{"no host", "GET " + feed + " HTTP/1.1\r\n\r\n", false, 400, false},
		{"two hosts", get(feed, "Host: y\r\n"), false, 400, false},
		{"two if-none-match", get(feed, "If-None-Match: \"a\"\r\nIf-None-Match: "+f.etag+"\r\n"), false, 200, true},
		{"expect", get(feed, "Expect: 100-continue\r\n"), false, 200, true},
		{"chunked body", get(feed, "Transfer-Encoding: chunked\r\n") + "3\r\nabc\r\n0\r\n\r\n", false, 200, true},
		{"upgrade", get(feed, "Connection: Upgrade\r\nUpgrade: websocket\r\n"), false, 200, true},
		{"http/1.0 close and keep-alive", "GET " + feed + " HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false, 200, true},
		{"http/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", false, 400, false},
		{"malformed request line", "GET " + feed + "\r\nHost: x\r\n\r\n", false, 400, false},
		{"control byte", get(feed, "X-A: a\x01b\r\n"), false, 400, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method, _, _ := strings.Cut(c.raw, " ")
			answered, handed := f.fs.answered.Load(), f.fs.handedOver.Load()
			conn, br, resps, bodies := exchange(t, f.addr, c.raw, method)
			fast := f.fs.answered.Load() > answered
			if fast != c.fast || fast == (f.fs.handedOver.Load() > handed) {
				t.Errorf("answered on the fast path: %v, want %v", fast, c.fast)
			}
			got := resps[0]
			if got.StatusCode != c.code {
				t.Errorf("status %d, want %d", got.StatusCode, c.code)
			}
			if c.open {
				// Open and ready for the next request.
				io.WriteString(conn, "GET /topics/small.rss HTTP/1.1\r\nHost: x\r\n\r\n")
				if next, _ := readResponses(t, br, "GET"); next[0].StatusCode != 200 {
					t.Errorf("the next request on the connection: status %d", next[0].StatusCode)
				}
			} else if !closedByServer(conn, br) {
				t.Error("the connection was left open")
			}
			_, _, refs, refBodies := exchange(t, f.ref, c.raw, method)
			want := refs[0]
			delete(got.Header, "Date")
			delete(want.Header, "Date")
			if got.StatusCode != want.StatusCode || got.Proto != want.Proto || !maps.EqualFunc(got.Header, want.Header, func(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }) {
				t.Errorf("response\n%s %d %v\nnet/http's\n%s %d %v", got.Proto, got.StatusCode, got.Header, want.Proto, want.StatusCode, want.Header)
			}
			if !bytes.Equal(bodies[0], refBodies[0]) && c.name != "metrics" { // whose counts moved
				t.Errorf("body of %d bytes, net/http's %d", len(bodies[0]), len(refBodies[0]))
			}
		})
	}
}

// TestFastPathConnection: several requests on one connection, one after
// another and pipelined; a request the fast path does not take hands the
// connection over with the requests behind it, answered in order.
func TestFastPathConnection(t *testing.T) {
	f := newFastFixture(t, 0, 0)
	req := func(method, path string, hdr ...string) string {
		return method + " " + path + " HTTP/1.1\r\nHost: x\r\n" + strings.Join(hdr, "") + "\r\n"
	}
	const feed = "/topics/all.rss"
	t.Run("keep-alive", func(t *testing.T) {
		answered, handed := f.fs.answered.Load(), f.fs.handedOver.Load()
		c, err := net.Dial("tcp", f.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		steps := []struct {
			method, raw string
			code        int
			body        bool
		}{
			{"GET", req("GET", feed), 200, true},
			{"GET", req("GET", feed, "If-None-Match: "+f.etag+"\r\n"), 304, false},
			{"HEAD", req("HEAD", feed), 200, false},
			{"GET", req("GET", feed, "Accept-Encoding: gzip\r\n"), 200, true},
			{"GET", req("GET", "/"), 200, true},
			{"GET", req("GET", feed), 200, true},
		}
		for i, s := range steps {
			io.WriteString(c, s.raw)
			resps, bodies := readResponses(t, br, s.method)
			if resps[0].StatusCode != s.code || (len(bodies[0]) > 0) != s.body {
				t.Errorf("request %d: status %d with %d bytes, want %d (body: %v)", i+1, resps[0].StatusCode, len(bodies[0]), s.code, s.body)
			}
		}
		if n := f.fs.answered.Load() - answered; n != int64(len(steps)) || f.fs.handedOver.Load() != handed {
			t.Errorf("%d of %d requests answered on the fast path, %d connections handed over", n, len(steps), f.fs.handedOver.Load()-handed)
		}
	})
	t.Run("pipelined", func(t *testing.T) {
		answered, handed := f.fs.answered.Load(), f.fs.handedOver.Load()
		raw := req("GET", feed) + req("GET", feed, "If-None-Match: "+f.etag+"\r\n") + req("GET", feed+"?limit=2") +
			req("GET", feed, "If-None-Match: "+f.etag+"\r\n") + req("HEAD", feed)
		_, _, resps, bodies := exchange(t, f.addr, raw, "GET", "GET", "GET", "GET", "HEAD")
		codes := []int{200, 304, 200, 304, 200}
		for i, r := range resps {
			if r.StatusCode != codes[i] {
				t.Errorf("response %d: status %d, want %d", i+1, r.StatusCode, codes[i])
			}
		}
		if !bytes.Equal(bodies[0], f.body) {
			t.Errorf("first response: %d bytes, want the feed's %d", len(bodies[0]), len(f.body))
		}
		if n := strings.Count(string(bodies[2]), "<item>"); n != 2 {
			t.Errorf("the ?limit=2 response holds %d items, want 2", n)
		}
		if resps[4].Header.Get("Content-Length") != fmt.Sprint(len(f.body)) || len(bodies[4]) != 0 {
			t.Errorf("HEAD after the hand-over: Content-Length %s, %d bytes of body", resps[4].Header.Get("Content-Length"), len(bodies[4]))
		}
		// The first two on the fast path, the rest by net/http.
		if n := f.fs.answered.Load() - answered; n != 2 || f.fs.handedOver.Load()-handed != 1 {
			t.Errorf("%d answered on the fast path, %d connections handed over; want 2 and 1", n, f.fs.handedOver.Load()-handed)
		}
	})
	t.Run("pipelined in pieces", func(t *testing.T) {
		// A request split across writes, behind a whole one.
		c, err := net.Dial("tcp", f.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		two := req("GET", feed, "If-None-Match: "+f.etag+"\r\n") + req("GET", "/topics.opml")
		cut := len(two) - 10
		io.WriteString(c, two[:cut])
		resps, _ := readResponses(t, br, "GET")
		io.WriteString(c, two[cut:])
		more, _ := readResponses(t, br, "GET")
		if resps[0].StatusCode != 304 || more[0].StatusCode != 200 || more[0].Header.Get("Content-Type") != "text/x-opml; charset=utf-8" {
			t.Errorf("responses %d, %d %s", resps[0].StatusCode, more[0].StatusCode, more[0].Header.Get("Content-Type"))
		}
	})
	t.Run("metrics", func(t *testing.T) {
		count := func() float64 {
			var m dto.Metric
			f.srv.metrics.served("rss", "all", 304).Write(&m)
			return m.GetCounter().GetValue()
		}
		before := count()
		exchange(t, f.addr, req("GET", feed, "If-None-Match: "+f.etag+"\r\n"), "GET")
		if got := count() - before; got != 1 {
			t.Errorf("the request metric of rss/all/304 rose by %v, want 1", got)
		}
	})
	t.Run("after a store write", func(t *testing.T) {
		// A new item makes the cached feed stale: the fast path renders
		// it again, and the connection stays there.
		c, err := net.Dial("tcp", f.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		answered, handed := f.fs.answered.Load(), f.fs.handedOver.Load()
		io.WriteString(c, req("GET", feed, "If-None-Match: "+f.etag+"\r\n"))
		if resps, _ := readResponses(t, br, "GET"); resps[0].StatusCode != 304 {
			t.Fatalf("before the write: status %d", resps[0].StatusCode)
		}
		it := benchPosts("wire", 100, 1)
		it[0].Published = time.Now()
		it[0].Title = "Breaking"
		if _, err := f.srv.store.SavePoll(context.Background(), "wire", it, tidings.SourceState{Name: "wire"}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, req("GET", feed, "If-None-Match: "+f.etag+"\r\n"))
		resps, bodies := readResponses(t, br, "GET")
		if resps[0].StatusCode != 200 || !strings.Contains(string(bodies[0]), "Breaking") {
			t.Errorf("after a write: status %d; want 200 with the new item", resps[0].StatusCode)
		}
		io.WriteString(c, req("GET", feed, "If-None-Match: "+resps[0].Header.Get("ETag")+"\r\n"))
		if resps, _ := readResponses(t, br, "GET"); resps[0].StatusCode != 304 {
			t.Errorf("revalidated after the write: status %d", resps[0].StatusCode)
		}
		if f.fs.answered.Load() != answered+3 || f.fs.handedOver.Load() != handed {
			t.Errorf("%d of 3 answered on the fast path, %d handed over", f.fs.answered.Load()-answered, f.fs.handedOver.Load()-handed)
		}
	})
}

// TestFastPathTimeouts: connections that send nothing, stop within a
// header, or dribble one are closed, as are idle ones. It asserts that
// the server closes them, not how fast.
func TestFastPathTimeouts(t *testing.T) {
	f := newFastFixture(t, 100*time.Millisecond, 100*time.Millisecond)
	const full = "GET /topics/all.rss HTTP/1.1\r\nHost: x\r\nIf-None-Match: "
	cases := map[string]struct {
		raw      string
		response bool   // a response comes first
		dribble  string // then sent a byte at a time, with pauses
	}{
		"nothing sent":            {},
		"header cut short":        {raw: "GET /topics/all.rss HTTP/1.1\r\nHost: x\r\n"},
		"idle after a response":   {raw: full + "\"x\"\r\n\r\n", response: true},
		"idle, then cut short":    {raw: full + "\"x\"\r\n\r\nGET / HTTP/1.1\r\n", response: true},
		"header dribbled":         {dribble: "GET /topics/all.rss HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("z", 2000)},
		"dribbled after response": {raw: full + "\"x\"\r\n\r\n", response: true, dribble: "GET / HTTP/1.1\r\nX-Slow: " + strings.Repeat("z", 2000)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			handed := f.fs.handedOver.Load()
			conn, err := net.Dial("tcp", f.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(conn, c.raw)
			br := bufio.NewReader(conn)
			if c.response {
				readResponses(t, br, "GET")
			}
			if c.dribble != "" {
				for i := 0; i < len(c.dribble); i++ {
					if _, err := conn.Write([]byte{c.dribble[i]}); err != nil {
						break // closed by the server
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			if !closedByServer(conn, br) {
				t.Error("the server left the connection open")
			}
			if f.fs.handedOver.Load() != handed {
				t.Error("the connection was handed over to net/http")
			}
		})
	}
}

// TestFastPathShutdown: Shutdown closes idle connections, of the fast path
// and of net/http, lets no new one in, and returns once they are gone.
func TestFastPathShutdown(t *testing.T) {
	f := newFastFixture(t, 0, 0)
	fastConn, fastBR, _, _ := exchange(t, f.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "GET")
	slowConn, slowBR, _, _ := exchange(t, f.addr, "GET /topics/all.rss?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n", "GET")
	fresh, err := net.Dial("tcp", f.addr) // accepted, nothing sent yet
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if f.fs.answered.Load() != 1 || f.fs.handedOver.Load() != 1 {
		t.Fatalf("answered %d, handed over %d; want 1 and 1", f.fs.answered.Load(), f.fs.handedOver.Load())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.fs.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if !closedByServer(fastConn, fastBR) {
		t.Error("the idle fast-path connection is still open")
	}
	if !closedByServer(slowConn, slowBR) {
		t.Error("the idle net/http connection is still open")
	}
	if !closedByServer(fresh, bufio.NewReader(fresh)) {
		t.Error("the new connection is still open")
	}
	if c, err := net.Dial("tcp", f.addr); err == nil {
		c.Close()
		t.Error("the listener still accepts connections")
	}
}

// FuzzParseRequest checks the fast path's parser against net/http's: a
// request it takes must be one net/http reads (and its server accepts)
// with the same method, path, protocol, length, conditions and
// connection handling; anything else must be handed over, never misread.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		"GET /topics/all.rss HTTP/1.1\r\nHost: x\r\n\r\n",
		"HEAD / HTTP/1.0\r\nConnection: keep-alive\r\nIf-None-Match: \"a\", W/\"b\"\r\n\r\nGET /",
		"GET /topics.opml HTTP/1.1\r\nhost: a:80\r\nAccept-Encoding: gzip;q=0.5\r\nIf-Modified-Since: Mon, 02 Jan 2006 15:04:05 GMT\r\nConnection: close\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nX-A:\t b \r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET /x HTTP/1.1\nHost: x\n\n",
		"GET /x HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
		"POST /websub HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx",
		"GET /a?b HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: x\r\nConnection: close, keep-alive\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req fastRequest
		n, res := parseRequest(b, &req)
		if res != parseOK {
			if n != 0 {
				t.Fatalf("result %d with length %d", res, n)
			}
			return
		}
		br := bufio.NewReaderSize(bytes.NewReader(b), len(b)+16)
		r, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("taken, but net/http fails: %v\n%q", err, b)
		}
		if got := len(b) - br.Buffered(); got != n {
			t.Fatalf("length %d, net/http read %d\n%q", n, got, b)
		}
		method := "GET"
		if req.head {
			method = "HEAD"
		}
		if r.Method != method || r.URL.Path != string(req.path) || r.URL.RawQuery != "" || r.RequestURI != string(req.path) {
			t.Fatalf("%s %s; net/http: %s %s (%s)\n%q", method, req.path, r.Method, r.URL.Path, r.RequestURI, b)
		}
		if r.ProtoMinor == 0 != req.http10 || r.ProtoMajor != 1 {
			t.Fatalf("HTTP/1.0: %v; net/http: %s\n%q", req.http10, r.Proto, b)
		}
		if r.ContentLength != 0 || r.TransferEncoding != nil || r.Body != http.NoBody {
			t.Fatalf("a body: length %d, %v\n%q", r.ContentLength, r.TransferEncoding, b)
		}
		if r.Close != req.close || r.Header.Get("If-None-Match") != string(req.ifNoneMatch) ||
			r.Header.Get("If-Modified-Since") != string(req.ifModifiedSince) ||
			strings.Join(r.Header.Values("Accept-Encoding"), ",") != string(req.acceptEncoding) {
			t.Fatalf("close %v, conditions %q %q %q; net/http: %v %v\n%q", req.close, req.ifNoneMatch, req.ifModifiedSince, req.acceptEncoding, r.Close, r.Header, b)
		}
		if req.keepAlive10 != (req.http10 && !r.Close) {
			t.Fatalf("keep-alive %v for HTTP/1.0 with close %v\n%q", req.keepAlive10, r.Close, b)
		}
		// What net/http's server checks beyond ReadRequest (which drops
		// the Host field, so that its presence and count, which the
		// server checks too, are TestFastPathAnswersAsNetHTTP's).
		if !httpguts.ValidHostHeader(r.Host) {
			t.Fatalf("Host %q\n%q", r.Host, b)
		}
		for k, vv := range r.Header {
			for _, v := range vv {
				if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
					t.Fatalf("field %q: %q\n%q", k, v, b)
				}
			}
		}
	})
}

// BenchmarkServeConn measures a request for a cached feed over loopback,
// on one connection kept alive, on the fast path and through net/http
// alone (the same server without it); the client's own work is in both.
func BenchmarkServeConn(b *testing.B) {
	f := newFastFixture(b, 0, 0)
	for _, path := range []struct{ name, addr string }{{"fast", f.addr}, {"net-http", f.ref}} {
		for _, c := range []struct {
			name, hdr string
			code      int
		}{
			{"304", "If-None-Match: " + f.etag + "\r\n", 304},
			{"200", "", 200},
		} {
			b.Run(path.name+"/"+c.name, func(b *testing.B) {
				conn, err := net.Dial("tcp", path.addr)
				if err != nil {
					b.Fatal(err)
				}
				defer conn.Close()
				br := bufio.NewReader(conn)
				raw := []byte("GET /topics/all.rss HTTP/1.1\r\nHost: x\r\n" + c.hdr + "\r\n")
				for b.Loop() {
					if _, err := conn.Write(raw); err != nil {
						b.Fatal(err)
					}
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					if resp.StatusCode != c.code {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
			})
		}
	}
}

// TestFastPathShutdownFinishes: a request under way on the fast path when
// Shutdown starts (here, waiting for its render) is answered, with
// Connection: close, before Shutdown returns.
func TestFastPathShutdownFinishes(t *testing.T) {
	f := newFastFixture(t, 0, 0)
	it := benchPosts("wire", 200, 1)
	it[0].Published = time.Now()
	if _, err := f.srv.store.SavePoll(context.Background(), "wire", it, tidings.SourceState{Name: "wire"}); err != nil {
		t.Fatal(err)
	}
	f.srv.pub.mu.Lock() // as a long render would: the request waits for it
	locked := true
	defer func() {
		if locked {
			f.srv.pub.mu.Unlock()
		}
	}()
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /topics/all.rss HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "the request to be read", func() bool {
		f.fs.mu.Lock()
		defer f.fs.mu.Unlock()
		for fc := range f.fs.conns {
			if fc.state.Load() == connActive {
				return true
			}
		}
		return false
	})
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- f.fs.Shutdown(ctx)
	}()
	// The response says Connection: close only if the shutdown has begun
	// before it is written: wait for that, not for a scheduler's whim.
	waitFor(t, "the shutdown to begin", f.fs.closing.Load)
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) with a request under way", err)
	default:
	}
	f.srv.pub.mu.Unlock()
	locked = false
	br := bufio.NewReader(c)
	resps, bodies := readResponses(t, br, "GET")
	if resps[0].StatusCode != 200 || !resps[0].Close || len(bodies[0]) == 0 {
		t.Errorf("status %d, Connection: close %v, %d bytes", resps[0].StatusCode, resps[0].Close, len(bodies[0]))
	}
	if !closedByServer(c, br) {
		t.Error("the connection stayed open after its response")
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
