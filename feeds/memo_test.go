package feeds

import (
	"strings"
	"testing"
)

func TestMemo(t *testing.T) {
	tests := map[string]struct {
		max   int
		gets  []string
		calls int // how often fn ran
	}{
		"each input once":           {max: 4, gets: []string{"a", "b", "a", "b", "a"}, calls: 2},
		"starts over when full":     {max: 2, gets: []string{"a", "b", "c", "a"}, calls: 4},
		"a changed input is new":    {max: 4, gets: []string{"<p>x</p>", "<p>x!</p>", "<p>x</p>"}, calls: 2},
		"empty input is remembered": {max: 4, gets: []string{"", ""}, calls: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			calls := 0
			m := newMemo(tc.max, func(s string) string { calls++; return strings.ToUpper(s) })
			for _, s := range tc.gets {
				if got := m.get(s); got != strings.ToUpper(s) {
					t.Fatalf("get(%q) = %q, want %q", s, got, strings.ToUpper(s))
				}
			}
			if calls != tc.calls {
				t.Errorf("fn ran %d times, want %d", calls, tc.calls)
			}
			if len(m.m) > tc.max {
				t.Errorf("memo holds %d entries, more than %d", len(m.m), tc.max)
			}
		})
	}
}
