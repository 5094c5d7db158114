package query

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

// now is the fixed clock of the date tests.
var now = time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)

// sourceTags are the tags of the sources in the extension tests.
func sourceTags(source string) []string {
	return map[string][]string{
		"wsws":   {"World", "Americas"},
		"ledger": {"americas", "Latin America", "trade"},
		"pitch":  {"sports"},
	}[source]
}

// extensionSeeds start FuzzParse on the newer parts of the language.
var extensionSeeds = []string{
	"tag:americas OR tag:(sports trade) -tag:amer*",
	"age:<7d mexico", "-age:>=1d12h", "published:2026-01-01..2026-02-01 OR published:>=2026-01-15T10:00:00Z",
	"published:..2026-01", `"latin america"~3 title:"a b"~100`, `/sheinbaum|amlo/ title:/^tariff(s|ed)? / link:/2026\/01/`, `/a\\/ OR /[/]x/`,
}

func dated(source, title string, published time.Time) tidings.Item {
	return tidings.Item{Source: source, ID: title, Title: title, Published: published}
}

func TestMatchExtensions(t *testing.T) {
	day := 24 * time.Hour
	for name, tc := range map[string]struct {
		query string
		item  tidings.Item
		want  bool
	}{
		// tag:
		"tag of the source":            {"tag:americas", dated("wsws", "x", now), true},
		"tag any case":                 {"tag:AMERICAS", dated("ledger", "x", now), true},
		"tag the source lacks":         {"tag:sports", dated("wsws", "x", now), false},
		"tag of an unknown source":     {"tag:sports", dated("gone", "x", now), false},
		"tag phrase":                   {`tag:"latin america"`, dated("ledger", "x", now), true},
		"tag hyphenated as phrase":     {"tag:latin-america", dated("ledger", "x", now), true},
		"tag prefix":                   {"tag:amer*", dated("wsws", "x", now), true},
		"tag is not text":              {"americas", dated("wsws", "x", now), false},
		"tag group":                    {"tag:(sports OR trade)", dated("ledger", "x", now), true},
		"not tag":                      {"mexico -tag:sports", dated("pitch", "Mexico wins", now), false},
		"tag regex":                    {"tag:/^amer/", dated("wsws", "x", now), true},
		"tag regex no":                 {"tag:/^trade$/", dated("wsws", "x", now), false},
		"tag does not look at words":   {"tag:world", dated("pitch", "World cup", now), false},
		"tag and text":                 {"tag:americas mexico", dated("wsws", "Mexico", now), true},
		"tag and text, text missing":   {"tag:americas mexico", dated("wsws", "Cuba", now), false},
		"tag with wildcard source ok":  {"source:led* tag:trade", dated("ledger", "x", now), true},
		"tag with wildcard source bad": {"source:ws* tag:trade", dated("ledger", "x", now), false},

		// age:
		"age within":              {"age:<7d", dated("wsws", "x", now.Add(-6*day)), true},
		"age too old":             {"age:<7d", dated("wsws", "x", now.Add(-8*day)), false},
		"age bare is less than":   {"age:7d", dated("wsws", "x", now.Add(-8*day)), false},
		"age older than":          {"age:>30d", dated("wsws", "x", now.Add(-31*day)), true},
		"age older than, no":      {"age:>30d", dated("wsws", "x", now.Add(-29*day)), false},
		"age at most, boundary":   {"age:<=2w", dated("wsws", "x", now.Add(-14*day)), true},
		"age less, boundary":      {"age:<2w", dated("wsws", "x", now.Add(-14*day)), false},
		"age at least, boundary":  {"age:>=12h", dated("wsws", "x", now.Add(-12*time.Hour)), true},
		"age in minutes":          {"age:<90m", dated("wsws", "x", now.Add(-time.Hour)), true},
		"age compound":            {"age:<1d12h", dated("wsws", "x", now.Add(-35*time.Hour)), true},
		"age of first seen":       {"age:<1d", tidings.Item{Source: "wsws", FirstSeen: now.Add(-time.Hour)}, true},
		"age of an undated item":  {"age:<1d", tidings.Item{Source: "wsws"}, false},
		"age of a future item":    {"age:<1d", dated("wsws", "x", now.Add(time.Hour)), true},
		"NOT age":                 {"-age:<1d", dated("wsws", "x", now.Add(-2*day)), true},
		"age with words":          {"mexico age:<7d", dated("wsws", "Mexico", now.Add(-day)), true},
		"age with words, too old": {"mexico age:<7d", dated("wsws", "Mexico", now.Add(-9*day)), false},

		// published:
		"published day":               {"published:2026-01-15", dated("wsws", "x", time.Date(2026, 1, 15, 23, 59, 0, 0, time.UTC)), true},
		"published day after":         {"published:2026-01-15", dated("wsws", "x", time.Date(2026, 1, 16, 0, 0, 0, 0, time.UTC)), false},
		"published day in UTC":        {"published:2026-01-15", dated("wsws", "x", time.Date(2026, 1, 15, 20, 0, 0, 0, time.FixedZone("CST", -6*3600))), false},
		"published month":             {"published:2026-01", dated("wsws", "x", time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)), true},
		"published year":              {"published:2025", dated("wsws", "x", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), false},
		"published range":             {"published:2026-01-01..2026-02-01", dated("wsws", "x", time.Date(2026, 2, 1, 18, 0, 0, 0, time.UTC)), true},
		"published range, after":      {"published:2026-01-01..2026-02-01", dated("wsws", "x", time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC)), false},
		"published range, before":     {"published:2026-01-01..2026-02-01", dated("wsws", "x", time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC)), false},
		"published open start":        {"published:..2026-01", dated("wsws", "x", time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)), true},
		"published open end":          {"published:2026-02..", dated("wsws", "x", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)), true},
		"published after a day":       {"published:>2026-01-15", dated("wsws", "x", time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)), false},
		"published from a day":        {"published:>=2026-01-15", dated("wsws", "x", time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)), true},
		"published before a day":      {"published:<2026-01-15", dated("wsws", "x", time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)), false},
		"published up to a day":       {"published:<=2026-01-15", dated("wsws", "x", time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)), true},
		"published timestamp":         {"published:>=2026-01-15T10:00:00Z", dated("wsws", "x", time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)), true},
		"published does not need now": {"published:2026", dated("wsws", "x", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), true},

		// Proximity.
		"near in order":              {`"latin america"~2`, dated("wsws", "Latin and South America", now), true},
		"near in any order":          {`"trade mexico"~1`, dated("wsws", "Mexico trade", now), true},
		"near too far":               {`"latin america"~1`, dated("wsws", "Latin and South America", now), false},
		"near exact phrase":          {`"latin america"~1`, dated("wsws", "Latin America", now), true},
		"near needs every word":      {`"usmca steel review"~5`, dated("wsws", "USMCA review", now), false},
		"near repeated word":         {`"new new york"~2`, dated("wsws", "New York news", now), false},
		"near repeated word present": {`"new new york"~2`, dated("wsws", "New York new", now), true},
		"near not across categories": {`category:"latin america"~3`, tidings.Item{Categories: []string{"Latin", "America"}}, false},
		"near in one field":          {`title:"steel tariffs"~3`, tidings.Item{Title: "Tariffs on Mexican steel", Summary: "steel"}, true},
		"near negated":               {`mexico -"world cup"~2`, dated("wsws", "Mexico: cup of the world", now), false},

		// Regular expressions.
		"regex alternation":                {"/sheinbaum|amlo/", dated("wsws", "AMLO speaks", now), true},
		"regex alternation none":           {"/sheinbaum|amlo/", dated("wsws", "Obrador speaks", now), false},
		"regex is not whole word":          {"/mex/", dated("wsws", "Mexicoland", now), true},
		"regex word boundary":              {`/\bmex\b/`, dated("wsws", "Mexicoland", now), false},
		"regex sees folded words":          {"/u s trade/", dated("wsws", "U.S. trade", now), true},
		"regex accent in the pattern":      {"/méxico/", dated("wsws", "Mexico", now), true},
		"regex accent in the text":         {"/mexico/", dated("wsws", "México", now), true},
		"regex optional suffix":            {"title:/^tariff(s|ed)? /", dated("wsws", "Tariffs rise", now), true},
		"regex in content":                 {"content:/cross.?border/", tidings.Item{Summary: "<p>Cross-border freight</p>"}, true},
		"regex field keeps to title":       {"title:/freight/", tidings.Item{Title: "x", Summary: "freight"}, false},
		"regex anchors per category":       {"category:/^latin america$/", tidings.Item{Categories: []string{"World", "Latin America"}}, true},
		"regex anchors not across":         {"category:/^world latin/", tidings.Item{Categories: []string{"World", "Latin America"}}, false},
		"regex on the raw link":            {`link:/\/en\/articles\//`, tidings.Item{Link: "https://www.wsws.org/en/articles/2026/01/x.html"}, true},
		"regex on the source":              {"source:/^ws/", tidings.Item{Source: "wsws"}, true},
		"regex with an escaped slash":      {`link:/2026\/01/`, tidings.Item{Link: "https://x.org/2026/01/y"}, true},
		"regex negated":                    {"mexico -/sport(s)?/", dated("wsws", "Mexico sports", now), false},
		"regex with space and parens":      {"/(latin|south) america/", dated("wsws", "South America", now), true},
		"regex does not see HTML":          {"/href/", tidings.Item{Content: `<a href="x">link</a>`}, false},
		"regex in an OR with words":        {"cuba OR /mex.co/", dated("wsws", "Mexico", now), true},
		"regex not in author by default":   {"/knowland/", tidings.Item{Authors: []tidings.Person{{Name: "Don Knowland"}}}, false},
		"regex in author":                  {"author:/knowland/", tidings.Item{Authors: []tidings.Person{{Name: "Don Knowland"}}}, true},
		"regex is case-insensitive":        {"/MEXICO/", dated("wsws", "mexico", now), true},
		"regex matching empty matches all": {"/x*/", dated("wsws", "", now), true},
	} {
		t.Run(name, func(t *testing.T) {
			q, err := Parse(tc.query, WithTags(sourceTags))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.query, err)
			}
			if got := q.MatchAt(&tc.item, now); got != tc.want {
				t.Errorf("Parse(%q).MatchAt = %v, want %v (parsed as %s)", tc.query, got, tc.want, q)
			}
			if got := q.MatchDocAt(NewDoc(&tc.item), now); got != tc.want {
				t.Errorf("Parse(%q).MatchDocAt = %v, want %v", tc.query, got, tc.want)
			}
			// The normalized form means the same.
			q2, err := Parse(q.String(), WithTags(sourceTags))
			if err != nil {
				t.Fatalf("String() = %q does not parse: %v", q, err)
			}
			if got := q2.MatchAt(&tc.item, now); got != tc.want {
				t.Errorf("normalized %q matches %v, want %v", q, got, tc.want)
			}
		})
	}
}

func TestDynamicAndTags(t *testing.T) {
	for name, tc := range map[string]struct {
		query   string
		dynamic bool
		tags    []string
	}{
		"words":        {"mexico", false, nil},
		"age":          {"mexico OR age:<1d", true, nil},
		"negated age":  {"-age:>30d", true, nil},
		"published":    {"published:2026", false, nil},
		"tags":         {"tag:Americas OR tag:latin-america OR tag:americas", false, []string{"americas", "latin america"}},
		"tag prefix":   {"tag:amer*", false, nil},
		"tag in group": {"tag:(trade sports)", false, []string{"trade", "sports"}},
	} {
		t.Run(name, func(t *testing.T) {
			q := mustParse(t, tc.query)
			if q.Dynamic() != tc.dynamic {
				t.Errorf("Dynamic() = %v, want %v", q.Dynamic(), tc.dynamic)
			}
			if got := q.Tags(); !slices.Equal(got, tc.tags) {
				t.Errorf("Tags() = %q, want %q", got, tc.tags)
			}
		})
	}
}

// TestTagWithoutLookup: a tag: term parses without WithTags and matches nothing.
func TestTagWithoutLookup(t *testing.T) {
	q := mustParse(t, "tag:americas")
	if q.MatchAt(&tidings.Item{Source: "wsws"}, now) {
		t.Error("tag: matched without WithTags")
	}
}

// TestAgeMovesWithTheClock: the same item leaves an age: query as time passes.
func TestAgeMovesWithTheClock(t *testing.T) {
	q := mustParse(t, "age:<7d")
	it := dated("wsws", "x", now)
	doc := NewDoc(&it)
	for days, want := range map[int]bool{0: true, 6: true, 7: false, 30: false} {
		at := now.Add(time.Duration(days) * 24 * time.Hour)
		if got := q.MatchAt(&it, at); got != want {
			t.Errorf("%d days later: MatchAt = %v, want %v", days, got, want)
		}
		if got := q.MatchDocAt(doc, at); got != want {
			t.Errorf("%d days later: MatchDocAt = %v, want %v", days, got, want)
		}
	}
}

func TestExplain(t *testing.T) {
	it := tidings.Item{
		Source:     "ledger",
		Title:      "Sheinbaum rejects US tariffs on Mexican steel",
		Summary:    "<p>President Claudia Sheinbaum said on Monday that Mexico would answer the new tariffs in kind, and that the USMCA review must go on.</p>",
		Categories: []string{"Trade", "Latin America"},
		Published:  now.Add(-2 * time.Hour),
	}
	for name, tc := range map[string]struct {
		query string
		want  []string // term field [before] text [after]
	}{
		"no match":    {"cuba", nil},
		"matches all": {"", nil},
		"title and summary": {"sheinbaum", []string{
			"sheinbaum title [] sheinbaum [rejects us tariffs on mexican steel]",
			"sheinbaum summary [president claudia] sheinbaum [said on monday that mexico would …]",
		}},
		"OR reports what matched": {"cuba OR usmca", []string{
			"usmca summary [… tariffs in kind and that the] usmca [review must go on]",
		}},
		"NOT reports nothing": {"mexico -sports", []string{
			"mexico summary [… claudia sheinbaum said on monday that] mexico [would answer the new tariffs in …]",
		}},
		"phrase in a category": {`"latin america"`, []string{
			`"latin america" category [trade |] latin america []`,
		}},
		"prefix": {"title:mex*", []string{
			"title:mex* title [sheinbaum rejects us tariffs on] mexican [steel]",
		}},
		"tag and age": {"tag:trade age:<1d", []string{
			"tag:trade tag [] trade []",
			"age:<1d age [] 2026-02-10T10:00:00Z [(2h 0m old)]",
		}},
		"published": {"published:2026-02", []string{
			"published:2026-02 published [] 2026-02-10T10:00:00Z []",
		}},
		"regex": {"/tariffs? on/", []string{
			"/tariffs? on/ title [sheinbaum rejects us] tariffs on [mexican steel]",
		}},
		"source": {"source:led*", []string{"source:led* source [] ledger []"}},
		"near": {`"mexico tariffs"~4`, []string{
			`"mexico tariffs"~4 summary [… claudia sheinbaum said on monday that] mexico would answer the new tariffs [in kind and that the usmca …]`,
		}},
	} {
		t.Run(name, func(t *testing.T) {
			q := mustParseWith(t, tc.query)
			var got []string
			for _, h := range q.Explain(&it, now) {
				got = append(got, h.Term+" "+h.Field+" ["+h.Before+"] "+h.Text+" ["+h.After+"]")
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Explain(%q) =\n%s\nwant\n%s", tc.query, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func mustParseWith(tb testing.TB, s string) *Query {
	tb.Helper()
	q, err := Parse(s, WithTags(sourceTags))
	if err != nil {
		tb.Fatalf("Parse(%q): %v", s, err)
	}
	return q
}
