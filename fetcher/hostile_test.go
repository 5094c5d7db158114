package fetcher

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

// feedWith wraps one item's XML in an RSS document with the given prolog.
func feedWith(prolog, item string) []byte {
	return []byte(prolog + `<rss version="2.0"><channel><title>Hostile</title><link>https://example.org/</link>` +
		item + `</channel></rss>`)
}

// TestPollHostile runs every hostile or broken response against one
// Fetcher, all at once, next to a well-behaved feed: each gets its own
// clear outcome and the good feed is unaffected.
func TestPollHostile(t *testing.T) {
	const latin1Prolog = `<?xml version="1.0" encoding="ISO-8859-1"?>`
	const cp1252Prolog = `<?xml version="1.0" encoding="windows-1252"?>`
	billion := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">` +
		`<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">` +
		`<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>`
	external := `<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`
	nested := strings.Repeat("<x>", 200000) + strings.Repeat("</x>", 200000)

	tests := map[string]struct {
		contentType string
		header      http.Header
		status      int
		body        []byte
		title       string // the one item's expected title
		err         error  // else the expected error
		kind        string
		message     string // substring of the error
		check       func(t *testing.T, it tidings.Item)
	}{
		"ISO-8859-1 declared in the prolog": {
			body:  feedWith(latin1Prolog, "<item><title>Caf\xe9 \xa9 ni\xf1o</title><guid>1</guid></item>"),
			title: "Café © niño",
		},
		"windows-1252 declared in the prolog": {
			body:  feedWith(cp1252Prolog, "<item><title>\x93Quoted\x94 \x80 5</title><guid>1</guid></item>"),
			title: "“Quoted” € 5",
		},
		"ISO-8859-1 in the HTTP header": {
			contentType: "application/rss+xml; charset=ISO-8859-1",
			body:        feedWith(`<?xml version="1.0"?>`, "<item><title>Caf\xe9 cr\xe8me</title><guid>1</guid></item>"),
			title:       "Café crème",
		},
		"windows-1252 in the HTTP header": {
			contentType: "text/xml; charset=windows-1252",
			body:        feedWith("", "<item><title>\x93Hi\x94 \x96 there</title><guid>1</guid></item>"),
			title:       "“Hi” – there",
		},
		"header charset wrong for a UTF-8 body": {
			contentType: "text/xml; charset=ISO-8859-1",
			body:        feedWith("", "<item><title>Café</title><guid>1</guid></item>"),
			title:       "Café",
		},
		"invalid UTF-8 bytes": {
			body:  feedWith(`<?xml version="1.0" encoding="UTF-8"?>`, "<item><title>Caf\xe9 \xff ok</title><guid>1</guid></item>"),
			title: "Café ÿ ok",
		},
		"NUL and control bytes": {
			body:  feedWith(`<?xml version="1.0"?>`, "<item><title>Nul\x00 and \x0bbell\x07</title><guid>1</guid></item>"),
			title: "Nul and bell",
		},
		"text before the prolog": {
			body:  append([]byte("<br />\n<b>Warning</b>: something in /var/www/feed.php on line 3\n"), feedWith(`<?xml version="1.0"?>`, "<item><title>After junk</title><guid>1</guid></item>")...),
			title: "After junk",
		},
		"billion laughs": {
			body: feedWith(billion, "<item><title>&lol9;</title><guid>1</guid></item>"),
			check: func(t *testing.T, it tidings.Item) {
				if len(it.Title) > 100 {
					t.Errorf("entity expanded into a %d-byte title", len(it.Title))
				}
			},
		},
		"external entity": {
			body: feedWith(external, "<item><title>x&xxe;y</title><guid>1</guid></item>"),
			check: func(t *testing.T, it tidings.Item) {
				if strings.Contains(it.Title, "root:") {
					t.Errorf("external entity was read: %q", it.Title)
				}
			},
		},
		"deeply nested elements": {
			body: feedWith(`<?xml version="1.0"?>`, "<item><title>Deep</title><guid>1</guid></item>"+nested),
			check: func(t *testing.T, it tidings.Item) {
				if it.Title != "Deep" {
					t.Errorf("title %q", it.Title)
				}
			},
		},
		"odd date format in the source zone": {
			body: feedWith("", "<item><title>Odd date</title><guid>1</guid><pubDate>Sun, 15 Dec 2024 12:15 PM</pubDate></item>"),
			check: func(t *testing.T, it tidings.Item) {
				// The source's zone is America/Mexico_City, UTC-6.
				if want := time.Date(2024, 12, 15, 18, 15, 0, 0, time.UTC); !it.Published.Equal(want) {
					t.Errorf("published %v, want %v", it.Published, want)
				}
			},
		},
		"date in the future": {
			body: feedWith("", "<item><title>Tomorrow</title><guid>1</guid><pubDate>Mon, 02 Jun 2025 12:00:00 GMT</pubDate></item>"),
			check: func(t *testing.T, it tidings.Item) {
				if !it.Published.Equal(testNow) {
					t.Errorf("published %v, want first seen %v", it.Published, testNow)
				}
			},
		},
		"truncated body": {
			body:    rssFeed(4)[:150],
			err:     ErrParse,
			kind:    "parse",
			message: "parse feed: ",
		},
		"mismatched end tag": {
			body:  []byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><title>a</titl></item></channel></rss>`),
			title: "a",
		},
		"not XML at all": {
			body:    []byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><title>a</title></item><<<>>>`),
			err:     ErrParse,
			kind:    "parse",
			message: "parse feed: ",
		},
		"empty 200": {
			body:    nil,
			err:     ErrNotAFeed,
			kind:    "not_a_feed",
			message: "not a feed: the response is empty",
		},
		"HTML page naming its feeds": {
			contentType: "text/html; charset=utf-8",
			body:        []byte(`<!doctype html><html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml"></head><body>Hi</body></html>`),
			err:         ErrNotAFeed,
			kind:        "not_a_feed",
			message:     "it links to these feeds: http://",
		},
		"bot-protection challenge": {
			contentType: "text/html",
			header:      http.Header{"Cf-Mitigated": {"challenge"}},
			status:      http.StatusForbidden,
			body:        []byte(`<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>`),
			err:         ErrStatus,
			kind:        "challenge",
			message:     "HTTP 403 Forbidden: the site answered with a bot-protection challenge page",
		},
	}

	mux := http.NewServeMux()
	for name, tc := range tests {
		mux.HandleFunc("/"+strings.ReplaceAll(name, " ", "-"), func(w http.ResponseWriter, r *http.Request) {
			for k, v := range tc.header {
				w.Header()[k] = v
			}
			ct := tc.contentType
			if ct == "" {
				ct = "application/rss+xml"
			}
			w.Header().Set("Content-Type", ct)
			if tc.status != 0 {
				w.WriteHeader(tc.status)
			}
			w.Write(tc.body)
		})
	}
	mux.HandleFunc("/good", func(w http.ResponseWriter, r *http.Request) { w.Write(rssFeed(3)) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	f := newTestFetcher(t, Options{Concurrency: 4, PerHost: 4})
	var wg sync.WaitGroup
	for name, tc := range tests {
		wg.Go(func() {
			t.Run(name, func(t *testing.T) {
				src := tidings.Source{Name: "hostile", URL: srv.URL + "/" + strings.ReplaceAll(name, " ", "-"),
					Interval: testInterval, Timezone: "America/Mexico_City"}
				res, err := f.Poll(context.Background(), src, tidings.SourceState{})
				if tc.err != nil {
					if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.message) {
						t.Fatalf("err = %v, want %v containing %q", err, tc.err, tc.message)
					}
					if res.State.ErrorKind != tc.kind || res.State.LastError != err.Error() || res.State.Failures != 1 {
						t.Errorf("state: kind %q error %q failures %d", res.State.ErrorKind, res.State.LastError, res.State.Failures)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Items) != 1 {
					t.Fatalf("got %d items, want 1", len(res.Items))
				}
				if tc.title != "" && res.Items[0].Title != tc.title {
					t.Errorf("title %q, want %q", res.Items[0].Title, tc.title)
				}
				if tc.check != nil {
					tc.check(t, res.Items[0])
				}
			})
		})
	}
	wg.Wait()
	res, err := f.Poll(context.Background(), source(srv.URL+"/good"), tidings.SourceState{})
	if err != nil || len(res.Items) != 3 {
		t.Errorf("the good feed after the hostile ones: %d items, %v", len(res.Items), err)
	}
}

// TestPollTLSError polls a server whose certificate nobody trusts.
func TestPollTLSError(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(rssFeed(1)) }))
	defer srv.Close()
	f := newTestFetcher(t, Options{})
	res, err := f.Poll(context.Background(), source(srv.URL), tidings.SourceState{})
	if !errors.Is(err, ErrRequest) || !strings.HasPrefix(err.Error(), "TLS error: ") {
		t.Fatalf("err = %v, want a TLS error", err)
	}
	if res.State.ErrorKind != "tls" {
		t.Errorf("kind %q, want tls", res.State.ErrorKind)
	}
}

// fakeDNS answers every query on a local UDP port with NXDOMAIN.
func fakeDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			msg := append([]byte(nil), buf[:n]...)
			flags := binary.BigEndian.Uint16(msg[2:4])
			flags |= 0x8000 | 0x0080 | 3 // response, recursion available, NXDOMAIN
			binary.BigEndian.PutUint16(msg[2:4], flags)
			binary.BigEndian.PutUint16(msg[6:8], 0)  // no answers
			binary.BigEndian.PutUint16(msg[8:10], 0) // no authority
			binary.BigEndian.PutUint16(msg[10:12], 0)
			pc.WriteTo(msg, addr)
		}
	}()
	return pc.LocalAddr().String()
}

// TestPollDNSFailure resolves through a local DNS server that knows no
// name, so the test never asks the real DNS.
func TestPollDNSFailure(t *testing.T) {
	dnsAddr := fakeDNS(t)
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", dnsAddr)
	}}
	client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Resolver: resolver}).DialContext}}
	f := newTestFetcher(t, Options{Client: client})
	res, err := f.Poll(context.Background(), source("http://feeds.nosuch.example/rss"), tidings.SourceState{})
	if !errors.Is(err, ErrRequest) || !strings.HasPrefix(err.Error(), "DNS lookup of feeds.nosuch.example failed: no such host") {
		t.Fatalf("err = %v, want a DNS error", err)
	}
	if res.State.ErrorKind != "dns" {
		t.Errorf("kind %q, want dns", res.State.ErrorKind)
	}
}

// TestDenyPrivateNetworks checks that, when on, loopback is refused both
// by address and by a name that resolves to it, and that it is off by
// default.
func TestDenyPrivateNetworks(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(rssFeed(1)) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	tests := map[string]struct {
		deny bool
		url  string
	}{
		"off allows loopback":  {false, srv.URL},
		"on refuses an IP":     {true, srv.URL},
		"on refuses localhost": {true, "http://localhost:" + port + "/"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newTestFetcher(t, Options{DenyPrivateNetworks: tc.deny})
			res, err := f.Poll(context.Background(), source(tc.url), tidings.SourceState{})
			if !tc.deny {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "loopback address and fetch.deny_private_networks is on") {
				t.Fatalf("err = %v, want ErrDenied", err)
			}
			if res.State.ErrorKind != "denied" {
				t.Errorf("kind %q", res.State.ErrorKind)
			}
		})
	}
}

// TestPrivateKind checks the address ranges denyPrivate refuses. Since it
// runs as the dialer's Control function on every connection, it judges the
// address of each redirect hop after DNS, not the URL.
func TestPrivateKind(t *testing.T) {
	tests := map[string]string{
		"127.0.0.1:80":          "loopback",
		"[::1]:443":             "loopback",
		"10.1.2.3:80":           "private",
		"192.168.0.10:80":       "private",
		"172.16.5.4:80":         "private",
		"100.64.1.1:80":         "private",
		"[fd00::1]:80":          "private",
		"169.254.169.254:80":    "link-local",
		"[fe80::1]:80":          "link-local",
		"0.0.0.0:80":            "unspecified",
		"[::ffff:10.0.0.1]:80":  "private",
		"[64:ff9b::a00:1]:80":   "private",
		"93.184.215.14:443":     "",
		"[2606:4700::1111]:443": "",
	}
	for addr, want := range tests {
		t.Run(addr, func(t *testing.T) {
			err := denyPrivate("tcp", addr, nil)
			de, _ := errors.AsType[*deniedError](err)
			switch {
			case want == "" && err != nil:
				t.Errorf("denied a public address: %v", err)
			case want != "" && (de == nil || de.why != want):
				t.Errorf("got %v, want a %s denial", err, want)
			}
		})
	}
}
