package query

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tidings/tidings"
)

// Option configures Parse.
type Option func(*parser)

// WithTags tells Parse how to find the tags of a source, for tag: terms.
// tags must be safe for concurrent use and give the same answer for the
// same source for as long as the Query is used (the answers are cached).
// Without WithTags a tag: term matches nothing.
func WithTags(tags func(source string) []string) Option {
	return func(p *parser) { p.tags.lookup = tags }
}

// tagSet finds and caches the folded tags of each source.
type tagSet struct {
	lookup func(source string) []string
	cache  sync.Map // source → []string, folded
}

func (s *tagSet) of(source string) []string {
	if s == nil || s.lookup == nil {
		return nil
	}
	if v, ok := s.cache.Load(source); ok {
		return v.([]string)
	}
	var folded []string
	for _, t := range s.lookup(source) {
		folded = append(folded, strings.Join(Words(t), " "))
	}
	s.cache.Store(source, folded)
	return folded
}

// tagged gives a tag: term the parser's tags and records its name.
func (p *parser) tagged(t *term) node {
	if t.field != fieldTag {
		return t
	}
	t.tags = p.tags
	if !t.prefix && !slices.Contains(p.tagNames, t.joined) {
		p.tagNames = append(p.tagNames, t.joined)
	}
	return t
}

// Hit says where one term of a query matched an item, for people tuning a
// query (tidings match): Before and After are a few words of context
// around Text, the words that matched. Words are shown folded, as the
// query sees them (lower case, no accents, no punctuation).
type Hit struct {
	Term   string `json:"term"`  // the term as String writes it, e.g. title:mexico
	Field  string `json:"field"` // title, summary, content, category, author, link, source, tag, published, age
	Before string `json:"before,omitempty"`
	Text   string `json:"text"`
	After  string `json:"after,omitempty"`
}

// Explain reports why the query matches the item at time now: for each
// term that helps it match, the first place in each field where it
// matched. Terms under NOT report nothing, since an absence has no place.
// Explain returns nil when the query does not match or matches everything.
func (q *Query) Explain(it *tidings.Item, now time.Time) []Hit {
	if q.MatchesAll() {
		return nil
	}
	d := newDoc(it, partAll)
	d.now = now
	if !q.root.match(d) {
		return nil
	}
	return q.root.hits(d, nil)
}

func listHits(list []node, d *Doc, out []Hit) []Hit {
	for _, c := range list {
		if c.match(d) {
			out = c.hits(d, out)
		}
	}
	return out
}

// partNames names the parts of a Doc in hits.
var partNames = [numParts]string{
	iTitle: "title", iSummary: "summary", iContent: "content", iCategories: "category",
	iAuthors: "author", iLink: "link", iSource: "source",
}

// textParts are the parts each field reads, in the order hits list them.
func textParts(f field) []int {
	switch f {
	case fieldTitle:
		return []int{iTitle}
	case fieldContent:
		return []int{iSummary, iContent}
	case fieldCategory:
		return []int{iCategories}
	case fieldAuthor:
		return []int{iAuthors}
	case fieldLink:
		return []int{iLink}
	case fieldAny:
		return []int{iTitle, iSummary, iContent, iCategories}
	}
	return nil
}

// context is how many words of context a hit shows on each side.
const context = 6

func (t *term) hits(d *Doc, out []Hit) []Hit {
	var b strings.Builder
	t.format(&b, precNot)
	name := b.String()
	switch t.field {
	case fieldSource:
		return append(out, Hit{Term: name, Field: "source", Text: d.rawSource})
	case fieldTag:
		for _, tag := range t.tags.of(d.rawSource) {
			if t.name(tag) {
				out = append(out, Hit{Term: name, Field: "tag", Text: tag})
			}
		}
		return out
	}
	for _, p := range textParts(t.field) {
		i, n := t.find(d, p)
		if i < 0 {
			continue
		}
		ws := d.words(p)
		out = append(out, Hit{
			Term:   name,
			Field:  partNames[p],
			Before: d.join(ws[max(0, i-context):i], i-context > 0, false),
			Text:   d.join(ws[i:i+n], false, false),
			After:  d.join(ws[i+n:min(len(ws), i+n+context)], false, i+n+context < len(ws)),
		})
	}
	return out
}

// join writes words separated by spaces (a gap as " | "), with an
// ellipsis where text was cut off.
func (d *Doc) join(ws []span, cutBefore, cutAfter bool) string {
	var b strings.Builder
	if cutBefore {
		b.WriteString("…")
	}
	for i, sp := range ws {
		if i > 0 || cutBefore {
			b.WriteByte(' ')
		}
		if sp.lo == sp.hi {
			b.WriteByte('|')
			continue
		}
		b.WriteString(d.text[sp.lo:sp.hi])
	}
	if cutAfter {
		b.WriteString(" …")
	}
	return b.String()
}

// segments returns the words of part p joined by spaces, one string per
// run between gaps (each category, each author's name and address).
func (d *Doc) segments(p int) []string {
	var segs []string
	var b strings.Builder
	for _, sp := range d.words(p) {
		if sp.lo == sp.hi {
			segs = append(segs, b.String())
			b.Reset()
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(d.text[sp.lo:sp.hi])
	}
	return append(segs, b.String())
}

// regexTerm matches an RE2 regular expression in a field. In text fields
// it sees the field's words as the other terms do: folded and joined by
// single spaces; on source: the source's name, on link: the link as
// given, on tag: each tag; always ignoring case.
type regexTerm struct {
	field field
	src   string // as written between the slashes, with \/ unescaped
	re    *regexp.Regexp
	tags  *tagSet
}

// lexRegex returns the /regular expression/ at the start of s, its length
// in bytes and in runes.
func lexRegex(s string, pos int) (token, int, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) {
				continue // unterminated below
			}
			if s[i+1] != '/' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[i+1])
			i++
		case '/':
			return token{kind: tokRegex, text: b.String(), pos: pos}, i + 1, utf8.RuneCountInString(s[:i+1]), nil
		default:
			b.WriteByte(s[i])
		}
	}
	return token{}, 0, 0, &SyntaxError{pos, `unterminated regular expression (write \/ for a slash inside one; quote text that starts with /)`}
}

func (p *parser) regexTerm(t token, f field) (node, error) {
	if t.text == "" {
		return nil, &SyntaxError{t.pos, "empty regular expression"}
	}
	// Fold the pattern's non-ASCII letters as text is folded, so that
	// /méxico/ finds the word mexico. ASCII is left alone: it holds the
	// syntax (\D is not \d), and (?i) handles its case.
	var folded []byte
	for _, r := range t.text {
		if r >= utf8.RuneSelf && classify(r) == classWord {
			folded = foldAppend(folded, r)
		} else {
			folded = utf8.AppendRune(folded, r)
		}
	}
	re, err := regexp.Compile("(?i)" + string(folded))
	if err != nil {
		msg := err.Error()
		if se, ok := err.(*syntax.Error); ok {
			msg = string(se.Code)
			if expr := strings.TrimPrefix(se.Expr, "(?i)"); expr != "" {
				msg += " " + strconv.Quote(expr)
			}
		}
		return nil, &SyntaxError{t.pos, "bad regular expression: " + msg}
	}
	n := &regexTerm{field: f, src: t.text, re: re}
	if f == fieldTag {
		n.tags = p.tags
	}
	return n, nil
}

func (r *regexTerm) parts() part {
	t := term{field: r.field}
	return t.parts()
}

func (r *regexTerm) format(b *strings.Builder, _ int) {
	if r.field != fieldAny {
		b.WriteString(fieldNames[r.field])
		b.WriteByte(':')
	}
	b.WriteByte('/')
	b.WriteString(strings.ReplaceAll(r.src, "/", `\/`))
	b.WriteByte('/')
}

// candidates returns the strings the regex is tried on, by field name.
func (r *regexTerm) candidates(d *Doc, each func(field, s string) bool) {
	switch r.field {
	case fieldSource:
		each("source", d.rawSource)
		return
	case fieldLink:
		each("link", d.link)
		return
	case fieldTag:
		for _, t := range r.tags.of(d.rawSource) {
			if !each("tag", t) {
				return
			}
		}
		return
	}
	for _, p := range textParts(r.field) {
		for _, s := range d.segments(p) {
			if !each(partNames[p], s) {
				return
			}
		}
	}
}

func (r *regexTerm) match(d *Doc) bool {
	found := false
	r.candidates(d, func(_, s string) bool {
		found = r.re.MatchString(s)
		return !found
	})
	return found
}

func (r *regexTerm) hits(d *Doc, out []Hit) []Hit {
	var b strings.Builder
	r.format(&b, precNot)
	done := map[string]bool{}
	r.candidates(d, func(f, s string) bool {
		if done[f] {
			return true
		}
		loc := r.re.FindStringIndex(s)
		if loc == nil {
			return true
		}
		done[f] = true
		out = append(out, Hit{Term: b.String(), Field: f, Before: cutBefore(s[:loc[0]]), Text: s[loc[0]:loc[1]], After: cutAfter(s[loc[1]:])})
		return true
	})
	return out
}

// cutBefore keeps the last few words of s, cutAfter the first few.
func cutBefore(s string) string {
	f := strings.Fields(s)
	if len(f) <= context {
		return strings.TrimSpace(s)
	}
	return "… " + strings.Join(f[len(f)-context:], " ")
}

func cutAfter(s string) string {
	f := strings.Fields(s)
	if len(f) <= context {
		return strings.TrimSpace(s)
	}
	return strings.Join(f[:context], " ") + " …"
}

// dateTerm is an age: or published: term.
type dateTerm struct {
	field field
	text  string // the value as written, for String
	// age: op compares the item's age with span.
	op   string // "<", "<=", ">", ">="
	span time.Duration
	// published: from ≤ published < until; a zero bound is open.
	from, until time.Time
}

const (
	ageHelp       = "age: wants a time span such as <7d, >12h or <=2w (units m, h, d, w)"
	publishedHelp = "published: wants a date (UTC) such as 2026-01-15, 2026-01, 2026, 2026-01-01..2026-02-01 or >=2026-01-01"
)

func (p *parser) dateTerm(t token, f field) (node, error) {
	help := publishedHelp
	if f == fieldAge {
		help = ageHelp
	}
	if t.kind != tokWord {
		return nil, &SyntaxError{t.pos, help}
	}
	n := &dateTerm{field: f, text: t.text}
	val := t.text
	op := ""
	for _, o := range []string{"<=", ">=", "<", ">"} {
		if v, ok := strings.CutPrefix(val, o); ok {
			op, val = o, v
			break
		}
	}
	if f == fieldAge {
		span, ok := parseSpan(val)
		if !ok {
			return nil, &SyntaxError{t.pos, help}
		}
		n.op, n.span = cmpOr(op, "<"), span
		p.dynamic = true
		return n, nil
	}
	if lo, hi, ok := strings.Cut(val, ".."); ok && op == "" {
		if lo == "" && hi == "" {
			return nil, &SyntaxError{t.pos, help}
		}
		if lo != "" {
			if n.from, _, ok = parseDate(lo); !ok {
				return nil, &SyntaxError{t.pos, help}
			}
		}
		if hi != "" {
			if _, n.until, ok = parseDate(hi); !ok {
				return nil, &SyntaxError{t.pos, help}
			}
		}
		if lo != "" && hi != "" && !n.from.Before(n.until) {
			return nil, &SyntaxError{t.pos, "published: the range ends before it starts"}
		}
		return n, nil
	}
	start, end, ok := parseDate(val)
	if !ok {
		return nil, &SyntaxError{t.pos, help}
	}
	switch op {
	case "":
		n.from, n.until = start, end
	case ">":
		n.from = end
	case ">=":
		n.from = start
	case "<":
		n.until = start
	case "<=":
		n.until = end
	}
	return n, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// parseSpan reads a span such as 7d, 12h, 2w or 1d12h.
func parseSpan(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 6 {
			return 0, false
		}
		n, _ := strconv.Atoi(s[:i])
		unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[i]]
		if unit == 0 {
			return 0, false
		}
		total += time.Duration(n) * unit
		s = s[i+1:]
	}
	return total, true
}

// parseDate reads a year, a month, a day or an RFC 3339 time, in UTC
// unless it says otherwise, and returns the interval it covers.
func parseDate(s string) (start, end time.Time, ok bool) {
	for _, l := range []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{time.RFC3339, func(t time.Time) time.Time { return t.Add(time.Second) }},
	} {
		if t, err := time.Parse(l.layout, s); err == nil {
			return t, l.next(t), true
		}
	}
	return time.Time{}, time.Time{}, false
}

func (n *dateTerm) parts() part { return 0 }

func (n *dateTerm) format(b *strings.Builder, _ int) {
	b.WriteString(fieldNames[n.field])
	b.WriteByte(':')
	b.WriteString(n.text)
}

func (n *dateTerm) match(d *Doc) bool {
	if d.published.IsZero() {
		return false
	}
	if n.field == fieldPublished {
		return (n.from.IsZero() || !d.published.Before(n.from)) && (n.until.IsZero() || d.published.Before(n.until))
	}
	age := d.now.Sub(d.published)
	switch n.op {
	case "<":
		return age < n.span
	case "<=":
		return age <= n.span
	case ">":
		return age > n.span
	}
	return age >= n.span
}

func (n *dateTerm) hits(d *Doc, out []Hit) []Hit {
	var b strings.Builder
	n.format(&b, precNot)
	h := Hit{Term: b.String(), Field: "published", Text: d.published.UTC().Format(time.RFC3339)}
	if n.field == fieldAge {
		h.Field = "age"
		h.After = "(" + ageString(d.now.Sub(d.published)) + " old)"
	}
	return append(out, h)
}

// ageString writes an age for people: 3d 4h, 5h 10m, 42m.
func ageString(a time.Duration) string {
	neg := ""
	if a < 0 {
		neg, a = "-", -a
	}
	d, h, m := a/(24*time.Hour), a%(24*time.Hour)/time.Hour, a%time.Hour/time.Minute
	switch {
	case d > 0:
		return fmt.Sprintf("%s%dd %dh", neg, d, h)
	case h > 0:
		return fmt.Sprintf("%s%dh %dm", neg, h, m)
	}
	return fmt.Sprintf("%s%dm", neg, m)
}
