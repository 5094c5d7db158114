package query

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidings/tidings"
)

// text is an item with the given title and HTML content.
func text(title, content string) tidings.Item {
	return tidings.Item{Source: "wsws", ID: "1", Title: title, Content: content}
}

// matchCases is the table of queries against items; FuzzParse and
// FuzzMatch start from its queries.
var matchCases = map[string]struct {
	query string
	item  tidings.Item
	want  bool
}{
	// Words, case and accents.
	"plain word":                 {"mexico", text("Trade with Mexico", ""), true},
	"word is absent":             {"mexico", text("Trade with Canada", ""), false},
	"query without accent":       {"mexico", text("Violence in México", ""), true},
	"query with accent":          {"méxico", text("Violence in Mexico", ""), true},
	"query upper case":           {"MÉXICO", text("mexico", ""), true},
	"decomposed accent in text":  {"mexico", text("Me\u0301xico", ""), true},
	"decomposed accent in query": {"Me\u0301xico", text("México", ""), true},
	"possessive":                 {"mexico", text("MEXICO'S economy", ""), true},
	"curly possessive":           {"mexico", text("", "<p>Mexico’s first trade surplus</p>"), true},
	"possessive s is a word":     {"s", text("MEXICO'S", ""), true},
	"not inside a longer word":   {"mexico", text("Mexicoland", ""), false},
	"not a prefix":               {"mex", text("Mexico", ""), false},
	"not a suffix":               {"land", text("Mexicoland", ""), false},
	"prefix with star":           {"mex*", text("Mexico", ""), true},
	"prefix finds plural":        {"tariff*", text("New tariffs", ""), true},
	"prefix finds itself":        {"tariff*", text("The tariff", ""), true},
	"prefix not mid-word":        {"ariff*", text("tariffs", ""), false},
	"prefix accent-folded":       {"Méxi*", text("MEXICAN", ""), true},
	"German sharp s":             {"strasse", text("Straße", ""), true},
	"Polish stroke l":            {"lodz", text("Łódź", ""), true},
	"Nordic o slash":             {"kobenhavn", text("København", ""), true},
	"full-width Latin":           {"mexico", text("ＭＥＸＩＣＯ", ""), true},
	"soft hyphen inside a word":  {"mexico", text("", "Mexi&shy;co"), true},

	// Phrases.
	"phrase":                           {`"latin america"`, text("Across Latin America", ""), true},
	"phrase across a hyphen":           {`"latin america"`, text("Latin-America", ""), true},
	"phrase needs adjacent words":      {`"latin america"`, text("Latin and America", ""), false},
	"phrase needs order":               {`"latin america"`, text("America Latin", ""), false},
	"phrase across tags":               {`"latin america"`, text("", "<p>Latin</p><p>America</p>"), true},
	"phrase not across categories":     {`"latin america"`, tidings.Item{Categories: []string{"Latin", "America"}}, false},
	"phrase in one category":           {`"latin america"`, tidings.Item{Categories: []string{"World", "Latin America"}}, true},
	"phrase not from title to summary": {`"latin america"`, tidings.Item{Title: "News from Latin", Summary: "America is"}, false},
	"phrase at the end of text":        {`"latin america"`, text("", "in Latin"), false},
	"hyphenated word is a phrase":      {"non-tariff", text("non tariff barriers", ""), true},
	"hyphenated word in order":         {"non-tariff", text("tariff non", ""), false},
	"dotted abbreviation":              {"U.S.", text("U.S. troops", ""), true},
	"typographic quotes":               {"“latin america”", text("Latin-American", ""), false},
	"typographic quotes match":         {"“latin america”", text("latin america", ""), true},
	"quoted single word":               {`"Mexico"`, text("Mexicoland", ""), false},

	// Operators.
	"implicit AND both":          {"mexico tariff", text("Mexico", "<p>a tariff</p>"), true},
	"implicit AND one missing":   {"mexico tariff", text("Mexico", ""), false},
	"explicit AND":               {"mexico AND tariff", text("Mexico tariff", ""), true},
	"OR first":                   {"cuba OR mexico", text("Cuba", ""), true},
	"OR second":                  {"cuba OR mexico", text("Mexico", ""), true},
	"OR neither":                 {"cuba OR mexico", text("Canada", ""), false},
	"NOT excludes":               {"mexico NOT sports", text("Mexico sports", ""), false},
	"NOT keeps":                  {"mexico NOT sports", text("Mexico trade", ""), true},
	"leading minus excludes":     {"mexico -sports", text("Mexico sports", ""), false},
	"leading minus keeps":        {"mexico -sports", text("Mexico trade", ""), true},
	"only NOT":                   {"-sports", text("Mexico trade", ""), true},
	"minus before a phrase":      {`mexico -"latin america"`, text("Mexico and Latin America", ""), false},
	"minus before a group":       {"-(cuba OR canada)", text("Canada", ""), false},
	"double NOT":                 {"NOT NOT mexico", text("Mexico", ""), true},
	"NOT of a group of NOT":      {"NOT (NOT mexico)", text("Canada", ""), false},
	"lower-case and is a word":   {"mexico and canada", text("Mexico, Canada", ""), false},
	"lower-case and word found":  {"mexico and canada", text("Mexico and Canada", ""), true},
	"lower-case or is a word":    {"cuba or mexico", text("Mexico", ""), false},
	"lower-case not is a word":   {"not", text("This is not news", ""), true},
	"AND over OR: left alone":    {"cuba OR mexico canada", text("Cuba", ""), true},
	"AND over OR: right alone":   {"cuba OR mexico canada", text("Mexico", ""), false},
	"AND over OR: right both":    {"cuba OR mexico canada", text("Mexico Canada", ""), true},
	"NOT over OR":                {"NOT cuba OR mexico", text("Cuba Mexico", ""), true},
	"NOT over OR: excluded":      {"NOT cuba OR mexico", text("Cuba", ""), false},
	"NOT over AND":               {"NOT cuba mexico", text("Mexico", ""), true},
	"parentheses: one side":      {"(cuba OR mexico) canada", text("Cuba", ""), false},
	"parentheses: both sides":    {"(cuba OR mexico) canada", text("Cuba Canada", ""), true},
	"nested parentheses":         {"((cuba OR (mexico AND canada)))", text("Canada Mexico", ""), true},
	"terms across fields":        {"mexico economy", tidings.Item{Title: "Mexico", Categories: []string{"Economy"}}, true},
	"empty query matches":        {"", text("anything", ""), true},
	"blank query matches":        {" \t\n ", tidings.Item{}, true},
	"empty query matches no doc": {"", tidings.Item{}, true},

	// Where unfielded terms look.
	"word in summary":        {"tariff", tidings.Item{Summary: "A new tariff"}, true},
	"word in content":        {"tariff", tidings.Item{Content: "<p>A new tariff</p>"}, true},
	"word in a category":     {"economy", tidings.Item{Categories: []string{"World economy"}}, true},
	"word not in link":       {"wsws", tidings.Item{Link: "https://www.wsws.org/x"}, false},
	"word not in source":     {"wsws", tidings.Item{Source: "wsws"}, false},
	"word not in author":     {"knowland", tidings.Item{Authors: []tidings.Person{{Name: "Don Knowland"}}}, false},
	"numbers are words":      {"2026", text("", "<p>in 2026, exports</p>"), true},
	"numbers whole":          {"2026", text("20260", ""), false},
	"decimal is two numbers": {`"17 2"`, text("17.2 percent", ""), true},

	// HTML.
	"tag name is not a word":           {"strong", text("", "<strong>x</strong>"), false},
	"tag content is a word":            {"x", text("", "<strong>x</strong>"), true},
	"attribute is not a word":          {"example", text("", `<a href="https://example.com/">link</a>`), false},
	"attribute with a quoted >":        {"hidden", text("", `<img alt="a > hidden">shown`), false},
	"text after quoted >":              {"shown", text("", `<img alt="a > hidden">shown`), true},
	"tag separates words":              {"america", text("", "Latin<br>America"), true},
	"named entity decoded":             {"méxico", text("", "M&eacute;xico"), true},
	"decimal entity decoded":           {"mexico", text("", "M&#233;xico"), true},
	"hex entity decoded":               {"mexico", text("", "M&#xE9;xico"), true},
	"entity in summary":                {"mexico", tidings.Item{Summary: "M&eacute;xico"}, true},
	"entity in title":                  {"mexico", text("M&eacute;xico", ""), true},
	"entity name is not a word":        {"amp", text("", "AT&amp;T"), false},
	"escaped tag is text":              {"strong", text("", "&lt;strong&gt;"), true},
	"script is not words":              {"alert", text("", "<p>a</p><script>alert('x')</script><p>b</p>"), false},
	"text after script":                {"b", text("", "<p>a</p><SCRIPT type=x>alert('x')</script><p>b</p>"), true},
	"style is not words":               {"red", text("", "<style>p{color:red}</style>"), false},
	"comment is not words":             {"hidden", text("", "<!-- hidden -->shown"), false},
	"lone < is text":                   {"b", tidings.Item{Summary: "a < b"}, true},
	"unterminated tag is text":         {"matters", tidings.Item{Summary: "why x<y matters"}, true},
	"open comment hides the rest":      {"shown", text("", "a<!-- b > shown"), false},
	"unclosed quote read as unquoted":  {"shown", text("", `<a title="x>shown`), true},
	"CDATA content is text":            {"mexico", text("", "<![CDATA[Mexico]]>"), true},
	"title is not HTML":                {"matters", text("why x<y matters", ""), true},
	"non-breaking space separates":     {"latin", text("", "Latin&nbsp;America"), true},
	"CJK: characters in a run":         {"北京", text("我在北京工作", ""), true},
	"CJK: order matters":               {"京北", text("我在北京工作", ""), false},
	"CJK: kana":                        {"メキシコ", text("メキシコ大統領", ""), true},
	"CJK: voicing is not an accent":    {"か", text("が", ""), false},
	"Hangul words":                     {"서울", text("서울 시장", ""), true},
	"Hangul whole words":               {"서울", text("서울시장", ""), false},
	"Cyrillic":                         {"москва", text("МОСКВА заявила", ""), true},
	"Cyrillic yo folds to ye":          {"ёлка", text("Елка", ""), true},
	"Cyrillic is not Latin":            {"mockba", text("москва", ""), false},
	"Greek with tonos and sigma":       {"λόγος", text("ΛΟΓΟΣ", ""), true},
	"Arabic letters":                   {"القاهرة", text("في القاهرة اليوم", ""), true},
	"punctuation between Cyrillic":     {"путин", text("«Путин»", ""), true},
	"emoji separates":                  {"mexico", text("🇲🇽Mexico🎉", ""), true},
	"invalid UTF-8 separates":          {"mexico", text("\xffmexico\xfe", ""), true},
	"apostrophe splits query the same": {"mexico's", text("MEXICO’S", ""), true},

	// Fields.
	"title: in title":              {"title:mexico", text("Mexico", ""), true},
	"title: not in content":        {"title:mexico", text("Trade", "<p>Mexico</p>"), false},
	"title: field name any case":   {"TITLE:mexico", text("Mexico", ""), true},
	"title: phrase":                {`title:"latin america"`, text("Latin America", ""), true},
	"title: operator word is word": {"title:AND", text("Black AND white", ""), true},
	"title: group":                 {"title:(cuba OR mexico)", text("Cuba", ""), true},
	"title: group not in summary":  {"title:(cuba OR mexico)", tidings.Item{Summary: "Cuba"}, false},
	"field inside a group wins":    {"title:(cuba OR category:mexico)", tidings.Item{Categories: []string{"Mexico"}}, true},
	"negated field":                {"mexico -title:sports", text("Mexico sports", ""), false},
	"negated field elsewhere":      {"mexico -title:sports", text("Mexico", "<p>sports</p>"), true},
	"content: in summary":          {"content:tariff", tidings.Item{Summary: "tariff"}, true},
	"content: in content":          {"content:tariff", tidings.Item{Content: "tariff"}, true},
	"content: not in title":        {"content:tariff", text("tariff", ""), false},
	"category: in category":        {"category:economy", tidings.Item{Categories: []string{"Economy"}}, true},
	"category: not in title":       {"category:economy", text("Economy", ""), false},
	"author: name":                 {"author:knowland", tidings.Item{Authors: []tidings.Person{{Name: "Don Knowland"}}}, true},
	"author: e-mail":               {"author:dk@example.org", tidings.Item{Authors: []tidings.Person{{Email: "dk@example.org"}}}, true},
	"author: not across authors":   {`author:"knowland jane"`, tidings.Item{Authors: []tidings.Person{{Name: "Knowland"}, {Name: "Jane Doe"}}}, false},
	"link: host":                   {"link:wsws.org", tidings.Item{Link: "https://www.wsws.org/en/articles/x.html"}, true},
	"link: other host":             {"link:wsws.org", tidings.Item{Link: "https://example.org/wsws"}, false},
	"source: exact":                {"source:wsws", tidings.Item{Source: "wsws"}, true},
	"source: folded":               {"source:WSWS", tidings.Item{Source: "wsws"}, true},
	"source: not a part":           {"source:wsws", tidings.Item{Source: "wsws-es"}, false},
	"source: with hyphen":          {"source:local-bulletin", tidings.Item{Source: "local-bulletin"}, true},
	"source: prefix":               {"source:wsws*", tidings.Item{Source: "wsws-es"}, true},
	"source: not in text":          {"source:mexico", text("Mexico", ""), false},
}

func TestMatch(t *testing.T) {
	for name, tc := range matchCases {
		t.Run(name, func(t *testing.T) {
			q, err := Parse(tc.query)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.query, err)
			}
			if got := q.Match(&tc.item); got != tc.want {
				t.Errorf("Parse(%q).Match(%+v) = %v, want %v (parsed as %s)", tc.query, tc.item, got, tc.want, q)
			}
			if got := q.MatchDoc(NewDoc(&tc.item)); got != tc.want {
				t.Errorf("Parse(%q).MatchDoc = %v, want %v (parsed as %s)", tc.query, got, tc.want, q)
			}
		})
	}
}

func TestMatchesAll(t *testing.T) {
	for name, tc := range map[string]struct {
		query *Query
		want  bool
	}{
		"nil":        {nil, true},
		"zero":       {&Query{}, true},
		"empty":      {mustParse(t, ""), true},
		"blank":      {mustParse(t, "  "), true},
		"a word":     {mustParse(t, "mexico"), false},
		"a negation": {mustParse(t, "-mexico"), false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := tc.query.MatchesAll(); got != tc.want {
				t.Errorf("MatchesAll() = %v, want %v", got, tc.want)
			}
			if !tc.want {
				return
			}
			if !tc.query.Match(&tidings.Item{}) || !tc.query.Match(nil) || !tc.query.MatchDoc(NewDoc(nil)) {
				t.Error("a query that matches all did not match")
			}
		})
	}
}

func mustParse(tb testing.TB, s string) *Query {
	tb.Helper()
	q, err := Parse(s)
	if err != nil {
		tb.Fatalf("Parse(%q): %v", s, err)
	}
	return q
}

// errorCases is the table of queries that do not parse.
var errorCases = map[string]struct {
	query string
	pos   int
	msg   string
}{
	"stray closing parenthesis":   {"mexico)", 7, `unexpected ")"`},
	"closing parenthesis first":   {") mexico", 1, `unexpected ")"`},
	"one closing too many":        {"(mexico OR cuba)) x", 17, `unexpected ")"`},
	"column counts runes":         {"México )", 8, `unexpected ")"`},
	"unterminated quote":          {`"latin america`, 1, "unterminated quote"},
	"unterminated later quote":    {`mexico "latin`, 8, "unterminated quote"},
	"unterminated curly quote":    {"mexico “latin", 8, "unterminated quote"},
	"empty parentheses":           {"()", 1, "empty parentheses"},
	"empty parentheses later":     {"mexico ( )", 8, "empty parentheses"},
	"unclosed parenthesis":        {"(mexico", 1, `unclosed "("`},
	"unclosed outer parenthesis":  {"((a) OR (b)", 1, `unclosed "("`},
	"dangling OR":                 {"mexico OR", 8, "OR needs a term after it"},
	"dangling AND":                {"mexico AND", 8, "AND needs a term after it"},
	"dangling NOT":                {"NOT", 1, "NOT needs a term after it"},
	"NOT before a parenthesis":    {"(mexico NOT)", 9, "NOT needs a term after it"},
	"OR OR":                       {"mexico OR OR cuba", 8, "OR needs a term after it"},
	"AND OR":                      {"mexico AND OR cuba", 8, "AND needs a term after it"},
	"OR before parenthesis":       {"(mexico OR) cuba", 9, "OR needs a term after it"},
	"leading OR":                  {"OR mexico", 1, "OR needs a term before it"},
	"leading AND in group":        {"cuba (AND x)", 7, "AND needs a term before it"},
	"lone minus":                  {"a - b", 3, `"-" needs a term right after it`},
	"trailing minus":              {"mexico -", 8, `"-" needs a term right after it`},
	"minus before parenthesis":    {"(a -)", 4, `"-" needs a term right after it`},
	"minus before an operator":    {"a -OR b", 3, `"-" needs a term after it`},
	"unknown field":               {"foo:bar", 1, `unknown field "foo:" (fields are title, content, category, author, link, source, tag, age, published; quote text that has a colon)`},
	"URL is not a field":          {"mexico http://example.com", 8, `unknown field "http:" (fields are title, content, category, author, link, source, tag, age, published; quote text that has a colon)`},
	"age without a span":          {"mexico age:<", 12, ageHelp},
	"age with a bad unit":         {"mexico age:<7y", 12, ageHelp},
	"age of a group":              {"age:(<7d)", 5, ageHelp},
	"age of a phrase":             {`age:"7d"`, 5, ageHelp},
	"published not a date":        {"published:yesterday", 11, publishedHelp},
	"published bad month":         {"published:2026-13", 11, publishedHelp},
	"published empty range":       {"published:..", 11, publishedHelp},
	"published reversed range":    {"x published:2026-02-01..2026-01-01", 13, "published: the range ends before it starts"},
	"unterminated regex":          {"mexico /mex.*", 8, `unterminated regular expression (write \/ for a slash inside one; quote text that starts with /)`},
	"near without a number":       {`"latin america"~ x`, 16, `"~" after a phrase takes a number of words from 1 to 100 ("latin america"~3)`},
	"near too far":                {`x "a b"~101`, 8, `"~" after a phrase takes a number of words from 1 to 100 ("latin america"~3)`},
	"near zero":                   {`"a b"~0`, 6, `"~" after a phrase takes a number of words from 1 to 100 ("latin america"~3)`},
	"near then letters":           {`"a b"~3x`, 6, `"~" after a phrase takes a number of words from 1 to 100 ("latin america"~3)`},
	"empty regex":                 {"//", 1, "empty regular expression"},
	"bad regex":                   {"title:/(mex/", 7, `bad regular expression: missing closing ) "(mex"`},
	"regex with backreference":    {`/(a)\1/`, 1, `bad regular expression: invalid escape sequence "\\1"`},
	"field then space":            {"title: mexico", 1, `"title:" needs a term right after it`},
	"field at the end":            {"mexico Title:", 8, `"Title:" needs a term right after it`},
	"field then closing":          {"(title:)", 2, `"title:" needs a term right after it`},
	"minus after field":           {"title:-sports", 7, `"-" goes before the field: -title:...`},
	"star inside a word":          {"ta*ff", 3, `"*" can only end a word`},
	"two stars":                   {"mex**", 4, `"*" can only end a word`},
	"star alone":                  {"mexico *", 8, `"*" must follow a letter or digit`},
	"star after punctuation":      {"U.S.*", 5, `"*" must follow a letter or digit`},
	"empty quotes":                {`mexico ""`, 8, "quotes hold no letters or digits"},
	"quotes of punctuation":       {`"..."`, 1, "quotes hold no letters or digits"},
	"punctuation word":            {"cuba | mexico", 6, `"|" has no letters or digits`},
	"field with punctuation term": {"title:&", 7, `"&" has no letters or digits`},
	"too deep":                    {strings.Repeat("(", 101) + "a" + strings.Repeat(")", 101), 101, "parentheses nested more than 100 deep"},
	"too deep after text":         {"x " + strings.Repeat("(", 200), 103, "parentheses nested more than 100 deep"},
}

func TestParseErrors(t *testing.T) {
	for name, tc := range errorCases {
		t.Run(name, func(t *testing.T) {
			q, err := Parse(tc.query)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, %v; want a *SyntaxError", tc.query, q, err)
			}
			if se.Pos != tc.pos || se.Msg != tc.msg {
				t.Errorf("Parse(%q) error = {%d, %q}, want {%d, %q}", tc.query, se.Pos, se.Msg, tc.pos, tc.msg)
			}
		})
	}
}

func TestSyntaxErrorMessage(t *testing.T) {
	_, err := Parse("(mexico OR cuba)) x")
	const want = `query: unexpected ")" at column 17`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestNesting(t *testing.T) {
	for name, tc := range map[string]struct {
		query string
		want  string
	}{
		"100 parentheses":              {strings.Repeat("(", 100) + "a" + strings.Repeat(")", 100), "a"},
		"100 field groups":             {strings.Repeat("title:(", 100) + "a" + strings.Repeat(")", 100), "title:a"},
		"sibling groups do not add up": {strings.Repeat("(a) ", 500), "a" + strings.Repeat(" AND a", 499)},
		"long NOT chain":               {strings.Repeat("NOT ", 100_001) + "a", "NOT a"},
		"long minus chain":             {strings.Repeat("-", 100_000) + "a", "a"},
		"long OR chain":                {"a" + strings.Repeat(" OR a", 100_000), "a" + strings.Repeat(" OR a", 100_000)},
	} {
		t.Run(name, func(t *testing.T) {
			q := mustParse(t, tc.query)
			if got := q.String(); got != tc.want {
				t.Errorf("String() = %.80q..., want %.80q...", got, tc.want)
			}
			q.Match(&tidings.Item{Title: "a"}) // must not overflow the stack
		})
	}
}

func TestString(t *testing.T) {
	for name, tc := range map[string]struct {
		query string
		want  string
	}{
		"empty":                   {"", ""},
		"topic query":             {`mexico OR sheinbaum OR usmca OR "latin america"`, `mexico OR sheinbaum OR usmca OR "latin america"`},
		"folded words":            {"México", "mexico"},
		"implicit AND":            {"mexico tariff", "mexico AND tariff"},
		"minus":                   {"mexico -sports", "mexico AND NOT sports"},
		"AND in OR parenthesized": {"a OR b c", "a OR (b AND c)"},
		"OR in AND":               {"(a OR b) c", "(a OR b) AND c"},
		"NOT of a group":          {"-(a OR b)", "NOT (a OR b)"},
		"NOT of AND":              {"NOT (a b)", "NOT (a AND b)"},
		"double NOT":              {"NOT NOT a", "a"},
		"NOT of NOT group":        {"NOT (-a)", "a"},
		"redundant parentheses":   {"((a))", "a"},
		"nested OR flattened":     {"a OR (b OR c)", "a OR b OR c"},
		"nested AND flattened":    {"a (b c)", "a AND b AND c"},
		"hyphenated word":         {"non-tariff", `"non tariff"`},
		"quoted word":             {`"Mexico"`, "mexico"},
		"typographic quotes":      {"„Latin America“", `"latin america"`},
		"prefix":                  {"Tariff*", "tariff*"},
		"phrase prefix":           {"non-tar*", "non-tar*"},
		"field":                   {"Title:Mexico", "title:mexico"},
		"field group":             {"title:(cuba OR México) x", "(title:cuba OR title:mexico) AND x"},
		"field phrase":            {`category:"Latin America"`, `category:"latin america"`},
		"source":                  {"source:Local-Bulletin", `source:"local bulletin"`},
		"CJK":                     {"北京", `"北 京"`},
	} {
		t.Run(name, func(t *testing.T) {
			q := mustParse(t, tc.query)
			got := q.String()
			if got != tc.want {
				t.Errorf("Parse(%q).String() = %q, want %q", tc.query, got, tc.want)
			}
			if again := mustParse(t, got).String(); again != got {
				t.Errorf("String() does not round-trip: %q → %q", got, again)
			}
		})
	}
}

func TestWords(t *testing.T) {
	for name, tc := range map[string]struct {
		text string
		want []string
	}{
		"empty":                 {"", nil},
		"punctuation only":      {" -- !? ", nil},
		"possessive":            {"MEXICO'S", []string{"mexico", "s"}},
		"accents":               {"México, Bogotá; São Paulo", []string{"mexico", "bogota", "sao", "paulo"}},
		"hyphen":                {"non-tariff", []string{"non", "tariff"}},
		"digits":                {"exports reached $664.8 billion in 2025", []string{"exports", "reached", "664", "8", "billion", "in", "2025"}},
		"ligature letters":      {"Æsir Œuvre Straße ẞ", []string{"aesir", "oeuvre", "strasse", "ss"}},
		"dotted capital I":      {"İstanbul", []string{"istanbul"}},
		"dotless i":             {"Diyarbakır", []string{"diyarbakir"}},
		"Vietnamese":            {"Hà Nội", []string{"ha", "noi"}},
		"Greek final sigma":     {"Ὀδυσσεύς", []string{"οδυσσευσ"}},
		"Cyrillic":              {"Москва́", []string{"москва"}},
		"Han one by one":        {"北京市", []string{"北", "京", "市"}},
		"Han next to Latin":     {"G20峰会", []string{"g20", "峰", "会"}},
		"Hangul words":          {"서울 시장", []string{"서울", "시장"}},
		"marks alone":           {"\u0301\u0301 a", []string{"a"}},
		"soft hyphen and ZWJ":   {"Mexi\u00adco a\u200db", []string{"mexico", "ab"}},
		"zero-width space":      {"a\u200bb", []string{"a", "b"}},
		"full-width":            {"Ｇ２０", []string{"g20"}},
		"HTML is not stripped":  {"<b>x</b>", []string{"b", "x", "b"}},
		"invalid UTF-8":         {"a\xffb", []string{"a", "b"}},
		"superscript separates": {"km²", []string{"km"}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := Words(tc.text); !slices.Equal(got, tc.want) {
				t.Errorf("Words(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

// fuzzItems are what FuzzParse matches parsed queries against.
var fuzzItems = []tidings.Item{
	{},
	text("Trade with México", "<p>Latin America’s tariffs &amp; U.S. policy in 2026</p>"),
	{Source: "wsws", Title: "Cuba", Summary: "sports", Categories: []string{"Economy", "Latin America"},
		Authors: []tidings.Person{{Name: "Don Knowland"}}, Link: "https://www.wsws.org/en/x"},
}

func FuzzParse(f *testing.F) {
	for _, tc := range matchCases {
		f.Add(tc.query)
	}
	for _, tc := range errorCases {
		f.Add(tc.query)
	}
	for _, s := range extensionSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T %v, want *SyntaxError", s, err, err)
			}
			if se.Pos < 1 || se.Pos > utf8.RuneCountInString(s)+1 {
				t.Fatalf("Parse(%q) error column %d outside 1..%d", s, se.Pos, utf8.RuneCountInString(s)+1)
			}
			return
		}
		norm := q.String()
		q2, err := Parse(norm)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, norm, err)
		}
		if again := q2.String(); again != norm {
			t.Fatalf("String() not stable: %q → %q → %q", s, norm, again)
		}
		for i := range fuzzItems {
			if q.Match(&fuzzItems[i]) != q2.Match(&fuzzItems[i]) {
				t.Fatalf("%q and its normalized form %q disagree on item %d", s, norm, i)
			}
		}
	})
}

func FuzzMatch(f *testing.F) {
	for _, tc := range matchCases {
		f.Add(tc.query, tc.item.Title, tc.item.Content)
	}
	f.Fuzz(func(t *testing.T, query, title, content string) {
		q, err := Parse(query)
		if err != nil {
			return
		}
		it := tidings.Item{Source: "s", Title: title, Summary: content, Content: content, Categories: []string{title}}
		got := q.Match(&it)
		if doc := q.MatchDoc(NewDoc(&it)); doc != got {
			t.Fatalf("%q: Match = %v, MatchDoc = %v", query, got, doc)
		}
		if q.MatchesAll() {
			return
		}
		if not, err := Parse("NOT (" + q.String() + ")"); err == nil && not.Match(&it) == got {
			t.Fatalf("%q and its negation agree (%v) on %+v", query, got, it)
		}
	})
}

func FuzzWords(f *testing.F) {
	for _, tc := range matchCases {
		f.Add(tc.item.Title + " " + tc.query)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Folding must be idempotent, or a word taken from text and put
		// into a query would not find that text.
		for _, w := range Words(s) {
			if got := Words(w); len(got) != 1 || got[0] != w {
				t.Fatalf("Words(%q) has %q, but Words(%q) = %q", s, w, w, got)
			}
		}
	})
}

// hostileHTML are inputs that would make a naive tag stripper quadratic.
var hostileHTML = map[string]func(n int) string{
	"tags never closed":       func(n int) string { return strings.Repeat("<a", n/2) },
	"stray < before one >":    func(n int) string { return strings.Repeat("< ", n/2) + ">" },
	"comments never closed":   func(n int) string { return strings.Repeat("<!--", n/4) + ">" },
	"quotes never closed":     func(n int) string { return strings.Repeat(`<a x="`, n/6) + ">" },
	"scripts never closed":    func(n int) string { return strings.Repeat("<script>", n/8) },
	"script end tags unended": func(n int) string { return "<script>" + strings.Repeat("</scrip", n/7) + ">" },
	"ampersands":              func(n int) string { return strings.Repeat("&", n) },
}

// BenchmarkHTMLHostile measures NewDoc on hostile HTML at two sizes, 8×
// apart: linear stripping keeps the ratio of their ns/op near 8 (compare
// the two figures of one run; a quadratic stripper shows about 64).
func BenchmarkHTMLHostile(b *testing.B) {
	for name, gen := range hostileHTML {
		for _, n := range []int{1 << 15, 1 << 18} {
			html := gen(n)
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				for b.Loop() {
					NewDoc(&tidings.Item{Summary: html})
				}
			})
		}
	}
}

// TestHTMLHostile checks that hostile markup is stripped, not read as
// words: nothing inside an unclosed tag, comment or script is matchable.
func TestHTMLHostile(t *testing.T) {
	q, err := Parse("x OR script OR scrip")
	if err != nil {
		t.Fatal(err)
	}
	for name, gen := range hostileHTML {
		t.Run(name, func(t *testing.T) {
			if q.Match(&tidings.Item{Summary: gen(1 << 12)}) {
				t.Errorf("markup was read as words")
			}
		})
	}
}
