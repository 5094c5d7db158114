package config

import (
	"strings"
	"testing"

	"github.com/tidings/tidings"
)

func TestTopicDedupe(t *testing.T) {
	tests := map[string]struct {
		value   string // "" leaves the key out
		want    string
		wantErr string
	}{
		"default":  {want: ""},
		"strict":   {value: "strict", want: tidings.DedupeStrict},
		"links":    {value: "links", want: tidings.DedupeLinks},
		"off":      {value: "off", want: tidings.DedupeOff},
		"unknown":  {value: "fuzzy", wantErr: `t.yaml:4: topics[0].dedupe: "fuzzy" is not one of strict, links, off`},
		"not text": {value: "[strict]", wantErr: `t.yaml:4: topics[0].dedupe:`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			y := "sources:\n  - {name: a, url: 'https://a.example/'}\ntopics:\n  - name: t\n"
			if tc.value != "" {
				y = "sources:\n  - {name: a, url: 'https://a.example/'}\ntopics:\n  - name: t\n    dedupe: " + tc.value + "\n"
				y = strings.Replace(y, "  - name: t\n    dedupe:", "  - dedupe:", 1) + "    name: t\n"
			}
			c, err := Parse("t.yaml", []byte(y), env(nil))
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Topics[0].Dedupe; got != tc.want {
				t.Errorf("Dedupe = %q, want %q", got, tc.want)
			}
		})
	}
}
