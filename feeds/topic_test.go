package feeds

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/query"
)

func TestCompileSources(t *testing.T) {
	tests := map[string]struct {
		topic tidings.Topic
		want  []string // sources whose items the topic accepts, in config order; nil = all
	}{
		"no restriction":      {tidings.Topic{Name: "all"}, nil},
		"tags to sources":     {tidings.Topic{Name: "t", Tags: []string{"world"}}, []string{"wsws", "wire"}},
		"second tag":          {tidings.Topic{Name: "t", Tags: []string{"americas", "audio"}}, []string{"wsws", "podcast"}},
		"sources":             {tidings.Topic{Name: "t", Sources: []string{"podcast", "sport"}}, []string{"sport", "podcast"}},
		"both: either counts": {tidings.Topic{Name: "t", Tags: []string{"americas"}, Sources: []string{"sport"}}, []string{"wsws", "sport"}},
		"overlap counted once": {
			tidings.Topic{Name: "t", Tags: []string{"world"}, Sources: []string{"wsws"}}, []string{"wsws", "wire"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ct := mustCompile(t, tc.topic)
			if got := ct.AllowedSources(); !slices.Equal(got, tc.want) {
				t.Errorf("AllowedSources() = %q, want %q", got, tc.want)
			}
			for _, s := range append(slices.Clone(testSources), tidings.Source{Name: "removed-from-config"}) {
				it := &tidings.Item{Source: s.Name, ID: "1", Title: "anything"}
				want := tc.want == nil || slices.Contains(tc.want, s.Name)
				if got := ct.Match(it); got != want {
					t.Errorf("Match(item of %q) = %v, want %v", s.Name, got, want)
				}
			}
		})
	}
}

func TestCompileDefaults(t *testing.T) {
	tests := map[string]struct {
		in        tidings.Topic
		title     string
		wantLimit int
	}{
		"title from name": {tidings.Topic{Name: "mexico"}, "mexico", DefaultLimit},
		"given title":     {tidings.Topic{Name: "mexico", Title: "Mexico", Limit: 20}, "Mexico", 20},
		"limit capped":    {tidings.Topic{Name: "big", Limit: 10000}, "big", MaxLimit},
		"negative limit":  {tidings.Topic{Name: "neg", Limit: -1}, "neg", DefaultLimit},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ct := mustCompile(t, tc.in)
			if ct.Title != tc.title || ct.Limit != tc.wantLimit {
				t.Errorf("Title, Limit = %q, %d; want %q, %d", ct.Title, ct.Limit, tc.title, tc.wantLimit)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := map[string]struct {
		topic   tidings.Topic
		wantErr error
		wantMsg string
	}{
		"no name":        {tidings.Topic{}, ErrNoName, "feeds: topic has no name"},
		"unknown source": {tidings.Topic{Name: "x", Sources: []string{"nope"}}, ErrUnknownSource, `feeds: unknown source "nope" in topic "x"`},
		"unknown tag":    {tidings.Topic{Name: "x", Tags: []string{"nope"}}, ErrUnknownTag, `feeds: unknown tag "nope" in topic "x"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Compile(tc.topic, testSources)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Compile error = %v, want %v", err, tc.wantErr)
			}
			if err.Error() != tc.wantMsg {
				t.Errorf("message = %q, want %q", err.Error(), tc.wantMsg)
			}
		})
	}
}

func TestCompileQueryError(t *testing.T) {
	tests := map[string]struct {
		query   string
		wantMsg string
	}{
		"stray parenthesis": {`mexico OR usmca )`, `topic "mexico": query: unexpected ")" at column 17`},
		"at the start":      {`)`, `topic "mexico": query: unexpected ")" at column 1`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Compile(tidings.Topic{Name: "mexico", Query: tc.query}, testSources)
			var se *query.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile error = %v, want one wrapping *query.SyntaxError", err)
			}
			if want := fmt.Sprintf("topic %q: %v", "mexico", se); err.Error() != want {
				t.Errorf("message = %q, want %q", err, want)
			}
			if err.Error() != tc.wantMsg {
				t.Errorf("message = %q, want %q", err, tc.wantMsg)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("column %d", se.Pos)) {
				t.Errorf("message %q does not name column %d", err, se.Pos)
			}
		})
	}
}

func TestTopicMatchQuery(t *testing.T) {
	ct := mustCompile(t, tidings.Topic{Name: "mexico", Query: "mexico", Tags: []string{"world"}})
	tests := map[string]struct {
		item tidings.Item
		want bool
	}{
		"allowed source, query matches": {tidings.Item{Source: "wire", Title: "Talks with Mexico"}, true},
		"allowed source, no match":      {tidings.Item{Source: "wire", Title: "Talks with Canada"}, false},
		"other source, query matches":   {tidings.Item{Source: "sport", Title: "Mexico wins"}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ct.Match(&tc.item); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}
