package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// positiveDuration is a duration flag that refuses zero and negative values at parse time
// (a usage error, exit 2): a time limit of 0s or -5s would mean no limit or no time at all.
type positiveDuration struct{ d *time.Duration }

func (p positiveDuration) String() string {
	if p.d == nil {
		return "0s"
	}
	return p.d.String()
}

func (p positiveDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if d <= 0 {
		return fmt.Errorf("must be positive, not %v", d)
	}
	*p.d = d
	return nil
}

func (positiveDuration) Type() string { return "duration" }

// positiveDurationVar defines a duration flag that must be positive.
func positiveDurationVar(fs *pflag.FlagSet, dst *time.Duration, name string, value time.Duration, usage string) {
	*dst = value
	fs.Var(positiveDuration{dst}, name, usage)
}
