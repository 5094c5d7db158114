package query

import (
	"html"
	"os"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/tidings/tidings"
)

// articleItem turns the article in testdata (Markdown-like text, as the
// seed corpus has it) into an item as a feed would carry it: a title, a
// summary, and the body as HTML paragraphs.
func articleItem(tb testing.TB) *tidings.Item {
	tb.Helper()
	raw, err := os.ReadFile("testdata/article.txt")
	if err != nil {
		tb.Fatal(err)
	}
	it := &tidings.Item{Source: "wsws", ID: "1", Link: "https://www.wsws.org/en/articles/2026/02/03/mexi-f03.html",
		Categories: []string{"Americas", "Mexico", "Latin America"},
		Authors:    []tidings.Person{{Name: "Don Knowland"}}}
	var body strings.Builder
	for _, para := range strings.Split(string(raw), "\n\n") {
		para = strings.TrimSpace(para)
		switch {
		case para == "":
		case strings.HasPrefix(para, "# "):
			it.Title = strings.TrimPrefix(para, "# ")
		case strings.HasPrefix(para, "## "):
			body.WriteString("<h2>" + html.EscapeString(para[3:]) + "</h2>\n")
		default:
			if it.Summary == "" && !strings.HasPrefix(para, "**") {
				it.Summary = html.EscapeString(para)
			}
			body.WriteString(`<p class="body">` + html.EscapeString(para) + "</p>\n")
		}
	}
	it.Content = body.String()
	return it
}

// topicQueries are what a deployment's topics might ask of every item.
var topicQueries = []string{
	`mexico OR sheinbaum OR usmca OR "latin america"`,
	`tariff* -sports`,
	`title:(trade OR tariff) category:economy`,
	`"working class" AND (strike OR strikes OR walkout)`,
	`ukraine OR russia OR nato`,
	`china "rare earth"`,
	`source:wsws author:knowland`,
	`NOT (sports OR entertainment)`,
}

func TestArticleItem(t *testing.T) {
	it := articleItem(t)
	for name, tc := range map[string]struct {
		query string
		want  bool
	}{
		"topic query":        {topicQueries[0], true},
		"in the body only":   {`"rare earth elements"`, true},
		"possessive in body": {`"mexico s sovereignty"`, true},
		"accented in body":   {"capistran", true},
		"absent":             {"ukraine OR russia OR nato", false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := mustParse(t, tc.query).Match(it); got != tc.want {
				t.Errorf("Match(%q) = %v, want %v", tc.query, got, tc.want)
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	it := articleItem(b)
	qs := make([]*Query, len(topicQueries))
	for i, s := range topicQueries {
		qs[i] = mustParse(b, s)
	}
	b.Run("NewDoc", func(b *testing.B) {
		b.SetBytes(int64(len(it.Title) + len(it.Summary) + len(it.Content)))
		b.ReportAllocs()
		for b.Loop() {
			NewDoc(it)
		}
	})
	b.Run("MatchDoc/8-topics", func(b *testing.B) {
		d := NewDoc(it)
		b.ReportAllocs()
		for b.Loop() {
			for _, q := range qs {
				q.MatchDoc(d)
			}
		}
	})
	b.Run("Match/title-only", func(b *testing.B) {
		q := mustParse(b, "title:(mexico OR cuba)")
		b.ReportAllocs()
		for b.Loop() {
			q.Match(it)
		}
	})
	b.Run("Match/all-fields", func(b *testing.B) {
		q := qs[0]
		b.ReportAllocs()
		for b.Loop() {
			q.Match(it)
		}
	})
	b.Run("Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, s := range topicQueries {
				Parse(s)
			}
		}
	})
}

// BenchmarkWords compares the hand-rolled fold against the plain
// golang.org/x/text recipe (NFD, drop Mn, lower-case, split); the package
// comment on latinFold quotes the result.
func BenchmarkWords(b *testing.B) {
	raw, err := os.ReadFile("testdata/article.txt")
	if err != nil {
		b.Fatal(err)
	}
	text := string(raw)
	b.Run("hand-rolled", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			Words(text)
		}
	})
	b.Run("x-text", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)))
			folded, _, _ := transform.String(t, text)
			strings.FieldsFunc(strings.ToLower(folded), func(r rune) bool {
				return !unicode.IsLetter(r) && !unicode.IsDigit(r)
			})
		}
	})
}
