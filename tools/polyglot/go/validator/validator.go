// Package validator is the part of gopkg.in/validator.v2 (v2.0.1) that openapi-generator's Go
// client calls: Validate, which walks a value and checks its fields' `validate` struct tags.
// See README.md for why this module exists.
package validator

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// The errors of v2.0.1, with its messages.
var (
	ErrRegexp         = errors.New("regular expression mismatch")
	ErrUnsupported    = errors.New("unsupported type")
	ErrBadParameter   = errors.New("bad parameter")
	ErrUnknownTag     = errors.New("unknown tag")
	ErrCannotValidate = errors.New("cannot validate unexported struct")
)

// ErrorArray is the errors of one field.
type ErrorArray []error

func (e ErrorArray) Error() string {
	parts := make([]string, len(e))
	for i, err := range e {
		parts[i] = err.Error()
	}
	return strings.Join(parts, ", ")
}

// ErrorMap is the errors found by Validate, by field path (e.g. "[2].Email").
type ErrorMap map[string]ErrorArray

func (m ErrorMap) Error() string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %s", k, m[k].Error()))
	}
	return strings.Join(parts, ", ")
}

// Validate checks the `validate` tags of every struct reachable from v through pointers,
// interfaces, struct fields, slices, arrays and maps. It returns nil, or an ErrorMap.
func Validate(v interface{}) error {
	errs := ErrorMap{}
	walk(reflect.ValueOf(v), "", errs)
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func walk(v reflect.Value, path string, errs ErrorMap) {
	switch v.Kind() {
	case reflect.Ptr, reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem(), path, errs)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			field(t.Field(i), v.Field(i), path, errs)
		}
	case reflect.Slice, reflect.Array:
		switch v.Type().Elem().Kind() {
		case reflect.Struct, reflect.Interface, reflect.Ptr, reflect.Map, reflect.Array, reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			key := fmt.Sprintf("%s[%+v]", path, iter.Key().Interface())
			walk(iter.Key(), key+"(key)", errs)
			walk(iter.Value(), key+"(value)", errs)
		}
	}
}

func field(def reflect.StructField, value reflect.Value, parent string, errs ErrorMap) {
	tag := def.Tag.Get("validate")
	if tag == "-" {
		return
	}
	if !def.Anonymous && def.PkgPath != "" {
		return // unexported
	}
	for (value.Kind() == reflect.Ptr || value.Kind() == reflect.Interface) && !value.IsNil() {
		value = value.Elem()
	}
	path := parent
	if !def.Anonymous {
		path = join(parent, def.Name)
	}
	if tag != "" {
		var found ErrorArray
		if def.PkgPath != "" {
			found = ErrorArray{ErrCannotValidate}
		} else {
			found = check(value, tag)
		}
		if len(found) > 0 {
			errs[join(parent, def.Name)] = found
		}
	}
	walk(value, path, errs)
}

// check applies the comma-separated rules of one tag (`\,` is a literal comma) to a value.
func check(v reflect.Value, tag string) ErrorArray {
	var found ErrorArray
	for _, rule := range splitRules(tag) {
		name, param, _ := strings.Cut(rule, "=")
		name, param = strings.TrimSpace(name), strings.TrimSpace(param)
		fn, ok := rules[name]
		if !ok {
			return ErrorArray{ErrUnknownTag}
		}
		if err := fn(v, param); err != nil {
			found = append(found, err)
		}
	}
	return found
}

func splitRules(tag string) []string {
	var rules []string
	var current strings.Builder
	for i := 0; i < len(tag); i++ {
		switch {
		case tag[i] == '\\' && i+1 < len(tag) && tag[i+1] == ',':
			current.WriteByte(',')
			i++
		case tag[i] == ',':
			rules = append(rules, current.String())
			current.Reset()
		default:
			current.WriteByte(tag[i])
		}
	}
	return append(rules, current.String())
}

// The rules openapi-generator writes into `validate` tags: `regexp=` (a schema's pattern).
// v2.0.1's other rules (nonzero, min, max, len, nonnil) are never generated; here they are
// unknown tags, which v2.0.1 also reports as errors.
var rules = map[string]func(reflect.Value, string) error{
	"regexp": matches,
}

func matches(v reflect.Value, pattern string) error {
	if !v.IsValid() || ((v.Kind() == reflect.Ptr || v.Kind() == reflect.Interface) && v.IsNil()) {
		return nil
	}
	if v.Kind() != reflect.String {
		return ErrUnsupported
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return ErrBadParameter
	}
	if !re.MatchString(v.String()) {
		return ErrRegexp
	}
	return nil
}
