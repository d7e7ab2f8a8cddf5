package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// The errors of a duration flag whose value is out of its range.
var (
	errNotPositive = errors.New("must be positive")
	errNegative    = errors.New("must not be negative")
)

// positiveDuration is a duration flag that refuses zero and negative values at parse time
// (a flag error: usage, exit 2, naming the flag and the value): a time limit of 0s or -5s would
// mean no limit or no time at all. Every duration flag of vipctl is one. A flag whose default
// 0 means "none" (unset, say --lifetime) keeps that default, but 0s cannot be given
// explicitly, except where the flag documents what 0 means (zeroOK).
type positiveDuration struct {
	d      *time.Duration
	zeroOK bool
}

// String is the value; 0 is written "0", which pflag's help takes for no default worth
// printing (as for its own duration flags).
func (p positiveDuration) String() string {
	if p.d == nil || *p.d == 0 {
		return "0"
	}
	return p.d.String()
}

func (p positiveDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	switch {
	case d < 0 && p.zeroOK:
		return fmt.Errorf("%w, not %v", errNegative, d)
	case d < 0, d == 0 && !p.zeroOK:
		return fmt.Errorf("%w, not %v", errNotPositive, d)
	}
	*p.d = d
	return nil
}

func (positiveDuration) Type() string { return "duration" }

// positiveDurationVar defines a duration flag that must be positive when given. Its default
// may be 0 (meaning the flag was not given).
func positiveDurationVar(fs *pflag.FlagSet, dst *time.Duration, name string, value time.Duration, usage string) {
	*dst = value
	fs.Var(positiveDuration{d: dst}, name, usage)
}

// nonNegativeDurationVar defines a duration flag that takes 0 (with the meaning its usage
// documents, e.g. "all") but refuses negative values.
func nonNegativeDurationVar(fs *pflag.FlagSet, dst *time.Duration, name string, value time.Duration, usage string) {
	*dst = value
	fs.Var(positiveDuration{d: dst, zeroOK: true}, name, usage)
}
