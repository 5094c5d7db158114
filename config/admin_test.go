package config

import (
	"errors"
	"strings"
	"testing"
)

// TestAdminListen checks server.admin_listen: optional, a HOST:PORT like
// listen, never the same address as listen, and empty when its variable is unset.
func TestAdminListen(t *testing.T) {
	vars := env(map[string]string{"ADMIN_ADDR": "127.0.0.1:9091"})
	tests := map[string]struct {
		yaml string
		want string // AdminListen, when the config is valid
		err  string // the error line, when it is not
	}{
		"absent": {
			yaml: "server: {listen: 127.0.0.1:8080}\n",
			want: "",
		},
		"set": {
			yaml: "server:\n  listen: 0.0.0.0:8080\n  admin_listen: 127.0.0.1:9090\n",
			want: "127.0.0.1:9090",
		},
		"from the environment": {
			yaml: "server:\n  admin_listen: ${ADMIN_ADDR}\n",
			want: "127.0.0.1:9091",
		},
		"unset variable leaves it off": {
			yaml: "server:\n  admin_listen: ${TIDINGS_ADMIN_LISTEN}\n",
			want: "",
		},
		"not an address": {
			yaml: "server:\n  admin_listen: localhost\n",
			err:  `t.yaml:2: server.admin_listen: invalid address "localhost"`,
		},
		"bad port": {
			yaml: "server:\n  admin_listen: 127.0.0.1:99999\n",
			err:  `t.yaml:2: server.admin_listen: invalid port "99999"`,
		},
		"same as listen, given after it": {
			yaml: "server:\n  listen: 127.0.0.1:8080\n  admin_listen: 127.0.0.1:8080\n",
			err:  `t.yaml:3: server.admin_listen: 127.0.0.1:8080 is server.listen too`,
		},
		"same as the default listen, given before it": {
			yaml: "server:\n  admin_listen: 127.0.0.1:8080\n",
			err:  `t.yaml:2: server.admin_listen: 127.0.0.1:8080 is server.listen too`,
		},
		"not a string": {
			yaml: "server:\n  admin_listen: [a]\n",
			err:  `t.yaml:2: server.admin_listen: expected a string, got a list`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse("t.yaml", []byte(tc.yaml), vars)
			if tc.err == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if c.Server.AdminListen != tc.want {
					t.Errorf("AdminListen = %q, want %q", c.Server.AdminListen, tc.want)
				}
				return
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse: %v, want Errors", err)
			}
			if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tc.err) {
				t.Errorf("errors:\n%v\nwant one starting with %q", err, tc.err)
			}
		})
	}
}
