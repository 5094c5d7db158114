package config

import (
	"math"
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults of the websub section.
const (
	// DefaultWebSubLease is the lease the hub grants when a subscriber asks for none.
	DefaultWebSubLease = 10 * 24 * time.Hour
	// DefaultWebSubMaxSubscriptions bounds the hub's subscriptions.
	DefaultWebSubMaxSubscriptions = 1000
)

// WebSub configures push in both directions (README "WebSub").
type WebSub struct {
	// Hub runs Tidings' own hub at /websub and advertises it in every topic
	// feed (default true). Off, topic feeds advertise no hub unless HubURL is set.
	Hub bool
	// HubURL advertises an external hub instead of our own, and Tidings
	// pings it (hub.mode=publish) when a topic feed changes.
	HubURL string
	// Subscribe makes Tidings subscribe to the hubs that sources advertise
	// (default false: the hub must reach server.base_url from outside).
	Subscribe bool
	// MaxSubscriptions bounds the subscriptions our hub keeps.
	MaxSubscriptions int
	// DenyPrivateCallbacks refuses subscriber callbacks on private,
	// loopback and link-local addresses (default false).
	DenyPrivateCallbacks bool
	// Lease is granted by our hub when a subscriber asks for none; requests
	// are clamped between an hour and 30 days.
	Lease time.Duration
}

var webSubKeys = []string{"hub", "hub_url", "subscribe", "max_subscriptions", "deny_private_callbacks", "lease"}

func defaultWebSub() WebSub {
	return WebSub{Hub: true, MaxSubscriptions: DefaultWebSubMaxSubscriptions, Lease: DefaultWebSubLease}
}

func (d *decoder) websub(n *yaml.Node, w *WebSub) {
	d.fields(n, "websub", webSubKeys, func(key string, v *yaml.Node) {
		k := "websub." + key
		switch key {
		case "hub":
			if b, ok := d.boolean(v, k); ok {
				w.Hub = b
			}
		case "hub_url":
			if raw, ok := d.str(v, k); ok && raw != "" {
				u, err := baseURL(raw)
				if err != nil {
					d.errorf(v, k, "%v", err)
					return
				}
				w.HubURL = u
			}
		case "subscribe":
			if b, ok := d.boolean(v, k); ok {
				w.Subscribe = b
			}
		case "max_subscriptions":
			if m, ok := d.integer(v, k, 1, math.MaxInt32); ok {
				w.MaxSubscriptions = m
			}
		case "deny_private_callbacks":
			if b, ok := d.boolean(v, k); ok {
				w.DenyPrivateCallbacks = b
			}
		case "lease":
			if l, ok := d.duration(v, k, time.Hour); ok {
				w.Lease = min(l, 30*24*time.Hour)
			}
		}
	})
}
