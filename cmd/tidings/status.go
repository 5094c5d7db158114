package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/config"
	"github.com/tidings/tidings/storage"
)

// sourceStatus is one source as `tidings status` and GET /sources show it.
// The flat fields answer the usual questions; State is everything stored.
type sourceStatus struct {
	Name          string    `json:"name"`
	URL           string    `json:"url"`                      // in use: after permanent redirects
	ConfiguredURL string    `json:"configured_url,omitempty"` // as in the config; empty for a removed source
	Moved         bool      `json:"moved,omitempty"`          // URL differs from the configured one (permanent redirect)
	Active        bool      `json:"configured"`
	Items         int       `json:"items"`
	LastSuccess   time.Time `json:"last_success,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
	ErrorKind     string    `json:"error_kind,omitempty"`
	LastErrorAt   time.Time `json:"last_error_at,omitzero"`
	Failures      int       `json:"failures,omitempty"`
	NextPoll      time.Time `json:"next_poll,omitzero"`
	RetryAfter    time.Time `json:"retry_after,omitzero"`
	Interval      string    `json:"interval,omitempty"`
	// ETagSupport is how the server answers conditional requests: "304",
	// "none" (no validators), "ignored" (validators but never a 304) or
	// "unknown" before it could be told.
	ETagSupport  string `json:"etag_support"`
	AvgLatencyMS int64  `json:"avg_latency_ms,omitempty"`
	// State is the stored polling state, nil for a source never polled.
	State *tidings.SourceState `json:"state"`
}

// stateReader is the part of the store that status reads.
type stateReader interface {
	SourceStates(ctx context.Context) ([]tidings.SourceState, error)
	Stats(ctx context.Context) (storage.Stats, error)
}

// sourceStatuses lists every configured source in config order, then the
// sources the store remembers that the config no longer has.
func sourceStatuses(ctx context.Context, st stateReader, cfg *config.Config) ([]sourceStatus, error) {
	states, err := st.SourceStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("read source states: %w", err)
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		return nil, fmt.Errorf("read store stats: %w", err)
	}
	byName := make(map[string]tidings.SourceState, len(states))
	for _, s := range states {
		byName[s.Name] = s
	}
	row := func(name, configured string, active bool) sourceStatus {
		r := sourceStatus{Name: name, URL: configured, ConfiguredURL: configured, Active: active,
			Items: stats.PerSource[name], ETagSupport: "unknown"}
		s, ok := byName[name]
		if !ok {
			return r
		}
		r.State = &s
		if s.URL != "" && (s.SourceURL == configured || !active) {
			r.URL = s.URL
		}
		r.Moved = active && r.URL != configured
		r.LastSuccess, r.LastError, r.ErrorKind, r.LastErrorAt = s.LastSuccess, s.LastError, s.ErrorKind, s.LastErrorAt
		r.Failures, r.NextPoll, r.RetryAfter, r.AvgLatencyMS = s.Failures, s.NextPoll, s.RetryAfter, s.AvgLatencyMS
		if s.Interval > 0 {
			r.Interval = s.Interval.String()
		}
		if s.Conditional != "" {
			r.ETagSupport = s.Conditional
		}
		return r
	}
	out := []sourceStatus{}
	seen := map[string]bool{}
	for _, src := range cfg.Sources {
		seen[src.Name] = true
		out = append(out, row(src.Name, src.URL, true))
	}
	for _, s := range states {
		if !seen[s.Name] {
			out = append(out, row(s.Name, "", false))
		}
	}
	return out, nil
}

// runStatus is `tidings status`: per-source polling state, from the store
// when no daemon holds it, else from the daemon's GET /sources.
func runStatus(ctx context.Context, e *env, o *options) error {
	if o.format != "table" && o.format != "json" {
		return &exitError{code: 2, err: fmt.Errorf("--format %q: want table or json", o.format)}
	}
	s, err := loadSetup(o.config)
	if err != nil {
		return configError(e, err)
	}
	var rows []sourceStatus
	st, err := openStore(s.cfg, true)
	switch {
	case errors.Is(err, storage.ErrLocked):
		rows, err = daemonStatuses(ctx, s.cfg)
		if err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		rows, err = sourceStatuses(ctx, st, s.cfg)
		st.Close()
		if err != nil {
			return err
		}
	}
	if o.source != "" {
		var one []sourceStatus
		for _, r := range rows {
			if r.Name == o.source {
				one = append(one, r)
			}
		}
		if len(one) == 0 {
			return fmt.Errorf("no source named %q in %s or the store", o.source, s.cfg.File)
		}
		rows = one
	}
	if o.format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	writeStatusTable(e.stdout, rows, time.Now())
	return nil
}

// daemonStatuses asks the running daemon, with the config's admin token.
func daemonStatuses(ctx context.Context, cfg *config.Config) ([]sourceStatus, error) {
	base := daemonURL(cfg)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/sources", nil)
	if err != nil {
		return nil, err
	}
	if cfg.Server.AdminToken != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.Server.AdminToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the store is in use by the daemon, and asking it at %s failed: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return nil, fmt.Errorf("the daemon at %s/sources answered %s: %s", base, resp.Status, strings.TrimSpace(string(body)))
	}
	var rows []sourceStatus
	if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
		return nil, fmt.Errorf("read %s/sources: %w", base, err)
	}
	return rows, nil
}

// writeStatusTable prints one line per source, then the details that do
// not fit a column (errors, moved URLs) below.
func writeStatusTable(w io.Writer, rows []sourceStatus, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tSTATUS\tITEMS\tLAST SUCCESS\tNEXT POLL\tINTERVAL\tETAG\tLATENCY")
	for _, r := range rows {
		status := "ok"
		switch {
		case r.State == nil:
			status = "never polled"
		case r.LastError != "":
			status = "error: " + r.ErrorKind
			if r.Failures > 1 {
				status += fmt.Sprintf(" (%d×)", r.Failures)
			}
		}
		if !r.Active {
			status = "removed from config"
		}
		latency := "-"
		if r.AvgLatencyMS > 0 {
			latency = fmt.Sprintf("%dms", r.AvgLatencyMS)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.Name, status, r.Items,
			ago(r.LastSuccess, now), until(r.NextPoll, now), dash(r.Interval), r.ETagSupport, latency)
	}
	tw.Flush()
	for _, r := range rows {
		if r.Moved {
			fmt.Fprintf(w, "%s: moved permanently to %s (configured %s)\n", r.Name, r.URL, r.ConfiguredURL)
		}
		if r.LastError != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Name, r.LastError)
		}
		if !r.RetryAfter.IsZero() && r.RetryAfter.After(now) {
			fmt.Fprintf(w, "%s: the server asked to wait until %s (Retry-After)\n", r.Name, r.RetryAfter.Local().Format(time.DateTime))
		}
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ago writes a past time as "5m ago".
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return roundDuration(now.Sub(t)) + " ago"
}

// until writes a future time as "in 5m"; a past one as "due".
func until(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if !t.After(now) {
		return "due"
	}
	return "in " + roundDuration(t.Sub(now))
}

func roundDuration(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s") // "16m", "2h5m"
}
