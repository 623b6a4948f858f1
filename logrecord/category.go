package logrecord

import "strings"

// Breadcrumb categories.
const (
	CategoryUI      = "ui"
	CategoryNetwork = "network"
	CategorySystem  = "system"
	CategoryUser    = "user"
)

// CategoryKey is the attribute that sets a record's breadcrumb category
// explicitly.
const CategoryKey = "breadcrumb_category"

// Category returns the record's breadcrumb category: the value of its
// breadcrumb_category attribute when that is one of ui, network, system or
// user; otherwise one derived from the logger name's first segment —
// Router, Navigation, UI → ui; Http, Network, Connectivity → network;
// Lifecycle, Permission → system; Auth, Login, User → user; anything else
// → system. Name matching ignores case.
func (r Record) Category() string {
	if v, ok := r.Attr(CategoryKey); ok {
		switch c := strings.ToLower(v.String()); c {
		case CategoryUI, CategoryNetwork, CategorySystem, CategoryUser:
			return c
		}
	}
	first, _, _ := strings.Cut(r.Logger, ".")
	for _, p := range categoryPrefixes {
		if len(first) >= len(p.prefix) && strings.EqualFold(first[:len(p.prefix)], p.prefix) {
			return p.category
		}
	}
	return CategorySystem
}

var categoryPrefixes = []struct{ prefix, category string }{
	{"Router", CategoryUI}, {"Navigation", CategoryUI}, {"UI", CategoryUI},
	{"Http", CategoryNetwork}, {"Network", CategoryNetwork}, {"Connectivity", CategoryNetwork},
	{"Lifecycle", CategorySystem}, {"Permission", CategorySystem},
	{"Auth", CategoryUser}, {"Login", CategoryUser}, {"User", CategoryUser},
}
