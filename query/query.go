// Package query implements the topic query language: which items a topic
// holds (DESIGN §1, "Query language").
//
// A query combines terms with AND, OR, NOT and parentheses:
//
//	mexico OR sheinbaum OR usmca OR "latin america"
//	tariff* -sports title:(trade OR "non-tariff") category:economy
//
// # Words
//
// Text and queries are split into words the same way (see [Words]): at
// anything that is not a letter or a digit, ignoring case and accents. A
// word term matches whole words: mexico finds "México" and "MEXICO'S" (the
// words mexico, s) but not "Mexicoland". A term that splits into several
// words (non-tariff, U.S.) is a phrase of those words. A "quoted phrase"
// matches its words one after another; "quoted words"~N matches them in
// any order within N words of each other: "trade mexico"~2 finds "Mexico
// steps up trade" (a proximity term, as in Lucene; N is 1 to 100). A word ending in * matches any word
// it begins (tariff* finds "tariffs"). Han and kana characters are words of
// their own, since those scripts put no spaces between words, so 北京
// matches "我在北京工作".
//
// # Operators
//
// AND is implicit between terms; OR separates alternatives; NOT or a
// leading - (-sports, touching its term) excludes. Operators are upper-case
// only: "and" and "or" are plain words. NOT binds tighter than AND, and AND
// tighter than OR, so a OR b c means a OR (b AND c). Parentheses nest up to
// 100 deep.
//
// # Fields
//
// Without a field a term looks at the title, summary, content and
// categories. A field prefix, touching its term, narrows that:
//
//	title:     the title
//	content:   the summary and the content (feeds put the body in either)
//	category:  the categories, each on its own (a phrase does not span two)
//	author:    the authors' names and e-mail addresses
//	link:      the item's link, as words (link:wsws.org)
//	source:    the source's name, exactly (source:wsws, source:local-*)
//	tag:       a tag of the item's source (tag:americas); see WithTags
//	age:       time since publication: age:<7d, age:>12h, age:<=2w
//	           (units m, h, d, w; a bare span means "<")
//	published: the publication date, in UTC: published:2026-01-15 (that
//	           day), published:2026-01 (that month), published:2026,
//	           published:2026-01-01..2026-02-01 (both days included),
//	           published:2026-01-01.. or ..2026-02-01 (open ends),
//	           published:>2026-01-01 (after that day), >=, <, <=
//
// A field applies to a parenthesized group too: title:(trade OR tariff).
// Field names are case-insensitive; an unknown one is an error, so that
// the language can grow without changing the meaning of old queries.
// Items without a date (rare: the fetcher dates every item) match no
// age: or published: term. age: counts from the time passed to MatchAt.
//
// # Regular expressions
//
// A term between slashes is an RE2 regular expression (no backreferences,
// always linear time): /sheinbaum|amlo/, title:/^breaking\b/. It ignores
// case. In text fields it sees what word terms see — the words, folded,
// joined by single spaces, with no punctuation or HTML — so /u s trade/
// finds "U.S. trade" and /tariff(s|ed)?/ works on "Tariffs". On source: it
// sees the source's name, on link: the link as given, on tag: each tag.
// Write \/ for a slash inside one.
//
// # Grammar
//
//	query    = [ or ] .
//	or       = and { "OR" and } .
//	and      = unary { [ "AND" ] unary } .
//	unary    = { "NOT" | "-" } primary .      (* "-" touches what follows *)
//	primary  = [ field ":" ] ( "(" or ")" | phrase | regex | word ) .  (* no space after ":" *)
//	field    = "title" | "content" | "category" | "author" | "link" | "source"
//	         | "tag" | "age" | "published" .   (* age: and published: take one word *)
//	phrase   = open { any character but a close } close [ "~" digits ] . (* "a b"~3: near *)
//	open     = '"' | "“" | "”" | "„" .        (* “typographic quotes” work too *)
//	close    = '"' | "“" | "”" .
//	regex    = "/" { any character but "/" | "\/" } "/" .
//	word     = wordchar { wordchar } [ "*" ] . (* not starting with "/" *)
//	wordchar = any character but space, "(", ")", "*" and open .
//
// The empty query, or one of only spaces, matches every item.
package query

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tidings/tidings"
)

// maxDepth bounds parenthesis nesting, so that hostile or broken input
// cannot exhaust the stack of the parser or of matching.
const maxDepth = 100

// maxSlop bounds the N of a proximity term "..."~N.
const maxSlop = 100

// SyntaxError reports a query that cannot be parsed.
type SyntaxError struct {
	Pos int    // 1-based column of the offending text, in runes
	Msg string // what is wrong, e.g. `unexpected ")"`
}

// Error returns the message in the form `query: unexpected ")" at column 17`.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("query: %s at column %d", e.Msg, e.Pos)
}

// Query is a compiled query. It is immutable, so one Query may be matched
// from many goroutines at once. The zero Query, like a nil *Query, matches
// every item.
type Query struct {
	root    node     // nil matches everything
	parts   part     // Doc fields the query reads
	tags    []string // folded tag names that tag: terms name, for checking
	dynamic bool     // an age: term makes the result depend on the time
}

// Parse compiles a query. An empty query matches everything. Errors are
// *SyntaxError.
func Parse(s string, opts ...Option) (*Query, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return &Query{}, nil
	}
	p := &parser{toks: toks, tags: &tagSet{}}
	for _, o := range opts {
		o(p)
	}
	if err := p.groupStart(); err != nil {
		return nil, err
	}
	root, err := p.or(fieldAny)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		// or() stops only at the end or at a ')' it did not open.
		return nil, &SyntaxError{t.pos, `unexpected ")"`}
	}
	q := &Query{root: root, tags: p.tagNames, dynamic: p.dynamic}
	q.parts = root.parts()
	return q, nil
}

// String returns the query in a normalized form, for display: explicit AND
// and NOT, folded words, fields on every term. Parsing it gives an
// equivalent query.
func (q *Query) String() string {
	if q == nil || q.root == nil {
		return ""
	}
	var b strings.Builder
	q.root.format(&b, precOr)
	return b.String()
}

// MatchesAll reports whether the query is empty and so matches every item;
// callers can then skip preparing items.
func (q *Query) MatchesAll() bool {
	return q == nil || q.root == nil
}

// Match reports whether the item matches, measuring age: terms from
// time.Now(). It tokenizes the item each call (only the fields the query
// reads); for many queries over one item use NewDoc once and MatchDoc.
// Callers that need a repeatable answer use MatchAt.
func (q *Query) Match(it *tidings.Item) bool {
	return q.MatchAt(it, time.Now())
}

// MatchAt reports whether the item matches at time now, the time age:
// terms count from. Nothing else in a query depends on the time.
func (q *Query) MatchAt(it *tidings.Item, now time.Time) bool {
	if q.MatchesAll() {
		return true
	}
	d := newDoc(it, q.parts)
	d.now = now
	return q.root.match(d)
}

// MatchDoc reports whether the prepared item matches, measuring age:
// terms from time.Now().
func (q *Query) MatchDoc(d *Doc) bool {
	return q.MatchDocAt(d, time.Now())
}

// MatchDocAt reports whether the prepared item matches at time now.
func (q *Query) MatchDocAt(d *Doc, now time.Time) bool {
	if q.MatchesAll() {
		return true
	}
	if q.dynamic {
		// A Doc may be shared between goroutines: never write to it.
		dd := *d
		dd.now = now
		d = &dd
	}
	return q.root.match(d)
}

// Dynamic reports whether the query has an age: term, so that which items
// it matches changes with the time even when the items do not: a cache of
// its results must expire.
func (q *Query) Dynamic() bool { return q != nil && q.dynamic }

// Tags returns the tag names (folded: lower case, words joined by spaces)
// that the query's tag: terms name, without prefixes, so that a caller
// can reject names no source carries. It is nil when there are none.
func (q *Query) Tags() []string {
	if q == nil {
		return nil
	}
	return slices.Clone(q.tags)
}

// Precedence levels, for printing parentheses only where needed.
const (
	precOr = iota + 1
	precAnd
	precNot
)

// node is one operator or term of a parsed query.
type node interface {
	match(d *Doc) bool
	format(b *strings.Builder, prec int)
	parts() part
	// hits appends where the terms that make d match matched.
	hits(d *Doc, out []Hit) []Hit
}

type orNode []node

func (n orNode) match(d *Doc) bool {
	for _, c := range n {
		if c.match(d) {
			return true
		}
	}
	return false
}

func (n orNode) format(b *strings.Builder, prec int) {
	// AND inside OR is parenthesized although it binds tighter: readers
	// of a topic list should not need the precedence rules.
	formatList(b, n, " OR ", precOr, precNot, prec)
}

func (n orNode) parts() part { return listParts(n) }

func (n orNode) hits(d *Doc, out []Hit) []Hit { return listHits(n, d, out) }

type andNode []node

func (n andNode) match(d *Doc) bool {
	for _, c := range n {
		if !c.match(d) {
			return false
		}
	}
	return true
}

func (n andNode) format(b *strings.Builder, prec int) {
	formatList(b, n, " AND ", precAnd, precAnd, prec)
}

func (n andNode) parts() part { return listParts(n) }

func (n andNode) hits(d *Doc, out []Hit) []Hit { return listHits(n, d, out) }

// formatList writes list joined by sep, in parentheses if the context's
// precedence prec is higher than the list's own.
func formatList(b *strings.Builder, list []node, sep string, own, child, prec int) {
	if prec > own {
		b.WriteByte('(')
	}
	for i, c := range list {
		if i > 0 {
			b.WriteString(sep)
		}
		c.format(b, child)
	}
	if prec > own {
		b.WriteByte(')')
	}
}

func listParts(list []node) part {
	var p part
	for _, c := range list {
		p |= c.parts()
	}
	return p
}

type notNode struct{ x node }

func (n notNode) match(d *Doc) bool { return !n.x.match(d) }

func (n notNode) format(b *strings.Builder, _ int) {
	b.WriteString("NOT ")
	n.x.format(b, precNot)
}

func (n notNode) parts() part { return n.x.parts() }

// hits reports nothing: what makes a NOT match is an absence.
func (n notNode) hits(_ *Doc, out []Hit) []Hit { return out }

// field says where a term looks.
type field uint8

const (
	fieldAny field = iota
	fieldTitle
	fieldContent
	fieldCategory
	fieldAuthor
	fieldLink
	fieldSource
	fieldTag
	fieldAge
	fieldPublished
)

// fields maps the field names of the language to fields.
var fields = map[string]field{
	"title":     fieldTitle,
	"content":   fieldContent,
	"category":  fieldCategory,
	"author":    fieldAuthor,
	"link":      fieldLink,
	"source":    fieldSource,
	"tag":       fieldTag,
	"age":       fieldAge,
	"published": fieldPublished,
}

// fieldList names the fields in error messages.
const fieldList = "title, content, category, author, link, source, tag, age, published"

var fieldNames = [...]string{
	fieldTitle:     "title",
	fieldContent:   "content",
	fieldCategory:  "category",
	fieldAuthor:    "author",
	fieldLink:      "link",
	fieldSource:    "source",
	fieldTag:       "tag",
	fieldAge:       "age",
	fieldPublished: "published",
}

// term matches a word, a phrase or a word prefix in one field.
type term struct {
	field  field
	words  []string // folded, at least one
	hashes []uint64 // hashWord of the words that must occur whole
	prefix bool     // the last word matches any word it begins
	joined string   // words joined by spaces, for source: and tag:
	tags   *tagSet  // for tag: terms, the sources' tags
	// slop > 0 makes a phrase a proximity term ("latin america"~3): its
	// words in any order within len(words)+slop consecutive words.
	slop int
}

func (t *term) parts() part {
	switch t.field {
	case fieldTitle:
		return partTitle
	case fieldContent:
		return partSummary | partContent
	case fieldCategory:
		return partCategories
	case fieldAuthor:
		return partAuthors
	case fieldLink:
		return partLink
	case fieldSource, fieldTag:
		return partSource
	}
	return partTitle | partSummary | partContent | partCategories
}

func (t *term) match(d *Doc) bool {
	if d.seen != nil && t.field != fieldSource && t.field != fieldTag {
		for _, h := range t.hashes {
			if !d.seen.has(h) {
				return false
			}
		}
	}
	switch t.field {
	case fieldTitle:
		return t.in(d, iTitle)
	case fieldContent:
		return t.in(d, iSummary) || t.in(d, iContent)
	case fieldCategory:
		return t.in(d, iCategories)
	case fieldAuthor:
		return t.in(d, iAuthors)
	case fieldLink:
		return t.in(d, iLink)
	case fieldSource:
		return t.name(d.source)
	case fieldTag:
		return slices.ContainsFunc(t.tags.of(d.rawSource), t.name)
	}
	return t.in(d, iTitle) || t.in(d, iSummary) || t.in(d, iContent) || t.in(d, iCategories)
}

// name reports whether a folded name (a source's, a tag) is the term's,
// or begins with it for a prefix term.
func (t *term) name(s string) bool {
	if t.prefix {
		return strings.HasPrefix(s, t.joined)
	}
	return s == t.joined
}

// in reports whether the term's words occur one after another in part p
// of d.
func (t *term) in(d *Doc, p int) bool {
	i, _ := t.find(d, p)
	return i >= 0
}

// find returns the index in part p of d of the first word where the
// term's words occur one after another (or, for a proximity term, near
// each other), and how many words the match spans; -1 if they do not.
func (t *term) find(d *Doc, p int) (int, int) {
	if t.slop > 0 {
		return t.findNear(d, p)
	}
	ws := d.words(p)
	n := len(t.words)
	first := t.words[0]
	firstPrefix := t.prefix && n == 1
	for i := 0; i+n <= len(ws); i++ {
		w := d.text[ws[i].lo:ws[i].hi]
		if firstPrefix {
			if !strings.HasPrefix(w, first) {
				continue
			}
		} else if w != first {
			continue
		}
		if t.rest(d, ws[i+1:i+n]) {
			return i, n
		}
	}
	return -1, 0
}

// findNear finds the first window of len(t.words)+t.slop words, not
// crossing a gap, that holds every word of the term (as often as the term
// has it) and starts with one of them; it returns the start and the length
// up to the last word needed.
func (t *term) findNear(d *Doc, p int) (int, int) {
	ws := d.words(p)
	width := len(t.words) + t.slop
	used := make([]bool, len(t.words))
	for i := range ws {
		if !slices.Contains(t.words, d.text[ws[i].lo:ws[i].hi]) {
			continue
		}
		clear(used)
		left, end := len(t.words), i
		for j := i; j < len(ws) && j < i+width && left > 0; j++ {
			sp := ws[j]
			if sp.lo == sp.hi {
				break // a gap: categories and authors do not run together
			}
			w := d.text[sp.lo:sp.hi]
			for k, tw := range t.words {
				if !used[k] && tw == w {
					used[k] = true
					left--
					end = j
					break
				}
			}
		}
		if left == 0 {
			return i, end - i + 1
		}
	}
	return -1, 0
}

// rest reports whether the words at ws equal the term's words after the
// first.
func (t *term) rest(d *Doc, ws []span) bool {
	last := len(t.words) - 1
	for j, sp := range ws {
		w, want := d.text[sp.lo:sp.hi], t.words[j+1]
		if t.prefix && j+1 == last {
			if !strings.HasPrefix(w, want) {
				return false
			}
		} else if w != want {
			return false
		}
	}
	return true
}

func (t *term) format(b *strings.Builder, _ int) {
	if t.field != fieldAny {
		b.WriteString(fieldNames[t.field])
		b.WriteByte(':')
	}
	switch {
	case t.prefix:
		// A hyphenated word splits into the same words, and unlike a
		// quoted phrase it can carry the '*'.
		b.WriteString(strings.Join(t.words, "-"))
		b.WriteByte('*')
	case len(t.words) == 1:
		b.WriteString(t.words[0])
	default:
		b.WriteByte('"')
		b.WriteString(t.joined)
		b.WriteByte('"')
		if t.slop > 0 {
			b.WriteByte('~')
			b.WriteString(strconv.Itoa(t.slop))
		}
	}
}

// Token kinds.
const (
	tokEOF    = iota
	tokWord   // a bare word; text is as written
	tokPhrase // a quoted phrase; text is between the quotes
	tokField  // a field prefix; text is the lower-case name; its term follows at once
	tokLParen
	tokRParen
	tokAnd
	tokOr
	tokNot
	tokMinus
	tokRegex // a /regular expression/; text is between the slashes, \/ unescaped
)

type token struct {
	kind int
	text string
	pos  int // 1-based column in runes
	slop int // for a phrase: the N of "..."~N
}

// opName names an operator token in messages.
func opName(t token) string {
	switch t.kind {
	case tokAnd:
		return "AND"
	case tokOr:
		return "OR"
	case tokNot:
		return "NOT"
	}
	return `"-"`
}

func isQuote(r rune) bool {
	return r == '"' || r == '“' || r == '”' || r == '„'
}

func isClosingQuote(r rune) bool {
	return r == '"' || r == '“' || r == '”'
}

// ends reports whether r ends a bare word.
func ends(r rune) bool {
	return unicode.IsSpace(r) || r == '(' || r == ')' || isQuote(r)
}

// endsAt reports whether the rune at the start of s ends a bare word.
func endsAt(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return ends(r)
}

// lexDelimited lexes the "phrase" or /regex/ that starts at s with r, the
// same at the top level and after a field prefix.
func lexDelimited(s string, r rune, pos int) (token, int, int, error) {
	if r == '/' {
		return lexRegex(s, pos)
	}
	return lexPhrase(s, pos)
}

// lex splits a query into tokens.
func lex(s string) ([]token, error) {
	var toks []token
	i, col := 0, 1
	// next returns the rune at byte offset i, or -1 at the end.
	next := func(i int) (rune, int) {
		if i >= len(s) {
			return -1, 0
		}
		return utf8.DecodeRuneInString(s[i:])
	}
	for i < len(s) {
		r, size := next(i)
		start := col
		switch {
		case unicode.IsSpace(r):
			i += size
			col++
			continue
		case r == '(':
			toks = append(toks, token{kind: tokLParen, pos: start})
			i += size
			col++
			continue
		case r == ')':
			toks = append(toks, token{kind: tokRParen, pos: start})
			i += size
			col++
			continue
		case isQuote(r) || r == '/':
			tok, n, cols, err := lexDelimited(s[i:], r, start)
			if err != nil {
				return nil, err
			}
			toks = append(toks, tok)
			i += n
			col += cols
			continue
		case r == '-':
			if after, _ := next(i + size); after < 0 || unicode.IsSpace(after) || after == ')' {
				return nil, &SyntaxError{start, `"-" needs a term right after it`}
			}
			toks = append(toks, token{kind: tokMinus, pos: start})
			i += size
			col++
			continue
		}

		// A field prefix: ASCII letters and a colon.
		j := i
		for j < len(s) && ('a' <= s[j] && s[j] <= 'z' || 'A' <= s[j] && s[j] <= 'Z') {
			j++
		}
		if j > i && j < len(s) && s[j] == ':' {
			name := strings.ToLower(s[i:j])
			f, ok := fields[name]
			if !ok {
				return nil, &SyntaxError{start, fmt.Sprintf(
					"unknown field %q (fields are %s; quote text that has a colon)", s[i:j+1], fieldList)}
			}
			written := s[i : j+1]
			toks = append(toks, token{kind: tokField, text: fieldNames[f], pos: start})
			col += j + 1 - i
			i = j + 1
			after, size := next(i)
			switch {
			case after < 0 || unicode.IsSpace(after) || after == ')':
				return nil, &SyntaxError{start, fmt.Sprintf("%q needs a term right after it", written)}
			case after == '-' && f != fieldPublished:
				return nil, &SyntaxError{col, fmt.Sprintf(`"-" goes before the field: -%s:...`, name)}
			case after == '(':
				toks = append(toks, token{kind: tokLParen, pos: col})
				i += size
				col++
				continue
			case isQuote(after) || after == '/':
				tok, n, cols, err := lexDelimited(s[i:], after, col)
				if err != nil {
					return nil, err
				}
				toks = append(toks, tok)
				i += n
				col += cols
				continue
			}
			// A bare word follows; it is never an operator (title:AND).
			w, n, cols := lexWord(s[i:])
			toks = append(toks, token{kind: tokWord, text: w, pos: col})
			i += n
			col += cols
			continue
		}

		w, n, cols := lexWord(s[i:])
		tok := token{kind: tokWord, text: w, pos: start}
		switch w {
		case "AND":
			tok.kind = tokAnd
		case "OR":
			tok.kind = tokOr
		case "NOT":
			tok.kind = tokNot
		}
		toks = append(toks, tok)
		i += n
		col += cols
	}
	return toks, nil
}

// lexWord returns the bare word at the start of s, its length in bytes and
// in runes.
func lexWord(s string) (string, int, int) {
	cols := 0
	for i, r := range s {
		if ends(r) {
			return s[:i], i, cols
		}
		cols++
	}
	return s, len(s), cols
}

// lexPhrase returns the quoted phrase at the start of s (which starts with
// a quote), its length in bytes and in runes.
func lexPhrase(s string, pos int) (token, int, int, error) {
	_, q := utf8.DecodeRuneInString(s)
	cols := 1
	for i, r := range s[q:] {
		cols++
		if isClosingQuote(r) {
			tok := token{kind: tokPhrase, text: s[q : q+i], pos: pos}
			n := q + i + utf8.RuneLen(r)
			if n < len(s) && s[n] == '~' {
				// "latin america"~3: a proximity term.
				j := n + 1
				for j < len(s) && j < n+4 && '0' <= s[j] && s[j] <= '9' {
					j++
				}
				slop, err := strconv.Atoi(s[n+1 : j])
				if err != nil || slop < 1 || slop > maxSlop || (j < len(s) && !endsAt(s[j:])) {
					return token{}, 0, 0, &SyntaxError{pos + cols, fmt.Sprintf(`"~" after a phrase takes a number of words from 1 to %d ("latin america"~3)`, maxSlop)}
				}
				tok.slop = slop
				cols += j - n
				n = j
			}
			return tok, n, cols, nil
		}
	}
	return token{}, 0, 0, &SyntaxError{pos, "unterminated quote"}
}

// parser is a recursive-descent parser over the tokens of one query.
type parser struct {
	toks  []token
	i     int
	depth int

	tags     *tagSet  // shared by the tag: terms
	tagNames []string // the names tag: terms give, folded, each once
	dynamic  bool     // an age: term was parsed
}

func (p *parser) peek() token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return token{kind: tokEOF, pos: p.end()}
}

func (p *parser) next() token {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

// end returns the column just after the last token.
func (p *parser) end() int {
	if len(p.toks) == 0 {
		return 1
	}
	return p.toks[len(p.toks)-1].pos + 1
}

// startsTerm reports whether the next token can begin an operand.
func (p *parser) startsTerm() bool {
	switch p.peek().kind {
	case tokWord, tokPhrase, tokField, tokLParen, tokNot, tokMinus, tokRegex:
		return true
	}
	return false
}

// groupStart rejects what cannot open a query or a parenthesized group.
func (p *parser) groupStart() error {
	switch t := p.peek(); t.kind {
	case tokAnd, tokOr:
		return &SyntaxError{t.pos, opName(t) + " needs a term before it"}
	case tokRParen:
		return &SyntaxError{t.pos, `unexpected ")"`}
	}
	return nil
}

// needsTerm is the error for an operator with nothing to apply to.
func needsTerm(op token) error {
	return &SyntaxError{op.pos, opName(op) + " needs a term after it"}
}

func (p *parser) or(f field) (node, error) {
	n, err := p.and(f)
	if err != nil {
		return nil, err
	}
	list := []node{n}
	for p.peek().kind == tokOr {
		op := p.next()
		if !p.startsTerm() {
			return nil, needsTerm(op)
		}
		n, err := p.and(f)
		if err != nil {
			return nil, err
		}
		list = append(list, n)
	}
	return flattenOr(list), nil
}

func (p *parser) and(f field) (node, error) {
	n, err := p.unary(f)
	if err != nil {
		return nil, err
	}
	list := []node{n}
	for {
		if p.peek().kind == tokAnd {
			op := p.next()
			if !p.startsTerm() {
				return nil, needsTerm(op)
			}
		} else if !p.startsTerm() {
			break
		}
		n, err := p.unary(f)
		if err != nil {
			return nil, err
		}
		list = append(list, n)
	}
	return flattenAnd(list), nil
}

// flattenOr joins nested alternatives, a OR (b OR c) being a OR b OR c,
// and unwraps a list of one.
func flattenOr(list []node) node {
	if len(list) == 1 {
		return list[0]
	}
	var out orNode
	for _, n := range list {
		if inner, ok := n.(orNode); ok {
			out = append(out, inner...)
		} else {
			out = append(out, n)
		}
	}
	return out
}

// flattenAnd is flattenOr for AND.
func flattenAnd(list []node) node {
	if len(list) == 1 {
		return list[0]
	}
	var out andNode
	for _, n := range list {
		if inner, ok := n.(andNode); ok {
			out = append(out, inner...)
		} else {
			out = append(out, n)
		}
	}
	return out
}

func (p *parser) unary(f field) (node, error) {
	// A loop, not recursion: NOT NOT NOT ... cannot grow the stack.
	neg := false
	for k := p.peek().kind; k == tokNot || k == tokMinus; k = p.peek().kind {
		op := p.next()
		if !p.startsTerm() {
			return nil, needsTerm(op)
		}
		neg = !neg
	}
	n, err := p.primary(f)
	if err != nil {
		return nil, err
	}
	if neg {
		if inner, ok := n.(notNode); ok {
			return inner.x, nil
		}
		return notNode{n}, nil
	}
	return n, nil
}

func (p *parser) primary(f field) (node, error) {
	t := p.next()
	if t.kind == tokField {
		f = fields[t.text]
		t = p.next() // lex put the field's term right after it
	}
	if f == fieldAge || f == fieldPublished {
		return p.dateTerm(t, f)
	}
	switch t.kind {
	case tokLParen:
		p.depth++
		if p.depth > maxDepth {
			return nil, &SyntaxError{t.pos, fmt.Sprintf("parentheses nested more than %d deep", maxDepth)}
		}
		if p.peek().kind == tokRParen {
			return nil, &SyntaxError{t.pos, "empty parentheses"}
		}
		if err := p.groupStart(); err != nil {
			return nil, err
		}
		n, err := p.or(f)
		if err != nil {
			return nil, err
		}
		if p.peek().kind != tokRParen {
			return nil, &SyntaxError{t.pos, `unclosed "("`}
		}
		p.next()
		p.depth--
		return n, nil
	case tokPhrase:
		words := Words(t.text)
		if len(words) == 0 {
			return nil, &SyntaxError{t.pos, "quotes hold no letters or digits"}
		}
		n := newTerm(f, words, false)
		if len(words) > 1 {
			n.slop = t.slop
		}
		return p.tagged(n), nil
	case tokWord:
		n, err := wordTerm(t, f)
		if err != nil {
			return nil, err
		}
		return p.tagged(n), nil
	case tokRegex:
		return p.regexTerm(t, f)
	}
	// startsTerm and groupStart let nothing else through.
	return nil, &SyntaxError{t.pos, "expected a term"}
}

// wordTerm compiles a bare word: a word, a phrase (non-tariff) or, with a
// trailing '*', a prefix.
func wordTerm(t token, f field) (*term, error) {
	text := t.text
	prefix := false
	if star := strings.IndexByte(text, '*'); star >= 0 {
		pos := t.pos + utf8.RuneCountInString(text[:star])
		if star != len(text)-1 {
			return nil, &SyntaxError{pos, `"*" can only end a word`}
		}
		text = text[:star]
		last, _ := utf8.DecodeLastRuneInString(text)
		if text == "" || !isWordRune(last) {
			return nil, &SyntaxError{pos, `"*" must follow a letter or digit`}
		}
		prefix = true
	}
	words := Words(text)
	if len(words) == 0 {
		return nil, &SyntaxError{t.pos, fmt.Sprintf("%q has no letters or digits", t.text)}
	}
	return newTerm(f, words, prefix), nil
}

// isWordRune reports whether r is a letter or a digit, in words' terms.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	c := classify(r)
	return c == classWord || c == classSingle
}

func newTerm(f field, words []string, prefix bool) *term {
	t := &term{field: f, words: words, prefix: prefix, joined: strings.Join(words, " ")}
	whole := words
	if prefix {
		whole = words[:len(words)-1]
	}
	for _, w := range whole {
		t.hashes = append(t.hashes, hashWord(w))
	}
	return t
}
