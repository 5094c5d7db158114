package fetcher

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

func TestAdaptive(t *testing.T) {
	tests := map[string]struct {
		base, feed, http, want time.Duration
	}{
		"no hints":                       {15 * time.Minute, 0, 0, 15 * time.Minute},
		"hint below the floor":           {15 * time.Minute, 5 * time.Minute, time.Minute, 15 * time.Minute},
		"feed hint":                      {15 * time.Minute, time.Hour, 0, time.Hour},
		"http hint":                      {15 * time.Minute, 0, 30 * time.Minute, 30 * time.Minute},
		"larger of both":                 {15 * time.Minute, 40 * time.Minute, 30 * time.Minute, 40 * time.Minute},
		"capped at eight times the base": {15 * time.Minute, 24 * time.Hour, 0, 2 * time.Hour},
		"capped at a day":                {6 * time.Hour, 7 * 24 * time.Hour, 0, 24 * time.Hour},
		"base above a day stands":        {48 * time.Hour, 0, 0, 48 * time.Hour},
		"one second base":                {time.Second, time.Hour, 0, 8 * time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := adaptive(tc.base, tc.feed, tc.http); got != tc.want {
				t.Errorf("adaptive(%v, %v, %v) = %v, want %v", tc.base, tc.feed, tc.http, got, tc.want)
			}
		})
	}
}

func TestFeedHint(t *testing.T) {
	item := func(date string) string {
		return "<item><title>t" + date + "</title><pubDate>" + date + "</pubDate></item>"
	}
	tests := map[string]struct {
		channel   string
		hint      time.Duration
		skipHours uint32
		skipDays  uint8
	}{
		"nothing":        {"", 0, 0, 0},
		"ttl in minutes": {"<ttl>90</ttl>", 90 * time.Minute, 0, 0},
		"bad ttl":        {"<ttl>soon</ttl>", 0, 0, 0},
		"sy daily twice": {`<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>`, 12 * time.Hour, 0, 0},
		"sy hourly":      {`<sy:updatePeriod>hourly</sy:updatePeriod>`, time.Hour, 0, 0},
		"skip hours and days": {
			"<skipHours><hour>0</hour><hour>1</hour><hour>24</hour></skipHours><skipDays><day>Saturday</day><day>sunday</day></skipDays>",
			0, 1<<0 | 1<<1, 1<<6 | 1<<0,
		},
		"items a day apart": {
			item("Mon, 26 May 2025 12:00:00 GMT") + item("Tue, 27 May 2025 12:00:00 GMT") + item("Wed, 28 May 2025 12:00:00 GMT"),
			12 * time.Hour, 0, 0,
		},
		"two dated items are too few": {
			item("Mon, 26 May 2025 12:00:00 GMT") + item("Tue, 27 May 2025 12:00:00 GMT"),
			0, 0, 0,
		},
		"longest hint wins": {
			"<ttl>60</ttl>" + item("Mon, 19 May 2025 12:00:00 GMT") + item("Mon, 26 May 2025 12:00:00 GMT") + item("Mon, 02 Jun 2025 12:00:00 GMT"),
			84 * time.Hour, 0, 0,
		},
	}
	f := newTestFetcher(t, Options{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			body := `<?xml version="1.0"?><rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel>` +
				`<title>Hints</title><link>https://example.org/</link>` + tc.channel +
				`<item><title>always</title><guid>a</guid></item></channel></rss>`
			_, info, err := f.ParseBytes(tidings.Source{Name: "s"}, "https://example.org/feed", []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if info.Hint != tc.hint || info.SkipHours != tc.skipHours || info.SkipDays != tc.skipDays {
				t.Errorf("hint %v skip hours %b days %b, want %v %b %b", info.Hint, info.SkipHours, info.SkipDays, tc.hint, tc.skipHours, tc.skipDays)
			}
		})
	}
}

func TestHTTPHint(t *testing.T) {
	now := testNow
	tests := map[string]struct {
		header http.Header
		want   time.Duration
	}{
		"none":               {http.Header{}, 0},
		"max-age":            {http.Header{"Cache-Control": {"public, max-age=1800"}}, 30 * time.Minute},
		"max-age wins":       {http.Header{"Cache-Control": {"max-age=60"}, "Expires": {now.Add(time.Hour).Format(http.TimeFormat)}}, time.Minute},
		"no-cache max-age=0": {http.Header{"Cache-Control": {"no-cache, max-age=0"}}, 0},
		"expires by date":    {http.Header{"Expires": {now.Add(2 * time.Hour).Format(http.TimeFormat)}, "Date": {now.Add(time.Hour).Format(http.TimeFormat)}}, time.Hour},
		"expires by now":     {http.Header{"Expires": {now.Add(2 * time.Hour).Format(http.TimeFormat)}}, 2 * time.Hour},
		"expired":            {http.Header{"Expires": {now.Add(-time.Hour).Format(http.TimeFormat)}}, 0},
		"bad expires":        {http.Header{"Expires": {"0"}}, 0},
		"capped at a day":    {http.Header{"Cache-Control": {"max-age=9999999"}}, 24 * time.Hour},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := httpHint(tc.header, now); got != tc.want {
				t.Errorf("httpHint = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSkipTo(t *testing.T) {
	sat := time.Date(2025, 5, 31, 10, 30, 0, 0, time.UTC) // a Saturday
	tests := map[string]struct {
		hours uint32
		days  uint8
		want  time.Time
	}{
		"nothing skipped":      {0, 0, sat},
		"hour skipped":         {1 << 10, 0, time.Date(2025, 5, 31, 11, 0, 0, 0, time.UTC)},
		"hours 10 to 12":       {1<<10 | 1<<11 | 1<<12, 0, time.Date(2025, 5, 31, 13, 0, 0, 0, time.UTC)},
		"weekend skipped":      {0, 1<<6 | 1<<0, time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)},
		"every hour is absurd": {1<<24 - 1, 0, sat},
		"every day is absurd":  {0, 1<<7 - 1, sat},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := skipTo(sat, tc.hours, tc.days); !got.Equal(tc.want) {
				t.Errorf("skipTo = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPollAdaptiveState: a poll stores the stretched interval and keeps
// the feed's hint across a 304, which carries no body to read it from.
func TestPollAdaptiveState(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Write(feedWith("", "<ttl>40</ttl><item><title>a</title><guid>1</guid></item>"))
	}))
	defer srv.Close()
	f := newTestFetcher(t, Options{})
	res, err := f.Poll(context.Background(), source(srv.URL), tidings.SourceState{})
	if err != nil {
		t.Fatal(err)
	}
	if res.State.FeedHint != 40*time.Minute || res.State.Interval != 40*time.Minute {
		t.Errorf("after the first poll: hint %v interval %v, want 40m", res.State.FeedHint, res.State.Interval)
	}
	checkNextPoll(t, res.State, 40*time.Minute)
	res, err = f.Poll(context.Background(), source(srv.URL), res.State)
	if err != nil || !res.NotModified {
		t.Fatalf("second poll: %v, not modified %v", err, res.NotModified)
	}
	if res.State.Interval != 40*time.Minute || res.State.Conditional != "304" {
		t.Errorf("after a 304: interval %v conditional %q", res.State.Interval, res.State.Conditional)
	}
	checkNextPoll(t, res.State, 40*time.Minute)
}

// TestPollBrokenValidators: a server whose ETag changes on every request
// although the body does not is polled conditionally, its unchanged body
// is not parsed again, and every 12h a request goes out without
// validators; a Last-Modified stuck in 2041 does not stop changes either.
func TestPollBrokenValidators(t *testing.T) {
	var n atomic.Int64
	var sawConditional, sawUnconditional atomic.Int64
	body := rssFeed(2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" {
			sawConditional.Add(1)
		} else {
			sawUnconditional.Add(1)
		}
		w.Header().Set("ETag", `"`+strconv.FormatInt(n.Add(1), 10)+`"`)
		w.Header().Set("Last-Modified", "Tue, 01 Jan 2041 00:00:00 GMT")
		w.Write(body)
	}))
	defer srv.Close()

	now := testNow
	f := newTestFetcher(t, Options{Now: func() time.Time { return now }})
	res, err := f.Poll(context.Background(), source(srv.URL), tidings.SourceState{})
	if err != nil || len(res.Items) != 2 {
		t.Fatalf("first poll: %d items, %v", len(res.Items), err)
	}
	if !res.State.LastUnconditional.Equal(now) || res.State.BodyHash == "" {
		t.Errorf("first poll state: unconditional %v hash %q", res.State.LastUnconditional, res.State.BodyHash)
	}

	now = now.Add(time.Hour)
	res, err = f.Poll(context.Background(), source(srv.URL), res.State)
	if err != nil || !res.NotModified || res.Items != nil {
		t.Fatalf("same body behind a new ETag: not modified %v, %d items, %v", res.NotModified, len(res.Items), err)
	}
	if res.State.Conditional != "ignored" || res.State.ETag != `"2"` {
		t.Errorf("conditional %q etag %q, want ignored and the new ETag", res.State.Conditional, res.State.ETag)
	}
	if sawConditional.Load() != 1 {
		t.Errorf("%d conditional requests, want 1", sawConditional.Load())
	}

	// 12h after the last unconditional request, the validators stay home,
	// and a changed body is seen although Last-Modified says 2041.
	body = rssFeed(3)
	now = testNow.Add(unconditionalEvery)
	res, err = f.Poll(context.Background(), source(srv.URL), res.State)
	if err != nil || len(res.Items) != 3 {
		t.Fatalf("after 12h: %d items, %v", len(res.Items), err)
	}
	if sawUnconditional.Load() != 2 || !res.State.LastUnconditional.Equal(now) {
		t.Errorf("%d unconditional requests, last %v; want 2, %v", sawUnconditional.Load(), res.State.LastUnconditional, now)
	}
	if res.State.AvgLatencyMS <= 0 {
		t.Errorf("average latency %d ms", res.State.AvgLatencyMS)
	}
}

func TestErrorKind(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	f := newTestFetcher(t, Options{})
	_, refused := f.Poll(context.Background(), source(closed.URL), tidings.SourceState{})
	_, missing := f.Poll(context.Background(), source("file:///nonexistent/feed.xml"), tidings.SourceState{})
	tests := map[string]struct {
		err  error
		want string
	}{
		"nil":                {nil, ""},
		"connection refused": {refused, "connect"},
		"missing file":       {missing, "request"},
		"status":             {&StatusError{Code: 500}, "status"},
		"challenge":          {&StatusError{Code: 403, Challenge: true}, "challenge"},
		"not a feed":         {&NotAFeedError{Empty: true}, "not_a_feed"},
		"too large":          {tooLarge(10), "too_large"},
		"timeout":            {newError(ErrTimeout, nil, "timed out"), "timeout"},
		"redirect":           {newError(ErrRedirect, nil, "redirect loop"), "redirect"},
		"parse":              {newError(ErrParse, nil, "parse feed"), "parse"},
		"denied":             {newError(ErrDenied, nil, "refused"), "denied"},
		"url":                {newError(ErrURL, nil, "invalid feed URL"), "url"},
		"foreign":            {context.Canceled, "error"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ErrorKind(tc.err); got != tc.want {
				t.Errorf("ErrorKind(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}
