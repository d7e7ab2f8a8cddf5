// Package quote writes values into the files vipctl renders so that their reader reads them
// back unchanged: Shell for bash, YAML for YAML.
package quote
