package main

import (
	"bytes"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
)

// TestParseArgs checks that flags may stand before or after arguments, as
// DESIGN §2 promises, and that --config falls back to the environment.
func TestParseArgs(t *testing.T) {
	render := lookup("render")
	tests := map[string]struct {
		args       []string
		env        string
		wantConfig string
		wantFormat string
		wantArgs   []string
		wantErr    string
	}{
		"flags after the argument":  {args: []string{"mexico", "--format", "atom", "--config", "x.yaml"}, wantConfig: "x.yaml", wantFormat: "atom", wantArgs: []string{"mexico"}},
		"flags before the argument": {args: []string{"--config=x.yaml", "-format", "json", "mexico"}, wantConfig: "x.yaml", wantFormat: "json", wantArgs: []string{"mexico"}},
		"flags around the argument": {args: []string{"--format", "json", "mexico", "--config", "y.yaml"}, wantConfig: "y.yaml", wantFormat: "json", wantArgs: []string{"mexico"}},
		"config from environment":   {args: []string{"mexico"}, env: "env.yaml", wantConfig: "env.yaml", wantFormat: "rss", wantArgs: []string{"mexico"}},
		"flag beats environment":    {args: []string{"mexico", "--config", "f.yaml"}, env: "env.yaml", wantConfig: "f.yaml", wantFormat: "rss", wantArgs: []string{"mexico"}},
		"default config":            {args: []string{"mexico"}, wantConfig: "tidings.yaml", wantFormat: "rss", wantArgs: []string{"mexico"}},
		"after --":                  {args: []string{"--", "-odd-name"}, wantConfig: "tidings.yaml", wantFormat: "rss", wantArgs: []string{"-odd-name"}},
		"missing argument":          {args: []string{"--format", "atom"}, wantErr: "render needs TOPIC"},
		"too many arguments":        {args: []string{"a", "b"}, wantErr: "render needs TOPIC"},
		"unknown flag":              {args: []string{"a", "--nope"}, wantErr: "not defined: -nope"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			e := &env{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(k string) string {
				if k == "TIDINGS_CONFIG" {
					return tc.env
				}
				return ""
			}}
			o, err := parseArgs(render, e, tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.config != tc.wantConfig || o.format != tc.wantFormat || !slices.Equal(o.args, tc.wantArgs) {
				t.Errorf("got config %q format %q args %q", o.config, o.format, o.args)
			}
		})
	}
}

func TestHelpGoesToStdout(t *testing.T) {
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	_, err := parseArgs(lookup("fetch"), e, []string{"--help"})
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(stdout.String(), "Example:") || !strings.Contains(stdout.String(), "-source") || stderr.Len() != 0 {
		t.Errorf("help: stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}
