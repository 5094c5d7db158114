package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/config"
	"github.com/tidings/tidings/fetcher"
	"github.com/tidings/tidings/storage"
)

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, total: 4}
	p.add(pollResult{source: "a", saved: storage.Saved{New: 3}})
	p.add(pollResult{source: "b", err: errors.New("HTTP 500")})
	if last := buf.String()[strings.LastIndex(buf.String(), "\r\x1b[K")+4:]; last != "[===============>              ] 2/4 sources · 3 new items · 1 failed" {
		t.Errorf("bar %q", last)
	}
	p.add(pollResult{source: "c", saved: storage.Saved{New: 2}})
	p.add(pollResult{source: "d", notModified: true})
	if !strings.HasSuffix(buf.String(), "[==============================] 4/4 sources · 5 new items · 1 failed") {
		t.Errorf("final bar %q", buf.String())
	}
	if isTerminal(&buf) {
		t.Error("a buffer is no terminal")
	}
}

func TestFetchTable(t *testing.T) {
	var buf bytes.Buffer
	writeFetchTable(&buf, []pollResult{
		{source: "good", items: 5, saved: storage.Saved{New: 2, Updated: 1}},
		{source: "same", notModified: true},
		{source: "down", err: errors.New("HTTP 500 Internal Server Error")},
		{source: "busy"},
	}, map[int]string{3: "skipped: the server asked to wait"})
	out := buf.String()
	for _, want := range []string{
		"SOURCE", "good  ", "ok", "not modified", "skipped", "4 sources", "1 failed",
		"down: HTTP 500 Internal Server Error", "busy: skipped: the server asked to wait",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestDenyPrivateNetworksWired: the config key reaches the fetcher.
func TestDenyPrivateNetworksWired(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<rss version="2.0"><channel><title>x</title><item><title>a</title></item></channel></rss>`))
	}))
	defer srv.Close()
	for _, deny := range []bool{false, true} {
		f := newFetcher(&config.Config{Fetch: config.Fetch{DenyPrivateNetworks: deny}})
		_, err := f.Poll(context.Background(), tidings.Source{Name: "s", URL: srv.URL}, tidings.SourceState{})
		if got := errors.Is(err, fetcher.ErrDenied); got != deny {
			t.Errorf("deny_private_networks %v: err %v", deny, err)
		}
		f.Close()
	}
}

func TestRoundDuration(t *testing.T) {
	tests := map[string]struct {
		d    time.Duration
		want string
	}{
		"seconds":           {42*time.Second + 300*time.Millisecond, "42s"},
		"minutes":           {16*time.Minute + 10*time.Second, "16m"},
		"hours and minutes": {2*time.Hour + 5*time.Minute, "2h5m"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := roundDuration(tc.d); got != tc.want {
				t.Errorf("roundDuration(%v) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}
