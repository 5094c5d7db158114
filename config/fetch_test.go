package config

import (
	"strings"
	"testing"
)

func TestDenyPrivateNetworks(t *testing.T) {
	tests := map[string]struct {
		yaml    string
		want    bool
		wantErr string
	}{
		"off by default": {yaml: "fetch:\n  interval: 1m\n", want: false},
		"on":             {yaml: "fetch:\n  deny_private_networks: true\n", want: true},
		"off":            {yaml: "fetch:\n  deny_private_networks: false\n", want: false},
		"not a bool": {
			yaml:    "fetch:\n  deny_private_networks: sometimes\n",
			wantErr: `t.yaml:2: fetch.deny_private_networks: expected true or false, got the string "sometimes"`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse("t.yaml", []byte(tc.yaml), env(nil))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Fetch.DenyPrivateNetworks != tc.want {
				t.Errorf("DenyPrivateNetworks = %v, want %v", c.Fetch.DenyPrivateNetworks, tc.want)
			}
		})
	}
}
