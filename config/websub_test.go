package config

import (
	"strings"
	"testing"
	"time"
)

func TestWebSubSection(t *testing.T) {
	tests := map[string]struct {
		yaml    string
		want    WebSub
		wantErr string
	}{
		"defaults": {yaml: "", want: WebSub{Hub: true, MaxSubscriptions: 1000, Lease: 240 * time.Hour}},
		"all keys": {
			yaml: "websub:\n  hub: false\n  hub_url: https://hub.example/\n  subscribe: true\n  max_subscriptions: 5\n  deny_private_callbacks: true\n  lease: 48h\n",
			want: WebSub{Hub: false, HubURL: "https://hub.example", Subscribe: true, MaxSubscriptions: 5, DenyPrivateCallbacks: true, Lease: 48 * time.Hour},
		},
		"lease capped at 30 days": {yaml: "websub:\n  lease: 2000h\n", want: WebSub{Hub: true, MaxSubscriptions: 1000, Lease: 720 * time.Hour}},
		"unknown key":             {yaml: "websub:\n  hubb: true\n", wantErr: "t.yaml:2: websub.hubb: unknown key"},
		"bad hub url":             {yaml: "websub:\n  hub_url: ftp://x\n", wantErr: "t.yaml:2: websub.hub_url:"},
		"short lease":             {yaml: "websub:\n  lease: 5m\n", wantErr: "t.yaml:2: websub.lease:"},
		"zero subscriptions":      {yaml: "websub:\n  max_subscriptions: 0\n", wantErr: "t.yaml:2: websub.max_subscriptions:"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse("t.yaml", []byte(tc.yaml), nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.WebSub != tc.want {
				t.Errorf("got %+v, want %+v", c.WebSub, tc.want)
			}
		})
	}
}
