package quote

import "encoding/json"

// YAML returns s as a YAML double-quoted scalar: a JSON string is one.
func YAML(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
