package fetcher

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tidings/tidings"
)

// accept names the feed types first; the wildcard keeps servers that
// answer 406 to unknown types working.
const accept = "application/rss+xml, application/atom+xml, application/feed+json, " +
	"application/rdf+xml;q=0.9, application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"

// get fetches u over HTTP, following at most maxRedirects redirects, and
// reads the body of the final response. held moves along the redirects, so
// every request counts against the host it goes to.
func (f *Fetcher) get(ctx context.Context, src tidings.Source, prev tidings.SourceState, u *url.URL, held *slots) (*response, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()

	resp, err := f.follow(ctx, src, prev, u, held)
	if err != nil {
		return resp, f.timeoutOr(parent, ctx, err)
	}
	return resp, nil
}

// timeoutOr turns err into a timeout error when it happened because ctx,
// derived from parent with the fetch timeout, expired.
func (f *Fetcher) timeoutOr(parent, ctx context.Context, err error) error {
	if parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return newError(ErrTimeout, context.DeadlineExceeded,
			"timed out after %s (the limit covers the whole request, body included)", f.opts.Timeout)
	}
	return err
}

func (f *Fetcher) follow(ctx context.Context, src tidings.Source, prev tidings.SourceState, u *url.URL, held *slots) (*response, error) {
	// Configured headers are meant for the configured host, not for
	// whatever host a redirect, even a permanent one, leads to.
	origin := hostKey(u)
	if cu, err := url.Parse(src.URL); err == nil {
		origin = hostKey(cu)
	}
	visited := map[string]bool{withoutFragment(u): true}
	out := &response{}
	permanent := true // every redirect so far was permanent
	for hops := 0; ; hops++ {
		if err := held.acquire(ctx, hostKey(u)); err != nil {
			return out, err
		}
		req, err := f.newRequest(ctx, src, prev, u, hostKey(u) == origin)
		if err != nil {
			return out, err
		}
		resp, err := f.client.Do(req)
		if err != nil {
			return out, newError(ErrRequest, err, "request failed: %v", unwrapURLError(err))
		}

		if !isRedirect(resp.StatusCode) {
			out.url = u.String()
			err := f.readResponse(resp, out)
			resp.Body.Close()
			return out, err
		}

		// Drain a little so the connection can be reused, then go on.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if loc == "" {
			return out, newError(ErrRedirect, nil, "HTTP %d redirect without a Location header", resp.StatusCode)
		}
		next, err := u.Parse(loc)
		if err != nil {
			return out, newError(ErrRedirect, err, "HTTP %d redirect to an invalid URL %q", resp.StatusCode, loc)
		}
		if next.Scheme != "http" && next.Scheme != "https" {
			return out, newError(ErrRedirect, nil, "redirect to %s: only http and https targets are followed", next.Redacted())
		}
		if hops == maxRedirects {
			return out, newError(ErrRedirect, nil, "too many redirects (more than %d), last to %s", maxRedirects, next.Redacted())
		}
		key := withoutFragment(next)
		if visited[key] {
			return out, newError(ErrRedirect, nil, "redirect loop: %s was visited before", next.Redacted())
		}
		visited[key] = true
		if permanent && (resp.StatusCode == http.StatusMovedPermanently || resp.StatusCode == http.StatusPermanentRedirect) {
			out.permanentURL = key
		} else {
			permanent = false
		}
		u = next
	}
}

func (f *Fetcher) newRequest(ctx context.Context, src tidings.Source, prev tidings.SourceState, u *url.URL, sameHost bool) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, newError(ErrURL, err, "invalid feed URL %q: %v", u.Redacted(), err)
	}
	req.Header.Set("User-Agent", f.opts.UserAgent)
	req.Header.Set("Accept", accept)
	req.Header.Set("Accept-Encoding", "gzip")
	// Configured headers often carry tokens.
	if sameHost {
		for k, v := range src.Headers {
			if strings.EqualFold(k, "Host") {
				req.Host = v
				continue
			}
			req.Header.Set(k, v)
		}
	}
	if prev.ETag != "" {
		req.Header.Set("If-None-Match", prev.ETag)
	}
	if prev.LastModified != "" {
		req.Header.Set("If-Modified-Since", prev.LastModified)
	}
	return req, nil
}

// readResponse fills out from a final (non-redirect) response.
func (f *Fetcher) readResponse(resp *http.Response, out *response) error {
	out.contentType = resp.Header.Get("Content-Type")
	out.etag = resp.Header.Get("ETag")
	out.links = resp.Header.Values("Link")
	out.lastModified = resp.Header.Get("Last-Modified")
	switch {
	case resp.StatusCode == http.StatusNotModified:
		out.notModified = true
		return nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		se := &StatusError{Code: resp.StatusCode}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			se.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), f.opts.Now())
		}
		return se
	}
	body, err := readBody(resp, f.opts.MaxBody)
	out.body = body
	return err
}

// readBody reads at most max bytes of decompressed body.
func readBody(resp *http.Response, max int64) ([]byte, error) {
	var r io.Reader = resp.Body
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		if resp.ContentLength > max {
			return nil, tooLarge(max)
		}
	case "gzip", "x-gzip":
		gz, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, newError(ErrRequest, err, "read response: bad gzip body: %v", err)
		}
		defer gz.Close()
		r = gz
	default:
		return nil, newError(ErrRequest, nil, "read response: unsupported Content-Encoding %q", enc)
	}
	var buf bytes.Buffer
	if n := resp.ContentLength; n > 0 && n <= max {
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(r, max+1)); err != nil {
		return nil, newError(ErrRequest, err, "read response: %v", err)
	}
	if int64(buf.Len()) > max {
		return nil, tooLarge(max)
	}
	return gunzipSniffed(buf.Bytes(), max)
}

// gunzipSniffed decompresses body if it is gzip data although no
// Content-Encoding said so: servers hand out feed.xml.gz files that way.
func gunzipSniffed(body []byte, max int64) ([]byte, error) {
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		return body, nil
	}
	gz, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return body, nil // not gzip after all; the parser will say what it is
	}
	defer gz.Close()
	out, err := io.ReadAll(io.LimitReader(gz, max+1))
	if err != nil {
		return nil, newError(ErrParse, err, "parse feed: the body is gzip data that does not decompress: %v", err)
	}
	if int64(len(out)) > max {
		return nil, tooLarge(max)
	}
	return out, nil
}

func tooLarge(max int64) error {
	return newError(ErrTooLarge, nil, "response larger than %s limit", formatSize(max))
}

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

func withoutFragment(u *url.URL) string {
	c := *u
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// unwrapURLError drops the `Get "https://…":` prefix of *url.Error, which
// repeats what the user configured.
func unwrapURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

// retryAfter parses a Retry-After value, seconds or an HTTP date, into a
// time after now; zero if absent, invalid or past.
func retryAfter(v string, now time.Time) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	var t time.Time
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return time.Time{}
		}
		t = now.Add(time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second)
	} else if d, err := http.ParseTime(v); err == nil {
		t = d
	} else {
		return time.Time{}
	}
	if !t.After(now) {
		return time.Time{}
	}
	if limit := now.Add(maxRetryAfter); t.After(limit) {
		t = limit
	}
	return t
}
