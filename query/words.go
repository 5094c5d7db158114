package query

import (
	"html"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/tidings/tidings"
)

// Words splits and folds text into words the way matching does: text is
// split at anything that is not a letter, a digit or a combining mark;
// words are lower-cased and stripped of accents; each Han, Hiragana and
// Katakana character is a word of its own, because those scripts do not
// separate words with spaces. Words does not strip HTML.
func Words(s string) []string {
	b := newBuilder(len(s))
	b.text(s)
	if len(b.spans) == 0 {
		return nil
	}
	all := string(b.buf)
	w := make([]string, len(b.spans))
	for i, sp := range b.spans {
		w[i] = all[sp.lo:sp.hi]
	}
	return w
}

// Doc is an item prepared for matching: the folded words of each field.
// Build it once with NewDoc and match it against many queries; a Doc is
// never modified after NewDoc, so it may be shared between goroutines.
type Doc struct {
	text   string          // the folded words of all fields, one after another
	spans  []span          // where in text each word is; empty spans are gaps
	fields [numParts]slice // which spans belong to each part
	// seen holds every word of the Doc, so that most terms, whose words
	// most items lack, are rejected without scanning the words. Only
	// NewDoc fills it: a single Match would spend more building it than
	// it saves.
	seen   *bloom
	source string // the folded words of the source slug, joined by spaces

	rawSource string    // the source slug as stored, for tag: lookups
	link      string    // the item's link as stored, for link:/regex/
	published time.Time // Published, else FirstSeen, for age: and published:
	now       time.Time // what age: counts from; set per match, never in a shared Doc
}

// slice is a range of Doc.spans.
type slice struct{ lo, hi int32 }

// words returns the spans of one part of the Doc.
func (d *Doc) words(p int) []span {
	f := d.fields[p]
	return d.spans[f.lo:f.hi]
}

// NewDoc prepares an item for matching. Summary and content are read as
// HTML: tags, comments, scripts and styles are not words, and character
// references (&eacute;, &#233;) are decoded. The title is read as text with
// character references decoded.
func NewDoc(it *tidings.Item) *Doc {
	d := newDoc(it, partAll)
	d.seen = new(bloom)
	for _, sp := range d.spans {
		if sp.lo < sp.hi {
			d.seen.add(hashWord(d.text[sp.lo:sp.hi]))
		}
	}
	return d
}

// bloom is a Bloom filter of words: it answers "maybe" or "certainly not".
// 8192 bits with two probes err about 3% of the time for an article of
// 800 distinct words; for a far longer text it fills up and answers
// "maybe" more often, which costs speed, never correctness.
type bloom [8192 / 64]uint64

const bloomMask = 8192 - 1

func (b *bloom) add(h uint64) {
	b[h&bloomMask/64] |= 1 << (h & 63)
	b[h>>32&bloomMask/64] |= 1 << (h >> 32 & 63)
}

func (b *bloom) has(h uint64) bool {
	return b[h&bloomMask/64]&(1<<(h&63)) != 0 && b[h>>32&bloomMask/64]&(1<<(h>>32&63)) != 0
}

// hashWord is 64-bit FNV-1a, inlined to avoid hash.Hash's allocations.
func hashWord(w string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(w); i++ {
		h ^= uint64(w[i])
		h *= 1099511628211
	}
	return h
}

// part is a set of the Doc fields a query reads, so that Query.Match
// tokenizes only those (a title: query skips the article body).
type part uint8

// The parts of a Doc; the index of part 1<<i in Doc.fields is i.
const (
	partTitle part = 1 << iota
	partSummary
	partContent
	partCategories
	partAuthors
	partLink
	partSource

	partAll part = 1<<iota - 1
)

// Indexes into Doc.fields.
const (
	iTitle = iota
	iSummary
	iContent
	iCategories
	iAuthors
	iLink
	iSource
	numParts
)

func newDoc(it *tidings.Item, parts part) *Doc {
	d := &Doc{}
	if it == nil {
		return d
	}
	d.rawSource, d.link, d.published = it.Source, it.Link, it.Published
	if d.published.IsZero() {
		d.published = it.FirstSeen
	}
	size := 0
	if parts&partTitle != 0 {
		size += len(it.Title)
	}
	if parts&partSummary != 0 {
		size += len(it.Summary)
	}
	if parts&partContent != 0 {
		size += len(it.Content)
	}
	b := newBuilder(size + 64)
	fill := func(i int, f func()) {
		if parts&(1<<i) == 0 {
			return
		}
		d.fields[i].lo = int32(len(b.spans))
		f()
		d.fields[i].hi = int32(len(b.spans))
	}
	fill(iTitle, func() { b.text(decodeEntities(it.Title)) })
	fill(iSummary, func() { b.html(it.Summary) })
	fill(iContent, func() { b.html(it.Content) })
	fill(iCategories, func() {
		for i, c := range it.Categories {
			if i > 0 {
				b.gap()
			}
			b.text(c)
		}
	})
	fill(iAuthors, func() {
		for i, a := range it.Authors {
			if i > 0 {
				b.gap()
			}
			b.text(a.Name)
			b.gap()
			b.text(a.Email)
		}
	})
	fill(iLink, func() { b.text(it.Link) })
	d.text = string(b.buf)
	d.spans = b.spans
	if parts&partSource != 0 {
		d.source = strings.Join(Words(it.Source), " ")
	}
	return d
}

// decodeEntities decodes character references in text that is not HTML
// otherwise (titles), leaving text without '&' untouched and unallocated.
func decodeEntities(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	return html.UnescapeString(s)
}

// span locates one folded word in builder.buf; an empty span is a gap
// that keeps phrases from running across category or author boundaries.
// int32 halves the size of the largest allocation of a Doc; texts are
// far below 2 GB (fetch limits bodies to max_body).
type span struct{ lo, hi int32 }

// builder collects the folded words of several texts into one buffer, so
// that a Doc costs a handful of allocations however many words it has.
type builder struct {
	buf   []byte
	spans []span
	sep   bool // a space after each word in buf (ItemWords)
}

// newBuilder returns a builder sized for about n bytes of text: folded text
// is about as long as the visible text, and English averages a word per
// six bytes, so this avoids regrowing the buffers without wasting much.
func newBuilder(n int) *builder {
	return &builder{buf: make([]byte, 0, n), spans: make([]span, 0, n/6+4)}
}

// gap records a boundary that no phrase may cross.
func (b *builder) gap() {
	n := int32(len(b.buf))
	b.spans = append(b.spans, span{n, n})
}

// text splits plain text into folded words.
func (b *builder) text(s string) {
	// Work on local slices: assigning to b's fields at every byte would
	// cost a GC write barrier each time.
	buf, spans := b.buf, b.spans
	start := len(buf)
	for i := 0; i < len(s); {
		c := s[i]
		switch asciiClass[c] {
		case asciiLower:
			// Copy a run of lower-case letters and digits at once; most
			// text is mostly that.
			j := i + 1
			for j < len(s) && asciiClass[s[j]] == asciiLower {
				j++
			}
			buf = append(buf, s[i:j]...)
			i = j
			continue
		case asciiUpper:
			buf = append(buf, c+'a'-'A')
			i++
			continue
		case asciiSep:
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			i += size
			switch classify(r) {
			case classWord:
				buf = foldAppend(buf, r)
				continue
			case classIgnore:
				continue
			case classSingle:
				if len(buf) > start {
					spans = append(spans, span{int32(start), int32(len(buf))})
					if b.sep {
						buf = append(buf, ' ')
					}
					start = len(buf)
				}
				buf = foldAppend(buf, r)
			}
		}
		// A word ends here.
		if len(buf) > start {
			spans = append(spans, span{int32(start), int32(len(buf))})
			if b.sep {
				buf = append(buf, ' ')
			}
			start = len(buf)
		}
	}
	if len(buf) > start {
		spans = append(spans, span{int32(start), int32(len(buf))})
		if b.sep {
			buf = append(buf, ' ')
		}
	}
	b.buf, b.spans = buf, spans
}

// ASCII classes for the fast path of builder.text.
const (
	asciiSep = iota
	asciiLower
	asciiUpper
	asciiNot // not ASCII
)

var asciiClass = func() (t [256]uint8) {
	for c := range t {
		switch {
		case c >= utf8.RuneSelf:
			t[c] = asciiNot
		case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
			t[c] = asciiLower
		case 'A' <= c && c <= 'Z':
			t[c] = asciiUpper
		}
	}
	return t
}()

// Character classes for splitting text into words.
const (
	classSep    = iota // separates words
	classWord          // part of a word
	classSingle        // a word by itself (Han, kana)
	classIgnore        // invisible inside a word (soft hyphen, joiners)
)

// classify returns the class of a non-ASCII rune.
func classify(r rune) int {
	switch r {
	case '\u00ad', '\u200c', '\u200d', '\u2060', '\ufeff':
		// A soft hyphen ("Mexi&shy;co") or a joiner must not split a word.
		return classIgnore
	}
	if r >= 0x2e80 && (unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r)) {
		return classSingle
	}
	// Combining marks belong to the word they follow, so that decomposed
	// text ("Me\u0301xico") folds like precomposed text ("México").
	if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
		return classWord
	}
	return classSep
}

// latinFold caches foldAppend for U+0080–U+024F (Latin-1 Supplement and
// Latin Extended-A and -B), the accented letters of European news text.
// Measured on the test article (BenchmarkWords), this table and the
// hand-rolled fold split text about four times faster, with a fifth of the
// allocations, than a golang.org/x/text chain (NFD, remove Mn) does.
var latinFold = func() (t [0x250 - 0x80]string) {
	for r := rune(0x80); r < 0x250; r++ {
		t[r-0x80] = string(foldSlow(nil, r))
	}
	return t
}()

// foldAppend appends the folded form of r, a word character, to dst.
func foldAppend(dst []byte, r rune) []byte {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, byte(r))
	}
	if r < 0x250 {
		return append(dst, latinFold[r-0x80]...)
	}
	return foldSlow(dst, r)
}

// latinSpecial folds letters that are not a base letter plus a combining
// mark in Unicode, but that readers treat as accented or spelled-out
// forms of ASCII letters (Straße = Strasse, Łódź = Lodz).
var latinSpecial = map[rune]string{
	'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'ł': "l", 'đ': "d",
	'ð': "d", 'þ': "th", 'ħ': "h", 'ı': "i", 'ŧ': "t", 'ſ': "s",
	'ŀ': "l", 'ĳ': "ij", 'ƒ': "f",
	'ς': "σ", // Greek final sigma is the same letter as σ
}

// foldSlow lower-cases r and strips its combining marks (Mn). Marks are
// stripped only below U+3000: above it they are not accents (the kana
// voicing marks make が a different letter from か).
func foldSlow(dst []byte, r rune) []byte {
	if unicode.Is(unicode.Mn, r) {
		return dst
	}
	if 0xff10 <= r && r <= 0xff5a {
		// Full-width Latin letters and digits (ＭＥＸＩＣＯ) are ASCII in disguise.
		if a := r - 0xfee0; 'a' <= a && a <= 'z' || 'A' <= a && a <= 'Z' || '0' <= a && a <= '9' {
			r = a
		}
	}
	r = unicode.ToLower(r)
	if s, ok := latinSpecial[r]; ok {
		return append(dst, s...)
	}
	if r < utf8.RuneSelf {
		return append(dst, byte(r))
	}
	if r < 0x3000 {
		var enc [utf8.UTFMax]byte
		n := utf8.EncodeRune(enc[:], r)
		if dec := norm.NFD.Properties(enc[:n]).Decomposition(); dec != nil && hasMn(dec) {
			for len(dec) > 0 {
				d, size := utf8.DecodeRune(dec)
				dec = dec[size:]
				dst = foldSlow(dst, d) // marks fold to nothing; bases fold on
			}
			return dst
		}
	}
	return utf8.AppendRune(dst, r)
}

// hasMn reports whether UTF-8 text b has a nonspacing mark.
func hasMn(b []byte) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if unicode.Is(unicode.Mn, r) {
			return true
		}
		b = b[size:]
	}
	return false
}

// html splits HTML into folded words: tags, comments, scripts and styles
// are separators, character references are decoded. It is a scanner, not a
// parser: malformed markup degrades to extra word breaks, never to panics
// or lost text (a '<' that starts no tag is read as text). It runs in
// linear time, whatever the markup: feeds are not trusted input.
func (b *builder) html(s string) {
	// No tag can start after the last '>'; knowing that up front keeps
	// text full of stray '<' from being rescanned to its end at each one.
	lastGT := strings.LastIndexByte(s, '>')
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 || i+j > lastGT {
			b.text(decodeEntities(s[i:]))
			return
		}
		j += i
		b.text(decodeEntities(s[i:j]))
		n := tagLen(s[j:])
		if n == 0 {
			i = j + 1 // a lone '<' is text, and not a letter
			continue
		}
		tag := s[j : j+n]
		i = j + n
		for _, raw := range [...]string{"script", "style"} {
			if isStartTag(tag, raw) {
				// Their content is code, not words: skip to the end tag.
				k := indexFold(s[i:], "</"+raw)
				if k < 0 {
					return
				}
				i += k
			}
		}
	}
}

// tagLen returns the length of the tag, comment or declaration at the start
// of s (which starts with '<'), or 0 if s does not start with one. The
// caller has made sure that a '>' follows.
func tagLen(s string) int {
	if len(s) < 2 {
		return 0
	}
	switch c := s[1]; {
	case c == '!':
		if strings.HasPrefix(s, "<!--") {
			if j := strings.Index(s[4:], "-->"); j >= 0 {
				return 4 + j + 3
			}
			return len(s) // as in browsers, an open comment hides the rest
		}
		if strings.HasPrefix(s, "<![CDATA[") {
			return len("<![CDATA[") // the section's content is text
		}
	case c == '/' || c == '?' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
	default:
		return 0
	}
	// Find the closing '>', skipping quoted attribute values, which may
	// hold a '>' of their own. A value whose quote never closes is read as
	// unquoted.
	for i := 2; i < len(s); i++ {
		switch s[i] {
		case '>':
			return i + 1
		case '=':
			j := i + 1
			for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r' || s[j] == '\f') {
				j++
			}
			if j < len(s) && (s[j] == '"' || s[j] == '\'') {
				if k := strings.IndexByte(s[j+1:], s[j]); k >= 0 {
					i = j + 1 + k
				}
			}
		}
	}
	return 0
}

// isStartTag reports whether tag (a whole tag, "<...>") opens element name.
func isStartTag(tag, name string) bool {
	if len(tag) < len(name)+2 || !strings.EqualFold(tag[1:1+len(name)], name) {
		return false
	}
	switch tag[1+len(name)] {
	case '>', ' ', '\t', '\n', '\r', '\f', '/':
		return true
	}
	return false
}

// indexFold returns the index of the first ASCII-case-insensitive
// occurrence of sub (lower-case) in s, or -1.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			return -1
		}
		i += j
		if i+len(sub) <= len(s) && strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
