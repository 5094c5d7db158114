package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/query"
	"github.com/tidings/tidings/storage"
)

// matchReport is what `tidings match`, GET /admin/match and the preview
// page show: which stored items a topic's query matches, and why.
type matchReport struct {
	Topic   string      `json:"topic,omitempty"`
	Query   string      `json:"query"`             // normalized; empty matches everything
	Sources []string    `json:"sources,omitempty"` // the only sources the topic draws from
	Limit   int         `json:"limit"`             // items in the topic feed
	Scanned int         `json:"scanned"`           // stored items of configured sources
	Matched int         `json:"matched"`           // of those, how many match (copies of a story each)
	Stories int         `json:"stories"`           // how many stories they make, each listed once
	Items   []matchItem `json:"items"`             // the newest matches, at most the limit
}

type matchItem struct {
	Source    string      `json:"source"`
	ID        string      `json:"id"`
	Title     string      `json:"title"`
	Link      string      `json:"link,omitempty"`
	Published time.Time   `json:"published"`
	Hits      []query.Hit `json:"hits"`
	// InFeed says whether the topic feed lists this item; when it does
	// not, CopyOf names the source whose copy of the same story it lists
	// instead, and an empty CopyOf means the item is past the topic's limit.
	InFeed bool   `json:"in_feed"`
	CopyOf string `json:"copy_of,omitempty"`
}

// matchError is a query that does not parse or names what the config
// lacks; the HTTP API sends it as JSON with status 400.
type matchError struct {
	Error  string `json:"error"`
	Column int    `json:"column,omitempty"`
}

// errNoTopic is a topic name the config does not define.
var errNoTopic = errors.New("no such topic")

// matchTopic returns the topic to match: the named one, the named one with
// its query replaced by q (its sources and tags still apply), or, without
// a name, an ad-hoc topic of all sources with query q.
func matchTopic(s *setup, name, q string) (*feeds.Topic, error) {
	def := tidings.Topic{Name: "query", Query: q}
	if name != "" {
		t, ok := s.byName[name]
		if !ok {
			return nil, fmt.Errorf("%w %q in %s", errNoTopic, name, s.cfg.File)
		}
		if q == "" {
			return t, nil
		}
		def = t.Topic
		def.Query = q
	}
	return feeds.Compile(def, s.cfg.Sources)
}

// scanMatches walks the store newest first and reports what t matches at
// now, keeping the first limit matches with their hits.
func scanMatches(ctx context.Context, st *storage.Store, s *setup, t *feeds.Topic, now time.Time, limit int) (*matchReport, error) {
	r := &matchReport{Query: t.NormalizedQuery(), Sources: t.AllowedSources(), Limit: t.Limit, Items: []matchItem{}}
	if _, ok := s.byName[t.Name]; ok {
		r.Topic = t.Name
	}
	// The selector tells which matches the feed lists, as the publisher does.
	sel := feeds.NewSelector(t, t.Limit).At(now)
	err := st.Newest(ctx, func(it *tidings.Item) bool {
		if _, ok := s.sources[it.Source]; !ok {
			return true
		}
		r.Scanned++
		if !t.MatchAt(it, now) {
			return true
		}
		sel.Add(it)
		r.Matched++
		if len(r.Items) < limit {
			hits := t.Explain(it, now)
			if hits == nil {
				hits = []query.Hit{}
			}
			r.Items = append(r.Items, matchItem{Source: it.Source, ID: it.ID, Title: it.Title, Link: it.Link, Published: it.Published, Hits: hits})
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("read items: %w", err)
	}
	r.Stories = sel.Count()
	listed := map[[2]string]bool{}
	standing := map[string]string{} // story's canonical link → source of the listed copy
	for _, e := range sel.Entries() {
		listed[[2]string{e.Item.Source, e.Item.ID}] = true
		standing[storyLink(e.Item.CanonicalLink, e.Item.Link)] = e.Item.Source
	}
	for i := range r.Items {
		m := &r.Items[i]
		m.InFeed = listed[[2]string{m.Source, m.ID}]
		if src, ok := standing[storyLink("", m.Link)]; !m.InFeed && ok && src != m.Source && m.Link != "" {
			m.CopyOf = src
		}
	}
	return r, nil
}

// storyLink is the canonical link under which copies of a story meet.
func storyLink(canonical, link string) string {
	if canonical != "" {
		return canonical
	}
	return tidings.CanonicalURL(link)
}

// runMatch is `tidings match [TOPIC] [--query Q]`.
func runMatch(ctx context.Context, e *env, o *options) error {
	name := ""
	if len(o.args) > 0 {
		name = o.args[0]
	}
	if name == "" && o.query == "" {
		return &exitError{code: 2, err: errors.New("match needs a TOPIC or --query (see tidings match --help)")}
	}
	if o.limit <= 0 {
		return &exitError{code: 2, err: errors.New("--limit must be at least 1")}
	}
	s, err := loadSetup(o.config)
	if err != nil {
		return configError(e, err)
	}
	// Compile here too, daemon or not, so that a bad query is shown with
	// a caret under its column before anything else happens.
	t, err := matchTopic(s, name, o.query)
	if err != nil {
		return queryError(e, o.query, err)
	}
	var rep *matchReport
	st, err := openStore(s.cfg, true)
	switch {
	case errors.Is(err, storage.ErrLocked):
		rep, err = askDaemonMatch(ctx, s, name, o.query, o.limit)
	case err == nil:
		rep, err = scanMatches(ctx, st, s, t, time.Now(), o.limit)
		st.Close()
	}
	if err != nil {
		return err
	}
	printMatches(e.stdout, rep)
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// queryError shows a query error with a caret under the column it names.
func queryError(e *env, q string, err error) error {
	var se *query.SyntaxError
	if errors.Is(err, errNoTopic) {
		return err
	}
	if errors.As(err, &se) {
		fmt.Fprintf(e.stderr, "  %s\n  %s^\n", q, strings.Repeat(" ", caretOffset(q, se.Pos)))
		err = se
	}
	return &exitError{code: 2, err: fmt.Errorf("--query: %w", err)}
}

// caretOffset is how many columns to indent a caret under rune column pos
// of q (1-based); a tab counts as one.
func caretOffset(q string, pos int) int {
	return max(0, min(pos-1, len([]rune(q))))
}

// askDaemonMatch asks the running daemon, which holds the store.
func askDaemonMatch(ctx context.Context, s *setup, name, q string, limit int) (*matchReport, error) {
	v := url.Values{}
	if name != "" {
		v.Set("topic", name)
	}
	if q != "" {
		v.Set("query", q)
	}
	v.Set("limit", strconv.Itoa(limit))
	base := daemonURL(s.cfg)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/admin/match?"+v.Encode(), nil)
	if err != nil {
		return nil, err
	}
	if tok := s.cfg.Server.AdminToken; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the store is in use by the daemon, and asking it at %s failed: %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read the daemon's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var me matchError
		if json.Unmarshal(body, &me) == nil && me.Error != "" {
			return nil, fmt.Errorf("the daemon at %s says: %s", base, me.Error)
		}
		return nil, fmt.Errorf("the daemon at %s answered %s: %s", base, resp.Status, strings.TrimSpace(string(body)))
	}
	var rep matchReport
	if err := json.Unmarshal(body, &rep); err != nil {
		return nil, fmt.Errorf("the daemon's answer at %s: %w", base, err)
	}
	return &rep, nil
}

// printMatches writes the report for people: the query, the counts, then
// each item with one line per hit.
func printMatches(w io.Writer, r *matchReport) {
	what := "query"
	if r.Topic != "" {
		what = "topic " + r.Topic
	}
	q := r.Query
	if q == "" {
		q = "(no query: every item)"
	}
	fmt.Fprintf(w, "%s: %s\n", what, q)
	if len(r.Sources) > 0 {
		fmt.Fprintf(w, "sources: %s\n", strings.Join(r.Sources, ", "))
	}
	fmt.Fprintf(w, "%d of %d stored items match (%d %s)", r.Matched, r.Scanned, r.Stories, plural(r.Stories, "story", "stories"))
	if len(r.Items) < r.Matched {
		fmt.Fprintf(w, "; the newest %d:", len(r.Items))
	}
	fmt.Fprintln(w)
	for _, it := range r.Items {
		fmt.Fprintf(w, "\n%s  %s  %s\n", it.Published.UTC().Format("2006-01-02 15:04"), it.Source, it.Title)
		if it.Link != "" {
			fmt.Fprintf(w, "    %s\n", it.Link)
		}
		switch {
		case it.InFeed:
		case it.CopyOf != "":
			fmt.Fprintf(w, "    not in the feed: it lists %s's copy of this story\n", it.CopyOf)
		default:
			fmt.Fprintf(w, "    not in the feed: past its limit of %d items\n", r.Limit)
		}
		width := 0
		for _, h := range it.Hits {
			width = max(width, len(h.Term))
		}
		for _, h := range it.Hits {
			fmt.Fprintf(w, "    %-*s  %-9s %s\n", width, h.Term, h.Field, strings.TrimSpace(h.Before+" ["+h.Text+"] "+h.After))
		}
	}
}

// matchRequest runs a match for an HTTP request's topic=, query= and
// limit= parameters, or returns the status and error to send.
func (s *server) matchRequest(r *http.Request, name string) (*matchReport, int, *matchError) {
	v := r.URL.Query()
	limit := 50
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return nil, http.StatusBadRequest, &matchError{Error: "limit must be a number from 1 to 500"}
		}
		limit = n
	}
	q := v.Get("query")
	if name == "" && q == "" {
		return nil, http.StatusBadRequest, &matchError{Error: "give topic=NAME or query=QUERY"}
	}
	cur := s.pub.current()
	t, err := matchTopic(cur, name, q)
	if errors.Is(err, errNoTopic) {
		return nil, http.StatusNotFound, &matchError{Error: "no topic named " + strconv.Quote(name)}
	}
	if err != nil {
		me := &matchError{Error: err.Error()}
		var se *query.SyntaxError
		if errors.As(err, &se) {
			me.Column = se.Pos
		}
		return nil, http.StatusBadRequest, me
	}
	rep, err := scanMatches(r.Context(), s.store, cur, t, s.pub.now(), limit)
	if err != nil {
		s.log.Error("match", "topic", name, "err", err)
		return nil, http.StatusInternalServerError, &matchError{Error: "could not read the store; the log says why"}
	}
	return rep, http.StatusOK, nil
}

// handleMatch is GET /admin/match?topic=NAME&query=Q&limit=N: the match
// report as JSON, for `tidings match` while the daemon holds the store.
func (s *server) handleMatch(w http.ResponseWriter, r *http.Request) {
	rep, code, me := s.matchRequest(r, r.URL.Query().Get("topic"))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if me != nil {
		enc.Encode(me)
		return
	}
	enc.Encode(rep)
}

// handlePreview is GET /topics/{name}/preview[?query=Q]: an HTML page with
// the topic's matches and a form to try another query.
func (s *server) handlePreview(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	page := previewPage{Topic: name}
	cur := s.pub.current()
	t, ok := cur.byName[name]
	if !ok {
		http.Error(w, "no topic named "+strconv.Quote(name), http.StatusNotFound)
		return
	}
	page.Title = t.Title
	page.Query = r.URL.Query().Get("query")
	page.Saved = t.Query
	if page.Query == "" {
		page.Query = t.Query
	}
	code := http.StatusOK
	rep, c, me := s.matchRequest(r, name)
	if me != nil {
		code = c
		page.Err = me.Error
		if me.Column > 0 {
			page.Caret = strings.Repeat("\u00a0", caretOffset(page.Query, me.Column)) + "^"
		}
	}
	page.Report = rep
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := previewTemplate.Execute(w, &page); err != nil {
		s.log.Error("preview page", "topic", name, "err", err)
	}
}

type previewPage struct {
	Topic, Title string
	Query, Saved string
	Err, Caret   string
	Report       *matchReport
}

var previewTemplate = template.Must(template.New("preview").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Preview: {{.Title}}</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:50rem;margin:0 auto;padding:1rem;color:#222;background:#fff}
input[type=text]{width:100%;box-sizing:border-box;font:15px ui-monospace,monospace;padding:.4rem}
.err{color:#a00}.caret{font:15px ui-monospace,monospace;color:#a00;white-space:pre}
li{margin:.6rem 0}.meta{color:#666;font-size:.875rem}
table{border-collapse:collapse;font-size:.875rem}td{padding:0 .6rem 0 0;vertical-align:top}
code{font-family:ui-monospace,monospace}mark{background:#fe6}
</style>
</head>
<body>
<h1>Preview: {{.Title}}</h1>
<form method="get">
<label for="q">Query</label>
<input type="text" id="q" name="query" value="{{.Query}}">
<p><button type="submit">Try it</button> · saved query: <code>{{if .Saved}}{{.Saved}}{{else}}(none: every item){{end}}</code> · <a href="?">reset</a></p>
</form>
{{- if .Err}}
<p class="err">{{.Err}}</p>
{{- with .Caret}}<div class="caret">{{.}}</div>{{end}}
{{- end}}
{{- with .Report}}
<p class="meta">Query as understood: <code>{{if .Query}}{{.Query}}{{else}}(every item){{end}}</code>{{with .Sources}} · sources: {{range $i, $s := .}}{{if $i}}, {{end}}{{$s}}{{end}}{{end}}</p>
<p><strong>{{.Matched}}</strong> of {{.Scanned}} stored items match ({{.Stories}} {{if eq .Stories 1}}story{{else}}stories{{end}}){{if lt (len .Items) .Matched}}; the newest {{len .Items}}{{end}}.</p>
<ol>
{{- range .Items}}
<li>{{if .Link}}<a href="{{.Link}}">{{.Title}}</a>{{else}}{{.Title}}{{end}} <span class="meta">{{.Source}} · {{when .Published}}
{{- if not .InFeed}} · not in the feed: {{with .CopyOf}}it lists {{.}}'s copy of this story{{else}}past its limit of {{$.Report.Limit}} items{{end}}{{end}}</span>
{{- with .Hits}}
<table>
{{- range .}}
<tr><td><code>{{.Term}}</code></td><td>{{.Field}}</td><td>{{.Before}} <mark>{{.Text}}</mark> {{.After}}</td></tr>
{{- end}}
</table>
{{- end}}
</li>
{{- end}}
</ol>
{{- end}}
</body>
</html>
`))
