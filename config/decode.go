package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// decode converts raw, as found in the YAML file, the environment, a flag or
// viper's defaults, into the field p points to. A nil raw leaves the field
// alone, so "key:" with no value in the file means "not set". Conversions
// are strict: a duration needs a unit and a boolean is true/false/1/0, so a
// typo fails loudly instead of turning into a surprising value.
func decode(p any, raw any) error {
	if raw == nil {
		return nil
	}
	var err error
	switch p := p.(type) {
	case *string:
		*p, err = toString(raw)
	case *bool:
		*p, err = toBool(raw)
	case *int:
		var n int64
		n, err = toInt64(raw)
		if err == nil && int64(int(n)) != n {
			err = fmt.Errorf("%d is out of range", n)
		}
		*p = int(n)
	case *int64:
		*p, err = toInt64(raw)
	case *float64:
		*p, err = toFloat64(raw)
	case *time.Duration:
		*p, err = toDuration(raw)
	case *[]string:
		*p, err = toStrings(raw)
	default:
		err = fmt.Errorf("unsupported field type %T", p)
	}
	return err
}

// kindOf names raw's type in YAML terms for error messages.
func kindOf(raw any) string {
	switch raw.(type) {
	case map[string]any, map[any]any:
		return "a mapping"
	case []any, []string:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, uint64, float64:
		return "a number"
	}
	return fmt.Sprintf("a %T", raw)
}

// toString accepts strings and scalars (a YAML handle of 123 is "123"), but
// not lists or mappings.
func toString(raw any) (string, error) {
	switch r := raw.(type) {
	case string:
		return r, nil
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(r), nil
	}
	return "", fmt.Errorf("want a string, got %s", kindOf(raw))
}

// toBool accepts a boolean, or true/false/1/0 in any case.
func toBool(raw any) (bool, error) {
	switch r := raw.(type) {
	case bool:
		return r, nil
	case int:
		if r == 0 || r == 1 {
			return r == 1, nil
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(r)) {
		case "true", "1":
			return true, nil
		case "false", "0":
			return false, nil
		}
		return false, fmt.Errorf("%q is not a boolean (use true, false, 1 or 0)", r)
	}
	return false, fmt.Errorf("want a boolean (true, false, 1 or 0), got %v", raw)
}

// toInt64 accepts whole numbers, from YAML or as decimal strings.
func toInt64(raw any) (int64, error) {
	switch r := raw.(type) {
	case int:
		return int64(r), nil
	case int64:
		return r, nil
	case uint64:
		if r <= math.MaxInt64 {
			return int64(r), nil
		}
		return 0, fmt.Errorf("%d is out of range", r)
	case float64:
		if r == math.Trunc(r) && math.Abs(r) < 1<<53 {
			return int64(r), nil
		}
		return 0, fmt.Errorf("%v is not a whole number", r)
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(r), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not an integer", r)
		}
		return n, nil
	}
	return 0, fmt.Errorf("want an integer, got %s", kindOf(raw))
}

// toFloat64 accepts any number, from YAML or as a string.
func toFloat64(raw any) (float64, error) {
	switch r := raw.(type) {
	case float64:
		return r, nil
	case int:
		return float64(r), nil
	case int64:
		return float64(r), nil
	case uint64:
		return float64(r), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", r)
		}
		return f, nil
	}
	return 0, fmt.Errorf("want a number, got %s", kindOf(raw))
}

// toDuration accepts Go duration strings with a unit. A bare number is
// refused: "10" could mean seconds or nanoseconds, and guessing wrong would
// make a timeout useless.
func toDuration(raw any) (time.Duration, error) {
	switch r := raw.(type) {
	case time.Duration:
		return r, nil
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(r))
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (use a unit, e.g. 90s, 5m, 72h)", r)
		}
		return d, nil
	}
	return 0, fmt.Errorf("want a duration with a unit (e.g. 90s, 5m, 72h), got %v", raw)
}

// toStrings accepts a list of scalars, or a comma-separated string as the
// environment provides. Blank items are dropped and an empty list is nil.
func toStrings(raw any) ([]string, error) {
	var items []string
	switch r := raw.(type) {
	case []string:
		items = r
	case []any:
		for i, e := range r {
			s, err := toString(e)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			items = append(items, s)
		}
	case string:
		items = strings.Split(r, ",")
	default:
		return nil, fmt.Errorf("want a list, got %s", kindOf(raw))
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// value dereferences a field pointer, for handing typed values to viper.
func value(p any) any {
	switch p := p.(type) {
	case *string:
		return *p
	case *bool:
		return *p
	case *int:
		return *p
	case *int64:
		return *p
	case *float64:
		return *p
	case *time.Duration:
		return *p
	case *[]string:
		return append([]string(nil), (*p)...)
	}
	panic(fmt.Sprintf("config: unsupported field type %T", p))
}

// render writes a field's value the way a user would type it, for Keys.
func render(p any) string {
	switch p := p.(type) {
	case *string:
		return *p
	case *bool:
		return strconv.FormatBool(*p)
	case *int:
		return strconv.Itoa(*p)
	case *int64:
		return strconv.FormatInt(*p, 10)
	case *float64:
		return strconv.FormatFloat(*p, 'g', -1, 64)
	case *time.Duration:
		return formatDuration(*p)
	case *[]string:
		return strings.Join(*p, ",")
	}
	panic(fmt.Sprintf("config: unsupported field type %T", p))
}

// formatDuration prints d in its largest whole unit ("72h" rather than
// Go's "72h0m0s"), which is how people write durations in config files.
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}
